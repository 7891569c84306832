//! The records in Redis, shared by replicas: one list per day (`summit-qa:BOT:journal:DAY`,
//! BOT the bot's id), each list expiring `retention_days` after its day.

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::sync::Mutex;

use super::{now, JournalError, Record};

/// Longest wait for Redis.
const TIMEOUT: Duration = Duration::from_secs(2);

/// Records in Redis.
pub struct RedisJournal {
    client: redis::Client,
    prefix: String,
    retention_days: u32,
    connection: Mutex<Option<ConnectionManager>>,
}

impl RedisJournal {
    /// Records of bot `bot_id` in the Redis at `url`; connects on first use.
    pub fn new(url: &str, bot_id: &str, retention_days: u32) -> Result<RedisJournal, JournalError> {
        let client = redis::Client::open(url)
            .map_err(|e| JournalError::Redis(format!("redis.url is not a Redis URL ({e})")))?;
        Ok(RedisJournal {
            client,
            prefix: format!("summit-qa:{bot_id}:journal"),
            retention_days,
            connection: Mutex::new(None),
        })
    }

    async fn connection(&self) -> Result<ConnectionManager, JournalError> {
        let mut slot = self.connection.lock().await;
        if let Some(c) = slot.as_ref() {
            return Ok(c.clone());
        }
        let config = ConnectionManagerConfig::new()
            .set_number_of_retries(0)
            .set_connection_timeout(Some(TIMEOUT))
            .set_response_timeout(Some(TIMEOUT));
        let manager = ConnectionManager::new_with_config(self.client.clone(), config)
            .await
            .map_err(|e| JournalError::Redis(e.to_string()))?;
        *slot = Some(manager.clone());
        Ok(manager)
    }

    async fn run<T: redis::FromRedisValue>(
        &self,
        command: impl FnOnce() -> redis::Pipeline,
    ) -> Result<T, JournalError> {
        let pipe = command();
        tokio::time::timeout(TIMEOUT, async {
            let mut c = self.connection().await?;
            pipe.query_async::<T>(&mut c)
                .await
                .map_err(|e| JournalError::Redis(e.to_string()))
        })
        .await
        .unwrap_or_else(|_| Err(JournalError::Redis("no answer within 2 s".into())))
    }

    fn key(&self, day: u64) -> String {
        format!("{}:{day}", self.prefix)
    }

    /// Appends `record` to its day's list and sets the list's expiry.
    pub async fn append(&self, record: &Record) -> Result<(), JournalError> {
        let line = serde_json::to_string(record).map_err(|e| JournalError::Redis(e.to_string()))?;
        let day = record.at / 86_400;
        let key = self.key(day);
        let expires = (day + 1 + u64::from(self.retention_days)) * 86_400;
        self.run::<()>(|| {
            let mut pipe = redis::pipe();
            pipe.cmd("RPUSH").arg(&key).arg(&line).ignore();
            pipe.cmd("EXPIREAT").arg(&key).arg(expires).ignore();
            pipe
        })
        .await
    }

    fn days(&self, from: u64) -> impl Iterator<Item = u64> {
        let first = now().saturating_sub(u64::from(self.retention_days) * 86_400);
        (from.max(first) / 86_400)..=(now() / 86_400)
    }

    async fn lines(&self, from: u64) -> Result<Vec<(String, String)>, JournalError> {
        let keys: Vec<String> = self.days(from).map(|d| self.key(d)).collect();
        let lists: Vec<Vec<String>> = self
            .run(|| {
                let mut pipe = redis::pipe();
                for key in &keys {
                    pipe.cmd("LRANGE").arg(key).arg(0).arg(-1);
                }
                pipe
            })
            .await?;
        Ok(keys
            .into_iter()
            .zip(lists)
            .flat_map(|(key, lines)| lines.into_iter().map(move |l| (key.clone(), l)))
            .collect())
    }

    /// The records since `from` within the retention, oldest first.
    pub async fn since(&self, from: u64) -> Result<Vec<Record>, JournalError> {
        let lines: Vec<String> = self
            .lines(from)
            .await?
            .into_iter()
            .map(|(_, l)| l)
            .collect();
        Ok(super::parse(&lines)
            .into_iter()
            .filter(|r| r.at >= from)
            .collect())
    }

    /// Deletes every record of `user`; how many there were.
    pub async fn forget(&self, user: &str) -> Result<usize, JournalError> {
        let theirs: Vec<(String, String)> = self
            .lines(0)
            .await?
            .into_iter()
            .filter(|(_, l)| serde_json::from_str::<Record>(l).is_ok_and(|r| r.user == user))
            .collect();
        if theirs.is_empty() {
            return Ok(0);
        }
        self.run::<()>(|| {
            let mut pipe = redis::pipe();
            for (key, line) in &theirs {
                pipe.cmd("LREM").arg(key).arg(0).arg(line).ignore();
            }
            pipe
        })
        .await?;
        Ok(theirs.len())
    }
}
