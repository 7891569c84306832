//! The Telegram transport: commands, who is being addressed in private chats and groups, and
//! replies rendered as Telegram HTML. It calls the engine and the renderer; it knows nothing
//! of tantivy.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use teloxide::adaptors::throttle::Limits;
use teloxide::adaptors::Throttle;
use teloxide::error_handlers::ErrorHandler;
use teloxide::prelude::*;
use teloxide::types::{
    AllowedUpdate, InlineKeyboardButton, InlineKeyboardButtonKind, InlineKeyboardMarkup,
    LinkPreviewOptions, Me, MessageId, ParseMode, ReplyParameters,
};
use teloxide::update_listeners::{webhooks, Polling, UpdateListener};
use teloxide::utils::command::BotCommands;
use teloxide::utils::html;

use crate::answer::{Answer, Citation, PassageRef};
use crate::config::{Config, Secret};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::ops::{self, Ops};
use crate::render::{self, labels, telegram::MESSAGE_LIMIT};
use crate::text;

pub mod buttons;
pub mod context;
pub mod guard;
pub mod inline;
pub mod send;

use buttons::{Action, Pressed};
use context::{ContextKey, ContextStore, MemoryContext};
use guard::{RateLimit, Seen, Verdict};
use send::send;

/// How long a question stays available as the context of a follow-up.
const CONTEXT_TTL: std::time::Duration = std::time::Duration::from_secs(30 * 60);

/// The bot's commands; their docs are the descriptions shown by /help and setMyCommands.
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
}

/// What to do with an incoming text message.
#[derive(Debug, Clone, PartialEq)]
pub enum Route {
    /// Not for us (a group message that does not address the bot): stay silent.
    Ignore,
    /// One of our commands.
    Command(Command),
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
            Err(_) if private && !addressed_elsewhere(text, bot_username) => {
                Route::Command(Command::Help)
            }
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

/// The bot as the handlers use it: Telegram's per-chat and global limits applied before
/// sending, and a 429 answer's `retry_after` honoured by retrying the same request.
type Throttled = Throttle<Bot>;

/// How the bot runs; built from the config by [`Settings::from_config`].
#[derive(Debug, Clone)]
pub struct Settings {
    /// Questions one user may ask per minute.
    pub questions_per_minute: u32,
    /// How long Telegram may cache inline results, in seconds.
    pub inline_cache_seconds: u32,
    /// Webhook mode when set; long polling otherwise.
    pub webhook: Option<Webhook>,
    /// Address of the HTTP endpoint (health, readiness, metrics, webhook).
    pub listen: SocketAddr,
}

/// Where Telegram posts updates in webhook mode.
#[derive(Debug, Clone)]
pub struct Webhook {
    /// The public HTTPS URL; its path is served locally.
    pub url: url::Url,
    /// The secret Telegram must send; random per start when empty.
    pub secret: Secret,
}

impl Settings {
    /// The bot's settings from the config (already validated).
    pub fn from_config(config: &Config) -> Result<Settings> {
        let t = &config.telegram;
        let webhook = config.webhook_url()?.map(|url| Webhook {
            url,
            secret: t.webhook_secret.clone(),
        });
        Ok(Settings {
            questions_per_minute: t.questions_per_minute,
            inline_cache_seconds: t.inline_cache_seconds,
            webhook,
            listen: config.http.listen,
        })
    }
}

/// What every handler shares.
struct Shared {
    engine: Arc<Engine>,
    store: Arc<dyn ContextStore>,
    ops: Ops,
    limit: RateLimit,
    seen: Seen,
    inline_cache_seconds: u32,
}

/// Update ids remembered to drop a repeated delivery.
const REMEMBERED_UPDATES: usize = 10_000;
/// How often readiness re-checks that Telegram answers.
const READINESS_PROBE: Duration = Duration::from_secs(30);

/// Runs the bot until `shutdown` completes, then stops taking updates, finishes the answers
/// in flight and returns. Serves `/healthz`, `/readyz`, `/metrics` (and the webhook) on
/// `settings.listen`; registers the commands with setMyCommands first.
pub async fn run(
    bot: Bot,
    engine: Arc<Engine>,
    settings: Settings,
    ops: Ops,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let bot: Throttled = bot.throttle(Limits::default());
    ops.readiness.engine_loaded();
    let tcp = tokio::net::TcpListener::bind(settings.listen)
        .await
        .map_err(|source| Error::Listen {
            addr: settings.listen,
            source,
        })?;
    let metrics = &ops.metrics;
    let commands = bot.set_my_commands(Command::bot_commands());
    send(commands, "setMyCommands", metrics)
        .await
        .map_err(|e| {
            Error::Telegram(format!(
                "setMyCommands failed: {e} (check the token and TELOXIDE_API_URL)"
            ))
        })?;
    ops.readiness.telegram_reachable(true);
    let shared = Arc::new(Shared {
        engine,
        store: Arc::new(MemoryContext::new(CONTEXT_TTL)),
        ops: ops.clone(),
        limit: RateLimit::new(settings.questions_per_minute),
        seen: Seen::new(REMEMBERED_UPDATES),
        inline_cache_seconds: settings.inline_cache_seconds,
    });
    let probe = tokio::spawn(probe_readiness(bot.clone(), ops.clone()));
    let routes = ops::router(ops.clone());
    let result = match settings.webhook {
        None => {
            let listener = Polling::builder(bot.clone()).delete_webhook().await.build();
            // The HTTP endpoint outlives the answers in flight, then stops.
            let (http_stop, http_stopped) = tokio::sync::oneshot::channel::<()>();
            let http = serve_http(tcp, routes, async {
                let _ = http_stopped.await;
            });
            let errors = Arc::new(PollingErrors(ops.clone()));
            dispatch(bot, shared, listener, errors, shutdown).await;
            let _ = http_stop.send(());
            finish(http).await
        }
        Some(webhook) => {
            let (listener, stopped, router) =
                set_webhook(&bot, &webhook, settings.listen, metrics).await?;
            // The update stream ends only when the webhook route is dropped, so the HTTP
            // endpoint stops as soon as the listener does; answers in flight still finish.
            let http = serve_http(tcp, routes.merge(router), stopped);
            let errors = LoggingErrorHandler::with_custom_text("webhook listener error");
            dispatch(bot, shared, listener, errors, shutdown).await;
            finish(http).await
        }
    };
    probe.abort();
    result
}

/// Registers the webhook (with its secret and the update kinds we handle) and returns the
/// update listener and its route. The webhook is left in place at shutdown: with several
/// replicas behind a load balancer, one stopping must not unregister the others.
async fn set_webhook(
    bot: &Throttled,
    webhook: &Webhook,
    listen: SocketAddr,
    metrics: &crate::ops::Metrics,
) -> Result<(
    impl UpdateListener<Err = std::convert::Infallible>,
    impl Future<Output = ()> + Send + 'static,
    axum::Router,
)> {
    let mut options = webhooks::Options::new(listen, webhook.url.clone());
    if let Some(secret) = webhook.secret.expose() {
        if !crate::config::valid_webhook_secret(secret) {
            return Err(Error::Config(
                "telegram.webhook_secret must be 1–256 characters of A–Z, a–z, 0–9, _ and -".into(),
            ));
        }
        options = options.secret_token(secret.to_string());
    }
    let secret = options.get_or_gen_secret_token().to_string();
    let request = bot
        .set_webhook(webhook.url.clone())
        .secret_token(secret)
        .allowed_updates(vec![
            AllowedUpdate::Message,
            AllowedUpdate::InlineQuery,
            AllowedUpdate::CallbackQuery,
        ]);
    send(request, "setWebhook", metrics).await.map_err(|e| {
        Error::Telegram(format!(
            "setWebhook failed: {e} (telegram.webhook_url must be a public HTTPS URL)"
        ))
    })?;
    tracing::info!(path = webhook.url.path(), "webhook registered");
    let (listener, stopped, router) = webhooks::axum_no_setup(options);
    Ok((listener, stopped, router))
}

/// Handles updates from `listener` until `shutdown`, then waits for the answers in flight.
async fn dispatch<L, E>(
    bot: Throttled,
    shared: Arc<Shared>,
    mut listener: L,
    errors: Arc<E>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) where
    L: UpdateListener + Send,
    L::Err: std::fmt::Debug,
    E: ErrorHandler<L::Err> + Send + Sync + 'static,
{
    let handler = dptree::entry()
        .filter(|update: Update, shared: Arc<Shared>| shared.seen.first_time(update.id.0))
        .branch(Update::filter_message().endpoint(on_message))
        .branch(Update::filter_inline_query().endpoint(on_inline_query))
        .branch(Update::filter_callback_query().endpoint(on_callback));
    // Stopping the listener (rather than the dispatcher's ShutdownToken, whose wake-up is lost
    // when it arrives while an update is being handed to a worker) ends the update stream; the
    // dispatcher then waits for the answers in flight and returns.
    let stop = listener.stop_token();
    tokio::spawn(async move {
        shutdown.await;
        tracing::info!("shutting down: no new updates, finishing answers in flight");
        stop.stop();
    });
    Dispatcher::builder(bot, handler)
        .dependencies(dptree::deps![shared])
        .default_handler(|_| async {})
        .error_handler(LoggingErrorHandler::with_custom_text(
            "error handling an update",
        ))
        .build()
        .dispatch_with_listener(listener, errors)
        .await;
}

fn serve_http(
    tcp: tokio::net::TcpListener,
    routes: axum::Router,
    stopped: impl Future<Output = ()> + Send + 'static,
) -> tokio::task::JoinHandle<std::io::Result<()>> {
    if let Ok(addr) = tcp.local_addr() {
        tracing::info!(%addr, "serving /healthz, /readyz, /metrics");
    }
    tokio::spawn(async move {
        axum::serve(tcp, routes)
            .with_graceful_shutdown(stopped)
            .await
    })
}

async fn finish(http: tokio::task::JoinHandle<std::io::Result<()>>) -> Result<()> {
    match http.await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(Error::Telegram(format!("HTTP endpoint failed: {e}"))),
        Err(e) => Err(Error::Telegram(format!("HTTP endpoint task failed: {e}"))),
    }
}

/// Counts failed getUpdates calls, marks the bot not ready, and explains a 409.
struct PollingErrors(Ops);

impl ErrorHandler<teloxide::RequestError> for PollingErrors {
    fn handle_error(
        self: Arc<Self>,
        error: teloxide::RequestError,
    ) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>> {
        let code = send::code(&error);
        self.0.metrics.api_error("getUpdates", code);
        self.0.readiness.telegram_reachable(false);
        if code == "409" {
            tracing::error!("another instance is polling with this token (409 Conflict): run only one polling instance, or use webhook mode for several replicas");
        } else {
            tracing::warn!(code, error = %error, "getUpdates failed; polling again");
        }
        Box::pin(async {})
    }
}

/// Re-checks every [`READINESS_PROBE`] that Telegram answers getMe.
async fn probe_readiness(bot: Throttled, ops: Ops) {
    loop {
        tokio::time::sleep(READINESS_PROBE).await;
        let ok = bot.get_me().await.is_ok();
        ops.readiness.telegram_reachable(ok);
    }
}

async fn on_message(bot: Throttled, msg: Message, me: Me, app: Arc<Shared>) -> ResponseResult<()> {
    let Some(text) = msg.text() else {
        return Ok(());
    };
    let replied = msg
        .reply_to_message()
        .filter(|m| m.from.as_ref().is_some_and(|u| u.id == me.id));
    let private = msg.chat.is_private();
    let (question, follow_up) = match route(text, private, me.username(), replied.is_some()) {
        Route::Ignore => return Ok(()),
        Route::Command(Command::Ask(q)) if !q.trim().is_empty() => (q, false),
        Route::Command(command) => {
            let reply = vec![command_text(&command, &app.engine)];
            return reply_with(&bot, &msg, &app, reply, None).await.map(|_| ());
        }
        Route::Question(q) => (q, true),
    };
    let user = msg.from.as_ref().map_or(msg.chat.id.0 as u64, |u| u.id.0);
    match app.limit.check(user) {
        Verdict::Answer => {}
        Verdict::Notify => {
            app.ops.metrics.rate_limited();
            let notice = labels(text::detect_script(&question)).slow_down;
            let reply = vec![html::escape(notice)];
            return reply_with(&bot, &msg, &app, reply, None).await.map(|_| ());
        }
        Verdict::Silent => {
            app.ops.metrics.rate_limited();
            return Ok(());
        }
    }
    let chat = msg.chat.id.0;
    let context = match replied {
        _ if !follow_up => None,
        Some(previous) => app.store.recall(&ContextKey::Message {
            chat,
            message: previous.id.0,
        }),
        None if private && text::is_elliptical(&question) => {
            app.store.recall(&ContextKey::LastInChat(chat))
        }
        None => None,
    };
    let (parts, keyboard) = answer(&app, &question, context.as_deref());
    let sent = reply_with(&bot, &msg, &app, parts, keyboard).await?;
    for id in sent {
        app.store.remember(
            ContextKey::Message {
                chat,
                message: id.0,
            },
            &question,
        );
    }
    app.store.remember(ContextKey::LastInChat(chat), &question);
    Ok(())
}

/// Sends `parts` as replies to `msg` (in its forum topic), the keyboard under the last one;
/// returns the ids of the messages sent.
async fn reply_with(
    bot: &Throttled,
    msg: &Message,
    app: &Shared,
    parts: Vec<String>,
    keyboard: Option<InlineKeyboardMarkup>,
) -> ResponseResult<Vec<MessageId>> {
    let count = parts.len();
    let mut sent = Vec::with_capacity(count);
    for (i, part) in parts.into_iter().enumerate() {
        let mut request = bot
            .send_message(msg.chat.id, part)
            .parse_mode(ParseMode::Html)
            .link_preview_options(no_preview())
            .reply_parameters(ReplyParameters::new(msg.id).allow_sending_without_reply());
        // Forum topics only: in other groups a reply thread's id is not a valid target.
        if let (true, Some(thread)) = (msg.is_topic_message, msg.thread_id) {
            request = request.message_thread_id(thread);
        }
        if let (true, Some(k)) = (i + 1 == count, &keyboard) {
            request = request.reply_markup(k.clone());
        }
        sent.push(send(request, "sendMessage", &app.ops.metrics).await?.id);
    }
    Ok(sent)
}

/// Asks the engine, counting the question in the metrics and logging it by id (never its
/// text); `None` when the engine rejects the question (e.g. nothing left after cleaning).
fn ask(app: &Shared, question: &str, context: Option<&str>) -> Option<Answer> {
    let started = Instant::now();
    match app.engine.ask(question, context) {
        Ok(answer) => {
            let took = started.elapsed();
            app.ops.metrics.answer(answer.answered, took);
            tracing::info!(
                question_id = %buttons::question_id(&answer.question),
                answered = answer.answered,
                coverage = answer.coverage,
                took_us = took.as_micros() as u64,
                follow_up = context.is_some(),
                "answered"
            );
            Some(answer)
        }
        Err(e) => {
            app.ops.metrics.answer_error();
            tracing::info!(error = %e, "question rejected");
            None
        }
    }
}

/// The answer as Telegram messages with its buttons; `context` is the previous question of a
/// follow-up.
fn answer(
    app: &Shared,
    question: &str,
    context: Option<&str>,
) -> (Vec<String>, Option<InlineKeyboardMarkup>) {
    let engine = &app.engine;
    match ask(app, question, context) {
        Some(answer) => {
            let parts = render::telegram::messages(&answer, engine.articles(), MESSAGE_LIMIT);
            (parts, Some(keyboard(&answer, engine)))
        }
        None => {
            let usage = command_text(&Command::Ask(String::new()), engine);
            (vec![usage], None)
        }
    }
}

fn keyboard(answer: &Answer, engine: &Engine) -> InlineKeyboardMarkup {
    let quoted: Vec<PassageRef> = answer
        .citations
        .iter()
        .filter(|c| answer.quotes.iter().any(|q| q.citation == c.n))
        .filter_map(|c| engine.locate(c))
        .collect();
    buttons::keyboard(
        &quoted,
        &answer.more,
        answer.citations.len(),
        &answer.question,
        answer.script,
    )
}

async fn on_inline_query(
    bot: Throttled,
    query: InlineQuery,
    app: Arc<Shared>,
) -> ResponseResult<()> {
    let hint = || {
        vec![inline::hint(inline::script_of_language(
            query.from.language_code.as_deref(),
        ))]
    };
    let results = if query.query.trim().is_empty() {
        hint()
    } else {
        match ask(&app, &query.query, None) {
            Some(answer) => inline::results(&answer, &app.engine),
            None => hint(),
        }
    };
    let request = bot
        .answer_inline_query(query.id, results)
        .cache_time(app.inline_cache_seconds)
        .is_personal(false);
    send(request, "answerInlineQuery", &app.ops.metrics).await?;
    Ok(())
}

async fn on_callback(bot: Throttled, query: CallbackQuery, app: Arc<Shared>) -> ResponseResult<()> {
    let message = query.regular_message().cloned();
    let pressed = query.data.as_deref().and_then(Pressed::decode);
    let script = pressed.as_ref().map_or_else(
        || inline::script_of_language(query.from.language_code.as_deref()),
        |p| p.script,
    );
    let l = labels(script);
    let action = pressed.map(|p| p.action);
    let engine = &app.engine;
    let (notice, parts) = match (action, &message) {
        (Some(Action::Vote { up, question }), Some(m)) => {
            app.ops.metrics.vote(up);
            tracing::info!(question_id = %question, vote = if up { "up" } else { "down" }, "feedback");
            remove_votes(&bot, m, &app).await;
            (Some(l.thanks), Vec::new())
        }
        (Some(Action::More { first, passages }), Some(_)) => {
            let citations: Vec<Citation> = passages
                .iter()
                .enumerate()
                .filter_map(|(i, at)| engine.passage(*at, first + i))
                .collect();
            let parts = render::telegram::sources(&citations, script, MESSAGE_LIMIT);
            (parts.is_empty().then_some(l.stale), parts)
        }
        (Some(Action::Full(passages)), Some(_)) => {
            let (citations, around): (Vec<Citation>, Vec<Vec<String>>) = passages
                .iter()
                .enumerate()
                .filter_map(|(i, at)| Some((engine.passage(*at, i + 1)?, engine.around(*at))))
                .unzip();
            let parts = render::telegram::in_context(&citations, &around, script, MESSAGE_LIMIT);
            (parts.is_empty().then_some(l.stale), parts)
        }
        _ => (Some(l.stale), Vec::new()),
    };
    let mut ack = bot.answer_callback_query(query.id.clone());
    if let Some(text) = notice {
        ack = ack.text(text);
    }
    send(ack, "answerCallbackQuery", &app.ops.metrics).await?;
    if let (Some(m), false) = (&message, parts.is_empty()) {
        reply_with(&bot, m, &app, parts, None).await?;
    }
    Ok(())
}

/// Drops the 👍/👎 row under an answer once someone voted (one vote per answer).
async fn remove_votes(bot: &Throttled, message: &Message, app: &Shared) {
    let Some(markup) = message.reply_markup() else {
        return;
    };
    let rows: Vec<Vec<InlineKeyboardButton>> = markup
        .inline_keyboard
        .iter()
        .filter(|row| !row.iter().any(is_vote))
        .cloned()
        .collect();
    let request = bot
        .edit_message_reply_markup(message.chat.id, message.id)
        .reply_markup(InlineKeyboardMarkup::new(rows));
    let _ = send(request, "editMessageReplyMarkup", &app.ops.metrics).await;
}

fn is_vote(button: &InlineKeyboardButton) -> bool {
    matches!(&button.kind, InlineKeyboardButtonKind::CallbackData(d)
        if matches!(Pressed::decode(d), Some(Pressed { action: Action::Vote { .. }, .. })))
}

fn command_text(command: &Command, engine: &Engine) -> String {
    use html::escape;
    match command {
        Command::Ask(_) => escape("用法 / Usage: /ask 日本承诺对美国投资多少？"),
        Command::Start | Command::Help => escape(&format!(
            "我回答关于 2025 年 10 月 28 日特朗普与高市早苗东京会谈的问题，引用文章原句并注明出处。\n\
             I answer questions about the Trump–Takaichi summit, quoting the articles.\n\n\
             例如 / e.g.:\n日本承诺对美国投资多少？\n美日稀土協議的內容是什麼？\nWhat gift did Takaichi give Trump?\n\n{}",
            Command::descriptions()
        )),
        Command::Sources => escape(&crate::console::sources(engine)),
        Command::About => escape(
            "summit-qa: answers only from the indexed articles, offline; says so when they do not cover a question.",
        ),
    }
}

pub(crate) fn no_preview() -> LinkPreviewOptions {
    LinkPreviewOptions {
        is_disabled: true,
        url: None,
        prefer_small_media: false,
        prefer_large_media: false,
        show_above_text: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOT: &str = "summit_qa_bot";

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
    fn unknown_command_in_private_gets_help() {
        assert_eq!(
            route("/weather", true, BOT, false),
            Route::Command(Command::Help)
        );
        assert_eq!(route("/weather@other_bot", true, BOT, false), Route::Ignore);
    }
}
