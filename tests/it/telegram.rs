//! The bot against a fake Bot API server of our own on 127.0.0.1 (port 0): no network.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::routing::any;
use axum::{Json, Router};
use serde_json::{json, Value};
use summit_qa::config::AnswerConfig;
use summit_qa::Engine;
use teloxide::Bot;

use crate::util::{corpus_dir, run, stderr};

const BOT_ID: u64 = 4242;

#[derive(Clone, Default)]
struct Fake {
    /// Every call: (method in lowercase, JSON body).
    calls: Arc<Mutex<Vec<(String, Value)>>>,
    /// Updates not yet delivered through getUpdates.
    updates: Arc<Mutex<Vec<Value>>>,
    /// How many sendMessage calls still get 429 Too Many Requests (retry after 1 s).
    too_many: Arc<Mutex<u32>>,
}

impl Fake {
    /// The messages delivered (sendMessage calls that succeeded).
    fn sent(&self) -> Vec<Value> {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .filter(|(m, b)| m == "sendmessage" && b["rejected"].is_null())
            .map(|(_, b)| b.clone())
            .collect()
    }

    fn attempts(&self, method: &str) -> usize {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .filter(|(m, _)| m == method)
            .count()
    }

    fn called(&self, method: &str) -> bool {
        self.calls.lock().unwrap().iter().any(|(m, _)| m == method)
    }
}

async fn api(State(fake): State<Fake>, Path(path): Path<String>, body: Bytes) -> Json<Value> {
    // Method names are case-insensitive: teloxide sends `GetMe`, `SendMessage`.
    let method = path.rsplit('/').next().unwrap_or("").to_lowercase();
    let mut body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if method == "sendmessage" {
        let mut too_many = fake.too_many.lock().unwrap();
        if *too_many > 0 {
            *too_many -= 1;
            body["rejected"] = json!(429);
            fake.calls.lock().unwrap().push((method, body));
            return Json(json!({"ok": false, "error_code": 429,
                               "description": "Too Many Requests: retry after 1",
                               "parameters": {"retry_after": 1}}));
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
            let pending: Vec<Value> = std::mem::take(&mut *fake.updates.lock().unwrap());
            if pending.is_empty() {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            json!(pending)
        }
        "getwebhookinfo" => {
            json!({"url": "", "has_custom_certificate": false, "pending_update_count": 0})
        }
        "sendmessage" => json!({"message_id": 1000, "date": 0,
                                "chat": {"id": body["chat_id"], "type": "private", "first_name": "x"},
                                "text": body["text"]}),
        _ => json!(true),
    };
    Json(json!({"ok": true, "result": result}))
}

async fn spawn_fake() -> (Fake, String) {
    let fake = Fake::default();
    let app = Router::new()
        .route("/{*path}", any(api))
        .with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (fake, format!("http://{addr}"))
}

/// The bot running against the fake server, stopped on demand.
struct RunningBot {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Result<(), teloxide::RequestError>>,
}

impl RunningBot {
    fn start(url: &str) -> RunningBot {
        let engine = Arc::new(Engine::from_dir(&corpus_dir(), AnswerConfig::default()).unwrap());
        let bot = Bot::new("123456:TEST-token_abcdefghijklmnop").set_api_url(url.parse().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(summit_qa::telegram::run(bot, engine, async {
            let _ = stopped.await;
        }));
        RunningBot { stop, task }
    }

    /// Asks it to stop and waits (at most 10 s) until it has.
    async fn stop(self) {
        self.stop.send(()).unwrap();
        let finished = tokio::time::timeout(Duration::from_secs(10), self.task).await;
        finished.expect("bot stopped").unwrap().unwrap();
    }
}

/// Waits (at most 30 s) until `count` messages have been delivered.
async fn wait_for(fake: &Fake, count: usize) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while fake.sent().len() < count && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn message(update_id: u64, message_id: u64, chat: Value, text: &str) -> Value {
    json!({"update_id": update_id, "message": {"message_id": message_id, "date": 1761600000, "chat": chat,
           "from": {"id": 7, "is_bot": false, "first_name": "Asker"}, "text": text}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_and_group_messages_are_answered_only_when_addressed() {
    let (fake, url) = spawn_fake().await;
    let private = json!({"id": 7, "type": "private", "first_name": "Asker"});
    let group = json!({"id": -1001, "type": "supergroup", "title": "Summit", "is_forum": true});
    let mut threaded = message(
        4,
        40,
        group.clone(),
        "/ask@summit_qa_bot 5500億美元的投資計劃分成幾個領域？",
    );
    threaded["message"]["message_thread_id"] = json!(9);
    threaded["message"]["is_topic_message"] = json!(true);
    *fake.updates.lock().unwrap() = vec![
        message(1, 10, private, "日本承诺对美国投资多少？"),
        message(2, 20, group.clone(), "今天大家讨论一下峰会"),
        message(3, 30, group, "/ask@other_bot 日本承诺对美国投资多少？"),
        threaded,
    ];
    let running = RunningBot::start(&url);

    wait_for(&fake, 2).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    running.stop().await;

    assert!(fake.called("setmycommands"));
    let sent = fake.sent();
    assert_eq!(
        sent.len(),
        2,
        "exactly the private question and /ask@summit_qa_bot: {sent:#?}"
    );
    let private_reply = sent
        .iter()
        .find(|m| m["chat_id"] == 7)
        .expect("private reply");
    assert!(private_reply["text"]
        .as_str()
        .unwrap()
        .contains("5500亿美元"));
    assert!(private_reply["text"]
        .as_str()
        .unwrap()
        .contains("华浩男 · 复旦中美友好互信合作计划 · 2025-11-03 · ¶"));
    assert_eq!(private_reply["parse_mode"], "HTML");
    assert_eq!(private_reply["reply_parameters"]["message_id"], 10);
    assert_eq!(private_reply["link_preview_options"]["is_disabled"], true);
    let group_reply = sent
        .iter()
        .find(|m| m["chat_id"] == -1001)
        .expect("group reply");
    assert_eq!(group_reply["message_thread_id"], 9);
    assert_eq!(group_reply["reply_parameters"]["message_id"], 40);
    assert!(group_reply["text"].as_str().unwrap().contains("9個領域"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flood_control_429_is_retried_and_answered_exactly_once() {
    let (fake, url) = spawn_fake().await;
    *fake.too_many.lock().unwrap() = 1;
    let private = json!({"id": 8, "type": "private", "first_name": "Asker"});
    *fake.updates.lock().unwrap() = vec![message(1, 11, private, "QUAD是什么时候复活的？")];
    let running = RunningBot::start(&url);
    wait_for(&fake, 1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    running.stop().await;
    assert_eq!(fake.attempts("sendmessage"), 2, "one 429, then the retry");
    let sent = fake.sent();
    assert_eq!(sent.len(), 1);
    assert!(sent[0]["text"].as_str().unwrap().contains("2017年11月"));
}

#[test]
fn serve_without_a_token_exits_2_without_echoing_it() {
    let o = run(&["serve"], &[("TELOXIDE_TOKEN", "")]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("TELOXIDE_TOKEN"));
    let o = run(
        &["serve"],
        &[("TELOXIDE_TOKEN", "not-a-token-secret-value")],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(!stderr(&o).contains("not-a-token-secret-value"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follow_ups_are_asked_with_the_previous_question() {
    let (fake, url) = spawn_fake().await;
    let private = json!({"id": 9, "type": "private", "first_name": "Asker"});
    let group = json!({"id": -2002, "type": "group", "title": "Summit"});
    let running = RunningBot::start(&url);

    fake.updates
        .lock()
        .unwrap()
        .push(message(1, 1, private.clone(), "日本承诺对美国投资多少？"));
    wait_for(&fake, 1).await;
    fake.updates
        .lock()
        .unwrap()
        .push(message(2, 2, private, "那防卫装备呢？"));
    wait_for(&fake, 2).await;

    fake.updates.lock().unwrap().push(message(
        3,
        3,
        group.clone(),
        "/ask 日本承诺对美国投资多少？",
    ));
    wait_for(&fake, 3).await;
    let mut follow_up = message(4, 4, group, "那防卫装备呢？");
    follow_up["message"]["reply_to_message"] = json!({"message_id": 1000, "date": 0,
        "chat": {"id": -2002, "type": "group", "title": "Summit"},
        "from": {"id": BOT_ID, "is_bot": true, "first_name": "Summit", "username": "summit_qa_bot"},
        "text": "…"});
    fake.updates.lock().unwrap().push(follow_up);
    wait_for(&fake, 4).await;

    running.stop().await;
    let sent = fake.sent();
    assert_eq!(sent.len(), 4, "{sent:#?}");
    for reply in [&sent[1], &sent[3]] {
        let text = reply["text"].as_str().unwrap();
        assert!(
            text.contains("2.5兆日元的美国防卫装备"),
            "follow-up lost its context: {text}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_while_answering_still_sends_the_reply_and_exits_0() {
    let (fake, url) = spawn_fake().await;
    let private = json!({"id": 11, "type": "private", "first_name": "Asker"});
    *fake.updates.lock().unwrap() = vec![message(1, 5, private, "高市内阁的支持率是多少？")];
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_summit-qa"))
        .arg("serve")
        .current_dir(crate::util::root())
        .env("TELOXIDE_TOKEN", "123456:TEST-token_abcdefghijklmnop")
        .env("TELOXIDE_API_URL", &url)
        .env_remove("RUST_LOG")
        .spawn()
        .unwrap();
    // SIGTERM as soon as the update has been handed out, while the answer is being made.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while fake.updates.lock().unwrap().len() == 1 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    // Never hang the suite: give the bot 20 s to exit, then kill it and fail.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if tokio::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("serve did not exit within 20 s of SIGTERM");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(status.code(), Some(0), "clean exit on SIGTERM");
    let sent = fake.sent();
    assert_eq!(sent.len(), 1, "the answer in flight was still sent");
    assert!(sent[0]["text"].as_str().unwrap().contains("50%~70%"));
}
