//! What operators get from the bot: questions and votes recorded in the journal as they
//! happen, the admin commands (`/stats`, `/unanswered`, `/feedback`, `/reload`) for
//! `telegram.admins`, and `/forget` for anyone.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use teloxide::types::{Message, User};
use teloxide::utils::html;

use super::handlers::Shared;
use super::AdminCommand;
use crate::answer::Answer;
use crate::journal::{self, report, Kind, Record};

/// Questions at least this close in meaning (cosine of the model's vectors) are one question
/// in `/unanswered`.
const SAME_QUESTION: f32 = 0.9;
/// Most groups `/unanswered` lists, and most 👎 `/feedback` lists.
const LISTED: usize = 10;

fn chat_type(msg: &Message) -> &'static str {
    if msg.chat.is_private() {
        "private"
    } else if msg.chat.is_supergroup() {
        "supergroup"
    } else if msg.chat.is_group() {
        "group"
    } else {
        "channel"
    }
}

/// Records `answer` to the question in `msg` (asked by `from`), answered in `took`.
pub(super) async fn keep_question(app: &Shared, msg: &Message, answer: &Answer, took: Duration) {
    app.replied
        .insert(journal::question_id(&answer.question), answer.reply.name());
    let Ok(journal) = &app.journal else { return };
    let user = msg.from.as_ref().map_or(msg.chat.id.0, |u| u.id.0 as i64);
    let record = Record {
        at: journal::now(),
        kind: Kind::Question,
        question_id: journal::question_id(&answer.question),
        question: Some(answer.question.clone()),
        reply: Some(answer.reply.name().to_string()),
        cited: answer
            .citations
            .iter()
            .map(|c| format!("{} ¶{}", c.article, c.paragraph))
            .collect(),
        took_ms: Some(took.as_secs_f32() * 1000.0),
        up: None,
        chat: app.hasher.id("chat", msg.chat.id.0),
        chat_type: chat_type(msg).into(),
        chat_title: msg.chat.title().map(str::to_string),
        user: app.hasher.id("user", user),
    };
    if let Err(e) = journal.record(&record).await {
        tracing::warn!(error = %e, "question not recorded");
    }
}

/// Records a vote by `from` on the answer `message` to question `question_id`.
pub(super) async fn keep_vote(
    app: &Shared,
    message: &Message,
    from: &User,
    up: bool,
    question_id: &str,
) {
    let Ok(journal) = &app.journal else { return };
    let record = Record {
        at: journal::now(),
        kind: Kind::Vote,
        question_id: question_id.to_string(),
        question: None,
        reply: None,
        cited: Vec::new(),
        took_ms: None,
        up: Some(up),
        chat: app.hasher.id("chat", message.chat.id.0),
        chat_type: chat_type(message).into(),
        chat_title: None,
        user: app.hasher.id("user", from.id.0 as i64),
    };
    if let Err(e) = journal.record(&record).await {
        tracing::warn!(error = %e, "vote not recorded");
    }
}

/// The reply to an admin command, as Telegram HTML.
pub(super) async fn run(app: &Shared, command: AdminCommand) -> String {
    match command {
        AdminCommand::Reload => reload(app).await,
        other => match &app.journal {
            Err(why) => html::escape(&format!("No records are kept: {why}")),
            Ok(journal) => match report_of(app, journal, other).await {
                Ok(text) => text,
                Err(e) => html::escape(&format!("The records cannot be read: {e}")),
            },
        },
    }
}

async fn report_of(
    app: &Shared,
    journal: &journal::Journal,
    command: AdminCommand,
) -> Result<String, journal::JournalError> {
    let now = journal::now();
    Ok(match command {
        AdminCommand::Stats(days) => {
            let days: Vec<u64> = match days.trim().parse::<u64>() {
                Ok(d) if d > 0 => vec![d],
                _ => vec![1, 7],
            };
            let longest = days.iter().max().copied().unwrap_or(7);
            let records = journal.since(now.saturating_sub(longest * 86_400)).await?;
            html::escape(&report::stats(&records, now, &days))
        }
        AdminCommand::Unanswered => {
            let records = journal.since(now.saturating_sub(7 * 86_400)).await?;
            let engine = app.engine.clone();
            let groups = tokio::task::spawn_blocking(move || {
                let mut vectors: HashMap<String, Option<Arc<[f32]>>> = HashMap::new();
                let mut vector = |q: &str| {
                    vectors
                        .entry(q.to_string())
                        .or_insert_with(|| engine.embed_query(q).ok())
                        .clone()
                };
                let mut similar = |a: &str, b: &str| match (vector(a), vector(b)) {
                    (Some(x), Some(y)) => {
                        x.iter().zip(y.iter()).map(|(p, q)| p * q).sum::<f32>() >= SAME_QUESTION
                    }
                    _ => crate::text::normalize(a) == crate::text::normalize(b),
                };
                report::unanswered(&records, &mut similar)
            })
            .await
            .unwrap_or_default();
            if groups.is_empty() {
                return Ok(html::escape("No unanswered questions in the last 7 days."));
            }
            let lines: Vec<String> = groups
                .iter()
                .take(LISTED)
                .map(|g| {
                    let also = if g.others.is_empty() {
                        String::new()
                    } else {
                        format!(" (also: {})", g.others.join(" / "))
                    };
                    format!("{}× {}{also}", g.count, g.question)
                })
                .collect();
            html::escape(&format!(
                "Unanswered in the last 7 days, most asked first:\n{}",
                lines.join("\n")
            ))
        }
        AdminCommand::Feedback => {
            let records = journal.since(0).await?;
            let lines = report::downvotes(&records, LISTED);
            if lines.is_empty() {
                html::escape("No 👎 kept.")
            } else {
                html::escape(&format!("Latest 👎, newest first:\n{}", lines.join("\n")))
            }
        }
        AdminCommand::Reload => unreachable!("handled by run"),
    })
}

/// Indexes the corpus (what changed) and answers from the new index.
async fn reload(app: &Shared) -> String {
    let (engine, config) = (app.engine.clone(), app.config.clone());
    let done = tokio::task::spawn_blocking(move || {
        let report = crate::engine::build(&config, &mut |_: &str, _: usize, _: usize| {})?;
        let fingerprint = engine.reload()?;
        Ok::<_, crate::Error>(format!(
            "Reloaded: {}; {} articles (corpus {fingerprint}).",
            report.summary(),
            engine.articles().len()
        ))
    })
    .await;
    html::escape(&match done {
        Ok(Ok(text)) => text,
        Ok(Err(e)) => format!("Not reloaded: {e}"),
        Err(e) => format!("Not reloaded: {e}"),
    })
}

/// `/forget`: deletes the asker's records and conversation context; says how many.
pub(super) async fn forget(app: &Shared, msg: &Message, script: crate::corpus::Script) -> String {
    let user = msg.from.as_ref().map_or(msg.chat.id.0, |u| u.id.0 as i64);
    // A private chat is the asker's own; a group's context belongs to the group.
    if msg.chat.is_private() {
        app.state.forget_chat(msg.chat.id.0).await;
    }
    let forgotten = match &app.journal {
        Ok(journal) => journal.forget(&app.hasher.id("user", user)).await,
        Err(_) => Ok(0),
    };
    html::escape(&match forgotten {
        Ok(n) => super::texts::forgotten(script, n),
        Err(e) => {
            tracing::warn!(error = %e, "/forget failed");
            super::texts::not_forgotten(script).to_string()
        }
    })
}
