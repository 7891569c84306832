//! The Telegram transport: who is being addressed in private chats and groups, commands,
//! replies rendered as Telegram HTML, buttons and inline mode. It calls the engine and the
//! renderer; it knows nothing of tantivy.
//!
//! - [`handlers`]: the update handler tree ([`schema`]) and the handlers for messages,
//!   button presses and inline queries.
//! - [`runner`]: long polling or the webhook, the HTTP endpoint, shutdown ([`run`]).
//! - [`send`]: calling the Bot API at most once per reply.
//! - [`outbox`]: the queue of messages waiting for a send slot within the bot's rate.
//! - [`state`]: what replicas share (de-duplication, follow-up context, limits), on Redis or
//!   in process; [`guard`] and [`context`] are the bounded in-process parts.
//! - [`access`]: the allowlist (allowed chats and users, admins); `admin`: questions and votes
//!   recorded, the admin commands, `/forget`.
//! - [`buttons`], [`inline`]: callback data and inline results.
//! - [`dry_run`]: a stand-in Bot API for `serve --dry-run` (trying the bot without Telegram).

use std::time::Duration;

use teloxide::prelude::*;
use teloxide::utils::command::BotCommands;

use crate::config::{Config, Secret, TelegramConfig};

pub mod access;
mod admin;
pub(crate) mod buttons;
pub mod context;
pub mod dry_run;
pub mod guard;
pub mod handlers;
pub(crate) mod inline;
pub mod outbox;
pub(crate) mod runner;
pub(crate) mod send;
pub mod state;
pub(crate) mod texts;

pub use handlers::schema;
pub use runner::run;

/// What can stop the bot from starting or serving.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// A setting the bot cannot run with.
    #[error("configuration: {0}")]
    Config(String),
    /// The Telegram Bot API refused or could not be reached while starting the bot.
    #[error("Telegram: {0}")]
    Telegram(String),
    /// The HTTP endpoint (health, readiness, metrics, webhook) failed.
    #[error("HTTP endpoint: {0}")]
    Http(String),
}

/// The bot's commands; their docs are the descriptions registered with setMyCommands.
#[derive(BotCommands, Clone, Debug, PartialEq)]
#[command(rename_rule = "lowercase")]
pub enum Command {
    /// What this bot knows, with example questions.
    Start,
    /// How to ask.
    Help,
    /// Ask a question: /ask 日本承诺对美国投资多少？
    Ask(String),
    /// The indexed articles.
    Sources,
    /// About this bot.
    About,
    /// What the bot keeps of your questions, and for how long.
    Privacy,
    /// Delete your questions, votes and conversation context.
    Forget,
}

/// Commands for `telegram.admins`, in a private chat (shown in their menu only).
#[derive(BotCommands, Clone, Debug, PartialEq)]
#[command(rename_rule = "lowercase")]
pub enum AdminCommand {
    /// Questions, replies by kind, votes, answer times, busiest chats: /stats [days]
    Stats(String),
    /// The most asked questions that got no answer, grouped
    Unanswered,
    /// The latest 👎 with their questions and cited paragraphs
    Feedback,
    /// Re-read the corpus now
    Reload,
}

/// What to do with an incoming text message.
#[derive(Debug, Clone, PartialEq)]
pub enum Route {
    /// Not for us (a group message that does not address the bot): stay silent.
    Ignore,
    /// One of our commands.
    Command(Command),
    /// A command we do not have, in a private chat: one line pointing to /help.
    Unknown,
    /// A question to answer.
    Question(String),
}

/// Decides whether a message is for this bot. In a private chat every text is a question; in
/// a group only `/ask …` (or `/ask@this_bot …`), a message that @mentions the bot, or a reply
/// to one of the bot's messages. Commands for another bot (`/ask@other_bot`) are ignored.
pub fn route(text: &str, private: bool, bot_username: &str, reply_to_bot: bool) -> Route {
    let text = text.trim();
    if text.starts_with('/') {
        return match Command::parse(text, bot_username) {
            Ok(command) => Route::Command(command),
            Err(_) if private && !addressed_elsewhere(text, bot_username) => Route::Unknown,
            Err(_) => Route::Ignore,
        };
    }
    let mention = format!("@{bot_username}");
    let mentioned = text.split_whitespace().any(|w| {
        w.trim_end_matches(|c: char| !c.is_alphanumeric() && c != '_')
            .eq_ignore_ascii_case(&mention)
    });
    if private || reply_to_bot || mentioned {
        let question = remove_mention(text, &mention);
        if question.is_empty() {
            return Route::Command(Command::Help);
        }
        return Route::Question(question);
    }
    Route::Ignore
}

/// True for `/cmd@someone_else`.
fn addressed_elsewhere(text: &str, bot_username: &str) -> bool {
    let command = text.split_whitespace().next().unwrap_or("");
    command
        .split_once('@')
        .is_some_and(|(_, to)| !to.eq_ignore_ascii_case(bot_username))
}

fn remove_mention(text: &str, mention: &str) -> String {
    text.split_whitespace()
        .filter(|w| !w.to_lowercase().starts_with(&mention.to_lowercase()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// How the bot runs: the config's `[telegram]` section, with the webhook and Redis resolved;
/// built by [`Settings::from_config`].
#[derive(Debug, Clone)]
pub struct Settings {
    /// The `[telegram]` section (limits, long polling, inline cache, call deadline).
    pub telegram: TelegramConfig,
    /// Webhook mode when set; long polling otherwise.
    pub webhook: Option<Webhook>,
    /// Redis shared by replicas (empty: state stays in this process).
    pub redis_url: Secret,
    /// Where questions and votes are recorded when Redis is not used.
    pub data_dir: std::path::PathBuf,
    /// How long records are kept, and the key of their hashes.
    pub feedback: crate::config::FeedbackConfig,
    /// The whole configuration: `/reload` re-indexes the corpus with it.
    pub config: Config,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings::from_config(&Config::default()).expect("the default config is valid")
    }
}

/// Where Telegram posts updates in webhook mode.
#[derive(Debug, Clone)]
pub struct Webhook {
    /// The public HTTPS URL; its path is served locally.
    pub url: url::Url,
    /// The secret Telegram must send (the same on every replica).
    pub secret: Secret,
}

impl Settings {
    /// The bot's settings from the config (already validated).
    pub fn from_config(config: &Config) -> crate::Result<Settings> {
        let t = &config.telegram;
        let webhook = config.webhook_url()?.map(|url| Webhook {
            url,
            secret: t.webhook_secret.clone(),
        });
        Ok(Settings {
            telegram: t.clone(),
            webhook,
            redis_url: config.redis.url.clone(),
            data_dir: config.data_dir.clone(),
            feedback: config.feedback.clone(),
            config: config.clone(),
        })
    }

    /// Long polling: how long one getUpdates call waits.
    pub fn poll_timeout(&self) -> Duration {
        Duration::from_secs(u64::from(self.telegram.poll_timeout_seconds))
    }

    /// How long one call's HTTP exchange with Telegram may take.
    pub fn call_deadline(&self) -> Duration {
        Duration::from_secs(u64::from(self.telegram.call_deadline_seconds))
    }
}

/// The bot token from `TELOXIDE_TOKEN` (or `configured`, telegram.token), when it has the
/// shape BotFather gives (`123456:ABC-…`); otherwise what is wrong with it, never the token.
pub fn token(configured: Option<&str>) -> Result<String, String> {
    let from_env = std::env::var("TELOXIDE_TOKEN")
        .ok()
        .filter(|t| !t.trim().is_empty());
    let Some(token) = from_env.or(configured.map(str::to_string)) else {
        return Err("TELOXIDE_TOKEN is missing: set it to the token BotFather gave you (/newbot in Telegram's @BotFather), e.g. in .env".into());
    };
    token_shape(token.trim())
        .map(|()| token.trim().to_string())
        .map_err(|why| format!("TELOXIDE_TOKEN is malformed: {why}"))
}

/// What is wrong with the shape of `token`, if anything (never quoting it).
fn token_shape(token: &str) -> Result<(), String> {
    let Some((id, secret)) = token.split_once(':') else {
        return Err(
            "it has no colon (a token is the bot's numeric id, a colon, then its secret)".into(),
        );
    };
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_digit()) {
        return Err("the part before the colon must be the bot's numeric id".into());
    }
    if secret.contains("replace-with") || secret.contains("BotFather") {
        return Err("it is still the placeholder from .env.example: put the token BotFather gave you in .env".into());
    }
    if !secret
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err("the part after the colon may hold only letters, digits, - and _".into());
    }
    if secret.len() < 20 {
        return Err(format!(
            "the part after the colon has {} characters; BotFather's have about 35",
            secret.len()
        ));
    }
    Ok(())
}

/// A bot for `token` whose HTTP client waits longer than a long poll (teloxide's default
/// client gives up after ~17 s, which would cut every 30 s getUpdates short).
pub fn bot(token: &str, api_url: Option<url::Url>, settings: &Settings) -> Bot {
    let timeout = (settings.poll_timeout() + Duration::from_secs(15)).max(settings.call_deadline());
    let client = teloxide::net::default_reqwest_settings()
        .timeout(timeout)
        .build()
        .unwrap_or_else(|_| teloxide::net::client_from_env());
    let bot = Bot::with_client(token, client);
    match api_url {
        Some(url) => bot.set_api_url(url),
        None => bot,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOT: &str = "summit_qa_bot";

    #[test]
    fn a_token_is_checked_for_shape_and_the_placeholder_without_quoting_it() {
        assert!(token_shape("123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsawq").is_ok());
        let placeholder = token_shape("123456:replace-with-the-token-from-BotFather");
        assert!(placeholder
            .unwrap_err()
            .contains("placeholder from .env.example"));
        assert!(token_shape("AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsawq")
            .unwrap_err()
            .contains("no colon"));
        assert!(token_shape("bot:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsawq")
            .unwrap_err()
            .contains("numeric id"));
        let short = token_shape("123:secretvalue").unwrap_err();
        assert!(short.contains("has 11 characters") && !short.contains("secretvalue"));
        assert!(token_shape("123:AAHdqTcvCH1vGWJxf SeofSAs0K5PALDsawq")
            .unwrap_err()
            .contains("only letters"));
    }

    #[test]
    fn private_text_is_a_question() {
        assert_eq!(
            route("日本投资多少？", true, BOT, false),
            Route::Question("日本投资多少？".into())
        );
    }

    #[test]
    fn groups_answer_only_when_addressed() {
        assert_eq!(route("大家好", false, BOT, false), Route::Ignore);
        assert_eq!(
            route("/ask@other_bot 日本投资多少？", false, BOT, false),
            Route::Ignore
        );
        assert_eq!(
            route("/ask@summit_qa_bot 日本投资多少？", false, BOT, false),
            Route::Command(Command::Ask("日本投资多少？".into()))
        );
        assert_eq!(
            route("/ask 日本投资多少？", false, BOT, false),
            Route::Command(Command::Ask("日本投资多少？".into()))
        );
        assert_eq!(
            route("@summit_qa_bot 日本投资多少？", false, BOT, false),
            Route::Question("日本投资多少？".into())
        );
        assert_eq!(
            route("那防卫装备呢？", false, BOT, true),
            Route::Question("那防卫装备呢？".into())
        );
        assert_eq!(route("/start@other_bot", false, BOT, false), Route::Ignore);
    }

    #[test]
    fn unknown_command_in_private_points_to_help() {
        assert_eq!(route("/weather", true, BOT, false), Route::Unknown);
        assert_eq!(route("/weather@other_bot", true, BOT, false), Route::Ignore);
    }
}
