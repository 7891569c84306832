//! What replicas share: update de-duplication, follow-up context and per-user limits. On Redis
//! when `redis.url` is set, so that several replicas behave as one bot; in process otherwise.
//! When Redis fails (down, slow), every call falls back to the in-process state within a
//! short timeout, the failure is counted and logged at most once a minute, and Redis is used
//! again as soon as it answers — no restart, no crash, no hang.
//!
//! Keys (all with a TTL, namespaced by the bot's id `B`):
//! `summit-qa:B:update:<update_id>` (1 h), `summit-qa:B:ctx:<chat>:<message>` and
//! `summit-qa:B:ctx:<chat>:last` (30 min), `summit-qa:B:limit:<kind>:<user>` (GCRA state, until
//! the budget is full again), `summit-qa:B:notified:<kind>:<user>` (1 min).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::sync::Mutex;

use super::context::{ContextKey, MemoryContext, CONTEXT_CAPACITY};
use super::guard::{RateLimit, Seen, Verdict, TRACKED_USERS};
use crate::config::TelegramConfig;
use crate::ops::Metrics;

/// How long a question stays available as the context of a follow-up.
pub const CONTEXT_TTL: Duration = Duration::from_secs(30 * 60);
/// How long an update id is remembered.
const UPDATE_TTL_SECONDS: u64 = 60 * 60;
/// Update ids remembered in process.
const REMEMBERED_UPDATES: u64 = 100_000;
/// Longest wait for Redis on any call before falling back to local state.
const REDIS_TIMEOUT: Duration = Duration::from_millis(300);
/// While Redis cannot be reached, how often a new connection is tried.
const RECONNECT_EVERY: Duration = Duration::from_secs(2);
/// Failures are logged at most this often.
const LOG_EVERY: Duration = Duration::from_secs(60);

/// A kind of request with its own per-user budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A question (message or /ask).
    Question,
    /// An inline query.
    Inline,
    /// A button press.
    Button,
}

impl Kind {
    /// The label used in keys and metrics.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Question => "question",
            Kind::Inline => "inline",
            Kind::Button => "button",
        }
    }
}

/// Requests per minute allowed for each kind.
#[derive(Debug, Clone, Copy)]
struct Budgets {
    /// Questions a minute.
    pub questions: u32,
    /// Inline queries a minute.
    pub inline: u32,
    /// Button presses a minute.
    pub buttons: u32,
}

impl Budgets {
    fn of(&self, kind: Kind) -> u32 {
        match kind {
            Kind::Question => self.questions,
            Kind::Inline => self.inline,
            Kind::Button => self.buttons,
        }
        .max(1)
    }
}

/// The in-process state: used alone without Redis, and as the fallback while Redis fails.
struct Local {
    seen: Seen,
    context: MemoryContext,
    questions: RateLimit,
    inline: RateLimit,
    buttons: RateLimit,
}

impl Local {
    fn limit(&self, kind: Kind) -> &RateLimit {
        match kind {
            Kind::Question => &self.questions,
            Kind::Inline => &self.inline,
            Kind::Button => &self.buttons,
        }
    }
}

/// Update de-duplication, follow-up context and per-user limits, shared through Redis when
/// configured.
pub struct SharedState {
    local: Local,
    budgets: Budgets,
    redis: Option<Redis>,
}

struct Redis {
    client: redis::Client,
    prefix: String,
    connection: Mutex<Option<ConnectionManager>>,
    last_attempt: AtomicU64,
    last_log: AtomicU64,
    metrics: Arc<Metrics>,
}

/// GCRA per user, and the "told once" flag, in one atomic step. KEYS: the limit key, the
/// notified key. ARGV: the emission interval (ms), the burst. Returns 1 (serve), 2 (over the
/// limit for the first time: notify) or 3 (still over: stay silent).
const LIMIT_SCRIPT: &str = r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
if tat - now <= interval * (burst - 1) then
  local new_tat = tat + interval
  redis.call('SET', KEYS[1], new_tat, 'PX', new_tat - now)
  redis.call('DEL', KEYS[2])
  return 1
end
if redis.call('SET', KEYS[2], 1, 'NX', 'PX', 60000) then
  return 2
end
return 3
"#;

impl SharedState {
    /// In-process state only (one replica).
    pub fn local(limits: &TelegramConfig) -> SharedState {
        let budgets = Budgets {
            questions: limits.questions_per_minute,
            inline: limits.inline_queries_per_minute,
            buttons: limits.button_presses_per_minute,
        };
        SharedState {
            local: Local {
                seen: Seen::new(REMEMBERED_UPDATES),
                context: MemoryContext::new(CONTEXT_TTL, CONTEXT_CAPACITY),
                questions: RateLimit::new(budgets.questions, TRACKED_USERS),
                inline: RateLimit::new(budgets.inline, TRACKED_USERS),
                buttons: RateLimit::new(budgets.buttons, TRACKED_USERS),
            },
            budgets,
            redis: None,
        }
    }

    /// State shared through Redis at `url`, keys namespaced by `bot_id`; nothing is connected
    /// yet (the first call connects, and a Redis that is down is only a fallback to local).
    pub fn with_redis(
        limits: &TelegramConfig,
        url: &str,
        bot_id: &str,
        metrics: Arc<Metrics>,
    ) -> Result<SharedState, String> {
        let (client, address) = redis_client(url)?;
        tracing::info!(redis = %address, "replicas share state through Redis");
        let mut state = SharedState::local(limits);
        state.redis = Some(Redis {
            client,
            prefix: format!("summit-qa:{bot_id}"),
            connection: Mutex::new(None),
            last_attempt: AtomicU64::new(0),
            last_log: AtomicU64::new(0),
            metrics,
        });
        Ok(state)
    }

    /// True the first time update `id` is seen by any replica.
    pub async fn first_time(&self, id: u32) -> bool {
        let local = self.local.seen.first_time(id);
        let Some(redis) = &self.redis else {
            return local;
        };
        let key = format!("{}:update:{id}", redis.prefix);
        let mut cmd = redis::cmd("SET");
        cmd.arg(&key)
            .arg(1)
            .arg("NX")
            .arg("EX")
            .arg(UPDATE_TTL_SECONDS);
        match redis.query::<Option<String>>(cmd, "dedup").await {
            Some(set) => set.is_some(),
            None => local,
        }
    }

    /// Remembers `question` as the context under `key`, for `ttl`.
    pub async fn remember(&self, key: ContextKey, question: &str) {
        self.local.context.remember(key.clone(), question);
        if let Some(redis) = &self.redis {
            let mut cmd = redis::cmd("SET");
            cmd.arg(redis.context_key(&key))
                .arg(question)
                .arg("EX")
                .arg(CONTEXT_TTL.as_secs());
            let _ = redis.query::<()>(cmd, "context").await;
        }
    }

    /// Forgets the whole conversation context of `chat` on every replica.
    pub async fn forget_chat(&self, chat: i64) {
        self.local.context.forget_chat(chat);
        if let Some(redis) = &self.redis {
            // The chat's keys (`…:ctx:CHAT:*`), found with SCAN a thousand at a time (never
            // KEYS, which would stop Redis on a large keyspace).
            let pattern = format!("{}:ctx:{chat}:*", redis.prefix);
            let mut cursor: u64 = 0;
            loop {
                let mut scan = redis::cmd("SCAN");
                scan.arg(cursor)
                    .arg("MATCH")
                    .arg(&pattern)
                    .arg("COUNT")
                    .arg(1000);
                let Some((next, keys)) = redis.query::<(u64, Vec<String>)>(scan, "context").await
                else {
                    break;
                };
                if !keys.is_empty() {
                    let mut delete = redis::cmd("DEL");
                    delete.arg(&keys);
                    let _ = redis.query::<i64>(delete, "context").await;
                }
                if next == 0 {
                    break;
                }
                cursor = next;
            }
        }
    }

    /// The question remembered under `key` by any replica, unless expired.
    pub async fn recall(&self, key: &ContextKey) -> Option<String> {
        if let Some(redis) = &self.redis {
            let mut cmd = redis::cmd("GET");
            cmd.arg(redis.context_key(key));
            if let Some(found) = redis.query::<Option<String>>(cmd, "context").await {
                return found;
            }
        }
        self.local.context.recall(key)
    }

    /// Takes one request of `kind` from `user`'s budget, counted across replicas.
    pub async fn check(&self, kind: Kind, user: u64) -> Verdict {
        let Some(redis) = &self.redis else {
            return self.local.limit(kind).check(user);
        };
        let per_minute = self.budgets.of(kind);
        let interval_ms = 60_000 / u64::from(per_minute);
        let label = kind.label();
        let mut cmd = redis::cmd("EVAL");
        cmd.arg(LIMIT_SCRIPT)
            .arg(2)
            .arg(format!("{}:limit:{label}:{user}", redis.prefix))
            .arg(format!("{}:notified:{label}:{user}", redis.prefix))
            .arg(interval_ms.max(1))
            .arg(per_minute);
        match redis.query::<i64>(cmd, "limit").await {
            Some(1) => Verdict::Answer,
            Some(2) => Verdict::Notify,
            Some(_) => Verdict::Silent,
            None => self.local.limit(kind).check(user),
        }
    }
}

/// The bot's next send slot, shared by every replica (GCRA over one key, in microseconds).
/// KEYS: the slot key. ARGV: the interval between two slots (µs). Reserves the next slot and
/// returns how long until it (µs).
const SLOT_SCRIPT: &str = r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
redis.call('SET', KEYS[1], tat + interval, 'PX', math.floor((tat + interval - now) / 1000) + 1000)
return tat - now
"#;

impl SharedState {
    /// Reserves the bot's next send slot, one every `interval` across every replica
    /// (Telegram's rate is the bot's, not each replica's), and returns how long to wait for
    /// it; `None` without Redis or while it fails (the caller then keeps the rate alone).
    pub async fn send_slot(&self, interval: Duration) -> Option<Duration> {
        let redis = self.redis.as_ref()?;
        let mut cmd = redis::cmd("EVAL");
        cmd.arg(SLOT_SCRIPT)
            .arg(1)
            .arg(format!("{}:sends", redis.prefix))
            .arg(interval.as_micros() as u64);
        let wait = redis.query::<i64>(cmd, "slot").await?;
        Some(Duration::from_micros(wait.max(0) as u64))
    }
}

impl Redis {
    fn context_key(&self, key: &ContextKey) -> String {
        match key {
            ContextKey::Message { chat, message } => {
                format!("{}:ctx:{chat}:{message}", self.prefix)
            }
            ContextKey::LastInChat(chat) => format!("{}:ctx:{chat}:last", self.prefix),
        }
    }

    /// Runs `cmd` within [`REDIS_TIMEOUT`]; `None` (counted, logged at most once a minute) when
    /// Redis cannot answer, so the caller falls back to local state.
    async fn query<T: redis::FromRedisValue>(
        &self,
        cmd: redis::Cmd,
        op: &'static str,
    ) -> Option<T> {
        let result = tokio::time::timeout(REDIS_TIMEOUT, async {
            let mut connection = self.connection().await?;
            cmd.query_async::<T>(&mut connection)
                .await
                .map_err(|e| e.to_string())
        })
        .await
        .unwrap_or_else(|_| {
            Err(format!(
                "no answer within {} ms (is the host up and reachable from here?)",
                REDIS_TIMEOUT.as_millis()
            ))
        });
        match result {
            Ok(value) => Some(value),
            Err(e) => {
                self.metrics.redis_error(op);
                let now = seconds_now();
                let last = self.last_log.load(Ordering::Relaxed);
                if now.saturating_sub(last) >= LOG_EVERY.as_secs()
                    && self
                        .last_log
                        .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                        .is_ok()
                {
                    tracing::warn!(op, error = %e, "Redis unavailable; using this replica's own state until it returns");
                }
                None
            }
        }
    }

    /// The shared connection, connecting first if needed (at most every [`RECONNECT_EVERY`]
    /// while Redis is unreachable). The connection manager reconnects by itself afterwards.
    async fn connection(&self) -> Result<ConnectionManager, String> {
        let mut slot = self.connection.lock().await;
        if let Some(c) = slot.as_ref() {
            return Ok(c.clone());
        }
        let now = seconds_now();
        let last = self.last_attempt.load(Ordering::Relaxed);
        if last != 0 && now.saturating_sub(last) < RECONNECT_EVERY.as_secs() {
            return Err("not connected (retrying shortly)".into());
        }
        self.last_attempt.store(now, Ordering::Relaxed);
        // No retries inside the manager: a refused connection or an unknown host is reported
        // with its own cause at once (this replica retries every RECONNECT_EVERY itself).
        let config = ConnectionManagerConfig::new()
            .set_number_of_retries(0)
            .set_connection_timeout(Some(REDIS_TIMEOUT))
            .set_response_timeout(Some(REDIS_TIMEOUT));
        let manager = ConnectionManager::new_with_config(self.client.clone(), config)
            .await
            .map_err(|e| e.to_string())?;
        *slot = Some(manager.clone());
        tracing::info!("connected to Redis");
        Ok(manager)
    }
}

fn seconds_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A client for the Redis at `url` and where it is, as `host:port/db` (never the password);
/// or what is wrong with the URL, naming the setting.
fn redis_client(url: &str) -> Result<(redis::Client, String), String> {
    let client = redis::Client::open(url).map_err(|e| {
        format!("redis.url (SUMMIT_QA_REDIS__URL) is not a Redis URL ({e}): write redis://host:port/db, e.g. redis://redis:6379/0")
    })?;
    let info = client.get_connection_info();
    let address = format!("{}/{}", info.addr(), info.redis_settings().db());
    Ok((client, address))
}

/// Where the Redis at `url` is, as `host:port/db` (never the password), or what is wrong
/// with the URL: what `serve` checks before using it.
pub fn redis_address(url: &str) -> Result<String, String> {
    redis_client(url).map(|(_, address)| address)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_redis_url_is_shown_without_its_password_and_a_wrong_one_is_named() {
        let address = redis_address("redis://:hunter2@cache.internal:6380/2").unwrap();
        assert_eq!(address, "cache.internal:6380/2");
        let wrong = redis_address("http://x").unwrap_err();
        assert!(wrong.contains("redis.url") && wrong.contains("redis://host:port/db"));
    }
}
