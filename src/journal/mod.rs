//! Operators' records: each question the bot answered (its reply kind, citations and time, the
//! chat's type) and each 👍/👎, kept `feedback.retention_days`; in Redis when `redis.url` is set
//! (shared by replicas), else in an append-only JSONL file under `data_dir`. No user or chat id
//! is stored: chats and users are keyed hashes (`feedback.salt`), the user's only so that
//! `/forget` can find their records. The reports `/stats`, `/unanswered` and `/feedback` and
//! the export for labeling are built from them here.

mod file;
mod redis_store;
pub mod report;

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::config::Config;

pub use file::FileJournal;
pub use redis_store::RedisJournal;

/// What a record is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A question and the reply it got.
    Question,
    /// A 👍 or 👎 on an answer.
    Vote,
}

/// One question or vote.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// When (seconds since 1970).
    pub at: u64,
    /// Question or vote.
    pub kind: Kind,
    /// The question's short id (what the vote buttons carry).
    pub question_id: String,
    /// The question's text (questions only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub question: Option<String>,
    /// The reply's kind: answer, closest, not_stated, refused, small_talk (questions only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply: Option<String>,
    /// The cited passages, `article ¶n` (questions only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cited: Vec<String>,
    /// Time to answer, in milliseconds (questions only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub took_ms: Option<f32>,
    /// Up (true) or down (votes only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub up: Option<bool>,
    /// The chat as a keyed hash.
    pub chat: String,
    /// private, group, supergroup or inline.
    pub chat_type: String,
    /// A group's title (never a private chat's name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chat_title: Option<String>,
    /// The user as a keyed hash: only for `/forget`.
    pub user: String,
}

/// Turns chat and user ids into keyed hashes: the same chat always groups together, and
/// nobody without the salt can tell which chat it is.
#[derive(Clone)]
pub struct Hasher([u8; 32]);

impl Hasher {
    /// A hasher keyed by `salt`.
    pub fn new(salt: &str) -> Hasher {
        Hasher(blake3::derive_key(
            "summit-qa journal ids v1",
            salt.as_bytes(),
        ))
    }

    /// The keyed hash of an id of `kind` ("chat" or "user"), 16 hex digits.
    pub fn id(&self, kind: &str, id: i64) -> String {
        let hash = blake3::keyed_hash(&self.0, format!("{kind}:{id}").as_bytes());
        hash.to_hex()[..16].to_string()
    }
}

/// Where the records are kept.
pub enum Journal {
    /// A JSONL file (one replica).
    File(FileJournal),
    /// Redis (shared by replicas).
    Redis(RedisJournal),
}

/// What can go wrong reading or writing the records.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// The file cannot be used.
    #[error("records file {path}: {cause} (set data_dir to a folder this user can write)")]
    File {
        /// The file.
        path: String,
        /// Why.
        cause: std::io::Error,
    },
    /// Redis cannot be used.
    #[error("records in Redis: {0}")]
    Redis(String),
}

impl Journal {
    /// The journal of bot `bot_id` (the token's number) that `config` describes: Redis when
    /// `redis.url` is set, else `data_dir/journal.jsonl` (its expired lines dropped now).
    pub fn open(config: &Config, bot_id: &str) -> Result<Journal, JournalError> {
        Journal::at(
            &config.data_dir,
            config.redis.url.expose().map(|url| (url, bot_id)),
            config.feedback.retention_days,
        )
    }

    /// Records in the Redis at `redis` (its URL, and the bot's id that namespaces the keys)
    /// when given, else under `data_dir`.
    pub fn at(
        data_dir: &Path,
        redis: Option<(&str, &str)>,
        retention_days: u32,
    ) -> Result<Journal, JournalError> {
        match redis {
            Some((url, bot_id)) => Ok(Journal::Redis(RedisJournal::new(
                url,
                bot_id,
                retention_days,
            )?)),
            None => Ok(Journal::File(FileJournal::open(
                &data_dir.join(file::FILE_NAME),
                retention_days,
            )?)),
        }
    }

    /// Keeps `record`.
    pub async fn record(&self, record: &Record) -> Result<(), JournalError> {
        match self {
            Journal::File(f) => f.append(record),
            Journal::Redis(r) => r.append(record).await,
        }
    }

    /// The records kept since `from` (seconds since 1970), oldest first.
    pub async fn since(&self, from: u64) -> Result<Vec<Record>, JournalError> {
        match self {
            Journal::File(f) => f.since(from),
            Journal::Redis(r) => r.since(from).await,
        }
    }

    /// Deletes every record of `user` (a keyed hash); how many there were.
    pub async fn forget(&self, user: &str) -> Result<usize, JournalError> {
        match self {
            Journal::File(f) => f.forget(user),
            Journal::Redis(r) => r.forget(user).await,
        }
    }
}

/// The records of JSON `lines` (unreadable lines skipped), in order; parsed on every core
/// when there are many (`/stats` over 100,000 records is mostly parsing).
pub(crate) fn parse<S: AsRef<str> + Sync>(lines: &[S]) -> Vec<Record> {
    let one = |part: &[S]| -> Vec<Record> {
        part.iter()
            .filter_map(|l| serde_json::from_str(l.as_ref()).ok())
            .collect()
    };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if lines.len() < 10_000 || cores == 1 {
        return one(lines);
    }
    let chunk = lines.len().div_ceil(cores);
    std::thread::scope(|s| {
        let parts: Vec<_> = lines
            .chunks(chunk)
            .map(|p| s.spawn(move || one(p)))
            .collect();
        parts
            .into_iter()
            .flat_map(|p| p.join().unwrap_or_default())
            .collect()
    })
}

/// A question's short id: what the vote buttons under its answer carry.
pub fn question_id(question: &str) -> String {
    let hash = question.bytes().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    format!("{hash:08x}")
}

/// Seconds since 1970.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_keyed_hashes_that_group_without_naming() {
        let a = Hasher::new("salt one");
        assert_eq!(a.id("chat", 7), a.id("chat", 7));
        assert_ne!(a.id("chat", 7), a.id("user", 7));
        assert_ne!(a.id("chat", 7), Hasher::new("salt two").id("chat", 7));
        assert_eq!(a.id("chat", -1001).len(), 16);
    }
}
