//! Typed settings: built-in defaults, then `config/*.toml`, then `SUMMIT_QA_…` environment overrides.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// All settings of the engine; see `config/default.toml` for what each key means.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Folder with the articles and `articles.toml`.
    pub corpus_dir: PathBuf,
    /// Folder of the search index built from the corpus (`summit-qa index`).
    pub index_dir: PathBuf,
    /// How answers are built.
    pub answer: AnswerConfig,
    /// The Telegram bot.
    pub telegram: TelegramConfig,
    /// The HTTP endpoint for health, readiness, metrics and the webhook.
    pub http: HttpConfig,
    /// Logging.
    pub log: LogConfig,
    /// State shared by several replicas.
    pub redis: RedisConfig,
    /// The embedding model (meaning, beside the words).
    pub semantic: SemanticConfig,
    /// Adding articles from web pages (`summit-qa add`) and feeds.
    pub ingest: IngestConfig,
    /// Feeds `serve` polls for new articles (`[[feed]] url = "…"`).
    pub feed: Vec<FeedConfig>,
    /// Folder of the bot's own records (questions and votes) when Redis is not used.
    pub data_dir: PathBuf,
    /// What is kept of questions and votes, and for how long.
    pub feedback: FeedbackConfig,
}

/// The records of questions and votes.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FeedbackConfig {
    /// Days a record is kept.
    pub retention_days: u32,
    /// Key of the hashes that stand for chats and users (empty: derived from the bot token).
    pub salt: Secret,
}

impl Default for FeedbackConfig {
    fn default() -> Self {
        FeedbackConfig {
            retention_days: 90,
            salt: Secret::default(),
        }
    }
}

/// One feed (RSS 2.0, Atom or JSON Feed).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedConfig {
    /// Its URL.
    pub url: String,
}

/// Limits on the pages `add` reads.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IngestConfig {
    /// Whether pages on loopback, private, link-local and metadata addresses may be read.
    pub allow_private_hosts: bool,
    /// Most bytes of one page.
    pub max_page_bytes: usize,
    /// Longest wait for one page, in seconds.
    pub timeout_seconds: f64,
    /// How often `serve` polls the feeds, in seconds.
    pub feed_poll_seconds: f64,
}

impl Default for IngestConfig {
    fn default() -> Self {
        IngestConfig {
            allow_private_hosts: false,
            max_page_bytes: 5_000_000,
            timeout_seconds: 20.0,
            feed_poll_seconds: 900.0,
        }
    }
}

/// Whether and with which model sentences and questions are embedded.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SemanticConfig {
    /// `"auto"` (on for corpora up to [`SemanticConfig::AUTO_LIMIT_BYTES`] of text), `true`
    /// or `false`.
    pub enabled: Switch,
    /// The model file (multilingual-e5-small as `tools/e5-prune/prune.py` writes it).
    pub model: PathBuf,
    /// The answer decision fitted for this model by `summit-qa calibrate`.
    pub decision: PathBuf,
}

impl SemanticConfig {
    /// `"auto"` embeds corpora of up to this many bytes of article files (the shipped corpus
    /// has 25 KB; its sentences and paragraphs cost about 1 s per 3.8 KB on two cores, once:
    /// ~2 minutes at the limit).
    pub const AUTO_LIMIT_BYTES: u64 = 500_000;
}

/// `"auto"`, `true` or `false`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Switch {
    /// On or off.
    Fixed(bool),
    /// Decided by the corpus's size.
    Auto(AutoWord),
}

/// The word `auto`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AutoWord {
    /// `"auto"`.
    Auto,
}

impl Default for SemanticConfig {
    fn default() -> Self {
        SemanticConfig {
            enabled: Switch::Auto(AutoWord::Auto),
            model: PathBuf::from("models/multilingual-e5-small-zh-en.q4"),
            decision: PathBuf::from("models/decision.json"),
        }
    }
}

/// Where replicas share their state (update de-duplication, follow-up context, limits).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RedisConfig {
    /// `redis://host:port/db`; empty: everything stays in this process. May hold a password,
    /// so it is never logged.
    pub url: Secret,
}

/// Settings of the Telegram transport.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TelegramConfig {
    /// Bot token; `TELOXIDE_TOKEN` takes precedence. Never logged.
    pub token: Secret,
    /// Questions one user may ask per minute.
    pub questions_per_minute: u32,
    /// Inline queries one user may send per minute (clients send one per keystroke).
    pub inline_queries_per_minute: u32,
    /// Button presses one user may make per minute.
    pub button_presses_per_minute: u32,
    /// Long polling: how long one getUpdates call waits for updates, in seconds.
    pub poll_timeout_seconds: u32,
    /// How long one call to Telegram (its HTTP exchange) may take before it is given up as
    /// "may have taken effect", in seconds; time waiting for a send slot does not count.
    pub call_deadline_seconds: u32,
    /// Messages this process sends a second at most (Telegram allows ~30 per bot).
    pub messages_per_second: u32,
    /// When a new answer would wait longer than this for its send slot, the asker is told
    /// at once that it follows, and about when (seconds).
    pub queue_notice_seconds: u32,
    /// When it would wait longer than this, the asker is asked to ask again in a minute and
    /// the question is not answered (seconds); bounds the queue's memory.
    pub queue_limit_seconds: u32,
    /// Long polling: delete a webhook found registered for this token (off: refuse to start).
    pub replace_webhook: bool,
    /// How long Telegram may cache inline results, in seconds.
    pub inline_cache_seconds: u32,
    /// Public HTTPS URL for webhook mode; empty for long polling.
    pub webhook_url: String,
    /// Secret Telegram sends with every webhook request; required in webhook mode.
    pub webhook_secret: Secret,
    /// Chats (private chats and groups, by id) the bot answers in; with `allowed_users`
    /// empty too, everyone is answered.
    pub allowed_chats: Vec<i64>,
    /// Users (by id) the bot answers wherever they ask.
    pub allowed_users: Vec<u64>,
    /// Users (by id) who may use the admin commands (and the bot anywhere).
    pub admins: Vec<u64>,
    /// Whether the bot leaves a group that `allowed_chats` does not list.
    pub leave_unlisted_groups: bool,
}

/// Settings of the HTTP endpoint.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// Address to listen on.
    pub listen: SocketAddr,
}

/// Settings of the logs (always on stderr).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// `text` or `json` (one object per line).
    pub format: LogFormat,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// Whether a `SUMMIT_QA_…` variable (`key` without the prefix) is one Kubernetes injects for
/// a Service named summit-qa (`SUMMIT_QA_PORT=tcp://…`, `SUMMIT_QA_SERVICE_HOST`…): no setting
/// starts with `port` or `service`, so those are ignored.
pub fn is_kubernetes_service_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    key.starts_with("port") || key.starts_with("service_")
}

/// The `SUMMIT_QA_…` variables [`Config::load`] ignored as Kubernetes service variables.
pub fn ignored_variables() -> Vec<String> {
    std::env::vars()
        .filter_map(|(name, _)| {
            let key = name.strip_prefix("SUMMIT_QA_")?;
            is_kubernetes_service_key(key).then_some(name)
        })
        .collect()
}

/// Whether Telegram accepts `secret` as a webhook secret: 1–256 of `A-Z a-z 0-9 _ -`.
pub fn valid_webhook_secret(secret: &str) -> bool {
    let allowed = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    (1..=256).contains(&secret.len()) && secret.chars().all(allowed)
}

/// A string that is never shown: `Debug` prints `<redacted>`. Empty means not set.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The secret itself, or `None` when empty.
    pub fn expose(&self) -> Option<&str> {
        Some(self.0.trim()).filter(|s| !s.is_empty())
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_empty() {
            "<empty>"
        } else {
            "<redacted>"
        })
    }
}

impl Default for TelegramConfig {
    fn default() -> Self {
        TelegramConfig {
            token: Secret::default(),
            questions_per_minute: 10,
            inline_queries_per_minute: 30,
            button_presses_per_minute: 30,
            poll_timeout_seconds: 30,
            call_deadline_seconds: 20,
            messages_per_second: 28,
            queue_notice_seconds: 60,
            queue_limit_seconds: 300,
            replace_webhook: false,
            inline_cache_seconds: 300,
            webhook_url: String::new(),
            webhook_secret: Secret::default(),
            allowed_chats: Vec::new(),
            allowed_users: Vec::new(),
            admins: Vec::new(),
            leave_unlisted_groups: false,
        }
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            listen: SocketAddr::from(([0, 0, 0, 0], 8080)),
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            format: LogFormat::Text,
        }
    }
}

/// Limits for building an answer and deciding to refuse.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AnswerConfig {
    /// Most sentences in one answer.
    pub max_sentences: usize,
    /// Soft limit on answer length in characters.
    pub max_chars: usize,
    /// A further sentence must score at least this share of the best one.
    pub min_relative_score: f32,
    /// Most sources listed.
    pub max_sources: usize,
    /// Refusal threshold on the answer confidence (0–1).
    pub min_confidence: f32,
    /// Below `min_confidence`, a question asking for a detail gets "not stated" (with what the
    /// articles do say) when a passage is about its subject with at least this confidence.
    pub min_context: f32,
    /// Longer questions are truncated to this many characters.
    pub max_question_chars: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            corpus_dir: PathBuf::from("corpus"),
            index_dir: PathBuf::from("index"),
            answer: AnswerConfig::default(),
            telegram: TelegramConfig::default(),
            http: HttpConfig::default(),
            log: LogConfig::default(),
            redis: RedisConfig::default(),
            semantic: SemanticConfig::default(),
            ingest: IngestConfig::default(),
            feed: Vec::new(),
            data_dir: PathBuf::from("data"),
            feedback: FeedbackConfig::default(),
        }
    }
}

impl Default for AnswerConfig {
    fn default() -> Self {
        AnswerConfig {
            max_sentences: 3,
            max_chars: 160,
            min_relative_score: 0.8,
            max_sources: 3,
            min_confidence: 0.5,
            min_context: 0.65,
            max_question_chars: 500,
        }
    }
}

/// A figment error as the operator needs it: the key, where it was set (the file's full path
/// or the environment variable), the value, and what is expected.
fn describe(figment: &Figment, error: figment::Error) -> String {
    use figment::error::Kind;
    let key = error.path.join(".").to_lowercase();
    let place = match error.metadata.as_ref().and_then(|m| m.source.as_ref()) {
        Some(figment::Source::File(path)) => {
            let full = std::path::absolute(path).unwrap_or_else(|_| path.clone());
            format!("in {}", full.display())
        }
        _ if error
            .metadata
            .as_ref()
            .is_some_and(|m| m.name.contains("environment")) =>
        {
            format!(
                "in the environment variable SUMMIT_QA_{}",
                error.path.join("__").to_uppercase()
            )
        }
        _ => String::new(),
    };
    let value = figment
        .find_value(&key)
        .ok()
        .map(|v| v.as_str().map_or_else(|| format!("{v:?}"), str::to_string));
    let problem = match &error.kind {
        Kind::UnknownField(field, known) => {
            return format!(
                "unknown setting `{}` {place}: the settings here are {}",
                if key.is_empty() { field.clone() } else { key },
                known.join(", ")
            )
        }
        Kind::InvalidType(actual, expected) | Kind::InvalidValue(actual, expected) => {
            format!("is {actual}, but must be {}", plain_type(expected))
        }
        other => other.to_string(),
    };
    let hint = if key.ends_with("listen") {
        ": write IP:port, e.g. 127.0.0.1:8080 (this machine only) or 0.0.0.0:8080 (every interface)"
    } else {
        ""
    };
    match value {
        Some(value) if !matches!(error.kind, Kind::InvalidType(..) | Kind::InvalidValue(..)) => {
            format!("{key} = {value:?} {place}: {problem}{hint}")
        }
        _ => format!("{key} {place} {problem}{hint}"),
    }
}

/// serde's name of an expected type in words.
fn plain_type(expected: &str) -> &str {
    match expected {
        "u8" | "u16" | "u32" | "u64" | "usize" => "a whole number, 0 or more",
        "i8" | "i16" | "i32" | "i64" | "isize" => "a whole number",
        "f32" | "f64" => "a number",
        "a boolean" | "bool" => "true or false",
        other => other,
    }
}

impl Config {
    /// Loads defaults, then `file` if given (it must exist), then `SUMMIT_QA_…` variables.
    pub fn load(file: Option<&Path>) -> Result<Config> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = file {
            if !path.is_file() {
                return Err(Error::Config(format!(
                    "{} does not exist or is not a file",
                    path.display()
                )));
            }
            figment = figment.merge(Toml::file(path));
        }
        let figment = figment.merge(
            Env::prefixed("SUMMIT_QA_")
                .filter(|key| !is_kubernetes_service_key(key.as_str()))
                .split("__"),
        );
        let config: Config = figment
            .extract()
            .map_err(|e| Error::Config(describe(&figment, e)))?;
        config.validate()?;
        Ok(config)
    }

    /// Checks ranges and formats; run by [`Config::load`], and again after command-line overrides.
    pub fn validate(&self) -> Result<()> {
        let a = &self.answer;
        if a.max_sentences == 0 || a.max_sources == 0 || a.max_question_chars == 0 {
            return Err(Error::Config(
                "answer.max_sentences, answer.max_sources and answer.max_question_chars must be at least 1"
                    .into(),
            ));
        }
        for (key, value) in [
            ("answer.min_confidence", a.min_confidence),
            ("answer.min_context", a.min_context),
            ("answer.min_relative_score", a.min_relative_score),
        ] {
            if !(0.0..=1.0).contains(&value) {
                return Err(Error::Config(format!(
                    "{key} is {value}: it must be between 0 and 1"
                )));
            }
        }
        let i = &self.ingest;
        if i.feed_poll_seconds.is_nan() || i.feed_poll_seconds < 1.0 {
            return Err(Error::Config(format!(
                "ingest.feed_poll_seconds is {}: poll at most once a second",
                i.feed_poll_seconds
            )));
        }
        for feed in &self.feed {
            if let Err(e) = crate::add::fetch::checked_url(&feed.url) {
                return Err(Error::Config(format!("[[feed]] url: {e}")));
            }
        }
        if i.max_page_bytes == 0 || !(i.timeout_seconds > 0.0 && i.timeout_seconds <= 600.0) {
            return Err(Error::Config(format!(
                "ingest.max_page_bytes is {} and ingest.timeout_seconds {}: give at least 1 byte and between 0 and 600 seconds",
                i.max_page_bytes, i.timeout_seconds
            )));
        }
        if self.index_dir == self.corpus_dir {
            return Err(Error::Config(format!(
                "index_dir and corpus_dir are both {}: give the index a folder of its own (SUMMIT_QA_INDEX_DIR)",
                self.index_dir.display()
            )));
        }
        let t = &self.telegram;
        if t.questions_per_minute == 0
            || t.inline_queries_per_minute == 0
            || t.button_presses_per_minute == 0
        {
            return Err(Error::Config(
                "telegram.questions_per_minute, inline_queries_per_minute and button_presses_per_minute must be at least 1".into(),
            ));
        }
        for (key, value, most, why) in [
            (
                "telegram.poll_timeout_seconds",
                t.poll_timeout_seconds,
                50,
                " (Telegram holds getUpdates at most 50 s)",
            ),
            (
                "telegram.call_deadline_seconds",
                t.call_deadline_seconds,
                120,
                "",
            ),
            (
                "telegram.messages_per_second",
                t.messages_per_second,
                30,
                " (Telegram's limit per bot)",
            ),
        ] {
            if !(1..=most).contains(&value) {
                return Err(Error::Config(format!(
                    "{key} is {value}: it must be between 1 and {most}{why}"
                )));
            }
        }
        if t.queue_limit_seconds < t.queue_notice_seconds {
            return Err(Error::Config(format!(
                "telegram.queue_limit_seconds ({}) must be at least telegram.queue_notice_seconds ({})",
                t.queue_limit_seconds, t.queue_notice_seconds
            )));
        }
        if let Some(url) = self.webhook_url()? {
            if url.scheme() != "https" {
                return Err(Error::Config(format!(
                    "telegram.webhook_url must be an https:// URL (Telegram only calls HTTPS webhooks), got {url}"
                )));
            }
            if t.webhook_secret.expose().is_none() {
                return Err(Error::Config(
                    "webhook mode needs telegram.webhook_secret (SUMMIT_QA_TELEGRAM__WEBHOOK_SECRET): choose 1–256 characters of A–Z, a–z, 0–9, _ and -, and give every replica the same one".into(),
                ));
            }
        }
        if let Some(secret) = t.webhook_secret.expose() {
            if !valid_webhook_secret(secret) {
                return Err(Error::Config(
                    "telegram.webhook_secret must be 1–256 characters of A–Z, a–z, 0–9, _ and -"
                        .into(),
                ));
            }
        }
        Ok(())
    }

    /// The webhook URL, or `None` for long polling.
    pub fn webhook_url(&self) -> Result<Option<url::Url>> {
        let raw = self.telegram.webhook_url.trim();
        if raw.is_empty() {
            return Ok(None);
        }
        url::Url::parse(raw)
            .map(Some)
            .map_err(|e| Error::Config(format!("telegram.webhook_url {raw:?}: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_file_matches_built_in_defaults() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/default.toml");
        let from_file: Config = Figment::new().merge(Toml::file(&path)).extract().unwrap();
        let built_in = Config::default();
        assert_eq!(
            toml::to_string(&from_file).unwrap(),
            toml::to_string(&built_in).unwrap()
        );
    }

    /// Loads `text` as a config file named `name` in a fresh folder.
    fn load_text(name: &str, text: &str) -> Result<Config> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        Config::load(Some(&path))
    }

    #[test]
    fn feeds_are_tables_with_a_web_url() {
        let config = load_text("feeds.toml", "[[feed]]\nurl = \"https://a.example/rss\"\n[[feed]]\nurl = \"https://b.example/atom\"\n").unwrap();
        assert_eq!(config.feed.len(), 2);
        let err = load_text("bad-feed.toml", "[[feed]]\nurl = \"ftp://a.example/rss\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("[[feed]] url") && err.contains("only http and https"),
            "{err}"
        );
        let err = load_text("slow.toml", "[ingest]\nfeed_poll_seconds = 0.1\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("ingest.feed_poll_seconds"), "{err}");
    }

    #[test]
    fn bad_file_names_the_file_and_key() {
        let err = load_text("bad.toml", "[answer]\nmax_chars = \"lots\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("bad.toml"), "{err}");
        assert!(err.contains("max_chars"), "{err}");
    }

    #[test]
    fn errors_name_the_key_the_value_and_the_full_path_in_plain_words() {
        let err = load_text("c.toml", "[http]\nlisten = \"localhost:8080\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("http.listen = \"localhost:8080\""), "{err}");
        assert!(err.contains("IP:port, e.g. 127.0.0.1:8080"), "{err}");
        assert!(
            err.contains("/c.toml") && !err.contains("default."),
            "{err}"
        );
        let err = load_text("c.toml", "[answer]\nmax_sentences = -1\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("answer.max_sentences") && err.contains("a whole number, 0 or more"),
            "{err}"
        );
        let err = load_text("c.toml", "[answr]\nx = 1\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown setting `answr`"), "{err}");
        let err = load_text("c.toml", "[telegram]\nmessages_per_second = 40\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("telegram.messages_per_second is 40") && err.contains("between 1 and 30"),
            "{err}"
        );
        assert!(!err.contains("``"), "{err}");
    }

    #[test]
    fn missing_file_is_an_error() {
        let err = Config::load(Some(Path::new("/nonexistent/x.toml"))).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/x.toml"));
    }

    #[test]
    fn semantic_switch_reads_auto_true_and_false() {
        let on = load_text("c.toml", "[semantic]\nenabled = true\n").unwrap();
        assert_eq!(on.semantic.enabled, Switch::Fixed(true));
        let auto = load_text("c.toml", "[semantic]\nenabled = \"auto\"\n").unwrap();
        assert_eq!(auto.semantic.enabled, Switch::Auto(AutoWord::Auto));
        let err = load_text("c.toml", "[semantic]\nenabled = \"sometimes\"\n").unwrap_err();
        assert!(err.to_string().contains("enabled"), "{err}");
    }

    #[test]
    fn kubernetes_service_variables_are_told_from_settings() {
        for key in ["PORT", "PORT_8080_TCP_ADDR", "SERVICE_HOST", "service_port"] {
            assert!(is_kubernetes_service_key(key), "{key}");
        }
        for key in [
            "HTTP__LISTEN",
            "CORPUS_DIR",
            "TELEGRAM__POLL_TIMEOUT_SECONDS",
        ] {
            assert!(!is_kubernetes_service_key(key), "{key}");
        }
    }

    #[test]
    fn out_of_range_threshold_is_rejected() {
        assert!(load_text("c.toml", "[answer]\nmin_confidence = 3.0\n").is_err());
    }

    #[test]
    fn secrets_never_show_in_debug_output() {
        let mut config = Config::default();
        config.telegram.token = Secret("123456:very-secret-token-value".into());
        let shown = format!("{config:?}");
        assert!(!shown.contains("very-secret"), "{shown}");
        assert!(shown.contains("<redacted>"));
    }

    #[test]
    fn webhook_needs_https_and_a_valid_secret() {
        let err = load_text(
            "c.toml",
            "[telegram]\nwebhook_url = \"http://x.org/hook\"\n",
        );
        assert!(err.unwrap_err().to_string().contains("https"));
        let err = load_text(
            "c.toml",
            "[telegram]\nwebhook_url = \"https://x.org/hook\"\n",
        );
        assert!(err.unwrap_err().to_string().contains("webhook_secret"));
        let err = load_text("c.toml", "[telegram]\nwebhook_secret = \"has space\"\n");
        assert!(err.unwrap_err().to_string().contains("webhook_secret"));
        let config = load_text(
            "c.toml",
            "[telegram]\nwebhook_url = \"https://bot.example.org/hook\"\nwebhook_secret = \"s3cret_-\"\n[log]\nformat = \"json\"\n",
        )
        .unwrap();
        assert_eq!(config.webhook_url().unwrap().unwrap().path(), "/hook");
        assert_eq!(config.log.format, LogFormat::Json);
    }
}
