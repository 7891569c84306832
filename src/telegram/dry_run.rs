//! `serve --dry-run`: a stand-in for the Bot API on 127.0.0.1 that accepts every call and
//! prints the messages the bot would send, so that the bot can be tried without Telegram or a
//! token by posting an update to its webhook (the recipe is printed at start).

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};

/// The token the bot uses against the stand-in (it never reaches Telegram).
pub const TOKEN: &str = "1:dry-run-token-never-sent-to-telegram";
/// The webhook secret of a dry run, for the `X-Telegram-Bot-Api-Secret-Token` header.
pub const SECRET: &str = "dry-run";
/// The webhook URL of a dry run: only its path (`/telegram`) is used, on `http.listen`.
pub const WEBHOOK_URL: &str = "https://dry-run.invalid/telegram";

/// Starts the stand-in on a free port of 127.0.0.1 and returns its URL.
pub async fn start() -> std::io::Result<url::Url> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let app = Router::new()
        .route("/{*path}", post(call))
        .with_state(Arc::new(AtomicI64::new(1)));
    tokio::spawn(async move { axum::serve(listener, app).await });
    url::Url::parse(&format!("http://{addr}/")).map_err(std::io::Error::other)
}

/// The curl command that posts a question to the dry run's webhook on `listen`.
pub fn recipe(listen: std::net::SocketAddr, question: &str) -> String {
    let mut host = listen;
    if host.ip().is_unspecified() {
        host.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    let update = json!({"update_id": 1, "message": {"message_id": 1, "date": 1761600000,
        "chat": {"id": 7, "type": "private", "first_name": "You"},
        "from": {"id": 7, "is_bot": false, "first_name": "You", "language_code": "zh-hans"},
        "text": question}});
    format!(
        "curl -s -H 'X-Telegram-Bot-Api-Secret-Token: {SECRET}' -H 'Content-Type: application/json' -d '{update}' http://{host}/telegram"
    )
}

/// Answers one Bot API call as Telegram would, printing what would be sent to a chat.
async fn call(
    State(next_id): State<Arc<AtomicI64>>,
    Path(path): Path<String>,
    body: axum::body::Bytes,
) -> Json<Value> {
    let name = path.rsplit('/').next().unwrap_or("");
    let method = name.to_lowercase();
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let result = match method.as_str() {
        "getme" => json!({"id": 1, "is_bot": true, "first_name": "summit-qa (dry run)",
            "username": "summit_qa_dry_run_bot", "can_join_groups": true,
            "can_read_all_group_messages": false, "supports_inline_queries": true,
            "can_connect_to_business": false, "has_main_web_app": false}),
        "getwebhookinfo" => json!({"url": "", "has_custom_certificate": false,
            "pending_update_count": 0}),
        "getupdates" => {
            // Updates come only through the webhook in a dry run.
            tokio::time::sleep(Duration::from_secs(body["timeout"].as_u64().unwrap_or(0))).await;
            json!([])
        }
        "sendmessage" | "editmessagetext" => {
            println!(
                "→ {name} to chat {}:\n{}\n",
                body["chat_id"],
                body["text"].as_str().unwrap_or("")
            );
            sent_message(&body, next_id.fetch_add(1, Ordering::Relaxed))
        }
        "editmessagereplymarkup" => sent_message(&body, body["message_id"].as_i64().unwrap_or(1)),
        "answerinlinequery" => {
            println!(
                "→ answerInlineQuery: {} results\n",
                body["results"].as_array().map_or(0, Vec::len)
            );
            json!(true)
        }
        _ => json!(true),
    };
    Json(json!({"ok": true, "result": result}))
}

/// The message Telegram returns for a sent message.
fn sent_message(body: &Value, id: i64) -> Value {
    let mut message = json!({"message_id": id, "date": 1761600000,
        "chat": {"id": body["chat_id"], "type": "private", "first_name": "You"},
        "from": {"id": 1, "is_bot": true, "first_name": "summit-qa (dry run)"},
        "text": body["text"].as_str().unwrap_or("…")});
    if !body["reply_markup"].is_null() {
        message["reply_markup"] = body["reply_markup"].clone();
    }
    message
}
