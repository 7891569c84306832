//! Who may use the bot: `telegram.allowed_chats`, `telegram.allowed_users` and
//! `telegram.admins` (both lists empty: everyone), and the one line a day an unlisted user gets
//! in a private chat. Checked before any retrieval.

use std::collections::HashSet;
use std::time::Duration;

use crate::config::TelegramConfig;

/// Most unlisted users remembered as told today (the oldest are forgotten first).
const TOLD_CAPACITY: u64 = 100_000;

/// The allowlist and whom it already refused today.
pub struct Access {
    chats: HashSet<i64>,
    users: HashSet<u64>,
    admins: HashSet<u64>,
    /// Whether the bot leaves a group that is not listed.
    pub leave_unlisted_groups: bool,
    told: moka::sync::Cache<u64, ()>,
}

impl Access {
    /// The allowlist of `config`.
    pub fn of(config: &TelegramConfig) -> Access {
        Access {
            chats: config.allowed_chats.iter().copied().collect(),
            users: config.allowed_users.iter().copied().collect(),
            admins: config.admins.iter().copied().collect(),
            leave_unlisted_groups: config.leave_unlisted_groups,
            told: moka::sync::Cache::builder()
                .max_capacity(TOLD_CAPACITY)
                .time_to_live(Duration::from_secs(24 * 3600))
                .build(),
        }
    }

    /// Whether a message in `chat` from `user` may be answered: the lists are empty, or the
    /// chat or the user is listed, or the user is an admin.
    pub fn allows(&self, chat: Option<i64>, user: Option<u64>) -> bool {
        (self.chats.is_empty() && self.users.is_empty())
            || chat.is_some_and(|c| self.chats.contains(&c))
            || user.is_some_and(|u| self.users.contains(&u) || self.admins.contains(&u))
    }

    /// Whether `user` is one of `telegram.admins`.
    pub fn is_admin(&self, user: Option<u64>) -> bool {
        user.is_some_and(|u| self.admins.contains(&u))
    }

    /// True the first time in a day an unlisted `user` is refused (they get one line).
    pub fn first_refusal_today(&self, user: u64) -> bool {
        let first = !self.told.contains_key(&user);
        if first {
            self.told.insert(user, ());
        }
        first
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn access(chats: &[i64], users: &[u64], admins: &[u64]) -> Access {
        Access::of(&TelegramConfig {
            allowed_chats: chats.to_vec(),
            allowed_users: users.to_vec(),
            admins: admins.to_vec(),
            ..TelegramConfig::default()
        })
    }

    #[test]
    fn empty_lists_let_everyone_in_and_a_listed_chat_or_user_or_admin_is_let_in() {
        assert!(access(&[], &[], &[]).allows(Some(-5), Some(7)));
        assert!(
            access(&[], &[], &[9]).allows(Some(-5), Some(7)),
            "admins alone restrict nothing"
        );
        let a = access(&[-100], &[7], &[9]);
        assert!(a.allows(Some(-100), Some(1)));
        assert!(a.allows(Some(7), Some(7)));
        assert!(a.allows(Some(-5), Some(9)));
        assert!(!a.allows(Some(-5), Some(1)));
        assert!(!a.allows(None, Some(1)));
        assert!(a.is_admin(Some(9)) && !a.is_admin(Some(7)) && !a.is_admin(None));
    }

    #[test]
    fn an_unlisted_user_is_told_once_a_day() {
        let a = access(&[1], &[], &[]);
        assert!(a.first_refusal_today(5));
        assert!(!a.first_refusal_today(5));
        assert!(a.first_refusal_today(6));
    }
}
