//! Protection against repeats and floods: each update is handled once, and each user may send
//! a configured number of questions, inline queries or button presses per minute (one polite
//! notice, then silence). Every structure here is a bounded cache with a time to live, so
//! memory stays flat however many users come and go.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use moka::sync::Cache;

/// Remembers recent update ids, so an update delivered twice (a webhook retry, a restart
/// before the offset was confirmed) is answered once.
pub struct Seen {
    recent: Cache<u32, ()>,
}

/// How long an update id is remembered: Telegram redelivers within minutes, not hours.
const SEEN_TTL: Duration = Duration::from_secs(60 * 60);

impl Seen {
    /// Remembers up to `capacity` update ids, each for an hour.
    pub fn new(capacity: u64) -> Seen {
        Seen {
            recent: Cache::builder()
                .max_capacity(capacity)
                .time_to_live(SEEN_TTL)
                .build(),
        }
    }

    /// True the first time `id` is seen (atomic: two deliveries racing get one `true`).
    pub fn first_time(&self, id: u32) -> bool {
        self.recent.entry(id).or_insert(()).is_fresh()
    }

    /// How many ids are remembered (after pending evictions).
    pub fn len(&self) -> u64 {
        self.recent.run_pending_tasks();
        self.recent.entry_count()
    }

    /// True when nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What to do with a user's request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Serve it.
    Answer,
    /// Over the limit for the first time: say so once.
    Notify,
    /// Still over the limit: stay silent.
    Silent,
}

/// A per-user budget: `per_minute` requests, refilled evenly over the minute.
pub struct RateLimit {
    quota: Quota,
    limiters: Cache<u64, Arc<DefaultDirectRateLimiter>>,
    notified: Cache<u64, ()>,
}

/// Users tracked at once by one limit; the least recently seen are forgotten first (a
/// forgotten user starts again with a full budget, which only errs on the generous side).
pub const TRACKED_USERS: u64 = 50_000;
/// A user idle this long has a full budget again anyway, so is forgotten.
const IDLE: Duration = Duration::from_secs(2 * 60);

impl RateLimit {
    /// `per_minute` requests per user (at least 1), tracking up to `capacity` users.
    pub fn new(per_minute: u32, capacity: u64) -> RateLimit {
        let per_minute = NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN);
        RateLimit {
            quota: Quota::per_minute(per_minute),
            limiters: Cache::builder()
                .max_capacity(capacity)
                .time_to_idle(IDLE)
                .build(),
            notified: Cache::builder()
                .max_capacity(capacity)
                .time_to_idle(IDLE)
                .build(),
        }
    }

    /// Takes one request from `user`'s budget.
    pub fn check(&self, user: u64) -> Verdict {
        let limiter = self
            .limiters
            .get_with(user, || Arc::new(RateLimiter::direct(self.quota)));
        if limiter.check().is_ok() {
            self.notified.invalidate(&user);
            return Verdict::Answer;
        }
        if self.notified.entry(user).or_insert(()).is_fresh() {
            Verdict::Notify
        } else {
            Verdict::Silent
        }
    }

    /// How many users are tracked (after pending evictions).
    pub fn len(&self) -> u64 {
        self.limiters.run_pending_tasks();
        self.notified.run_pending_tasks();
        self.limiters.entry_count().max(self.notified.entry_count())
    }

    /// True when no user is tracked.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_update_is_handled_once() {
        let seen = Seen::new(100);
        assert!(seen.first_time(1));
        assert!(!seen.first_time(1));
        assert!(seen.first_time(2));
    }

    #[test]
    fn over_the_limit_one_notice_then_silence() {
        let limit = RateLimit::new(2, 100);
        assert_eq!(limit.check(7), Verdict::Answer);
        assert_eq!(limit.check(7), Verdict::Answer);
        assert_eq!(limit.check(7), Verdict::Notify);
        assert_eq!(limit.check(7), Verdict::Silent);
        assert_eq!(limit.check(7), Verdict::Silent);
        // another user has a budget of their own
        assert_eq!(limit.check(8), Verdict::Answer);
    }
}
