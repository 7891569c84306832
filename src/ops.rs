//! Operations: the counters an operator watches (Prometheus text format) and the HTTP
//! endpoints `/healthz`, `/readyz` and `/metrics`. Knows neither tantivy nor Telegram.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::answer::Reply;

/// Labels of a Telegram API error: the method and a short code (`429`, `403`, `5xx`, `network`…).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ApiErrorLabels {
    /// Bot API method, e.g. `sendMessage`.
    pub method: &'static str,
    /// What went wrong, as a short code.
    pub code: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VoteLabels {
    vote: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VoteReplyLabels {
    vote: &'static str,
    reply: &'static str,
}

/// The bot's metrics. Labels never carry user content.
pub struct Metrics {
    registry: Registry,
    questions: Counter,
    answers: Family<OutcomeLabels, Counter>,
    latency: Histogram,
    api_errors: Family<ApiErrorLabels, Counter>,
    feedback: Family<VoteLabels, Counter>,
    rate_limited: Family<KindLabels, Counter>,
    votes_by_reply: Family<VoteReplyLabels, Counter>,
    refused_access: Family<KindLabels, Counter>,
    unconfirmed: Family<ApiErrorLabels, Counter>,
    telegram_up: Gauge,
    telegram_seen_up: AtomicBool,
    redis_errors: Family<OpLabels, Counter>,
    index_articles: Gauge,
    index_reloads: Family<OutcomeLabels, Counter>,
    outbox_queued: Gauge,
    outbox_wait: Histogram,
    outbox_notices: Family<KindLabels, Counter>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OpLabels {
    op: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: &'static str,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Registers every metric under the `summit_qa_` prefix.
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("summit_qa");
        let questions = Counter::default();
        let answers = Family::<OutcomeLabels, Counter>::default();
        // 100 µs … ~3.3 s
        let latency = Histogram::new(exponential_buckets(0.0001, 2.0, 16));
        let api_errors = Family::<ApiErrorLabels, Counter>::default();
        let feedback = Family::<VoteLabels, Counter>::default();
        let rate_limited = Family::<KindLabels, Counter>::default();
        let refused_access = Family::<KindLabels, Counter>::default();
        registry.register(
            "allowlist_refusals",
            "Requests from chats and users the allowlist does not list (kind = private, group, inline, button)",
            refused_access.clone(),
        );
        let unconfirmed = Family::<ApiErrorLabels, Counter>::default();
        let telegram_up = Gauge::default();
        let redis_errors = Family::<OpLabels, Counter>::default();
        registry.register(
            "redis_errors",
            "Redis calls that failed or timed out and fell back to this replica's own state (op = dedup, context, limit)",
            redis_errors.clone(),
        );
        registry.register("questions", "Questions received", questions.clone());
        registry.register(
            "answers",
            "Questions answered from the articles or refused (outcome = answered, refused, error)",
            answers.clone(),
        );
        registry.register(
            "answer_seconds",
            "Time to retrieve and compose one answer",
            latency.clone(),
        );
        registry.register(
            "telegram_api_errors",
            "Failed Telegram Bot API calls by method and code",
            api_errors.clone(),
        );
        registry.register(
            "feedback",
            "Feedback buttons pressed (vote = up, down)",
            feedback.clone(),
        );
        let votes_by_reply = Family::<VoteReplyLabels, Counter>::default();
        registry.register(
            "votes_by_reply",
            "Votes by the kind of reply voted on (reply = answer, closest, not_stated, refused, unknown: answered by another replica or before a restart)",
            votes_by_reply.clone(),
        );
        registry.register(
            "rate_limited",
            "Requests dropped by a per-user limit (kind = question, inline, button)",
            rate_limited.clone(),
        );
        registry.register(
            "telegram_unconfirmed",
            "Bot API calls that may or may not have taken effect (5xx, timeout, unreadable answer) and were not repeated, by method and reason",
            unconfirmed.clone(),
        );
        registry.register(
            "telegram_reachable",
            "1 when the last call to Telegram succeeded, 0 when it failed",
            telegram_up.clone(),
        );
        let index_articles = Gauge::default();
        registry.register(
            "index_articles",
            "Articles in the index generation answering now",
            index_articles.clone(),
        );
        let index_reloads = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "index_reloads",
            "Index generations swapped in (outcome=done) or that failed to open (outcome=failed)",
            index_reloads.clone(),
        );
        let outbox_queued = Gauge::default();
        registry.register(
            "outbox_queued",
            "Messages waiting in this process for a send slot within Telegram's rate",
            outbox_queued.clone(),
        );
        // 10 ms … ~11 min
        let outbox_wait = Histogram::new(exponential_buckets(0.01, 2.0, 17));
        registry.register(
            "outbox_wait_seconds",
            "Time a message waited for its send slot",
            outbox_wait.clone(),
        );
        let outbox_notices = Family::<KindLabels, Counter>::default();
        registry.register(
            "outbox_notices",
            "Askers told their answer is late (kind = later) or to ask again (kind = again) while many answers wait",
            outbox_notices.clone(),
        );
        Metrics {
            registry,
            outbox_queued,
            outbox_wait,
            outbox_notices,
            questions,
            answers,
            latency,
            api_errors,
            feedback,
            rate_limited,
            votes_by_reply,
            refused_access,
            unconfirmed,
            telegram_up,
            telegram_seen_up: AtomicBool::new(true),
            index_articles,
            index_reloads,
            redis_errors,
        }
    }

    /// Sets how many messages wait for a send slot.
    pub fn outbox_queued(&self, waiting: usize) {
        self.outbox_queued.set(waiting as i64);
    }

    /// Records how long a message waited for its send slot.
    pub fn outbox_waited(&self, waited: Duration) {
        self.outbox_wait.observe(waited.as_secs_f64());
    }

    /// Counts an asker told the answer is late (`later`) or to ask again (`again`).
    pub fn outbox_notice(&self, kind: &'static str) {
        self.outbox_notices
            .get_or_create(&KindLabels { kind })
            .inc();
    }

    /// Counts a Redis call that failed or timed out.
    pub fn redis_error(&self, op: &'static str) {
        self.redis_errors.get_or_create(&OpLabels { op }).inc();
    }

    /// Records the size of the index generation now answering.
    pub fn index_loaded(&self, articles: usize) {
        self.index_articles.set(articles as i64);
    }

    /// Counts an attempt to swap in a new index generation.
    pub fn index_reload(&self, done: bool) {
        let outcome = if done { "done" } else { "failed" };
        self.index_reloads
            .get_or_create(&OutcomeLabels { outcome })
            .inc();
    }

    /// Records whether the last call to Telegram succeeded; logs each change.
    pub fn telegram_reachable(&self, ok: bool) {
        self.telegram_up.set(i64::from(ok));
        if self.telegram_seen_up.swap(ok, Ordering::Relaxed) != ok {
            if ok {
                tracing::info!("Telegram reachable again");
            } else {
                tracing::warn!("Telegram not reachable; still answering what arrives");
            }
        }
    }

    /// Counts a call that may have taken effect and was deliberately not repeated.
    pub fn unconfirmed(&self, method: &'static str, code: &'static str) {
        self.unconfirmed
            .get_or_create(&ApiErrorLabels { method, code })
            .inc();
    }

    /// Counts one reply (answered, not stated, refused, small talk) and how long it took.
    pub fn answer(&self, reply: Reply, took: Duration) {
        self.questions.inc();
        let outcome = match reply {
            Reply::Answer => "answered",
            other => other.name(),
        };
        self.answers.get_or_create(&OutcomeLabels { outcome }).inc();
        self.latency.observe(took.as_secs_f64());
    }

    /// Counts a question the engine rejected (empty after cleaning).
    pub fn answer_error(&self) {
        self.questions.inc();
        self.answers
            .get_or_create(&OutcomeLabels { outcome: "error" })
            .inc();
    }

    /// Counts a failed Bot API call.
    pub fn api_error(&self, method: &'static str, code: &'static str) {
        self.api_errors
            .get_or_create(&ApiErrorLabels { method, code })
            .inc();
    }

    /// Counts a feedback vote.
    pub fn vote(&self, up: bool) {
        let vote = if up { "up" } else { "down" };
        self.feedback.get_or_create(&VoteLabels { vote }).inc();
    }

    /// Counts a vote on a reply of kind `reply`.
    pub fn vote_on(&self, up: bool, reply: &'static str) {
        let vote = if up { "up" } else { "down" };
        self.votes_by_reply
            .get_or_create(&VoteReplyLabels { vote, reply })
            .inc();
    }

    /// Counts a request from outside the allowlist (`private`, `group`, `inline`, `button`).
    pub fn refused_access(&self, kind: &'static str) {
        self.refused_access
            .get_or_create(&KindLabels { kind })
            .inc();
    }

    /// Counts a request dropped by a per-user limit (`question`, `inline`, `button`).
    pub fn rate_limited(&self, kind: &'static str) {
        self.rate_limited.get_or_create(&KindLabels { kind }).inc();
    }

    /// The metrics in the Prometheus (OpenMetrics) text format.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

/// What `/readyz` reports: "this process can answer" — the engine is loaded and the update
/// listener is up. Whether Telegram answers is not readiness (in webhook mode an outage would
/// pull every replica out of the load balancer at once); it is a metric and a log line.
#[derive(Default)]
pub struct Readiness {
    engine: AtomicBool,
    listening: AtomicBool,
}

impl Readiness {
    /// Marks the index as loaded.
    pub fn engine_loaded(&self) {
        self.engine.store(true, Ordering::Relaxed);
    }

    /// Marks the update listener (polling or the webhook route) as up or stopped.
    pub fn listening(&self, up: bool) {
        self.listening.store(up, Ordering::Relaxed);
    }

    /// Whether this process can answer, with a reason when not.
    pub fn check(&self) -> Result<(), &'static str> {
        if !self.engine.load(Ordering::Relaxed) {
            return Err("index not loaded");
        }
        if !self.listening.load(Ordering::Relaxed) {
            return Err("update listener not running");
        }
        Ok(())
    }
}

/// Shared state of the operations endpoints.
#[derive(Clone, Default)]
pub struct Ops {
    /// Counters.
    pub metrics: Arc<Metrics>,
    /// Readiness flags.
    pub readiness: Arc<Readiness>,
}

/// The routes `/healthz`, `/readyz` and `/metrics`.
pub fn router(ops: Ops) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(ops)
}

async fn readyz(State(ops): State<Ops>) -> impl IntoResponse {
    match ops.readiness.check() {
        Ok(()) => (StatusCode::OK, "ready\n".to_string()),
        Err(why) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: {why}\n"),
        ),
    }
}

async fn metrics(State(ops): State<Ops>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        ops.metrics.encode(),
    )
}

/// Asks `/healthz` at `addr` (as the container's health check does); `Ok` on HTTP 200.
pub async fn probe(addr: std::net::SocketAddr, timeout: Duration) -> Result<(), String> {
    let url = format!("http://{addr}/healthz");
    // A local probe must not go through an HTTP_PROXY set for the bot's outbound traffic.
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(timeout)
        .build()
        .map_err(|e| format!("cannot make an HTTP client: {e}"))?;
    let response = client
        .get(&url)
        .send()
        .await
        .map_err(|e| format!("cannot reach {url}: {e}"))?;
    match response.status() {
        status if status.is_success() => Ok(()),
        status => Err(format!("{url} answered {status}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_are_exposed_by_name_and_label() {
        let m = Metrics::new();
        m.answer(Reply::Answer, Duration::from_millis(2));
        m.answer(Reply::Refused, Duration::from_millis(1));
        m.api_error("sendMessage", "429");
        m.vote(true);
        let text = m.encode();
        assert!(text.contains("summit_qa_questions_total 2"), "{text}");
        assert!(text.contains("summit_qa_answers_total{outcome=\"answered\"} 1"));
        assert!(text.contains("summit_qa_answers_total{outcome=\"refused\"} 1"));
        assert!(text.contains("summit_qa_answer_seconds_count 2"));
        assert!(text.contains(
            "summit_qa_telegram_api_errors_total{method=\"sendMessage\",code=\"429\"} 1"
        ));
        assert!(text.contains("summit_qa_feedback_total{vote=\"up\"} 1"));
    }

    #[test]
    fn ready_means_engine_loaded_and_listener_up_whatever_telegram_does() {
        let r = Readiness::default();
        assert_eq!(r.check(), Err("index not loaded"));
        r.engine_loaded();
        assert_eq!(r.check(), Err("update listener not running"));
        r.listening(true);
        assert_eq!(r.check(), Ok(()));
        let m = Metrics::new();
        m.telegram_reachable(false);
        assert_eq!(r.check(), Ok(()));
        assert!(m.encode().contains("summit_qa_telegram_reachable 0"));
    }

    #[tokio::test]
    async fn probe_sees_healthz() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router(Ops::default())).await });
        probe(addr, Duration::from_secs(5)).await.unwrap();
        let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let nobody = closed.local_addr().unwrap();
        drop(closed);
        assert!(probe(nobody, Duration::from_secs(5)).await.is_err());
    }
}
