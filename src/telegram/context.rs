//! Conversation context: the question each answer was for, so that a follow-up (a reply to
//! the bot's answer, or a short elliptical message right after one in a private chat) is asked
//! with it. In process here; shared between replicas through [`super::state`].

use std::sync::Arc;
use std::time::Duration;

use moka::sync::Cache;

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

/// An in-process store with a time to live and a capacity (least recently used go first).
pub struct MemoryContext {
    entries: Cache<ContextKey, Arc<str>>,
}

/// Questions remembered at once by default.
pub const CONTEXT_CAPACITY: u64 = 100_000;

impl MemoryContext {
    /// Entries live for `ttl`; at most `capacity` are kept.
    pub fn new(ttl: Duration, capacity: u64) -> MemoryContext {
        MemoryContext {
            entries: Cache::builder()
                .max_capacity(capacity)
                .time_to_live(ttl)
                .support_invalidation_closures()
                .build(),
        }
    }

    /// How many questions are remembered (after pending evictions).
    pub fn len(&self) -> u64 {
        self.entries.run_pending_tasks();
        self.entries.entry_count()
    }

    /// True when nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl MemoryContext {
    /// Remembers `question` under `key`.
    pub fn remember(&self, key: ContextKey, question: &str) {
        self.entries.insert(key, Arc::from(question));
    }

    /// The question under `key`, unless it has expired.
    pub fn recall(&self, key: &ContextKey) -> Option<String> {
        self.entries.get(key).map(|q| q.to_string())
    }

    /// Forgets everything remembered in `chat` (its last question, and the question of each
    /// of the bot's messages there).
    pub fn forget_chat(&self, chat: i64) {
        let _ = self.entries.invalidate_entries_if(move |key, _| match key {
            ContextKey::Message { chat: c, .. } | ContextKey::LastInChat(c) => *c == chat,
        });
        self.entries.run_pending_tasks();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_until_the_ttl() {
        let store = MemoryContext::new(Duration::from_millis(50), 10);
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

    #[test]
    fn a_chat_is_forgotten_whole_and_other_chats_are_kept() {
        let store = MemoryContext::new(Duration::from_secs(60), 10);
        store.remember(ContextKey::LastInChat(1), "a");
        store.remember(
            ContextKey::Message {
                chat: 1,
                message: 5,
            },
            "b",
        );
        store.remember(
            ContextKey::Message {
                chat: 2,
                message: 5,
            },
            "c",
        );
        store.forget_chat(1);
        assert_eq!(store.recall(&ContextKey::LastInChat(1)), None);
        assert_eq!(
            store.recall(&ContextKey::Message {
                chat: 1,
                message: 5
            }),
            None
        );
        assert_eq!(
            store
                .recall(&ContextKey::Message {
                    chat: 2,
                    message: 5
                })
                .as_deref(),
            Some("c")
        );
    }
}
