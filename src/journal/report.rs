//! What an operator reads from the records: `/stats` (questions, replies by kind, votes, answer
//! times, busiest chats), `/unanswered` (questions without an answer, the same question in
//! other words grouped), `/feedback` (the latest 👎) and the export for labeling.

use std::collections::HashMap;

use super::{Kind, Record};
use crate::corpus::Script;

/// The reply kinds, in the order they are reported.
const REPLIES: [&str; 5] = ["answer", "closest", "not_stated", "refused", "small_talk"];

/// `/stats`: one paragraph per period of `days` ending at `now`.
pub fn stats(records: &[Record], now: u64, days: &[u64]) -> String {
    days.iter()
        .map(|&d| period(records, now.saturating_sub(d * 86_400), d))
        .collect::<Vec<_>>()
        .join("\n\n")
}

fn period(records: &[Record], from: u64, days: u64) -> String {
    let recent: Vec<&Record> = records.iter().filter(|r| r.at >= from).collect();
    let questions: Vec<&&Record> = recent.iter().filter(|r| r.kind == Kind::Question).collect();
    let by_reply: Vec<String> = REPLIES
        .iter()
        .map(|kind| {
            let n = questions
                .iter()
                .filter(|r| r.reply.as_deref() == Some(kind))
                .count();
            format!("{kind} {n}")
        })
        .collect();
    let votes = |up: bool| recent.iter().filter(|r| r.up == Some(up)).count();
    let mut times: Vec<f32> = questions.iter().filter_map(|r| r.took_ms).collect();
    times.sort_by(f32::total_cmp);
    let at = |q: f32| {
        times
            .get(((times.len() as f32 * q).ceil() as usize).saturating_sub(1))
            .map_or("–".to_string(), |t| format!("{t:.0} ms"))
    };
    // Groups by title; private chats (which have none to show) together.
    let mut chats: HashMap<&str, (usize, String)> = HashMap::new();
    for r in &questions {
        let (key, name) = match &r.chat_title {
            Some(title) => (r.chat.as_str(), title.clone()),
            None if r.chat_type == "private" => ("private", "private chats".to_string()),
            None => (r.chat.as_str(), format!("a {} chat", r.chat_type)),
        };
        chats.entry(key).or_insert((0, name)).0 += 1;
    }
    let mut busiest: Vec<(usize, String)> = chats.into_values().collect();
    busiest.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let busiest: Vec<String> = busiest
        .iter()
        .take(3)
        .map(|(n, name)| format!("{name} ({n})"))
        .collect();
    format!(
        "Last {days} day{}: {} questions\nreplies: {}\nvotes: 👍 {} 👎 {}\nanswer time: p50 {}, p95 {}\nbusiest chats: {}",
        if days == 1 { "" } else { "s" },
        questions.len(),
        by_reply.join(", "),
        votes(true),
        votes(false),
        at(0.5),
        at(0.95),
        if busiest.is_empty() { "none".to_string() } else { busiest.join(", ") }
    )
}

/// A question asked several times in other words, and how often.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    /// Its most frequent wording.
    pub question: String,
    /// How often it was asked.
    pub count: usize,
    /// Its other wordings.
    pub others: Vec<String>,
}

/// `/unanswered`: the questions that got no answer (refused or closest passages), grouped
/// when `similar` says two wordings are the same question, most asked first.
pub fn unanswered(records: &[Record], similar: &mut dyn FnMut(&str, &str) -> bool) -> Vec<Group> {
    let mut groups: Vec<(Vec<String>, usize)> = Vec::new();
    for r in records.iter().rev().filter(|r| {
        r.kind == Kind::Question && matches!(r.reply.as_deref(), Some("refused" | "closest"))
    }) {
        let Some(q) = r.question.as_deref() else {
            continue;
        };
        match groups
            .iter_mut()
            .find(|(words, _)| words.iter().any(|w| w == q || similar(w, q)))
        {
            Some((words, count)) => {
                *count += 1;
                if !words.iter().any(|w| w == q) {
                    words.push(q.to_string());
                }
            }
            None => groups.push((vec![q.to_string()], 1)),
        }
    }
    let mut out: Vec<Group> = groups
        .into_iter()
        .map(|(words, count)| Group {
            question: words[0].clone(),
            count,
            others: words[1..].to_vec(),
        })
        .collect();
    out.sort_by_key(|g| std::cmp::Reverse(g.count));
    out
}

/// `/feedback`: the latest 👎 (newest first, at most `limit`), each with its question, reply
/// kind and cited passages when the question is still kept.
pub fn downvotes(records: &[Record], limit: usize) -> Vec<String> {
    records
        .iter()
        .rev()
        .filter(|r| r.kind == Kind::Vote && r.up == Some(false))
        .take(limit)
        .map(|vote| match asked(records, vote) {
            Some(q) => format!(
                "👎 {} — {}{}",
                q.question.as_deref().unwrap_or("?"),
                q.reply.as_deref().unwrap_or("?"),
                if q.cited.is_empty() {
                    String::new()
                } else {
                    format!(" — cited {}", q.cited.join(", "))
                }
            ),
            None => format!("👎 (question {} no longer kept)", vote.question_id),
        })
        .collect()
}

/// The question record a vote is about: the latest one with its id in its chat.
fn asked<'a>(records: &'a [Record], vote: &Record) -> Option<&'a Record> {
    records.iter().rev().find(|r| {
        r.kind == Kind::Question && r.question_id == vote.question_id && r.chat == vote.chat
    })
}

/// The export for labeling: each question as a question-set line (`q`, `lang`, the reply, its
/// citations, the vote when there was one, the day).
pub fn export(records: &[Record]) -> Vec<serde_json::Value> {
    let mut votes: HashMap<(&str, &str), bool> = HashMap::new();
    for v in records.iter().filter(|r| r.kind == Kind::Vote) {
        if let Some(up) = v.up {
            votes.insert((v.question_id.as_str(), v.chat.as_str()), up);
        }
    }
    records
        .iter()
        .filter(|r| r.kind == Kind::Question)
        .filter_map(|r| {
            let q = r.question.as_deref()?;
            let lang = match crate::text::detect_script(q) {
                Script::Hans => "zh-Hans",
                Script::Hant => "zh-Hant",
                Script::Latin => "en",
            };
            let vote = votes
                .get(&(r.question_id.as_str(), r.chat.as_str()))
                .map(|up| if *up { "up" } else { "down" });
            Some(serde_json::json!({
                "q": q,
                "lang": lang,
                "reply": r.reply,
                "citations": r.cited,
                "vote": vote,
                "asked": chrono_day(r.at),
            }))
        })
        .collect()
}

/// The first second (UTC) of a day written `YYYY-MM-DD`.
pub fn day_start(day: &str) -> Option<u64> {
    let parts: Vec<i64> = day
        .split('-')
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    let [y, m, d] = parts[..] else { return None };
    if !(1970..10_000).contains(&y) || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    // Days since 1970 of a civil date (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let start = u64::try_from(days * 86_400).ok()?;
    (chrono_day(start) == day).then_some(start)
}

/// `YYYY-MM-DD` of a time (UTC).
pub fn chrono_day(at: u64) -> String {
    // Days since 1970 → civil date (Howard Hinnant's algorithm).
    let z = (at / 86_400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asked(at: u64, q: &str, reply: &str, chat: &str, took: f32) -> Record {
        Record {
            at,
            kind: Kind::Question,
            question_id: crate::journal::question_id(q),
            question: Some(q.into()),
            reply: Some(reply.into()),
            cited: vec!["000 ¶37".into()],
            took_ms: Some(took),
            up: None,
            chat: chat.into(),
            chat_type: if chat == "g" { "supergroup" } else { "private" }.into(),
            chat_title: (chat == "g").then(|| "Summit watchers".into()),
            user: "u".into(),
        }
    }

    fn vote(at: u64, q: &str, up: bool, chat: &str) -> Record {
        Record {
            kind: Kind::Vote,
            up: Some(up),
            question: None,
            reply: None,
            cited: Vec::new(),
            took_ms: None,
            ..asked(at, q, "answer", chat, 0.0)
        }
    }

    #[test]
    fn stats_count_replies_votes_times_and_chats_per_period() {
        let now = 1_000_000;
        let records = vec![
            asked(now - 3 * 86_400, "旧问题", "refused", "p", 50.0),
            asked(now - 100, "日本承诺对美国投资多少？", "answer", "g", 20.0),
            asked(now - 90, "川普跟高市聊了啥", "closest", "g", 30.0),
            asked(
                now - 80,
                "How tall is the Eiffel Tower?",
                "refused",
                "p",
                10.0,
            ),
            vote(now - 70, "日本承诺对美国投资多少？", false, "g"),
        ];
        let text = stats(&records, now, &[1, 7]);
        assert!(text.contains("Last 1 day: 3 questions"), "{text}");
        assert!(
            text.contains("replies: answer 1, closest 1, not_stated 0, refused 1, small_talk 0"),
            "{text}"
        );
        assert!(text.contains("votes: 👍 0 👎 1"), "{text}");
        assert!(text.contains("p50 20 ms, p95 30 ms"), "{text}");
        assert!(
            text.contains("busiest chats: Summit watchers (2), private chats (1)"),
            "{text}"
        );
        assert!(text.contains("Last 7 days: 4 questions"), "{text}");
    }

    #[test]
    fn unanswered_questions_group_by_meaning_and_downvotes_show_their_question() {
        let records = vec![
            asked(1, "日本军费要涨到多少", "closest", "p", 1.0),
            asked(2, "日本防卫费会加到多少", "refused", "p", 1.0),
            asked(3, "How tall is the Eiffel Tower?", "refused", "p", 1.0),
            asked(4, "日本军费要涨到多少", "closest", "g", 1.0),
            asked(5, "日本承诺对美国投资多少？", "answer", "g", 1.0),
            vote(6, "日本承诺对美国投资多少？", false, "g"),
        ];
        let mut same = |a: &str, b: &str| a.contains("日本") && b.contains("日本");
        let groups = unanswered(&records, &mut same);
        assert_eq!(groups.len(), 2, "{groups:?}");
        assert_eq!(groups[0].count, 3);
        assert_eq!(groups[0].question, "日本军费要涨到多少");
        assert_eq!(groups[0].others, ["日本防卫费会加到多少"]);
        assert_eq!(
            downvotes(&records, 5),
            ["👎 日本承诺对美国投资多少？ — answer — cited 000 ¶37"]
        );
        let lines = export(&records);
        assert_eq!(lines.len(), 5);
        assert_eq!(lines[4]["vote"], "down");
        assert_eq!(lines[2]["lang"], "en");
        assert!(lines[0]["vote"].is_null());
    }

    #[test]
    fn days_are_calendar_dates() {
        assert_eq!(chrono_day(0), "1970-01-01");
        assert_eq!(chrono_day(1_761_609_600), "2025-10-28");
        assert_eq!(chrono_day(951_782_400), "2000-02-29");
        assert_eq!(day_start("2025-10-28"), Some(1_761_609_600));
        assert_eq!(day_start("2000-02-29"), Some(951_782_400));
        assert_eq!(day_start("2025-02-30"), None);
        assert_eq!(day_start("yesterday"), None);
    }
}
