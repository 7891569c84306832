//! The bot as it runs in production, against a fake Bot API that behaves like Telegram: long
//! polling that waits, replies delivered and then failed, calls that hang, refused HTML,
//! acknowledgements that fail, floods, many users, and a webhook owned by another deployment.

use std::time::Duration;

use serde_json::{json, Value};
use summit_qa::telegram::context::{ContextKey, MemoryContext};
use summit_qa::telegram::guard::{RateLimit, Seen};

use crate::fake_api::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_bot_long_polls_instead_of_spinning() {
    let (fake, url) = spawn_fake().await;
    let running = RunningBot::start(&url);
    running.wait_ready().await;
    let before = fake.attempts("getupdates");
    tokio::time::sleep(Duration::from_secs(3)).await;
    let during = fake.attempts("getupdates") - before;
    let calls = fake.calls_to("getupdates");
    running.stop().await;
    assert!(
        during <= 1,
        "{during} getUpdates calls in 3 idle seconds: polling must wait for updates"
    );
    assert_eq!(calls[0]["timeout"], 30, "a 30 s long poll: {:?}", calls[0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_delivered_then_failed_is_not_sent_again() {
    let (fake, url) = spawn_fake().await;
    *fake.deliver_then_fail.lock().unwrap() = 1;
    fake.push(message(1, 10, private_chat(7), "QUAD是什么时候复活的？"));
    let running = RunningBot::start(&url);
    wait_for(&fake, 1).await;
    fake.push(message(2, 11, private_chat(7), "日本承诺对美国投资多少？"));
    wait_for(&fake, 2).await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    let (_, metrics) = running.get("/metrics").await;
    running.stop().await;
    let sent = fake.sent();
    assert_eq!(sent.len(), 2, "one copy of each reply: {sent:#?}");
    assert!(sent[0]["text"].as_str().unwrap().contains("2017"));
    assert!(metrics.contains("summit_qa_telegram_unconfirmed_total{method=\"sendMessage\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_send_is_abandoned_once_and_other_chats_keep_being_answered() {
    let (fake, url) = spawn_fake().await;
    *fake.hang.lock().unwrap() = 1;
    fake.push(message(1, 10, private_chat(7), "QUAD是什么时候复活的？"));
    let mut settings = settings();
    settings.telegram.call_deadline_seconds = 2;
    let running = RunningBot::start_with(&url, default_engine(), settings);
    wait_until(|| fake.attempts("sendmessage") >= 1).await;
    fake.push(message(2, 11, private_chat(8), "日本承诺对美国投资多少？"));
    wait_for(&fake, 1).await;
    assert!(fake.sent()[0]["text"].as_str().unwrap().contains("5500"));
    // Past the call deadline (2 s here) the hung reply is given up, not repeated.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (_, metrics) = running.get("/metrics").await;
    running.stop().await;
    let to_chat_7 = fake
        .calls_to("sendmessage")
        .into_iter()
        .filter(|b| b["chat_id"] == 7)
        .count();
    assert_eq!(to_chat_7, 1, "the hung reply is not sent twice");
    assert!(
        metrics.contains(
            "summit_qa_telegram_unconfirmed_total{method=\"sendMessage\",code=\"hung\"} 1"
        ),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn html_telegram_cannot_parse_is_sent_once_as_plain_text() {
    let (fake, url) = spawn_fake().await;
    *fake.bad_markup.lock().unwrap() = 1;
    fake.push(message(1, 10, private_chat(7), "日本承诺对美国投资多少？"));
    let running = RunningBot::start(&url);
    wait_for(&fake, 1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    running.stop().await;
    let sent = fake.sent();
    assert_eq!(sent.len(), 1, "{sent:#?}");
    let text = sent[0]["text"].as_str().unwrap();
    assert!(
        sent[0]["parse_mode"].is_null(),
        "the fallback is plain text"
    );
    assert!(
        text.contains("5500亿美元") && !text.contains("<b>"),
        "{text}"
    );
    assert_eq!(fake.attempts("sendmessage"), 2, "refused once, then plain");
}

use crate::fake_api::callback_from as callback;

fn full_passage_button(sent: &Value) -> String {
    sent["reply_markup"]["inline_keyboard"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|row| row.as_array().unwrap())
        .map(|b| b["callback_data"].as_str().unwrap().to_string())
        .find(|d| d[5..].starts_with("p:"))
        .expect("a full-passage button")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_button_press_is_served_even_when_its_acknowledgement_fails() {
    let (fake, url) = spawn_fake().await;
    fake.push(message(1, 10, private_chat(7), "日本承诺对美国投资多少？"));
    let running = RunningBot::start(&url);
    wait_for(&fake, 1).await;
    let answer = fake.sent()[0].clone();
    *fake.stale_callbacks.lock().unwrap() = 1;
    let data = full_passage_button(&answer);
    fake.push(callback(2, bot_message(&answer), &data, 7));
    wait_for(&fake, 2).await;
    // Forged data (an overflowing citation number) is answered as a stale button, no panic.
    fake.push(callback(
        3,
        bot_message(&answer),
        "h0000m:18446744073709551615:0.1",
        7,
    ));
    wait_until(|| fake.attempts("answercallbackquery") >= 2).await;
    running.stop().await;
    assert_eq!(fake.sent().len(), 2, "the passage was sent");
    assert!(fake.sent()[1]["text"].as_str().unwrap().contains("5500"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inline_queries_and_button_presses_are_limited_per_user() {
    let (fake, url) = spawn_fake().await;
    let mut limited = settings();
    limited.telegram.inline_queries_per_minute = 2;
    limited.telegram.button_presses_per_minute = 1;
    for i in 0..5u64 {
        fake.push(
            json!({"update_id": i + 1, "inline_query": {"id": format!("q{i}"),
            "from": {"id": 9, "is_bot": false, "first_name": "Typer"},
            "query": "日本承诺对美国投资多少", "offset": ""}}),
        );
    }
    fake.push(message(10, 10, private_chat(7), "日本承诺对美国投资多少？"));
    let running = RunningBot::start_with(&url, default_engine(), limited);
    wait_for(&fake, 1).await;
    let answer = fake.sent()[0].clone();
    let data = full_passage_button(&answer);
    for i in 0..3u64 {
        fake.push(callback(20 + i, bot_message(&answer), &data, 7));
    }
    wait_until(|| fake.attempts("answercallbackquery") >= 3).await;
    wait_until(|| fake.attempts("answerinlinequery") >= 5).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (_, metrics) = running.get("/metrics").await;
    running.stop().await;
    let with_results = fake
        .calls_to("answerinlinequery")
        .iter()
        .filter(|b| b["results"].as_array().is_some_and(|r| !r.is_empty()))
        .count();
    assert_eq!(with_results, 2, "two inline queries a minute for this user");
    assert_eq!(fake.sent().len(), 2, "one passage for three presses");
    assert!(
        metrics.contains("summit_qa_rate_limited_total{kind=\"inline\"} 3"),
        "{metrics}"
    );
    assert!(
        metrics.contains("summit_qa_rate_limited_total{kind=\"button\"} 2"),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eighty_questions_at_once_are_each_answered_once() {
    let (fake, url) = spawn_fake().await;
    for i in 0..80u64 {
        fake.push(message(
            i + 1,
            10,
            private_chat(1000 + i as i64),
            "日本承诺对美国投资多少？",
        ));
    }
    let running = RunningBot::start(&url);
    wait_for(&fake, 80).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    running.stop().await;
    let mut chats: Vec<i64> = fake
        .sent()
        .iter()
        .map(|m| m["chat_id"].as_i64().unwrap())
        .collect();
    chats.sort_unstable();
    chats.dedup();
    assert_eq!(fake.sent().len(), 80);
    assert_eq!(chats.len(), 80, "each chat answered exactly once");
}

#[test]
fn per_user_state_stays_at_its_cap_with_100000_users() {
    const CAP: u64 = 10_000;
    let limit = RateLimit::new(5, CAP);
    let seen = Seen::new(CAP);
    let store = MemoryContext::new(Duration::from_secs(600), CAP);
    for user in 0..100_000u64 {
        limit.check(user);
        seen.first_time(user as u32);
        store.remember(
            ContextKey::LastInChat(user as i64),
            "日本承诺对美国投资多少？",
        );
    }
    assert!(limit.len() <= CAP, "rate limit tracks {}", limit.len());
    assert!(seen.len() <= CAP, "seen holds {}", seen.len());
    assert!(store.len() <= CAP, "context holds {}", store.len());
    assert!(store.len() > CAP / 2, "the cache keeps recent entries");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_refuses_to_take_over_a_webhook_unless_told_to() {
    let (fake, url) = spawn_fake().await;
    *fake.webhook_url.lock().unwrap() = "https://other.example.org/hook".into();
    let running = RunningBot::start(&url);
    let error = running.ended().await.expect_err("refuses to start");
    let message = error.to_string();
    assert!(
        message.contains("https://other.example.org/hook"),
        "{message}"
    );
    assert!(message.contains("telegram.replace_webhook"), "{message}");
    assert!(!fake.called("deletewebhook"), "the webhook was left alone");

    let mut replace = settings();
    replace.telegram.replace_webhook = true;
    let running = RunningBot::start_with(&url, default_engine(), replace);
    running.wait_ready().await;
    running.stop().await;
    assert!(fake.called("deletewebhook"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_mode_without_a_secret_refuses_to_start() {
    let (fake, url) = spawn_fake().await;
    let mut settings = settings();
    settings.webhook = webhook("");
    let error = RunningBot::start_with(&url, default_engine(), settings)
        .ended()
        .await
        .expect_err("no secret, no start");
    assert!(error.to_string().contains("webhook_secret"), "{error}");
    assert!(!fake.called("setwebhook"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_means_able_to_answer_even_when_telegram_is_down() {
    let (fake, url) = spawn_fake().await;
    let running = RunningBot::start(&url);
    running.wait_ready().await;
    *fake.bad_gateway.lock().unwrap() = 5;
    fake.push(message(1, 10, private_chat(7), "日本承诺对美国投资多少？"));
    // teloxide reports a 5xx only after a pause of its own: wait for the metric.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let mut metrics = String::new();
    while !metrics.contains("summit_qa_telegram_reachable 0")
        && tokio::time::Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
        metrics = running.get("/metrics").await.1;
    }
    let (status, _) = running.get("/readyz").await;
    running.stop().await;
    assert!(
        metrics.contains("summit_qa_telegram_reachable 0"),
        "{metrics}"
    );
    assert_eq!(status, 200, "Telegram's outage does not pull the replica");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn teloxide_log_records_reach_our_logs_and_user_text_does_not() {
    let (fake, url) = spawn_fake().await;
    // An update teloxide cannot parse (it logs that through the `log` crate), then a question.
    fake.push(
        json!({"update_id": 1, "message": {"message_id": "not a number", "text": "我的私事"}}),
    );
    fake.push(message(2, 10, private_chat(7), "高市内阁的支持率是多少？"));
    let mut child = spawn_serve(&url, &[("RUST_LOG", "info".into())], true);
    wait_for(&fake, 1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(terminate(&mut child).await.success());
    let output = child.wait_with_output().unwrap();
    let logs = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        logs.matches("skipped an update from Telegram that teloxide cannot read")
            .count(),
        1,
        "one line for the unreadable update: {logs}"
    );
    assert!(
        !logs.contains("This is a bug in teloxide") && !logs.contains("我的私事"),
        "teloxide's record with the update's text is not logged: {logs}"
    );
    assert!(
        logs.contains("teloxide"),
        "teloxide's other log records still reach the log: {logs}"
    );
    assert!(!logs.contains("高市内阁"), "user text logged: {logs}");
    assert!(!logs.contains("TEST-token"), "token logged: {logs}");
}
