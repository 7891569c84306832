//! The Telegram transport: commands, who is being addressed in private chats and groups, and
//! replies rendered as Telegram HTML. It calls the engine and the renderer; it knows nothing
//! of tantivy.

use std::future::Future;
use std::sync::Arc;

use teloxide::adaptors::throttle::Limits;
use teloxide::adaptors::Throttle;
use teloxide::prelude::*;
use teloxide::types::{LinkPreviewOptions, Me, ParseMode, ReplyParameters};
use teloxide::update_listeners::{Polling, UpdateListener};
use teloxide::utils::command::BotCommands;

use crate::engine::Engine;
use crate::render::{self, telegram::MESSAGE_LIMIT};
use crate::text;

pub mod context;

use context::{ContextKey, ContextStore, MemoryContext};

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

/// Runs the bot with long polling until `shutdown` completes (then stops taking updates and
/// finishes the answers in flight). Registers the commands with setMyCommands first.
pub async fn run(
    bot: Bot,
    engine: Arc<Engine>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), teloxide::RequestError> {
    let bot: Throttled = bot.throttle(Limits::default());
    bot.set_my_commands(Command::bot_commands()).await?;
    let handler = Update::filter_message().endpoint(on_message);
    let store: Arc<dyn ContextStore> = Arc::new(MemoryContext::new(CONTEXT_TTL));
    let mut listener = Polling::builder(bot.clone()).delete_webhook().await.build();
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
        .dependencies(dptree::deps![engine, store])
        .default_handler(|_| async {})
        .build()
        .dispatch_with_listener(
            listener,
            LoggingErrorHandler::with_custom_text("error receiving updates"),
        )
        .await;
    Ok(())
}

async fn on_message(
    bot: Throttled,
    msg: Message,
    me: Me,
    engine: Arc<Engine>,
    store: Arc<dyn ContextStore>,
) -> ResponseResult<()> {
    let Some(text) = msg.text() else {
        return Ok(());
    };
    let chat = msg.chat.id.0;
    let replied = msg
        .reply_to_message()
        .filter(|m| m.from.as_ref().is_some_and(|u| u.id == me.id));
    let (parts, asked) = match route(
        text,
        msg.chat.is_private(),
        me.username(),
        replied.is_some(),
    ) {
        Route::Ignore => return Ok(()),
        Route::Command(Command::Ask(q)) if !q.trim().is_empty() => {
            (answer(&engine, &q, None), Some(q))
        }
        Route::Command(command) => (vec![command_text(&command, &engine)], None),
        Route::Question(q) => {
            let context = match replied {
                Some(previous) => store.recall(&ContextKey::Message {
                    chat,
                    message: previous.id.0,
                }),
                None if msg.chat.is_private() && text::is_elliptical(&q) => {
                    store.recall(&ContextKey::LastInChat(chat))
                }
                None => None,
            };
            (answer(&engine, &q, context.as_deref()), Some(q))
        }
    };
    for part in parts {
        let mut request = bot
            .send_message(msg.chat.id, part)
            .parse_mode(ParseMode::Html)
            .link_preview_options(no_preview())
            .reply_parameters(ReplyParameters::new(msg.id).allow_sending_without_reply());
        if let Some(thread) = msg.thread_id {
            request = request.message_thread_id(thread);
        }
        let sent = request.await?;
        if let Some(q) = &asked {
            let key = ContextKey::Message {
                chat,
                message: sent.id.0,
            };
            store.remember(key, q);
        }
    }
    if let Some(q) = &asked {
        store.remember(ContextKey::LastInChat(chat), q);
    }
    Ok(())
}

/// The answer as Telegram messages; `context` is the previous question of a follow-up.
fn answer(engine: &Engine, question: &str, context: Option<&str>) -> Vec<String> {
    match engine.ask(question, context) {
        Ok(answer) => render::telegram::messages(&answer, engine.articles(), MESSAGE_LIMIT),
        Err(e) => vec![teloxide::utils::html::escape(&e.to_string())],
    }
}

fn command_text(command: &Command, engine: &Engine) -> String {
    use teloxide::utils::html::escape;
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

fn no_preview() -> LinkPreviewOptions {
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
