//! The outgoing queue: every message to a chat waits here, in order, for a send slot within
//! the bot's rate (Telegram allows ~30 messages a second per bot). The wait is ours: it never
//! counts against a call's deadline, so a message that waited long is still sent, once.
//! Notices to askers ("your answer follows in about N s") go ahead of answers; a 429 pauses
//! every slot for Telegram's `retry_after`. How long a new message would wait is known at
//! once, so askers can be told before they wait.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use super::state::SharedState;
use crate::ops::Metrics;

/// How soon a message goes: notices to askers go before answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Priority {
    /// An answer, a passage, a command's text.
    Normal,
    /// A short notice that must not wait behind the answers it is about.
    Notice,
}

/// The queue of messages waiting for a send slot; one per process.
pub struct Outbox {
    normal: mpsc::UnboundedSender<Ticket>,
    notices: mpsc::UnboundedSender<Ticket>,
    waiting: Arc<AtomicUsize>,
    admitted: Arc<AtomicUsize>,
    /// Engine time per answer (moving average, µs) divided among the workers answering.
    per_answer_us: AtomicU64,
    /// Time between two slots granted back to back (moving average, µs): longer than the
    /// interval when replicas share the rate.
    spacing_us: Arc<AtomicU64>,
    workers: u32,
    paused_until: Arc<Mutex<Option<Instant>>>,
    interval: Duration,
    metrics: Arc<Metrics>,
}

struct Ticket {
    go: oneshot::Sender<()>,
    queued: Instant,
}

impl Outbox {
    /// Starts the queue, granting at most `per_second` slots a second, evenly spaced — for
    /// the bot as a whole when `shared` is backed by Redis (several replicas), else for this
    /// process; answers are computed by `workers` at a time.
    pub fn start(
        per_second: u32,
        workers: u32,
        metrics: Arc<Metrics>,
        shared: Option<Arc<SharedState>>,
    ) -> Outbox {
        let (normal, normal_rx) = mpsc::unbounded_channel();
        let (notices, notices_rx) = mpsc::unbounded_channel();
        let interval = Duration::from_secs(1) / per_second.max(1);
        let outbox = Outbox {
            normal,
            notices,
            waiting: Arc::new(AtomicUsize::new(0)),
            admitted: Arc::new(AtomicUsize::new(0)),
            per_answer_us: AtomicU64::new(0),
            spacing_us: Arc::new(AtomicU64::new(0)),
            workers: workers.max(1),
            paused_until: Arc::new(Mutex::new(None)),
            interval,
            metrics,
        };
        tokio::spawn(grant(
            Queues {
                normal: normal_rx,
                notices: notices_rx,
            },
            Pace {
                interval,
                shared,
                spacing_us: outbox.spacing_us.clone(),
                paused_until: outbox.paused_until.clone(),
            },
            outbox.waiting.clone(),
            outbox.metrics.clone(),
        ));
        outbox
    }

    /// Waits for this message's send slot (the caller then sends it at once).
    pub async fn turn(&self, priority: Priority) {
        let (go, granted) = oneshot::channel();
        let ticket = Ticket {
            go,
            queued: Instant::now(),
        };
        let waiting = self.waiting.fetch_add(1, Ordering::Relaxed) + 1;
        self.metrics.outbox_queued(waiting);
        let queue = match priority {
            Priority::Normal => &self.normal,
            Priority::Notice => &self.notices,
        };
        if queue.send(ticket).is_err() {
            // The granting task is gone (the runtime is shutting down): send without a slot.
            self.waiting.fetch_sub(1, Ordering::Relaxed);
            return;
        }
        let _ = granted.await;
    }

    /// Counts a question being answered until the guard is dropped (its reply sent): each
    /// will need a slot, so a burst of questions is seen before their answers are queued.
    pub fn admit(&self) -> Admitted {
        self.admitted.fetch_add(1, Ordering::Relaxed);
        Admitted(self.admitted.clone())
    }

    /// Records how long the engine took for one answer (a moving average is kept).
    pub fn answered_in(&self, took: Duration) {
        let took = took.as_micros() as u64;
        let old = self.per_answer_us.load(Ordering::Relaxed);
        let new = if old == 0 { took } else { (old * 7 + took) / 8 };
        self.per_answer_us.store(new, Ordering::Relaxed);
    }

    /// How long a reply to a question arriving now would wait: every question being answered
    /// or message queued ahead of it needs a slot, and its answer computed first (whichever
    /// is slower sets the pace).
    pub fn expected_wait(&self) -> Duration {
        let ahead = self
            .waiting
            .load(Ordering::Relaxed)
            .max(self.admitted.load(Ordering::Relaxed));
        let computing =
            Duration::from_micros(self.per_answer_us.load(Ordering::Relaxed)) / self.workers;
        let spacing = Duration::from_micros(self.spacing_us.load(Ordering::Relaxed));
        let queued = self.interval.max(computing).max(spacing) * ahead as u32;
        let paused = self
            .paused_until
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .map_or(Duration::ZERO, |until| {
                until.saturating_duration_since(Instant::now())
            });
        queued + paused
    }

    /// Holds every slot for `wait` (Telegram answered 429 with this `retry_after`).
    pub fn pause(&self, wait: Duration) {
        let until = Instant::now() + wait;
        let mut paused = self.paused_until.lock().unwrap_or_else(|e| e.into_inner());
        if paused.is_none_or(|p| p < until) {
            *paused = Some(until);
        }
    }
}

/// A question being answered (see [`Outbox::admit`]).
pub struct Admitted(Arc<AtomicUsize>);

impl Drop for Admitted {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

struct Queues {
    normal: mpsc::UnboundedReceiver<Ticket>,
    notices: mpsc::UnboundedReceiver<Ticket>,
}

struct Pace {
    interval: Duration,
    shared: Option<Arc<SharedState>>,
    spacing_us: Arc<AtomicU64>,
    paused_until: Arc<Mutex<Option<Instant>>>,
}

/// Grants one slot per `interval` (the bot's, through Redis, when shared), notices first,
/// holding them while paused.
async fn grant(mut queues: Queues, pace: Pace, waiting: Arc<AtomicUsize>, metrics: Arc<Metrics>) {
    let mut next = Instant::now();
    let mut last: Option<Instant> = None;
    loop {
        let ticket = tokio::select! {
            biased;
            Some(t) = queues.notices.recv() => t,
            Some(t) = queues.normal.recv() => t,
            else => return,
        };
        let at = match &pace.shared {
            Some(shared) => match shared.send_slot(pace.interval).await {
                Some(wait) => Instant::now() + wait,
                None => next,
            },
            None => next,
        };
        let paused = *pace.paused_until.lock().unwrap_or_else(|e| e.into_inner());
        let at = paused.map_or(at, |p| p.max(at));
        tokio::time::sleep_until(at).await;
        let now = Instant::now();
        next = now.max(at) + pace.interval;
        let left = waiting.fetch_sub(1, Ordering::Relaxed).saturating_sub(1);
        // Back to back (the queue was not empty): how far apart slots really are.
        if let Some(last) = last.filter(|l| now - *l < pace.interval * 20) {
            let spacing = (now - last).as_micros() as u64;
            let old = pace.spacing_us.load(Ordering::Relaxed);
            let new = if old == 0 {
                spacing
            } else {
                (old * 15 + spacing) / 16
            };
            pace.spacing_us.store(new, Ordering::Relaxed);
        }
        last = (left > 0).then_some(now);
        metrics.outbox_queued(left);
        metrics.outbox_waited(now - ticket.queued);
        // The asker's handler may have gone (shutdown): its slot is simply unused.
        let _ = ticket.go.send(());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn slots_are_spaced_notices_go_first_and_the_wait_is_known() {
        let outbox = Arc::new(Outbox::start(10, 2, Arc::new(Metrics::new()), None));
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for i in 0..5 {
            let (outbox, order) = (outbox.clone(), order.clone());
            tasks.push(tokio::spawn(async move {
                outbox.turn(Priority::Normal).await;
                order.lock().unwrap().push((i, Instant::now()));
            }));
            tokio::task::yield_now().await;
        }
        let notice = {
            let (outbox, order) = (outbox.clone(), order.clone());
            tokio::spawn(async move {
                outbox.turn(Priority::Notice).await;
                order.lock().unwrap().push((99, Instant::now()));
            })
        };
        tokio::task::yield_now().await;
        assert!(outbox.expected_wait() >= Duration::from_millis(400));
        for t in tasks {
            t.await.unwrap();
        }
        notice.await.unwrap();
        let order = order.lock().unwrap();
        let ids: Vec<i32> = order.iter().map(|(i, _)| *i).collect();
        assert_eq!(ids[0], 0, "the first waited for nothing");
        // The next answer's slot was already being waited for; the notice goes right after it,
        // ahead of the three answers still queued.
        assert_eq!(
            ids[2], 99,
            "the notice went ahead of the queued answers: {ids:?}"
        );
        for pair in order.windows(2) {
            assert!(pair[1].1 - pair[0].1 >= Duration::from_millis(99), "spaced");
        }
        assert_eq!(outbox.expected_wait(), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn a_pause_holds_every_slot() {
        let outbox = Outbox::start(100, 2, Arc::new(Metrics::new()), None);
        outbox.pause(Duration::from_secs(3));
        let started = Instant::now();
        outbox.turn(Priority::Notice).await;
        assert!(started.elapsed() >= Duration::from_secs(3));
    }
}
