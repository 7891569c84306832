//! Protection against repeats and floods: each update is handled once, and each user may
//! ask a configured number of questions per minute (one polite notice, then silence).

use std::collections::{HashSet, VecDeque};
use std::num::NonZeroU32;
use std::sync::Mutex;

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// Remembers the most recent update ids, so an update delivered twice (a webhook retry, a
/// restart before the offset was confirmed) is answered once.
pub struct Seen {
    recent: Mutex<(HashSet<u32>, VecDeque<u32>)>,
    capacity: usize,
}

impl Seen {
    /// Remembers up to `capacity` update ids.
    pub fn new(capacity: usize) -> Seen {
        Seen {
            recent: Mutex::new((HashSet::new(), VecDeque::new())),
            capacity,
        }
    }

    /// True the first time `id` is seen.
    pub fn first_time(&self, id: u32) -> bool {
        let mut guard = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        let (set, order) = &mut *guard;
        if !set.insert(id) {
            return false;
        }
        order.push_back(id);
        if order.len() > self.capacity {
            if let Some(old) = order.pop_front() {
                set.remove(&old);
            }
        }
        true
    }
}

/// What to do with a user's question.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Answer it.
    Answer,
    /// Over the limit for the first time: say so once.
    Notify,
    /// Still over the limit: stay silent.
    Silent,
}

/// A per-user question budget: `per_minute` questions, refilled evenly over the minute.
pub struct RateLimit {
    limiter: DefaultKeyedRateLimiter<u64>,
    notified: Mutex<HashSet<u64>>,
}

/// Users tracked before idle ones are forgotten.
const TRACKED_USERS: usize = 10_000;

impl RateLimit {
    /// `per_minute` questions per user (at least 1).
    pub fn new(per_minute: u32) -> RateLimit {
        let quota = Quota::per_minute(NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN));
        RateLimit {
            limiter: RateLimiter::keyed(quota),
            notified: Mutex::new(HashSet::new()),
        }
    }

    /// Takes one question from `user`'s budget.
    pub fn check(&self, user: u64) -> Verdict {
        if self.limiter.len() > TRACKED_USERS {
            self.limiter.retain_recent();
        }
        let mut notified = self.notified.lock().unwrap_or_else(|e| e.into_inner());
        if self.limiter.check_key(&user).is_ok() {
            notified.remove(&user);
            return Verdict::Answer;
        }
        if notified.insert(user) {
            Verdict::Notify
        } else {
            Verdict::Silent
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_update_is_handled_once() {
        let seen = Seen::new(2);
        assert!(seen.first_time(1));
        assert!(!seen.first_time(1));
        assert!(seen.first_time(2));
        assert!(seen.first_time(3));
        // 1 was forgotten to keep memory bounded
        assert!(seen.first_time(1));
    }

    #[test]
    fn over_the_limit_one_notice_then_silence() {
        let limit = RateLimit::new(2);
        assert_eq!(limit.check(7), Verdict::Answer);
        assert_eq!(limit.check(7), Verdict::Answer);
        assert_eq!(limit.check(7), Verdict::Notify);
        assert_eq!(limit.check(7), Verdict::Silent);
        assert_eq!(limit.check(7), Verdict::Silent);
        // another user has a budget of their own
        assert_eq!(limit.check(8), Verdict::Answer);
    }
}
