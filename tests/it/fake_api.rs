//! A fake Bot API server of our own on 127.0.0.1 (port 0) that hands out updates through
//! getUpdates and records every call, and a helper running the bot against it. No network.
//! It behaves like Telegram where it matters: getUpdates is a long poll (held until an update
//! arrives or its `timeout` passes), and it can fail the ways Telegram does — 429 with
//! retry_after, 502 before or after delivering, a call that hangs, HTML it cannot parse, a
//! callback query too old to acknowledge, a webhook registered by another deployment.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::any;
use axum::{Json, Router};
use serde_json::{json, Value};
use summit_qa::config::{AnswerConfig, Secret};
use summit_qa::ops::Ops;
use summit_qa::telegram::{Settings, Webhook};
use summit_qa::Engine;

use crate::util::corpus_dir;

pub const BOT_ID: u64 = 4242;
/// The token the tests' bot uses; it must never appear in logs.
pub const TOKEN: &str = "123456:TEST-token_abcdefghijklmnop";

#[derive(Clone, Default)]
pub struct Fake {
    /// Every call: (method in lowercase, JSON body).
    pub calls: Arc<Mutex<Vec<(String, Value)>>>,
    /// Updates not yet delivered through getUpdates.
    pub updates: Arc<Mutex<Vec<Value>>>,
    /// How many sendMessage calls still get 429 Too Many Requests (retry after 1 s).
    pub too_many: Arc<Mutex<u32>>,
    /// How many sendMessage calls still get 502 Bad Gateway (not delivered).
    pub bad_gateway: Arc<Mutex<u32>>,
    /// How many sendMessage calls are delivered, then answered 502 (a proxy error after the fact).
    pub deliver_then_fail: Arc<Mutex<u32>>,
    /// How many sendMessage calls hang (no answer for a minute; not delivered).
    pub hang: Arc<Mutex<u32>>,
    /// How many HTML sendMessage calls get 400 "can't parse entities".
    pub bad_markup: Arc<Mutex<u32>>,
    /// How many answerCallbackQuery calls get 400 "query is too old".
    pub stale_callbacks: Arc<Mutex<u32>>,
    /// When true, sendMessage calls above Telegram's rate (30 in any second) get 429 with
    /// `retry_after` 1, as Telegram's flood control answers.
    pub enforce_rate: Arc<Mutex<bool>>,
    /// When sendMessage calls were accepted (for `enforce_rate`).
    recent: Arc<Mutex<std::collections::VecDeque<std::time::Instant>>>,
    /// When true, every call gets 401 Unauthorized (a revoked or mistyped token).
    pub reject_token: Arc<Mutex<bool>>,
    /// The webhook URL getWebhookInfo reports (empty: none).
    pub webhook_url: Arc<Mutex<String>>,
    next_message_id: Arc<Mutex<i64>>,
}

impl Fake {
    /// The messages delivered (sendMessage calls that succeeded), each with its `message_id`.
    pub fn sent(&self) -> Vec<Value> {
        self.calls_to("sendmessage")
            .into_iter()
            .filter(|b| b["rejected"].is_null())
            .collect()
    }

    /// The bodies of every call to `method` (lowercase).
    pub fn calls_to(&self, method: &str) -> Vec<Value> {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .filter(|(m, _)| m == method)
            .map(|(_, b)| b.clone())
            .collect()
    }

    pub fn attempts(&self, method: &str) -> usize {
        self.calls_to(method).len()
    }

    pub fn called(&self, method: &str) -> bool {
        self.attempts(method) > 0
    }

    pub fn push(&self, update: Value) {
        self.updates.lock().unwrap().push(update);
    }

    /// True when flood control is on and 30 messages went out in the last second; else the
    /// message is counted.
    fn over_rate(&self) -> bool {
        if !*self.enforce_rate.lock().unwrap() {
            return false;
        }
        let now = std::time::Instant::now();
        let mut recent = self.recent.lock().unwrap();
        while recent
            .front()
            .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1))
        {
            recent.pop_front();
        }
        if recent.len() >= 30 {
            return true;
        }
        recent.push_back(now);
        false
    }

    /// Takes one from `counter` if it is positive.
    fn take(counter: &Mutex<u32>) -> bool {
        let mut left = counter.lock().unwrap();
        let take = *left > 0;
        if take {
            *left -= 1;
        }
        take
    }
}

async fn api(
    State(fake): State<Fake>,
    Path(path): Path<String>,
    body: Bytes,
) -> (StatusCode, Json<Value>) {
    // Method names are case-insensitive: teloxide sends `GetMe`, `SendMessage`.
    let method = path.rsplit('/').next().unwrap_or("").to_lowercase();
    let mut body: Value = serde_json::from_slice(&body).unwrap_or_else(|_| multipart_fields(&body));
    // When the call arrived (milliseconds since the epoch), for tests that time replies.
    body["at_ms"] = json!(unix_ms());
    if *fake.reject_token.lock().unwrap() {
        body["rejected"] = json!(401);
        fake.calls.lock().unwrap().push((method, body));
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"ok": false, "error_code": 401, "description": "Unauthorized"})),
        );
    }
    if method == "answercallbackquery" && Fake::take(&fake.stale_callbacks) {
        body["rejected"] = json!(400);
        fake.calls.lock().unwrap().push((method, body));
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"ok": false, "error_code": 400,
                "description": "Bad Request: query is too old and response timeout expired or query ID is invalid"})),
        );
    }
    if method == "sendmessage" && body["parse_mode"] == "HTML" && Fake::take(&fake.bad_markup) {
        body["rejected"] = json!(400);
        fake.calls.lock().unwrap().push((method, body));
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"ok": false, "error_code": 400,
                "description": "Bad Request: can't parse entities: Unsupported start tag \"x\" at byte offset 0"})),
        );
    }
    if method == "sendmessage" && Fake::take(&fake.hang) {
        body["rejected"] = json!("hung");
        fake.calls.lock().unwrap().push((method, body));
        tokio::time::sleep(Duration::from_secs(60)).await;
        return (StatusCode::GATEWAY_TIMEOUT, Json(json!({"ok": false})));
    }
    if method == "sendmessage" {
        let refusal = if Fake::take(&fake.too_many) || fake.over_rate() {
            Some((
                StatusCode::TOO_MANY_REQUESTS,
                json!({"ok": false, "error_code": 429,
                "description": "Too Many Requests: retry after 1", "parameters": {"retry_after": 1}}),
            ))
        } else if Fake::take(&fake.bad_gateway) {
            Some((
                StatusCode::BAD_GATEWAY,
                json!({"ok": false, "error_code": 502,
                "description": "Bad Gateway"}),
            ))
        } else {
            None
        };
        if let Some((status, answer)) = refusal {
            body["rejected"] = json!(status.as_u16());
            fake.calls.lock().unwrap().push((method, body));
            return (status, Json(answer));
        }
        let mut next = fake.next_message_id.lock().unwrap();
        *next += 1;
        body["message_id"] = json!(1000 + *next);
        if Fake::take(&fake.deliver_then_fail) {
            fake.calls.lock().unwrap().push((method, body));
            return (
                StatusCode::BAD_GATEWAY,
                Json(json!({"ok": false, "error_code": 502, "description": "Bad Gateway"})),
            );
        }
    }
    fake.calls
        .lock()
        .unwrap()
        .push((method.clone(), body.clone()));
    let result = match method.as_str() {
        "getme" => {
            json!({"id": BOT_ID, "is_bot": true, "first_name": "Summit", "username": "summit_qa_bot",
                          "can_join_groups": true, "can_read_all_group_messages": false,
                          "supports_inline_queries": true, "can_connect_to_business": false,
                          "has_main_web_app": false})
        }
        "getupdates" => {
            // A long poll, as Telegram does it: held until an update arrives or `timeout`
            // seconds pass (0 or absent: answer at once).
            let wait = Duration::from_secs(body["timeout"].as_u64().unwrap_or(0));
            let deadline = tokio::time::Instant::now() + wait;
            loop {
                let pending: Vec<Value> = std::mem::take(&mut *fake.updates.lock().unwrap());
                if !pending.is_empty() || tokio::time::Instant::now() >= deadline {
                    break json!(pending);
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        "getwebhookinfo" => {
            json!({"url": *fake.webhook_url.lock().unwrap(), "has_custom_certificate": false, "pending_update_count": 0})
        }
        "sendmessage" | "editmessagereplymarkup" => bot_message(&body),
        _ => json!(true),
    };
    (StatusCode::OK, Json(json!({"ok": true, "result": result})))
}

/// Milliseconds since the Unix epoch.
pub fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// The text fields of a multipart/form-data body (teloxide sends setWebhook that way), as
/// a JSON object.
fn multipart_fields(body: &[u8]) -> Value {
    let text = String::from_utf8_lossy(body);
    let mut fields = serde_json::Map::new();
    for part in text
        .split("Content-Disposition: form-data; name=\"")
        .skip(1)
    {
        let Some((name, rest)) = part.split_once('"') else {
            continue;
        };
        let Some((_, value)) = rest.split_once("\r\n\r\n") else {
            continue;
        };
        let value = value.split("\r\n--").next().unwrap_or("");
        let value = serde_json::from_str(value).unwrap_or_else(|_| json!(value));
        fields.insert(name.to_string(), value);
    }
    Value::Object(fields)
}

/// The message Telegram would return for a sent or edited message.
pub fn bot_message(body: &Value) -> Value {
    // A date of 0 would mark the message inaccessible.
    let mut message = json!({"message_id": body["message_id"].as_i64().unwrap_or(1000), "date": 1761600000,
        "chat": {"id": body["chat_id"], "type": "private", "first_name": "x"},
        "from": {"id": BOT_ID, "is_bot": true, "first_name": "Summit", "username": "summit_qa_bot"},
        "text": body["text"].as_str().unwrap_or("…")});
    if !body["reply_markup"].is_null() {
        message["reply_markup"] = body["reply_markup"].clone();
    }
    message
}

pub async fn spawn_fake() -> (Fake, String) {
    spawn_fake_on(0).await
}

/// The fake Bot API on `port` of 127.0.0.1 (0: any free port) and its URL.
pub async fn spawn_fake_on(port: u16) -> (Fake, String) {
    let fake = Fake::default();
    let app = Router::new()
        .route("/{*path}", any(api))
        .with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (fake, format!("http://{addr}"))
}

/// Settings for tests: the defaults (polling with a 30 s long poll), generous rate limits.
pub fn settings() -> Settings {
    let mut settings = Settings::default();
    let limits = &mut settings.telegram;
    limits.questions_per_minute = 100;
    limits.inline_queries_per_minute = 100;
    limits.button_presses_per_minute = 100;
    settings.data_dir = fresh_data_dir();
    settings
}

/// A folder of its own for one bot's records, under cargo's target folder.
pub fn fresh_data_dir() -> std::path::PathBuf {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("records-{}-{n}", std::process::id()))
}

/// Webhook settings with the given secret.
pub fn webhook(secret: &str) -> Option<Webhook> {
    Some(Webhook {
        url: "https://bot.example.org/hook".parse().unwrap(),
        secret: Secret::new(secret),
    })
}

/// The bot running against the fake server, stopped on demand.
pub struct RunningBot {
    pub listen: SocketAddr,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Result<(), summit_qa::telegram::TransportError>>,
}

impl RunningBot {
    pub fn start(url: &str) -> RunningBot {
        Self::start_with(url, default_engine(), settings())
    }

    pub fn start_with(url: &str, engine: impl Into<Arc<Engine>>, settings: Settings) -> RunningBot {
        let bot = summit_qa::telegram::bot(TOKEN, Some(url.parse().unwrap()), &settings);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let ops = Ops::default();
        let http = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        http.set_nonblocking(true).unwrap();
        let listen = http.local_addr().unwrap();
        let http = tokio::net::TcpListener::from_std(http).unwrap();
        let shutdown = async {
            let _ = stopped.await;
        };
        let task = tokio::spawn(summit_qa::app::run(
            bot,
            engine.into(),
            settings,
            ops,
            http,
            shutdown,
        ));
        RunningBot { listen, stop, task }
    }

    /// Waits (at most 10 s) for the bot to end on its own, returning how it ended.
    pub async fn ended(self) -> Result<(), summit_qa::telegram::TransportError> {
        let finished = tokio::time::timeout(Duration::from_secs(10), self.task).await;
        finished.expect("bot ended").unwrap()
    }

    /// Asks it to stop and waits (at most 10 s) until it has.
    pub async fn stop(self) {
        self.stop.send(()).unwrap();
        let finished = tokio::time::timeout(Duration::from_secs(10), self.task).await;
        finished.expect("bot stopped").unwrap().unwrap();
    }

    /// GET on the bot's HTTP endpoint: (status, body).
    pub async fn get(&self, path: &str) -> (u16, String) {
        let response = client()
            .get(format!("http://{}{path}", self.listen))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.text().await.unwrap())
    }

    /// Waits (at most 30 s) until /readyz answers 200.
    pub async fn wait_ready(&self) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while tokio::time::Instant::now() < deadline {
            let url = format!("http://{}/readyz", self.listen);
            if let Ok(r) = client().get(url).send().await {
                if r.status().is_success() {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the bot never became ready");
    }
}

/// An HTTP client (teloxide's reqwest, so no extra dependency).
pub fn client() -> reqwest::Client {
    teloxide::net::default_reqwest_settings().build().unwrap()
}

pub fn default_engine() -> Engine {
    Engine::from_dir(&corpus_dir(), AnswerConfig::default()).unwrap()
}

/// Waits (at most 30 s) until `count` messages have been delivered.
pub async fn wait_for(fake: &Fake, count: usize) {
    wait_until(|| fake.sent().len() >= count).await;
}

/// Waits (at most 30 s) until `done` holds.
pub async fn wait_until(done: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !done() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub fn message(update_id: u64, message_id: u64, chat: Value, text: &str) -> Value {
    json!({"update_id": update_id, "message": {"message_id": message_id, "date": 1761600000, "chat": chat,
           "from": {"id": 7, "is_bot": false, "first_name": "Asker"}, "text": text}})
}

/// A button press by user `from` on `message` with callback `data`.
pub fn callback_from(update_id: u64, message: Value, data: &str, from: u64) -> Value {
    json!({"update_id": update_id, "callback_query": {"id": format!("cb{update_id}"),
        "from": {"id": from, "is_bot": false, "first_name": "Asker", "language_code": "zh-hans"},
        "message": message, "chat_instance": "1", "data": data}})
}

/// The callback data of the button whose text is `label` under a sent message.
pub fn button(sent: &Value, label: &str) -> String {
    sent["reply_markup"]["inline_keyboard"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|row| row.as_array().unwrap())
        .find(|b| b["text"] == label)
        .unwrap_or_else(|| panic!("no {label} button: {sent:#}"))["callback_data"]
        .as_str()
        .unwrap()
        .to_string()
}

pub fn private_chat(id: i64) -> Value {
    json!({"id": id, "type": "private", "first_name": "Asker"})
}

/// Asserts that `text` is HTML Telegram's parser accepts: only its tags (properly nested),
/// only its entities, no bare `<` or `&`, and at most 4096 UTF-16 units.
pub fn assert_telegram_html(text: &str) {
    const TAGS: [&str; 14] = [
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "a",
        "code",
        "pre",
        "blockquote",
        "tg-spoiler",
    ];
    assert!(text.encode_utf16().count() <= 4096, "over 4096: {text}");
    let mut open: Vec<String> = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find(['<', '&']) {
        let after = &rest[i..];
        if after.starts_with('&') {
            let entity = after.split(';').next().unwrap_or("");
            let known = ["&lt", "&gt", "&amp", "&quot"].contains(&entity)
                || (entity.starts_with("&#") && entity[2..].chars().all(|c| c.is_ascii_digit()));
            assert!(
                known && after.contains(';'),
                "bad entity at {after:.20}: {text}"
            );
            rest = &after[entity.len() + 1..];
            continue;
        }
        let end = after
            .find('>')
            .unwrap_or_else(|| panic!("unclosed tag: {text}"));
        let tag = &after[1..end];
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(
                open.pop().as_deref(),
                Some(name),
                "misnested </{name}>: {text}"
            );
        } else {
            let name = tag.split_whitespace().next().unwrap_or("");
            assert!(TAGS.contains(&name), "tag <{tag}> not allowed: {text}");
            open.push(name.to_string());
        }
        rest = &after[end + 1..];
    }
    assert!(open.is_empty(), "unclosed {open:?}: {text}");
}

/// Sends SIGTERM to `child` and waits (at most 20 s, then kills it and fails) for its exit.
pub async fn terminate(child: &mut std::process::Child) -> std::process::ExitStatus {
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if tokio::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("the process did not exit within 20 s of SIGTERM");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Starts the `summit-qa serve` binary against the fake Bot API at `api`, from the repository
/// root, with the test token and `env` (config by environment, as in a container); its stderr
/// is piped when `capture_logs`, else dropped.
pub fn spawn_serve(api: &str, env: &[(&str, String)], capture_logs: bool) -> std::process::Child {
    let mut command = crate::util::binary();
    command
        .arg("serve")
        .current_dir(crate::util::root())
        .env("TELOXIDE_TOKEN", TOKEN)
        .env("TELOXIDE_API_URL", api)
        .env("SUMMIT_QA_DATA_DIR", fresh_data_dir())
        .env("SUMMIT_QA_HTTP__LISTEN", "127.0.0.1:0")
        .env_remove("RUST_LOG")
        .stderr(if capture_logs {
            std::process::Stdio::piped()
        } else {
            std::process::Stdio::null()
        });
    for (key, value) in env {
        command.env(key, value);
    }
    command.spawn().expect("the summit-qa binary runs")
}
