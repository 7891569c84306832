//! Bursts: thousands of askers at once, posted to `serve`'s webhook 8 at a time, against the
//! fake Bot API enforcing Telegram's rate (429 above 30 messages a second). Every asker is
//! answered exactly once, and those whose answer waits longer than a minute are told first.
//! Two replicas on one Redis share the bot's rate. Ignored by default (over a minute each);
//! `.ci/run` runs them one after the other. `BURST_USERS`
//! (default 2,000) sets the number of askers; the numbers are printed.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use crate::fake_api::*;

const SECRET: &str = "burst_secret-1";
/// When a new answer would wait longer than this, its asker is told (the default
/// `telegram.queue_notice_seconds`).
const NOTICE_AFTER: Duration = Duration::from_secs(60);
/// Time between two send slots at the default 28 messages a second.
const SLOT: Duration = Duration::from_millis(36);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a burst of 2,000 askers takes over a minute; .ci/run runs it"]
async fn a_burst_is_answered_once_each_and_the_late_are_told_first() {
    let (fake, api) = spawn_fake().await;
    *fake.enforce_rate.lock().unwrap() = true;
    let replica = spawn_replica(&api, None).await;
    burst(&fake, vec![replica], "one process").await;
}

/// Two replicas behind one webhook address share the bot's rate through Redis: together
/// they stay under Telegram's 30 messages a second.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a burst of 2,000 askers takes over a minute; .ci/run runs it"]
async fn a_burst_over_two_replicas_keeps_the_bot_s_rate_through_redis() {
    if !crate::replicas::redis_available() {
        return;
    }
    let redis = crate::replicas::RedisServer::start();
    let (fake, api) = spawn_fake().await;
    *fake.enforce_rate.lock().unwrap() = true;
    let a = spawn_replica(&api, Some(redis.url())).await;
    let b = spawn_replica(&api, Some(redis.url())).await;
    burst(&fake, vec![a, b], "two replicas on one Redis").await;
}

/// A `serve` process in webhook mode and where it listens.
struct Replica {
    child: std::process::Child,
    listen: std::net::SocketAddr,
}

async fn spawn_replica(api: &str, redis: Option<String>) -> Replica {
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let listen = probe.local_addr().unwrap();
    drop(probe);
    let mut env = vec![
        ("SUMMIT_QA_HTTP__LISTEN", listen.to_string()),
        (
            "SUMMIT_QA_TELEGRAM__WEBHOOK_URL",
            "https://bot.example.org/hook".into(),
        ),
        ("SUMMIT_QA_TELEGRAM__WEBHOOK_SECRET", SECRET.into()),
    ];
    if let Some(url) = redis {
        env.push(("SUMMIT_QA_REDIS__URL", url));
    }
    let mut child = spawn_serve(api, &env, false);
    if !wait_until_ready(listen).await {
        let _ = child.kill();
        panic!("serve never became ready");
    }
    Replica { child, listen }
}

/// Posts `BURST_USERS` (2,000) questions from distinct askers, 8 at a time, spread over the
/// replicas, waits for the answers, stops the replicas and checks and prints the outcome.
async fn burst(fake: &Fake, replicas: Vec<Replica>, what: &str) {
    let users: u64 = std::env::var("BURST_USERS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(2_000);
    let listens: Vec<std::net::SocketAddr> = replicas.iter().map(|r| r.listen).collect();
    let started = unix_ms();
    let posted = Arc::new(std::sync::Mutex::new(HashMap::new()));
    let slots = Arc::new(tokio::sync::Semaphore::new(8));
    let mut posts = Vec::new();
    for user in 0..users {
        let permit = slots.clone().acquire_owned().await.unwrap();
        let posted = posted.clone();
        let listen = listens[user as usize % listens.len()];
        posts.push(tokio::spawn(async move {
            let chat = 100_000 + user as i64;
            let mut update = message(user + 1, 1, private_chat(chat), "日本承诺对美国投资多少？");
            update["message"]["from"]["id"] = serde_json::json!(chat);
            posted.lock().unwrap().insert(chat, unix_ms());
            let status = client()
                .post(format!("http://{listen}/hook"))
                .header("X-Telegram-Bot-Api-Secret-Token", SECRET)
                .json(&update)
                .send()
                .await
                .map(|r| r.status().as_u16());
            drop(permit);
            assert_eq!(
                status.ok(),
                Some(200),
                "the webhook takes every update at once"
            );
        }));
    }
    for post in posts {
        post.await.unwrap();
    }
    let posting_took = unix_ms() - started;

    // Every asker answered, or time is up (28 a second, plus notices, plus a margin).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(users / 10 + 120);
    let answered = |fake: &Fake| fake.sent().iter().filter(|m| is_answer(m)).count() as u64;
    while answered(fake) < users && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await; // anything sent twice arrives too
    let mut peak_rss_kb = 0;
    for replica in &replicas {
        peak_rss_kb = peak_rss_kb.max(peak_rss_kb_of(replica.child.id()));
    }
    for mut replica in replicas {
        assert!(terminate(&mut replica.child).await.success());
    }

    let sent = fake.sent();
    let posted = posted.lock().unwrap();
    let notices = sent.iter().filter(|m| !is_answer(m)).count() as u32;
    // The estimate an asker is told by cannot foresee the notices later askers get, which go
    // ahead of the answers: an answer may wait that many slots longer (and a few seconds for
    // its own notice and computation).
    let told_after = NOTICE_AFTER + SLOT * notices + Duration::from_secs(5);
    let (mut once, mut doubled, mut lost, mut late_untold, mut told) = (0, 0, 0, 0, 0);
    let (mut longest, mut last) = (0u64, 0u64);
    for (chat, at) in posted.iter() {
        let to_chat: Vec<&Value> = sent.iter().filter(|m| m["chat_id"] == *chat).collect();
        let answers: Vec<u64> = to_chat
            .iter()
            .filter(|m| is_answer(m))
            .map(|m| m["at_ms"].as_u64().unwrap())
            .collect();
        let notice = to_chat
            .iter()
            .filter(|m| !is_answer(m))
            .map(|m| m["at_ms"].as_u64().unwrap())
            .min();
        match answers.len() {
            0 => lost += 1,
            1 => once += 1,
            _ => doubled += 1,
        }
        told += usize::from(notice.is_some());
        if let Some(&answer) = answers.first() {
            let waited = answer.saturating_sub(*at);
            longest = longest.max(waited);
            last = last.max(answer - started);
            if waited > told_after.as_millis() as u64 && notice.is_none_or(|n| n > answer) {
                late_untold += 1;
            }
        }
    }
    let rejected = fake
        .calls_to("sendmessage")
        .iter()
        .filter(|m| m["rejected"] == 429)
        .count();
    println!(
        "burst of {users} ({what}): answered once {once}, doubled {doubled}, lost {lost}; told to wait {told}, late and not told {late_untold}; posting took {:.1} s, last answer at {:.1} s, longest wait {:.1} s; 429s {rejected}; peak RSS {:.0} MB",
        posting_took as f64 / 1000.0,
        last as f64 / 1000.0,
        longest as f64 / 1000.0,
        peak_rss_kb as f64 / 1024.0,
    );
    assert!(
        rejected as u64 <= users / 100,
        "the bot keeps Telegram's rate: {rejected} messages answered 429"
    );
    assert_eq!(lost, 0, "every asker answered");
    assert_eq!(doubled, 0, "nobody answered twice");
    assert_eq!(once, users);
    assert_eq!(
        late_untold, 0,
        "whoever waited over a minute was told first"
    );
    assert!(
        peak_rss_kb < 600 * 1024,
        "memory stays bounded: {peak_rss_kb} KB"
    );
}

/// An answer to the question asked (a notice says when it follows, and has no `[1]`).
fn is_answer(message: &Value) -> bool {
    message["text"].as_str().is_some_and(|t| t.contains("[1]"))
}

async fn wait_until_ready(listen: std::net::SocketAddr) -> bool {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while tokio::time::Instant::now() < deadline {
        let ready = client()
            .get(format!("http://{listen}/readyz"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success());
        if ready {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

/// The peak resident set of process `pid` (VmHWM), in KB.
fn peak_rss_kb_of(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}
