//! Two `serve` processes in webhook mode sharing state through a real `redis-server` (started
//! by the test on a free port, in a temporary folder): one reply per update, follow-ups
//! answered by either replica, one limit per user, keys that expire, and life without Redis.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

use crate::fake_api::*;

/// A `redis-server` of our own; killed when dropped.
pub(crate) struct RedisServer {
    port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

/// Whether `redis-server` can be run here. Without it the Redis tests say once that they are
/// skipped, unless `REQUIRE_REDIS_SERVER=1` (set by `.ci/run`), where they fail instead.
pub(crate) fn redis_available() -> bool {
    let found = Command::new("redis-server")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        assert!(
            std::env::var("REQUIRE_REDIS_SERVER").as_deref() != Ok("1"),
            "redis-server is not installed and REQUIRE_REDIS_SERVER=1: apt-get install -y redis-server"
        );
        eprintln!("skipped: install redis-server (apt-get install -y redis-server) to run the replica tests");
    }
    found
}

impl RedisServer {
    pub(crate) fn start() -> RedisServer {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = probe.local_addr().unwrap().port();
        drop(probe);
        let mut server = RedisServer {
            port,
            dir: tempfile::tempdir().unwrap(),
            child: None,
        };
        server.restart();
        server
    }

    /// (Re)starts the server on the same port, empty.
    fn restart(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(self.dir.path())
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server is installed (apt-get install -y redis-server; .ci/run does it)");
        self.child = Some(child);
        for _ in 0..100 {
            if self.ping() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("redis-server did not start on port {}", self.port);
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub(crate) fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    fn connection(&self) -> redis::Connection {
        redis::Client::open(self.url())
            .unwrap()
            .get_connection()
            .unwrap()
    }

    fn ping(&self) -> bool {
        redis::Client::open(self.url())
            .ok()
            .and_then(|c| c.get_connection().ok())
            .is_some_and(|mut c| redis::cmd("PING").query::<String>(&mut c).is_ok())
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

const SECRET: &str = "replica_secret-1";

/// A `summit-qa serve` process in webhook mode, configured by environment as in
/// `docker-compose.replicas.yml`; stopped with SIGTERM.
struct Replica {
    child: Child,
    listen: std::net::SocketAddr,
}

impl Replica {
    async fn start(api: &str, redis: &RedisServer, questions_per_minute: u32) -> Replica {
        Replica::start_with(api, redis, questions_per_minute, Vec::new()).await
    }

    async fn start_with(
        api: &str,
        redis: &RedisServer,
        questions_per_minute: u32,
        extra: Vec<(&'static str, String)>,
    ) -> Replica {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let listen = probe.local_addr().unwrap();
        drop(probe);
        let env = [
            ("SUMMIT_QA_HTTP__LISTEN", listen.to_string()),
            (
                "SUMMIT_QA_TELEGRAM__WEBHOOK_URL",
                "https://bot.example.org/hook".into(),
            ),
            ("SUMMIT_QA_TELEGRAM__WEBHOOK_SECRET", SECRET.into()),
            (
                "SUMMIT_QA_TELEGRAM__QUESTIONS_PER_MINUTE",
                questions_per_minute.to_string(),
            ),
            ("SUMMIT_QA_REDIS__URL", redis.url()),
        ];
        let env: Vec<(&str, String)> = env.into_iter().chain(extra).collect();
        let child = spawn_serve(api, &env, false);
        let replica = Replica { child, listen };
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while tokio::time::Instant::now() < deadline {
            if replica.get("/readyz").await.0 == 200 {
                return replica;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("replica never became ready");
    }

    async fn get(&self, path: &str) -> (u16, String) {
        match client()
            .get(format!("http://{}{path}", self.listen))
            .send()
            .await
        {
            Ok(r) => (r.status().as_u16(), r.text().await.unwrap_or_default()),
            Err(_) => (0, String::new()),
        }
    }

    /// SIGTERM, then a clean exit.
    async fn stop(mut self) {
        let status = terminate(&mut self.child).await;
        assert!(status.success(), "replica exited with {status}");
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

/// Posts `update` to a replica's webhook, as Telegram (or the load balancer) would; the
/// replica must accept it.
async fn post(replica: &Replica, update: &Value) {
    let status = client()
        .post(format!("http://{}/hook", replica.listen))
        .header("content-type", "application/json")
        .header("X-Telegram-Bot-Api-Secret-Token", SECRET)
        .body(update.to_string())
        .send()
        .await
        .unwrap()
        .status()
        .as_u16();
    assert_eq!(status, 200, "the replica accepts the update");
}

/// A message replying to the bot's message `sent` (as a follow-up).
fn reply_to(update_id: u64, message_id: u64, sent: &Value, text: &str) -> Value {
    let mut update = message(update_id, message_id, private_chat(7), text);
    update["message"]["reply_to_message"] = bot_message(sent);
    update
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_on_redis_behave_as_one_bot() {
    if !redis_available() {
        return;
    }
    let mut redis = RedisServer::start();
    let (fake, url) = spawn_fake().await;
    let a = Replica::start(&url, &redis, 3).await;
    let b = Replica::start(&url, &redis, 3).await;

    // The same update delivered to both replicas is answered once.
    let question = message(1, 10, private_chat(7), "日本将购买多少架波音飞机？");
    post(&a, &question).await;
    post(&b, &question).await;
    wait_for(&fake, 1).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(fake.sent().len(), 1, "answered once by the two replicas");

    // A follow-up (a reply to A's answer) reaching B is asked with A's question as context.
    let answer = fake.sent()[0].clone();
    post(&b, &reply_to(2, 11, &answer, "那防卫装备呢？")).await;
    wait_for(&fake, 2).await;
    let follow_up = fake.sent()[1]["text"].as_str().unwrap().to_string();
    assert!(
        follow_up.contains("2.5兆"),
        "answered with context: {follow_up}"
    );

    // The user has had 2 questions; a third on A is allowed, a fourth on B is over the
    // shared limit of 3 a minute (one notice).
    post(
        &a,
        &message(3, 12, private_chat(7), "QUAD是什么时候复活的？"),
    )
    .await;
    wait_for(&fake, 3).await;
    post(
        &b,
        &message(4, 13, private_chat(7), "高市内阁的支持率是多少？"),
    )
    .await;
    wait_for(&fake, 4).await;
    let notice = fake.sent()[3]["text"].as_str().unwrap().to_string();
    assert!(
        notice.contains("提问太频繁"),
        "limited as one bot: {notice}"
    );

    // Every key has a TTL and is namespaced by the bot's id.
    let mut c = redis.connection();
    let keys: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut c).unwrap();
    assert!(keys.len() >= 5, "{keys:?}");
    for key in &keys {
        assert!(key.starts_with("summit-qa:123456:"), "{key}");
        let ttl: i64 = redis::cmd("PTTL").arg(key).query(&mut c).unwrap();
        assert!(ttl > 0, "{key} has no TTL ({ttl})");
    }

    // Redis killed: both replicas keep answering with their own state.
    redis.stop();
    post(
        &a,
        &message(5, 14, private_chat(21), "日本承诺对美国投资多少？"),
    )
    .await;
    post(
        &b,
        &message(6, 15, private_chat(22), "日本承诺对美国投资多少？"),
    )
    .await;
    wait_for(&fake, 6).await;
    let (_, metrics) = a.get("/metrics").await;
    assert!(
        metrics.contains("summit_qa_redis_errors_total"),
        "{metrics}"
    );

    // Redis back (empty): de-duplication across replicas works again, without a restart.
    redis.restart();
    let again = message(7, 16, private_chat(23), "日本承诺对美国投资多少？");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    // Until the replicas use Redis again (they reconnect by themselves), send them commands.
    // Both must be back: one replica on Redis while the other is not yet would answer twice.
    let mut probe = 100;
    while tokio::time::Instant::now() < deadline {
        let mut sent = Vec::new();
        for replica in [&a, &b] {
            probe += 1;
            post(replica, &message(probe, 1, private_chat(24), "/start")).await;
            sent.push(probe);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg("*")
            .query(&mut redis.connection())
            .unwrap();
        let recorded = |id: &u64| keys.iter().any(|k| k.ends_with(&format!(":update:{id}")));
        if sent.iter().all(recorded) {
            break;
        }
    }
    let before = fake.sent().len();
    post(&a, &again).await;
    post(&b, &again).await;
    wait_for(&fake, before + 1).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    a.stop().await;
    b.stop().await;
    let to_23 = fake.sent().iter().filter(|m| m["chat_id"] == 23).count();
    assert_eq!(to_23, 1, "one reply again once Redis is back");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_on_one_redis_report_the_same_stats_and_every_record_expires() {
    if !redis_available() {
        return;
    }
    let redis = RedisServer::start();
    let (fake, url) = spawn_fake().await;
    let admins = || vec![("SUMMIT_QA_TELEGRAM__ADMINS", "[99]".to_string())];
    let a = Replica::start_with(&url, &redis, 30, admins()).await;
    let b = Replica::start_with(&url, &redis, 30, admins()).await;
    let questions = [
        "日本将购买多少架波音飞机？",
        "How tall is the Eiffel Tower?",
        "谢谢",
    ];
    let mut update = 0;
    for (replica, user) in [(&a, 7i64), (&b, 8)] {
        for q in questions {
            update += 1;
            let mut asked = message(update, update, private_chat(user), q);
            asked["message"]["from"]["id"] = json!(user);
            post(replica, &asked).await;
        }
    }
    wait_for(&fake, 6).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    for (i, replica) in [&a, &b].into_iter().enumerate() {
        let mut stats = message(100 + i as u64, 100 + i as u64, private_chat(99), "/stats");
        stats["message"]["from"]["id"] = json!(99);
        post(replica, &stats).await;
    }
    wait_for(&fake, 8).await;
    let to_admin: Vec<String> = fake
        .sent()
        .iter()
        .filter(|m| m["chat_id"] == 99)
        .map(|m| m["text"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(to_admin.len(), 2);
    assert!(
        to_admin[0].contains("Last 1 day: 6 questions"),
        "{}",
        to_admin[0]
    );
    assert_eq!(
        to_admin[0], to_admin[1],
        "both replicas read the same records"
    );

    // /forget on one replica deletes the asker's context and records for both.
    let mut c = redis.connection();
    let context = |c: &mut redis::Connection, chat: i64| -> usize {
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("summit-qa:123456:ctx:{chat}:*"))
            .query(c)
            .unwrap();
        keys.len()
    };
    assert!(context(&mut c, 7) > 0 && context(&mut c, 8) > 0);
    post(&b, &message(200, 200, private_chat(7), "/forget")).await;
    wait_for(&fake, 9).await;
    let said = fake.sent()[8]["text"].as_str().unwrap().to_string();
    assert!(said.contains('3'), "three records of user 7: {said}");
    assert_eq!(context(&mut c, 7), 0, "user 7's context is gone");
    assert!(context(&mut c, 8) > 0, "user 8's is kept");
    a.stop().await;
    b.stop().await;

    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("summit-qa:123456:journal:*")
        .query(&mut c)
        .unwrap();
    assert!(!keys.is_empty());
    for key in keys {
        let ttl: i64 = redis::cmd("TTL").arg(&key).query(&mut c).unwrap();
        assert!(
            ttl > 89 * 86_400 && ttl <= 91 * 86_400,
            "{key} expires in {ttl} s"
        );
    }
}
