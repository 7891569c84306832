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
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

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

/// The bot's metrics. Labels never carry user content.
pub struct Metrics {
    registry: Registry,
    questions: Counter,
    answers: Family<OutcomeLabels, Counter>,
    latency: Histogram,
    api_errors: Family<ApiErrorLabels, Counter>,
    feedback: Family<VoteLabels, Counter>,
    rate_limited: Counter,
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
        let rate_limited = Counter::default();
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
        registry.register(
            "rate_limited",
            "Questions dropped by the per-user rate limit",
            rate_limited.clone(),
        );
        Metrics {
            registry,
            questions,
            answers,
            latency,
            api_errors,
            feedback,
            rate_limited,
        }
    }

    /// Counts one answered (or refused) question and how long it took.
    pub fn answer(&self, answered: bool, took: Duration) {
        self.questions.inc();
        let outcome = if answered { "answered" } else { "refused" };
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

    /// Counts a question dropped by the rate limit.
    pub fn rate_limited(&self) {
        self.rate_limited.inc();
    }

    /// The metrics in the Prometheus (OpenMetrics) text format.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

/// What `/readyz` reports: ready once the engine is loaded and Telegram answered recently.
#[derive(Default)]
pub struct Readiness {
    engine: AtomicBool,
    telegram: AtomicBool,
}

impl Readiness {
    /// Marks the index as loaded.
    pub fn engine_loaded(&self) {
        self.engine.store(true, Ordering::Relaxed);
    }

    /// Records whether the last call to Telegram succeeded.
    pub fn telegram_reachable(&self, ok: bool) {
        self.telegram.store(ok, Ordering::Relaxed);
    }

    /// Whether both hold, with a reason when not.
    pub fn check(&self) -> Result<(), &'static str> {
        if !self.engine.load(Ordering::Relaxed) {
            return Err("index not loaded");
        }
        if !self.telegram.load(Ordering::Relaxed) {
            return Err("Telegram not reachable");
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
        m.answer(true, Duration::from_millis(2));
        m.answer(false, Duration::from_millis(1));
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
    fn ready_only_with_engine_and_telegram() {
        let r = Readiness::default();
        assert_eq!(r.check(), Err("index not loaded"));
        r.engine_loaded();
        assert_eq!(r.check(), Err("Telegram not reachable"));
        r.telegram_reachable(true);
        assert_eq!(r.check(), Ok(()));
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
