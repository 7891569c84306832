//! Inline mode (`@bot question` in any chat): the answer with its sources as the first
//! result, then one result per cited passage; a hint for an empty query.

use teloxide::types::{
    InlineQueryResult, InlineQueryResultArticle, InputMessageContent, InputMessageContentText,
    ParseMode,
};

use super::handlers::no_preview;
use crate::answer::{Answer, Reply};
use crate::corpus::Script;
use crate::render::{self, labels, short_quote, source_line, telegram::MESSAGE_LIMIT};

/// Longest description shown under a result title, in characters.
const DESCRIPTION_CHARS: usize = 120;

/// The results for an answer: the answer with its sources, then one result per cited
/// passage (a refusal is a single result).
pub fn results(answer: &Answer) -> Vec<InlineQueryResult> {
    let l = labels(answer.script);
    let text = render::answer_text(answer);
    let message = render::telegram::messages(answer, MESSAGE_LIMIT)
        .into_iter()
        .next()
        .unwrap_or_default();
    let title = match answer.reply {
        Reply::Closest => l.closest_title.to_string(),
        _ => format!("{}: {}", l.answer_title, short_quote(&text, 60)),
    };
    let mut results = vec![article("answer", &title, &text, message)];
    for c in &answer.citations {
        let content =
            render::telegram::sources(std::slice::from_ref(c), answer.script, MESSAGE_LIMIT)
                .into_iter()
                .next()
                .unwrap_or_default();
        let title = format!("[{}] {}", c.n, source_line(c, l));
        results.push(article(
            &format!("source-{}", c.n),
            &title,
            &c.best_sentence,
            content,
        ));
    }
    results
}

/// The result offered for an empty query: how to ask, with an example.
pub fn hint(script: Script) -> InlineQueryResult {
    let l = labels(script);
    let text = teloxide::utils::html::escape(&format!("{}\n{}", l.hint_title, l.hint));
    article("hint", l.hint_title, l.hint, text)
}

fn article(id: &str, title: &str, description: &str, html: String) -> InlineQueryResult {
    let content = InputMessageContentText::new(html)
        .parse_mode(ParseMode::Html)
        .link_preview_options(no_preview());
    InlineQueryResult::Article(
        InlineQueryResultArticle::new(id, title, InputMessageContent::Text(content))
            .description(short_quote(description, DESCRIPTION_CHARS)),
    )
}

/// The script to greet a user in, from their Telegram language code.
pub fn script_of_language(language: Option<&str>) -> Script {
    match language.map(str::to_ascii_lowercase).as_deref() {
        Some("zh-hant" | "zh-tw" | "zh-hk" | "zh-mo") => Script::Hant,
        Some(code) if code.starts_with("zh") => Script::Hans,
        _ => Script::Latin,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hint_follows_the_users_language() {
        assert_eq!(script_of_language(Some("zh-hans")), Script::Hans);
        assert_eq!(script_of_language(Some("zh-TW")), Script::Hant);
        assert_eq!(script_of_language(Some("en")), Script::Latin);
        assert_eq!(script_of_language(None), Script::Latin);
    }
}
