//! The update handler tree ([`schema`]) and its handlers: text messages (questions and
//! commands), button presses and inline queries. Each update is handled once; each user is
//! limited per kind of request; the engine runs on the blocking pool, never on the async workers.

use std::sync::Arc;
use std::time::Instant;

use teloxide::dispatching::UpdateHandler;
use teloxide::prelude::*;
use teloxide::types::{
    InlineKeyboardButton, InlineKeyboardButtonKind, InlineKeyboardMarkup, LinkPreviewOptions, Me,
    MessageId, ParseMode, ReplyParameters,
};
use teloxide::utils::command::BotCommands;
use teloxide::utils::html;

use super::buttons::{self, Action, Pressed};
use super::context::ContextKey;
use super::guard::Verdict;
use super::outbox::{Outbox, Priority};
use super::send::{is_bad_markup, send};
use super::state::{Kind, SharedState};
use super::{inline, route, texts, Command, Route, Settings};
use crate::answer::{Answer, Citation, PassageRef, Reply};
use crate::conversation;
use crate::corpus::Script;
use crate::engine::Engine;
use crate::ops::Ops;
use crate::render::{self, labels, telegram::MESSAGE_LIMIT};
use crate::text;

/// What every handler shares (passed through `deps!`).
pub struct Shared {
    pub(super) engine: Arc<Engine>,
    access: super::access::Access,
    pub(super) state: Arc<SharedState>,
    /// Where questions and votes are recorded, or why they are not.
    pub(super) journal: Result<Arc<crate::journal::Journal>, String>,
    pub(super) hasher: crate::journal::Hasher,
    /// The reply kind of recent answers by question id, for the votes-by-reply metric.
    pub(super) replied: moka::sync::Cache<String, &'static str>,
    pub(super) config: crate::config::Config,
    ops: Ops,
    inline_cache_seconds: u32,
    call_deadline: std::time::Duration,
    outbox: Outbox,
    replies: TaskTracker,
    turns: Arc<Turns>,
    thinking: Arc<tokio::sync::Semaphore>,
    queue_notice: std::time::Duration,
    queue_limit: std::time::Duration,
}

use tokio_util::task::TaskTracker;

fn seconds(n: u32) -> std::time::Duration {
    std::time::Duration::from_secs(u64::from(n))
}

/// Each chat's turn: a chat's replies are made one at a time, in arrival order, and other
/// chats never wait for them. An entry lives only while a reply of its chat is in flight.
#[derive(Default)]
struct Turns(std::sync::Mutex<std::collections::HashMap<i64, Arc<tokio::sync::Mutex<()>>>>);

/// A chat's turn, held while its reply is made.
struct Turn {
    chat: i64,
    turns: Arc<Turns>,
    _held: tokio::sync::OwnedMutexGuard<()>,
}

impl Turns {
    /// Waits for `chat`'s turn (after its replies in flight).
    async fn take(self: &Arc<Self>, chat: i64) -> Turn {
        let lock = self
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(chat)
            .or_default()
            .clone();
        Turn {
            chat,
            turns: self.clone(),
            _held: lock.lock_owned().await,
        }
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        let mut turns = self.turns.0.lock().unwrap_or_else(|e| e.into_inner());
        // Held only by the map and this turn: nobody else waits for this chat.
        if turns
            .get(&self.chat)
            .is_some_and(|lock| Arc::strong_count(lock) <= 2)
        {
            turns.remove(&self.chat);
        }
    }
}

impl Shared {
    /// Calls the Bot API once (see [`send`]): within the call deadline, and a 429 holds every
    /// send slot of the outbox for its `retry_after`.
    async fn call<R>(
        &self,
        request: R,
        method: &'static str,
    ) -> Result<teloxide::requests::Output<R>, teloxide::RequestError>
    where
        R: teloxide::requests::Request<Err = teloxide::RequestError>,
    {
        send(
            request,
            method,
            &self.ops.metrics,
            self.call_deadline,
            Some(&self.outbox),
        )
        .await
    }

    /// Waits until every reply in flight has been sent (or given up): at shutdown, after the
    /// last update was handed over.
    pub async fn finish(&self) {
        self.replies.close();
        self.replies.wait().await;
    }

    /// The handlers' state for `engine` under `settings`, counting into `ops`; shared through
    /// Redis (keys namespaced by `bot_id`) when `settings.redis_url` is set.
    pub fn new(
        engine: Arc<Engine>,
        settings: &Settings,
        ops: Ops,
        token: &str,
    ) -> Result<Shared, super::TransportError> {
        let bot_id = token.split(':').next().unwrap_or("bot");
        let limits = &settings.telegram;
        // Answers are computed one per core: more at once would starve the threads that take
        // updates and send replies.
        let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
        let state = Arc::new(match settings.redis_url.expose() {
            None => SharedState::local(limits),
            Some(url) => SharedState::with_redis(limits, url, bot_id, ops.metrics.clone())
                .map_err(super::TransportError::Config)?,
        });
        let shared_rate = settings.redis_url.expose().map(|_| state.clone());
        let journal = crate::journal::Journal::at(
            &settings.data_dir,
            settings.redis_url.expose().map(|url| (url, bot_id)),
            settings.feedback.retention_days,
        )
        .map(Arc::new)
        .map_err(|e| {
            tracing::warn!(error = %e, "questions and votes are not recorded");
            e.to_string()
        });
        // Without a salt of its own, the token (secret, the same on every replica) keys them.
        let salt = settings
            .feedback
            .salt
            .expose()
            .map_or_else(|| token.to_string(), str::to_string);
        Ok(Shared {
            engine,
            access: super::access::Access::of(&settings.telegram),
            journal,
            hasher: crate::journal::Hasher::new(&salt),
            replied: moka::sync::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(std::time::Duration::from_secs(24 * 3600))
                .build(),
            config: settings.config.clone(),
            state,
            inline_cache_seconds: settings.telegram.inline_cache_seconds,
            call_deadline: settings.call_deadline(),
            outbox: Outbox::start(
                settings.telegram.messages_per_second,
                workers as u32,
                ops.metrics.clone(),
                shared_rate,
            ),
            thinking: Arc::new(tokio::sync::Semaphore::new(workers)),
            replies: TaskTracker::new(),
            turns: Arc::default(),
            queue_notice: seconds(settings.telegram.queue_notice_seconds),
            queue_limit: seconds(settings.telegram.queue_limit_seconds),
            ops,
        })
    }
}

/// The handler tree: a repeated update is dropped, then messages, inline queries and button
/// presses go to their handlers. Needs `Arc<Shared>`, the bot and `Me` as dependencies.
pub fn schema() -> UpdateHandler<teloxide::RequestError> {
    dptree::entry()
        .filter_async(|update: Update, shared: Arc<Shared>| async move {
            shared.state.first_time(update.id.0).await
        })
        .branch(Update::filter_message().endpoint(on_message))
        .branch(Update::filter_inline_query().endpoint(on_inline_query))
        .branch(Update::filter_callback_query().endpoint(on_callback))
}

/// Handles a message in a task of its own and returns at once: a reply may wait long for its
/// send slot, and teloxide's dispatcher can stall behind a handler that waits (it awaits a
/// worker it retires). The replies in flight are awaited at shutdown ([`Shared::finish`]).
async fn on_message(bot: Bot, msg: Message, me: Me, app: Arc<Shared>) -> ResponseResult<()> {
    // A chat's messages are answered in order: the turn is taken here, in arrival order.
    let turn = app.turns.take(msg.chat.id.0).await;
    let replies = app.replies.clone();
    // Failures were logged, with their method and code, by `send`.
    replies.spawn(async move {
        let _turn = turn;
        handle_message(bot, msg, me, app).await.ok()
    });
    Ok(())
}

/// Handles a button press in a task of its own (see [`on_message`]).
async fn on_callback(bot: Bot, query: CallbackQuery, app: Arc<Shared>) -> ResponseResult<()> {
    let chat = query
        .regular_message()
        .map_or(query.from.id.0 as i64, |m| m.chat.id.0);
    let turn = app.turns.take(chat).await;
    let replies = app.replies.clone();
    replies.spawn(async move {
        let _turn = turn;
        handle_callback(bot, query, app).await.ok()
    });
    Ok(())
}

async fn handle_message(bot: Bot, msg: Message, me: Me, app: Arc<Shared>) -> ResponseResult<()> {
    let private = msg.chat.is_private();
    let script = texts::script_of(msg.from.as_ref().and_then(|u| u.language_code.as_deref()));
    let sender = msg.from.as_ref().map(|u| u.id.0);
    if !app.access.allows(Some(msg.chat.id.0), sender) {
        return refuse_access(&bot, &msg, &app, script).await;
    }
    let Some(text) = msg.text() else {
        // A sticker, photo or voice message from a person in a private chat: one line.
        if private && msg.from.as_ref().is_some_and(|u| !u.is_bot) {
            let reply = vec![html::escape(texts::not_text(script))];
            return reply_with(&bot, &msg, &app, reply, None, Priority::Normal)
                .await
                .map(|_| ());
        }
        return Ok(());
    };
    if private && app.access.is_admin(sender) {
        if let Ok(command) = <super::AdminCommand as BotCommands>::parse(text, me.username()) {
            let reply = vec![super::admin::run(&app, command).await];
            return reply_with(&bot, &msg, &app, reply, None, Priority::Normal)
                .await
                .map(|_| ());
        }
    }
    let replied = msg
        .reply_to_message()
        .filter(|m| m.from.as_ref().is_some_and(|u| u.id == me.id));
    let (question, follow_up) = match route(text, private, me.username(), replied.is_some()) {
        Route::Ignore => return Ok(()),
        Route::Unknown => {
            let reply = vec![html::escape(texts::unknown_command(script))];
            return reply_with(&bot, &msg, &app, reply, None, Priority::Normal)
                .await
                .map(|_| ());
        }
        Route::Command(Command::Ask(q)) if !q.trim().is_empty() => (q, false),
        Route::Command(Command::Forget) => {
            let reply = vec![super::admin::forget(&app, &msg, script).await];
            return reply_with(&bot, &msg, &app, reply, None, Priority::Normal)
                .await
                .map(|_| ());
        }
        Route::Command(command) => {
            let reply = vec![command_text(&command, &app.engine, script)];
            return reply_with(&bot, &msg, &app, reply, None, Priority::Normal)
                .await
                .map(|_| ());
        }
        Route::Question(q) => (q, true),
    };
    let user = msg.from.as_ref().map_or(msg.chat.id.0 as u64, |u| u.id.0);
    match app.state.check(Kind::Question, user).await {
        Verdict::Answer => {}
        Verdict::Notify => {
            app.ops.metrics.rate_limited("question");
            let notice = labels(text::detect_script(&question)).slow_down;
            let reply = vec![html::escape(notice)];
            return reply_with(&bot, &msg, &app, reply, None, Priority::Normal)
                .await
                .map(|_| ());
        }
        Verdict::Silent => {
            app.ops.metrics.rate_limited("question");
            return Ok(());
        }
    }
    // Answers waiting for a send slot: tell the asker now rather than leave them in silence.
    let wait = app.outbox.expected_wait();
    tracing::debug!(
        wait_ms = wait.as_millis() as u64,
        "expected wait for the reply"
    );
    let script = text::detect_script(&question);
    if wait > app.queue_limit {
        app.ops.metrics.outbox_notice("again");
        let reply = vec![html::escape(texts::ask_again(script))];
        return reply_with(&bot, &msg, &app, reply, None, Priority::Notice)
            .await
            .map(|_| ());
    }
    let _answering = app.outbox.admit();
    if wait > app.queue_notice {
        app.ops.metrics.outbox_notice("later");
        let reply = vec![html::escape(&texts::answer_follows(script, wait))];
        // Not sent (logged by `send`): the answer still follows.
        let _ = reply_with(&bot, &msg, &app, reply, None, Priority::Notice).await;
    }
    let chat = msg.chat.id.0;
    let context = match replied {
        _ if !follow_up => None,
        Some(previous) => {
            let key = ContextKey::Message {
                chat,
                message: previous.id.0,
            };
            app.state.recall(&key).await
        }
        None if private && conversation::is_follow_up(&question) => {
            app.state.recall(&ContextKey::LastInChat(chat)).await
        }
        None => None,
    };
    let started = Instant::now();
    let answer = ask(&app, &question, context).await;
    let took = started.elapsed();
    let (parts, keyboard) = render_answer(&app, answer.as_ref());
    let sent = reply_with(&bot, &msg, &app, parts, keyboard, Priority::Normal).await?;
    if let Some(answer) = &answer {
        super::admin::keep_question(&app, &msg, answer, took).await;
    }
    if answer.as_ref().is_some_and(conversation::remembers) {
        for id in sent {
            let key = ContextKey::Message {
                chat,
                message: id.0,
            };
            app.state.remember(key, &question).await;
        }
        let last = ContextKey::LastInChat(chat);
        app.state.remember(last, &question).await;
    }
    Ok(())
}

/// A message from outside the allowlist: one polite line a day in a private chat; silence in
/// a group, which the bot leaves when `telegram.leave_unlisted_groups` is set.
async fn refuse_access(
    bot: &Bot,
    msg: &Message,
    app: &Shared,
    script: Script,
) -> ResponseResult<()> {
    let sender = msg.from.as_ref().filter(|u| !u.is_bot);
    if msg.chat.is_private() {
        app.ops.metrics.refused_access("private");
        if let Some(user) = sender.filter(|u| app.access.first_refusal_today(u.id.0)) {
            tracing::info!(
                user = user.id.0,
                "refused: not on the allowlist (told once today)"
            );
            let reply = vec![html::escape(texts::not_allowed(script))];
            reply_with(bot, msg, app, reply, None, Priority::Normal).await?;
        }
        return Ok(());
    }
    app.ops.metrics.refused_access("group");
    if app.access.leave_unlisted_groups {
        tracing::info!(
            chat = msg.chat.id.0,
            "leaving a group the allowlist does not list"
        );
        app.call(bot.leave_chat(msg.chat.id), "leaveChat").await?;
    }
    Ok(())
}

/// Sends `parts` as replies to `msg` (in its forum topic), the keyboard under the last one,
/// each when the outbox gives it a slot; returns the ids of the messages sent. A part whose
/// HTML Telegram refuses (400 "can't parse entities") is sent once more as plain text rather
/// than lost.
async fn reply_with(
    bot: &Bot,
    msg: &Message,
    app: &Shared,
    parts: Vec<String>,
    keyboard: Option<InlineKeyboardMarkup>,
    priority: Priority,
) -> ResponseResult<Vec<MessageId>> {
    let count = parts.len();
    let mut sent = Vec::with_capacity(count);
    for (i, part) in parts.into_iter().enumerate() {
        let markup = keyboard.as_ref().filter(|_| i + 1 == count);
        app.outbox.turn(priority).await;
        let html = reply(bot, msg, part.clone(), markup).parse_mode(ParseMode::Html);
        let message = match app.call(html, "sendMessage").await {
            Err(e) if is_bad_markup(&e) => {
                tracing::warn!("Telegram refused the reply's HTML; sending it as plain text");
                let plain = reply(bot, msg, render::telegram::plain_text(&part), markup);
                app.call(plain, "sendMessage").await?
            }
            other => other?,
        };
        sent.push(message.id);
    }
    Ok(sent)
}

/// A reply to `msg` with `text`, in its forum topic, without link previews.
fn reply(
    bot: &Bot,
    msg: &Message,
    text: String,
    keyboard: Option<&InlineKeyboardMarkup>,
) -> <Bot as Requester>::SendMessage {
    let mut request = bot
        .send_message(msg.chat.id, text)
        .link_preview_options(no_preview())
        .reply_parameters(ReplyParameters::new(msg.id).allow_sending_without_reply());
    // Forum topics only: in other groups a reply thread's id is not a valid target.
    if let (true, Some(thread)) = (msg.is_topic_message, msg.thread_id) {
        request = request.message_thread_id(thread);
    }
    if let Some(k) = keyboard {
        request = request.reply_markup(k.clone());
    }
    request
}

/// Asks the engine on the blocking pool (a long question can take a millisecond of CPU),
/// counting it in the metrics and logging it by id, never its text; `None` when the engine
/// rejects the question (e.g. nothing left after cleaning).
async fn ask(app: &Shared, question: &str, context: Option<String>) -> Option<Answer> {
    let engine = app.engine.clone();
    let q = question.to_string();
    let follow_up = context.is_some();
    // Closed only if the bot is being dropped: then answer anyway.
    let _core = app.thinking.clone().acquire_owned().await.ok();
    let started = Instant::now();
    let result = tokio::task::spawn_blocking(move || engine.ask(&q, context.as_deref())).await;
    app.outbox.answered_in(started.elapsed());
    match result {
        Ok(Ok(answer)) => {
            let took = started.elapsed();
            app.ops.metrics.answer(answer.reply, took);
            tracing::info!(
                question_id = %buttons::question_id(&answer.question),
                reply = answer.reply.name(),
                confidence = answer.confidence,
                took_us = took.as_micros() as u64,
                follow_up,
                "answered"
            );
            Some(answer)
        }
        Ok(Err(e)) => {
            app.ops.metrics.answer_error();
            tracing::info!(error = %e, "question rejected");
            None
        }
        Err(e) => {
            app.ops.metrics.answer_error();
            tracing::error!(error = %e, "the engine failed on a question");
            None
        }
    }
}

/// The answer as Telegram messages with its buttons, or the usage note when the engine
/// rejected the question.
fn render_answer(
    app: &Shared,
    answer: Option<&Answer>,
) -> (Vec<String>, Option<InlineKeyboardMarkup>) {
    let engine = &app.engine;
    match answer {
        Some(answer) => {
            let parts = render::telegram::messages(answer, MESSAGE_LIMIT);
            // Conversation quotes nothing: no passages to open, nothing to vote on.
            let talk = matches!(answer.reply, Reply::SmallTalk(_));
            (parts, (!talk).then(|| keyboard(answer, engine)))
        }
        None => {
            let usage = command_text(&Command::Ask(String::new()), engine, Script::Hans);
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
        &answer.corpus,
    )
}

async fn on_inline_query(bot: Bot, query: InlineQuery, app: Arc<Shared>) -> ResponseResult<()> {
    let hint = || {
        vec![inline::hint(inline::script_of_language(
            query.from.language_code.as_deref(),
        ))]
    };
    let results = if !app.access.allows(None, Some(query.from.id.0)) {
        app.ops.metrics.refused_access("inline");
        Vec::new()
    } else if query.query.trim().is_empty() {
        hint()
    } else if app.state.check(Kind::Inline, query.from.id.0).await != Verdict::Answer {
        app.ops.metrics.rate_limited("inline");
        Vec::new()
    } else {
        match ask(&app, &query.query, None).await {
            Some(answer) => inline::results(&answer),
            None => hint(),
        }
    };
    let request = bot
        .answer_inline_query(query.id, results)
        .cache_time(app.inline_cache_seconds)
        .is_personal(false);
    app.call(request, "answerInlineQuery").await?;
    Ok(())
}

async fn handle_callback(bot: Bot, query: CallbackQuery, app: Arc<Shared>) -> ResponseResult<()> {
    let message = query.regular_message().cloned();
    let pressed = query.data.as_deref().and_then(Pressed::decode);
    let script = pressed.as_ref().map_or_else(
        || inline::script_of_language(query.from.language_code.as_deref()),
        |p| p.script,
    );
    let l = labels(script);
    let chat = message.as_ref().map(|m| m.chat.id.0);
    let (notice, parts) = if !app.access.allows(chat, Some(query.from.id.0)) {
        app.ops.metrics.refused_access("button");
        (None, Vec::new())
    } else if app.state.check(Kind::Button, query.from.id.0).await != Verdict::Answer {
        app.ops.metrics.rate_limited("button");
        (Some(l.slow_down), Vec::new())
    } else {
        // Passages are named by position: after the corpus changed they would show the
        // wrong paragraph, so such a press is answered as out of date.
        let current = app.engine.fingerprint();
        let action = pressed.and_then(|p| match p.action {
            Action::Vote { .. } => Some(p.action),
            _ if p.corpus == current => Some(p.action),
            _ => None,
        });
        pressed_button(&bot, &app, action, message.as_ref(), &query.from, script).await
    };
    let mut ack = bot.answer_callback_query(query.id.clone());
    if let Some(text) = notice {
        ack = ack.text(text);
    }
    // A failed acknowledgement ("query is too old" after a restart or a slow answer) only
    // leaves the button's spinner on a little longer: the passage is still sent.
    if app.call(ack, "answerCallbackQuery").await.is_err() {
        tracing::info!("button press not acknowledged; sending what it asked for anyway");
    }
    if let (Some(m), false) = (&message, parts.is_empty()) {
        reply_with(&bot, m, &app, parts, None, Priority::Normal).await?;
    }
    Ok(())
}

/// What a button press shows: a notice for the acknowledgement and/or messages to send.
async fn pressed_button(
    bot: &Bot,
    app: &Shared,
    action: Option<Action>,
    message: Option<&Message>,
    from: &teloxide::types::User,
    script: crate::corpus::Script,
) -> (Option<&'static str>, Vec<String>) {
    let l = labels(script);
    let engine = &app.engine;
    match (action, message) {
        (Some(Action::Vote { up, question }), Some(m)) => {
            app.ops.metrics.vote(up);
            let reply = app.replied.get(&question).unwrap_or("unknown");
            app.ops.metrics.vote_on(up, reply);
            super::admin::keep_vote(app, m, from, up, &question).await;
            tracing::info!(question_id = %question, vote = if up { "up" } else { "down" }, "feedback");
            remove_votes(bot, m, app).await;
            (Some(l.thanks), Vec::new())
        }
        (Some(Action::More { first, passages }), Some(_)) => {
            let citations: Vec<Citation> = passages
                .iter()
                .enumerate()
                .filter_map(|(i, at)| engine.passage(*at, first.checked_add(i)?))
                .collect();
            let parts = render::telegram::sources(&citations, script, MESSAGE_LIMIT);
            (parts.is_empty().then_some(l.stale), parts)
        }
        (Some(Action::Full(passages)), Some(_)) => {
            let (citations, around): (Vec<Citation>, Vec<Vec<(usize, String)>>) = passages
                .iter()
                .enumerate()
                .filter_map(|(i, at)| Some((engine.passage(*at, i + 1)?, engine.around(*at))))
                .unzip();
            let parts = render::telegram::in_context(&citations, &around, script, MESSAGE_LIMIT);
            (parts.is_empty().then_some(l.stale), parts)
        }
        _ => (Some(l.stale), Vec::new()),
    }
}

/// Drops the 👍/👎 row under an answer once someone voted (one vote per answer).
async fn remove_votes(bot: &Bot, message: &Message, app: &Shared) {
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
    let _ = app.call(request, "editMessageReplyMarkup").await;
}

fn is_vote(button: &InlineKeyboardButton) -> bool {
    matches!(&button.kind, InlineKeyboardButtonKind::CallbackData(d)
        if matches!(Pressed::decode(d), Some(Pressed { action: Action::Vote { .. }, .. })))
}

/// The reply to a command, as Telegram HTML, in the asker's script.
fn command_text(command: &Command, engine: &Engine, script: Script) -> String {
    use html::escape;
    match command {
        Command::Ask(_) => escape("用法 / Usage: /ask 日本承诺对美国投资多少？"),
        Command::Start => texts::start(script, &engine.articles()),
        Command::Help => escape(&texts::help(script)),
        Command::Sources => texts::sources(script, &engine.articles()),
        Command::About => escape(texts::about(script)),
        Command::Privacy => escape(&texts::privacy(script)),
        Command::Forget => unreachable!("answered by the handler"),
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

    #[tokio::test]
    async fn a_chat_waits_for_its_own_turn_only_and_is_forgotten_after() {
        let turns = Arc::new(Turns::default());
        let first = turns.take(7).await;
        // Another chat goes at once; the same chat waits.
        let other = tokio::time::timeout(std::time::Duration::from_millis(50), turns.take(8)).await;
        assert!(other.is_ok(), "chat 8 does not wait for chat 7");
        drop(other);
        let waiting = tokio::spawn({
            let turns = turns.clone();
            async move { turns.take(7).await }
        });
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        assert!(!waiting.is_finished(), "chat 7's next reply waits");
        drop(first);
        let second = waiting.await.unwrap();
        drop(second);
        assert!(
            turns.0.lock().unwrap().is_empty(),
            "no entry outlives the replies in flight"
        );
    }
}
