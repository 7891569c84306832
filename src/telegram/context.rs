//! Conversation context: the question each answer was for, so that a follow-up (a reply to
//! the bot's answer, or a short elliptical message right after one in a private chat) is asked
//! with it. Behind a trait: in memory now, a shared store when several replicas run.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// What a remembered question is attached to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ContextKey {
    /// One of the bot's messages (a reply to it is a follow-up).
    Message {
        /// Chat id.
        chat: i64,
        /// The bot's message id.
        message: i32,
    },
    /// The last answered question of a chat.
    LastInChat(i64),
}

/// A store of recent questions, each forgotten after a while.
pub trait ContextStore: Send + Sync {
    /// Remembers `question` under `key`.
    fn remember(&self, key: ContextKey, question: &str);
    /// The question under `key`, unless it has expired.
    fn recall(&self, key: &ContextKey) -> Option<String>;
}

/// An in-process store with a time to live.
pub struct MemoryContext {
    ttl: Duration,
    entries: Mutex<HashMap<ContextKey, (Instant, String)>>,
}

impl MemoryContext {
    /// Entries live for `ttl`.
    pub fn new(ttl: Duration) -> MemoryContext {
        MemoryContext {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }
}

impl ContextStore for MemoryContext {
    fn remember(&self, key: ContextKey, question: &str) {
        let now = Instant::now();
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.retain(|_, (at, _)| now.duration_since(*at) < self.ttl);
        entries.insert(key, (now, question.to_string()));
    }

    fn recall(&self, key: &ContextKey) -> Option<String> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let (at, question) = entries.get(key)?;
        (at.elapsed() < self.ttl).then(|| question.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_until_the_ttl() {
        let store = MemoryContext::new(Duration::from_millis(50));
        let key = ContextKey::LastInChat(1);
        store.remember(key.clone(), "日本承诺对美国投资多少？");
        assert_eq!(
            store.recall(&key).as_deref(),
            Some("日本承诺对美国投资多少？")
        );
        assert_eq!(store.recall(&ContextKey::LastInChat(2)), None);
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(store.recall(&key), None);
    }
}
