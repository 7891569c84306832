//! Telegram HTML: an answer rendered with every piece of corpus and user text escaped
//! (teloxide's html utils), split into messages that fit Telegram's limit, each one valid
//! HTML on its own.

use teloxide::utils::html;

use super::{answer_text, labels, source_line, Labels};
use crate::answer::{Answer, Citation, Reply};
use crate::corpus::Script;

/// Telegram's limit for one message, in UTF-16 code units. The rendered HTML (tags and
/// entities included) is measured against it, which is stricter than Telegram's own count.
pub const MESSAGE_LIMIT: usize = 4096;

/// How a piece of text is wrapped.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Style {
    Plain,
    Bold,
    /// What a reply is when it is not a claim (closest passages, not stated).
    Italic,
    /// An expandable block quotation (the quoted passage under a source).
    Quote,
}

/// A piece of plain (unescaped) text and its style; never split across messages unless it
/// alone exceeds the limit.
#[derive(Debug, Clone)]
struct Segment {
    style: Style,
    text: String,
    /// Where the text links to (a citation's source at the quote).
    href: Option<String>,
}

impl Segment {
    fn new(style: Style, text: impl Into<String>) -> Segment {
        Segment {
            style,
            text: text.into(),
            href: None,
        }
    }

    fn linked(text: impl Into<String>, href: Option<String>) -> Segment {
        Segment {
            href,
            ..Segment::new(Style::Plain, text)
        }
    }

    fn html(&self) -> String {
        if let Some(href) = &self.href {
            return html::link(href, &self.text);
        }
        let escaped = html::escape(&self.text);
        match self.style {
            Style::Plain => escaped,
            Style::Bold => html::bold(&escaped),
            Style::Italic => html::italic(&escaped),
            Style::Quote => html::expandable_blockquote(&escaped),
        }
    }
}

/// The answer first (a reply that is no claim led by what it is, in italics), then the
/// numbered sources (author · outlet · date · ¶n, a link to the source at the quoted sentence
/// when the article has a URL) with the passage in an expandable quotation;
/// as many messages as needed, each at most `limit`.
pub fn messages(answer: &Answer, limit: usize) -> Vec<String> {
    let l = labels(answer.script);
    let lead = match answer.reply {
        Reply::Closest => Some(l.closest),
        Reply::NotStated => Some(l.not_stated),
        _ => None,
    };
    let mut segments = match lead {
        Some(lead) => vec![
            Segment::new(Style::Italic, lead),
            Segment::new(Style::Plain, answer.text()),
        ],
        None => vec![Segment::new(Style::Plain, answer_text(answer))],
    };
    if answer.truncated {
        segments.push(Segment::new(Style::Plain, l.truncated));
    }
    segments.extend(source_segments(&answer.citations, l));
    pack(segments, limit)
}

/// Passages listed on their own ("more sources"): the sources heading, then each source
/// line with its paragraph in an expandable quotation.
pub fn sources(citations: &[Citation], script: Script, limit: usize) -> Vec<String> {
    pack(source_segments(citations, labels(script)), limit)
}

/// Cited passages in context ("full passage"): each source line, then the paragraphs around
/// the cited one (given in `passages` with their ¶n, same order as `citations`) in one
/// quotation, each paragraph led by its ¶n and the cited one marked ▶.
pub fn in_context(
    citations: &[Citation],
    passages: &[Vec<(usize, String)>],
    script: Script,
    limit: usize,
) -> Vec<String> {
    let l = labels(script);
    let mut segments = Vec::new();
    for (c, paragraphs) in citations.iter().zip(passages) {
        segments.push(Segment::new(
            Style::Bold,
            format!("[{}] {}", c.n, source_line(c, l)),
        ));
        let lines: Vec<String> = paragraphs
            .iter()
            .map(|(n, text)| {
                let mark = if *n == c.paragraph { "▶ " } else { "" };
                format!("{mark}¶{n} {text}")
            })
            .collect();
        segments.push(Segment::new(Style::Quote, lines.join("\n")));
    }
    pack(segments, limit)
}

fn source_segments(citations: &[Citation], l: &Labels) -> Vec<Segment> {
    if citations.is_empty() {
        return Vec::new();
    }
    let mut segments = vec![Segment::new(Style::Bold, l.sources)];
    for c in citations {
        segments.push(Segment::linked(
            format!("[{}] {}", c.n, source_line(c, l)),
            super::link::of(c),
        ));
        segments.push(Segment::new(Style::Quote, c.text.clone()));
    }
    segments
}

/// The text of a message rendered as Telegram HTML, without its tags and with its entities
/// decoded: what is sent when Telegram refuses the HTML.
pub fn plain_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(i) = rest.find(['<', '&']) {
        out.push_str(&rest[..i]);
        let after = &rest[i..];
        if after.starts_with('<') {
            match after.find('>') {
                Some(end) => rest = &after[end + 1..],
                None => {
                    out.push_str(after);
                    rest = "";
                }
            }
            continue;
        }
        let entity = after.split(';').next().unwrap_or("");
        let decoded = match entity {
            "&lt" => Some('<'),
            "&gt" => Some('>'),
            "&amp" => Some('&'),
            "&quot" => Some('"'),
            _ => entity
                .strip_prefix("&#")
                .and_then(|n| n.parse::<u32>().ok())
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) if after.len() > entity.len() => {
                out.push(c);
                rest = &after[entity.len() + 1..];
            }
            _ => {
                out.push('&');
                rest = &after[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Length of `text` as Telegram counts it (UTF-16 code units).
pub fn telegram_len(text: &str) -> usize {
    text.encode_utf16().count()
}

/// Fills messages with whole segments, one per line; a segment too long for any message is
/// first split at paragraph and sentence boundaries.
fn pack(segments: Vec<Segment>, limit: usize) -> Vec<String> {
    let mut messages = Vec::new();
    let mut current = String::new();
    for segment in segments.into_iter().flat_map(|s| fit(s, limit)) {
        let piece = segment.html();
        let needed = telegram_len(&piece) + usize::from(!current.is_empty());
        if !current.is_empty() && telegram_len(&current) + needed > limit {
            messages.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push('\n');
        }
        current.push_str(&piece);
    }
    if !current.is_empty() {
        messages.push(current);
    }
    messages
}

/// Splits a segment whose HTML exceeds `limit` into segments of the same style that fit:
/// at line breaks, then after sentences (with their `[n]` markers), then between characters.
fn fit(segment: Segment, limit: usize) -> Vec<Segment> {
    if telegram_len(&segment.html()) <= limit {
        return vec![segment];
    }
    let style = segment.style;
    let overhead = telegram_len(&Segment::new(style, "").html());
    let budget = limit.saturating_sub(overhead).max(1);
    let mut out: Vec<Segment> = Vec::new();
    let mut current = String::new();
    for piece in pieces(&segment.text) {
        for part in hard_split(&piece, budget) {
            let joined = format!("{current}{part}");
            if !current.is_empty() && escaped_len(&joined) > budget {
                out.push(Segment::new(style, std::mem::take(&mut current)));
                current = part;
            } else {
                current = joined;
            }
        }
    }
    if !current.trim().is_empty() {
        out.push(Segment::new(style, current));
    }
    out
}

fn escaped_len(text: &str) -> usize {
    telegram_len(&html::escape(text))
}

/// Sentences (and lines) of a text, each keeping its final punctuation, closing quotes and
/// citation markers (`。”[2]`), so that no cut falls inside a citation.
fn pieces(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut current = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        current.push(c);
        i += 1;
        if c == '\n' || matches!(c, '。' | '！' | '？' | '.' | '!' | '?') {
            while i < chars.len() && matches!(chars[i], '”' | '」' | '』' | '’' | '"' | '）' | ')')
            {
                current.push(chars[i]);
                i += 1;
            }
            while let Some(marker) = marker_at(&chars[i..]) {
                current.extend(&chars[i..i + marker]);
                i += marker;
            }
            out.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// Length of a `[n]` citation marker at the start of `chars`, if there is one.
fn marker_at(chars: &[char]) -> Option<usize> {
    if chars.first() != Some(&'[') {
        return None;
    }
    let digits = chars[1..].iter().take_while(|c| c.is_ascii_digit()).count();
    (digits > 0 && chars.get(1 + digits) == Some(&']')).then_some(digits + 2)
}

/// Cuts text whose escaped form exceeds `budget` between characters (never inside an
/// escaped entity, since escaping happens after the cut).
fn hard_split(text: &str, budget: usize) -> Vec<String> {
    if escaped_len(text) <= budget {
        return vec![text.to_string()];
    }
    let mut out = Vec::new();
    let mut current = String::new();
    for c in text.chars() {
        let mut next = current.clone();
        next.push(c);
        if !current.is_empty() && escaped_len(&next) > budget {
            out.push(std::mem::take(&mut current));
            current.push(c);
        } else {
            current = next;
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_drops_tags_and_decodes_entities() {
        assert_eq!(
            plain_text("<b>日本</b> &lt;5500&gt; &amp; &#8220;x&#8221; & 1"),
            "日本 <5500> & \u{201c}x\u{201d} & 1"
        );
        assert_eq!(
            plain_text("<blockquote expandable>引用</blockquote>"),
            "引用"
        );
    }
    use crate::answer::{Citation, Quote};
    use crate::corpus::Script;

    fn answer(quote: &str, passage: &str) -> Answer {
        Answer {
            question: "q".into(),
            script: Script::Hans,
            reply: crate::answer::Reply::Answer,
            quotes: vec![Quote {
                text: quote.into(),
                citation: 1,
            }],
            citations: vec![Citation {
                n: 1,
                article: "000".into(),
                author: Some("华浩男".into()),
                publisher: None,
                published: Some("2025-11-03".into()),
                label: None,
                title: None,
                url: None,
                paragraph: 37,
                text: passage.into(),
                best_sentence: quote.into(),
                score: 1.0,
            }],
            truncated: false,
            coverage: 1.0,
            confidence: 1.0,
            about: 0.0,
            more: Vec::new(),
            topics: Vec::new(),
            corpus: String::new(),
            decided: None,
        }
    }

    /// The plain text of a message, and whether its tags nest properly.
    fn parse(message: &str) -> (String, bool) {
        let mut stack: Vec<String> = Vec::new();
        let mut text = String::new();
        let mut rest = message;
        while let Some(open) = rest.find('<') {
            text.push_str(&rest[..open]);
            let close = rest[open..].find('>').expect("tag closed") + open;
            let tag = &rest[open + 1..close];
            if let Some(name) = tag.strip_prefix('/') {
                if stack.pop().as_deref() != Some(name) {
                    return (text, false);
                }
            } else {
                stack.push(tag.split(' ').next().unwrap().to_string());
            }
            rest = &rest[close + 1..];
        }
        text.push_str(rest);
        let text = text
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&");
        let entities_ok = !message.contains('&')
            || message.match_indices('&').all(|(i, _)| {
                ["&amp;", "&lt;", "&gt;"]
                    .iter()
                    .any(|e| message[i..].starts_with(e))
            });
        (text, stack.is_empty() && entities_ok)
    }

    #[test]
    fn a_source_with_a_url_links_to_the_page_at_the_quoted_sentence() {
        let mut a = answer("日本承诺投资5500亿美元。", "段落");
        a.citations[0].url = Some("https://news.example/a?x=1&y=2".into());
        let m = messages(&a, MESSAGE_LIMIT);
        let (text, nested) = parse(&m[0]);
        assert!(nested, "{}", m[0]);
        assert!(text.contains("[1] 华浩男 · "), "{text}");
        let href = format!(
            "<a href=\"https://news.example/a?x=1&amp;y=2#:~:text={}\">[1] 华浩男",
            percent_encoding::utf8_percent_encode(
                "日本承诺投资5500亿美元。",
                percent_encoding::NON_ALPHANUMERIC
            )
        );
        assert!(m[0].contains(&href), "{}", m[0]);
        a.citations[0].url = None;
        assert!(
            !messages(&a, MESSAGE_LIMIT)[0].contains("<a "),
            "no URL, no link"
        );
    }

    #[test]
    fn escapes_corpus_and_user_text() {
        let a = answer("A<b>&C 投资。", "<script>alert(1)</script> & 段落");
        let m = messages(&a, MESSAGE_LIMIT);
        assert_eq!(m.len(), 1);
        assert!(m[0].starts_with("A&lt;b&gt;&amp;C 投资。[1]"), "{}", m[0]);
        assert!(
            m[0].contains("<blockquote expandable>&lt;script&gt;"),
            "{}",
            m[0]
        );
        assert!(
            m[0].contains("<b>来源</b>\n[1] 华浩男 · 出处不详 · 2025-11-03 · ¶37"),
            "{}",
            m[0]
        );
        assert!(parse(&m[0]).1);
    }

    #[test]
    fn long_answers_split_into_valid_parts_without_cutting_citations() {
        let sentence = "日本将对美国进行80兆日元的投资&增加<进口>。";
        let long_quote = sentence.repeat(40);
        let passage = "很长的段落，包含“引号”与 <标签> & 符号。".repeat(60);
        let a = answer(&long_quote, &passage);
        let limit = 300;
        let parts = messages(&a, limit);
        assert!(parts.len() > 3, "{}", parts.len());
        let mut plain = String::new();
        for p in &parts {
            assert!(
                telegram_len(p) <= limit,
                "part of {} units",
                telegram_len(p)
            );
            let (text, valid) = parse(p);
            assert!(valid, "invalid HTML part: {p}");
            assert!(!p.trim_end().ends_with("[1") && !p.starts_with("1]"));
            plain.push_str(&text.replace('\n', ""));
        }
        assert!(
            plain.contains(&format!("{long_quote}[1]")),
            "answer text lost or reordered"
        );
        assert!(plain.contains(&passage));
    }

    #[test]
    fn a_sentence_longer_than_a_message_is_cut_between_characters() {
        let huge = "&".repeat(500) + "很长";
        let a = answer(&huge, "段落。");
        for p in messages(&a, 120) {
            assert!(telegram_len(&p) <= 120);
            assert!(parse(&p).1, "{p}");
        }
    }

    #[test]
    fn utf16_length_counts_astral_characters_twice() {
        assert_eq!(telegram_len("日本"), 2);
        assert_eq!(telegram_len("🙂"), 2);
    }
}
