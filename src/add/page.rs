//! A page or file → an article: the bytes decoded by their declared or sniffed charset, the
//! article's paragraphs extracted with dom_smoothie (readability.js's algorithm), and what is
//! known of it — title, author, outlet, date — from JSON-LD, `meta` tags or the visible byline
//! (`作者: … 发布时间: … 来源: …`). What is not found stays unknown.

use encoding_rs::Encoding;

use super::AddError;
use crate::corpus::{self, BlockKind, Script};

/// Fewest characters of body text an article has.
const MIN_BODY_CHARS: usize = 200;

/// Characters of text below which readability retries with looser cleaning (its default, 500,
/// is for English: a short Chinese news item has 300, and the retry keeps its ads).
const READABILITY_MIN_CHARS: usize = 150;

/// An article read from a page or a file, before it joins the corpus.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    /// The outlet's headline, if found.
    pub title: Option<String>,
    /// Author, if found.
    pub author: Option<String>,
    /// Outlet, if found.
    pub publisher: Option<String>,
    /// Publication date (YYYY-MM-DD), if found.
    pub published: Option<String>,
    /// The article's paragraphs, as text.
    pub paragraphs: Vec<String>,
    /// Its script.
    pub script: Script,
}

impl Page {
    /// The article file's text: one paragraph per line.
    pub fn text(&self) -> String {
        let mut text = self.paragraphs.join("\n");
        text.push('\n');
        text
    }
}

/// `bytes` as text: by a byte-order mark, else the charset declared in `content_type` or in
/// the page's own `<meta>`, else the one the bytes look like (UTF-8, GBK, Big5, …).
pub fn decode(bytes: &[u8], content_type: Option<&str>) -> String {
    let declared = content_type
        .and_then(charset_of)
        .or_else(|| meta_charset(bytes))
        .and_then(|label| Encoding::for_label(label.trim().as_bytes()));
    let encoding = Encoding::for_bom(bytes)
        .map(|(e, _)| e)
        .or(declared)
        .unwrap_or_else(|| sniff(bytes));
    encoding.decode(bytes).0.into_owned()
}

fn charset_of(content_type: &str) -> Option<&str> {
    content_type.split(';').skip(1).find_map(|p| {
        let (key, value) = p.split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| value.trim().trim_matches('"'))
    })
}

/// The charset a page declares in its first 4 KB (`<meta charset=…>` or `http-equiv`).
fn meta_charset(bytes: &[u8]) -> Option<&str> {
    let head = &bytes[..bytes.len().min(4096)];
    let lower = head.to_ascii_lowercase();
    let at = memchr::memmem::find(&lower, b"charset=")? + "charset=".len();
    let rest = &head[at..];
    let rest = rest
        .strip_prefix(b"\"")
        .or(rest.strip_prefix(b"'"))
        .unwrap_or(rest);
    let end = rest
        .iter()
        .position(|b| !(b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_'))
        .unwrap_or(rest.len());
    std::str::from_utf8(&rest[..end])
        .ok()
        .filter(|s| !s.is_empty())
}

fn sniff(bytes: &[u8]) -> &'static Encoding {
    let mut detector = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
    detector.feed(bytes, true);
    detector.guess(None, chardetng::Utf8Detection::Allow)
}

/// The article in an HTML page (`url` resolves its relative links); no article text is an
/// error.
pub fn from_html(html: &str, url: Option<&str>, source: &str) -> Result<Page, AddError> {
    let config = dom_smoothie::Config {
        text_mode: dom_smoothie::TextMode::Formatted,
        char_threshold: READABILITY_MIN_CHARS,
        ..Default::default()
    };
    let no_article = || AddError::NoArticle {
        page: source.to_string(),
    };
    let mut readability =
        dom_smoothie::Readability::new(html, url, Some(config)).map_err(|_| no_article())?;
    let article = readability.parse().map_err(|_| no_article())?;
    let lines: Vec<String> = article
        .text_content
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|l| !l.is_empty())
        .collect();
    let visible = Byline::find(lines.iter().map(String::as_str))
        .or_else(|| Byline::find(page_lines(html).iter().map(String::as_str)));
    let meta_author = article
        .byline
        .as_deref()
        .map(clean)
        .filter(|a| !a.is_empty());
    let from_meta = meta_author.as_deref().and_then(Byline::parse);
    let visible = visible.or(from_meta).unwrap_or_default();
    let author = match meta_author {
        Some(a) if Byline::parse(&a).is_none() => Some(a),
        _ => visible.author.clone(),
    };
    let paragraphs = body_paragraphs(lines);
    let page = Page {
        title: Some(clean(&article.title)).filter(|t| !t.is_empty()),
        author,
        publisher: article
            .site_name
            .as_deref()
            .map(clean)
            .filter(|s| !s.is_empty())
            .or(visible.publisher),
        published: article
            .published_time
            .as_deref()
            .and_then(date)
            .or(visible.published),
        script: script_of(&paragraphs.concat()),
        paragraphs,
    };
    check_body(page, source)
}

/// The article in a text file: one paragraph per line; a first line that is a byline gives
/// author, date and outlet.
pub fn from_text(text: &str, source: &str) -> Result<Page, AddError> {
    let lines: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    let byline = lines
        .first()
        .and_then(|l| Byline::parse(l))
        .unwrap_or_default();
    let paragraphs = body_paragraphs(lines);
    let page = Page {
        title: None,
        author: byline.author,
        publisher: byline.publisher,
        published: byline.published,
        script: script_of(&paragraphs.concat()),
        paragraphs,
    };
    check_body(page, source)
}

/// Traditional when at least 2% of its Chinese characters change in Simplified (a Simplified
/// article has a few characters the converter changes; a Traditional one has a fifth or more),
/// Latin when it has no Chinese.
fn script_of(text: &str) -> Script {
    let simplified = fast2s::convert(text);
    let pairs = text
        .chars()
        .zip(simplified.chars())
        .filter(|(c, _)| crate::text::is_cjk(*c));
    let (mut cjk, mut changed) = (0usize, 0usize);
    for (a, b) in pairs {
        cjk += 1;
        changed += usize::from(a != b);
    }
    match cjk {
        0 => Script::Latin,
        _ if changed * 50 >= cjk => Script::Hant,
        _ => Script::Hans,
    }
}

/// The lines without bylines (their fields are metadata). Captions and photo credits stay:
/// the corpus reads them as such and never cites them.
fn body_paragraphs(lines: Vec<String>) -> Vec<String> {
    lines
        .into_iter()
        .filter(|l| Byline::parse(l).is_none())
        .collect()
}

fn check_body(page: Page, source: &str) -> Result<Page, AddError> {
    let body = corpus::parse(&page.text());
    let chars: usize = body
        .iter()
        .filter(|b| b.kind == BlockKind::Body)
        .map(|b| b.text.chars().count())
        .sum();
    if chars < MIN_BODY_CHARS {
        return Err(AddError::NoArticle {
            page: source.to_string(),
        });
    }
    Ok(page)
}

/// The page's visible text, a line per block, for a byline readability left out.
fn page_lines(html: &str) -> Vec<String> {
    let document = dom_query::Document::from(html);
    document
        .select("body")
        .formatted_text()
        .lines()
        .map(clean)
        .collect()
}

fn clean(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// What a visible byline says: `作者:华浩男 发布时间:2025-11-03 来源:复旦…`.
#[derive(Debug, Default, Clone, PartialEq)]
struct Byline {
    author: Option<String>,
    published: Option<String>,
    publisher: Option<String>,
}

const AUTHOR: [&str; 4] = ["作者", "記者", "记者", "撰文"];
const DATE: [&str; 6] = [
    "发布时间",
    "發布時間",
    "发布日期",
    "發布日期",
    "日期",
    "时间",
];
const OUTLET: [&str; 4] = ["来源", "來源", "出处", "出處"];

impl Byline {
    fn find<'a>(mut lines: impl Iterator<Item = &'a str>) -> Option<Byline> {
        lines.find_map(Byline::parse)
    }

    /// The fields of a short line with at least two of author, date and outlet labelled.
    fn parse(line: &str) -> Option<Byline> {
        if line.chars().count() > 120 {
            return None;
        }
        let byline = Byline {
            author: field(line, &AUTHOR),
            published: field(line, &DATE).and_then(|d| date(&d)),
            publisher: field(line, &OUTLET),
        };
        let found = [&byline.author, &byline.published, &byline.publisher]
            .iter()
            .filter(|f| f.is_some())
            .count();
        (found >= 2).then_some(byline)
    }
}

/// The value after `label:` up to the next space, `|` or `+`.
fn field(line: &str, labels: &[&str]) -> Option<String> {
    labels.iter().find_map(|label| {
        let at = line.find(label)? + label.len();
        let rest = line[at..].trim_start();
        let rest = rest
            .strip_prefix(':')
            .or_else(|| rest.strip_prefix('：'))?
            .trim_start();
        let value: String = rest
            .chars()
            .take_while(|c| !c.is_whitespace() && !"|｜+＋".contains(*c))
            .collect();
        (!value.is_empty()).then_some(value)
    })
}

/// `2025-11-03T08:00:00+08:00`, `2025/11/3`, `2025年11月3日` → `2025-11-03`.
pub fn date(text: &str) -> Option<String> {
    let digits: Vec<u32> = text
        .split(|c: char| !c.is_ascii_digit())
        .filter(|p| !p.is_empty())
        .take(3)
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    match digits[..] {
        [y, m, d]
            if (1900..2200).contains(&y) && (1..=12).contains(&m) && (1..=31).contains(&d) =>
        {
            Some(format!("{y:04}-{m:02}-{d:02}"))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charsets_come_from_the_header_the_meta_tag_or_the_bytes() {
        let text = "美日首脑会谈在东京举行，双方签署了关于稀土的协议。";
        let (gbk, _, _) = encoding_rs::GBK.encode(text);
        assert_eq!(decode(&gbk, Some("text/html; charset=GBK")), text);
        let page = [b"<meta charset=\"gb2312\">".as_slice(), &gbk].concat();
        assert!(decode(&page, Some("text/html")).ends_with(text));
        let hant = "美日首腦會談在東京舉行，雙方簽署了關於稀土的協議。高市早苗表示歡迎。";
        let (big5, _, _) = encoding_rs::BIG5.encode(hant);
        assert_eq!(decode(&big5, None), hant);
        assert_eq!(decode(text.as_bytes(), None), text);
    }

    #[test]
    fn a_visible_byline_gives_author_date_and_outlet() {
        let b =
            Byline::parse("作者:华浩男 发布时间:2025-11-03 来源:复旦中美友好互信合作计划+收藏本文")
                .unwrap();
        assert_eq!(b.author.as_deref(), Some("华浩男"));
        assert_eq!(b.published.as_deref(), Some("2025-11-03"));
        assert_eq!(b.publisher.as_deref(), Some("复旦中美友好互信合作计划"));
        assert_eq!(
            Byline::parse("作者：王小明"),
            None,
            "one field is no byline"
        );
        assert_eq!(
            Byline::parse("記者：陳大文｜發布時間：2025年10月29日")
                .unwrap()
                .published
                .as_deref(),
            Some("2025-10-29")
        );
    }

    #[test]
    fn an_article_is_traditional_by_the_share_of_its_characters_that_change() {
        assert_eq!(
            script_of("美日首脑会谈在东京举行，双方签署了协议，日本将增加防卫预算。"),
            Script::Hans
        );
        assert_eq!(
            script_of("美日首腦會談在東京舉行，雙方簽署了協議。"),
            Script::Hant
        );
        assert_eq!(script_of("Trump met Takaichi in Tokyo."), Script::Latin);
    }

    #[test]
    fn dates_are_written_as_iso_days_or_not_at_all() {
        assert_eq!(
            date("2025-11-03T08:00:00+08:00").as_deref(),
            Some("2025-11-03")
        );
        assert_eq!(date("2025/11/3").as_deref(), Some("2025-11-03"));
        assert_eq!(date("2025年10月28日 下午").as_deref(), Some("2025-10-28"));
        assert_eq!(date("yesterday"), None);
        assert_eq!(date("13/45/2025"), None);
    }
}
