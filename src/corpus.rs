//! The corpus: article files plus `articles.toml` metadata, split into bylines, headings,
//! captions, photo credits and body paragraphs; body paragraphs split into sentences.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{Error, Result};

/// Name of the metadata file inside the corpus folder.
pub const METADATA_FILE: &str = "articles.toml";

/// Writing system of an article or a question.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
pub enum Script {
    /// Simplified Chinese.
    Hans,
    /// Traditional Chinese.
    Hant,
    /// Latin script (English).
    Latin,
}

/// What we know about an article; `None` means unknown and is shown as such.
#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Metadata {
    /// Stable id (the seed file prefix).
    pub id: String,
    /// File name inside the corpus folder.
    pub file: String,
    /// Script the article is written in.
    pub script: Script,
    /// The outlet's headline, if known (`add` takes it from the page).
    pub title: Option<String>,
    /// Author, if known.
    pub author: Option<String>,
    /// Outlet, if known.
    pub publisher: Option<String>,
    /// Publication date (YYYY-MM-DD), if known.
    pub published: Option<String>,
    /// Our own short description, never presented as the outlet's headline.
    pub label: Option<String>,
    /// Where the article was published, if known.
    pub url: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MetadataFile {
    article: Vec<Metadata>,
}

/// The role of one non-empty line of an article.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
pub enum BlockKind {
    /// Author / date / outlet line.
    Byline,
    /// Section heading or short title line.
    Heading,
    /// Photo caption.
    Caption,
    /// Photo credit (`来源:NBC News`).
    Credit,
    /// Body paragraph: the only text that may be cited.
    Body,
}

/// One non-empty line of an article file.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
pub struct Block {
    /// ¶n: the 1-based position among the file's non-empty lines.
    pub paragraph: usize,
    /// What the line is.
    pub kind: BlockKind,
    /// The line as written (trimmed), original script.
    pub text: String,
    /// Sentences of a body paragraph, verbatim; empty for other kinds.
    pub sentences: Vec<String>,
}

/// An article with its metadata and structure.
#[derive(Debug, Clone)]
pub struct Article {
    /// What we know about it.
    pub meta: Metadata,
    /// Its non-empty lines in order.
    pub blocks: Vec<Block>,
}

impl Article {
    /// The body paragraphs (citable text) of the article.
    pub fn body(&self) -> impl Iterator<Item = &Block> {
        self.blocks.iter().filter(|b| b.kind == BlockKind::Body)
    }

    /// The sentences of the body paragraphs, in order.
    pub fn body_sentences(&self) -> impl Iterator<Item = &str> {
        self.body()
            .flat_map(|b| b.sentences.iter().map(String::as_str))
    }

    /// Body paragraph ¶`paragraph` with the body paragraphs just before and after it, in
    /// order; empty when there is no such body paragraph.
    pub fn around(&self, paragraph: usize) -> Vec<&Block> {
        let body: Vec<&Block> = self.body().collect();
        match body.iter().position(|b| b.paragraph == paragraph) {
            Some(i) => body[i.saturating_sub(1)..(i + 2).min(body.len())].to_vec(),
            None => Vec::new(),
        }
    }
}

/// An article file as read for indexing: its metadata and text.
#[derive(Debug, Clone)]
pub struct Source {
    /// Its metadata entry.
    pub meta: Metadata,
    /// The file's text.
    pub text: String,
}

/// What [`scan`] found: the readable articles, and every file it had to skip and why.
#[derive(Debug, Default)]
pub struct Scan {
    /// Articles to index, in metadata order.
    pub sources: Vec<Source>,
    /// One error per skipped file (not UTF-8, empty, unlisted, missing, duplicate id).
    pub problems: Vec<Error>,
}

/// Reads the corpus for indexing, skipping (and reporting) each bad file instead of failing:
/// fails only when the folder or its metadata file cannot be read or parsed.
pub fn scan(dir: &Path) -> Result<Scan> {
    let metadata_path = dir.join(METADATA_FILE);
    let listed = read_metadata(&metadata_path)?;
    let mut scan = Scan::default();
    let mut ids = BTreeMap::new();
    let mut files = Vec::new();
    for meta in listed {
        files.push(meta.file.clone());
        if let Some(first) = ids.get(&meta.id) {
            scan.problems.push(Error::Metadata {
                path: metadata_path.clone(),
                message: format!(
                    "id {:?} is used twice ({first} and {}): {} is skipped; give it an id of its own",
                    meta.id, meta.file, meta.file
                ),
            });
            continue;
        }
        ids.insert(meta.id.clone(), meta.file.clone());
        let path = dir.join(&meta.file);
        match read_utf8(&path, crate::error::FIX_ARTICLE) {
            Ok(text) if parse(&text).iter().all(|b| b.kind != BlockKind::Body) => {
                scan.problems.push(Error::Empty { path });
            }
            Ok(text) => scan.sources.push(Source { meta, text }),
            Err(e) => scan.problems.push(e),
        }
    }
    let listed: Vec<&str> = files.iter().map(String::as_str).collect();
    scan.problems
        .extend(unlisted(dir, &metadata_path, &listed)?);
    Ok(scan)
}

/// The `.txt` files in `dir` that no metadata entry lists.
fn unlisted(dir: &Path, metadata_path: &Path, listed: &[&str]) -> Result<Vec<Error>> {
    let entries = std::fs::read_dir(dir).map_err(|cause| Error::Io {
        action: "read the corpus folder",
        path: dir.to_path_buf(),
        cause,
        fix: crate::error::FIX_CORPUS_DIR,
    })?;
    let mut found: Vec<Error> = entries
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            (name.ends_with(".txt") && !listed.contains(&name.as_str())).then(|| Error::Unlisted {
                path: entry.path(),
                metadata: metadata_path.to_path_buf(),
                file: name,
            })
        })
        .collect();
    found.sort_by_key(|e| e.to_string());
    Ok(found)
}

fn read_metadata(metadata_path: &Path) -> Result<Vec<Metadata>> {
    let raw = read_utf8(metadata_path, crate::error::FIX_CORPUS_DIR)?;
    let listed: MetadataFile = toml::from_str(&raw).map_err(|e| Error::Metadata {
        path: metadata_path.to_path_buf(),
        message: e.to_string(),
    })?;
    if listed.article.is_empty() {
        return Err(Error::Metadata {
            path: metadata_path.to_path_buf(),
            message: "lists no [[article]]: add at least one".into(),
        });
    }
    Ok(listed.article)
}

/// Reads every article listed in `dir/articles.toml`, failing on the first bad file (every
/// `.txt` file must be listed, readable UTF-8, with body text).
pub fn load(dir: &Path) -> Result<Vec<Article>> {
    let scan = scan(dir)?;
    if let Some(problem) = scan.problems.into_iter().next() {
        return Err(problem);
    }
    Ok(scan.sources.into_iter().map(Source::into_article).collect())
}

impl Source {
    /// The article's structure.
    pub fn into_article(self) -> Article {
        Article {
            blocks: parse(&self.text),
            meta: self.meta,
        }
    }
}

fn read_utf8(path: &Path, fix: &'static str) -> Result<String> {
    let bytes = std::fs::read(path).map_err(|cause| Error::Io {
        action: "read",
        path: PathBuf::from(path),
        cause,
        fix,
    })?;
    String::from_utf8(bytes).map_err(|e| Error::NotUtf8 {
        path: path.to_path_buf(),
        valid_up_to: e.utf8_error().valid_up_to(),
    })
}

/// Splits an article's text into numbered blocks (¶n = n-th non-empty line).
pub fn parse(text: &str) -> Vec<Block> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    lines
        .iter()
        .enumerate()
        .map(|(i, line)| {
            let kind = classify(line, lines.get(i + 1).copied(), i == 0);
            let sentences = if kind == BlockKind::Body {
                split_sentences(line)
            } else {
                Vec::new()
            };
            Block {
                paragraph: i + 1,
                kind,
                text: (*line).to_string(),
                sentences,
            }
        })
        .collect()
}

fn classify(line: &str, next: Option<&str>, first: bool) -> BlockKind {
    if first && is_byline(line) {
        BlockKind::Byline
    } else if is_credit(line) {
        BlockKind::Credit
    } else if next.is_some_and(is_credit) || has_trailing_credit(line) {
        BlockKind::Caption
    } else if is_heading(line) {
        BlockKind::Heading
    } else {
        BlockKind::Body
    }
}

fn is_byline(line: &str) -> bool {
    ["作者:", "作者：", "发布时间", "發布時間"]
        .iter()
        .any(|p| line.contains(p))
}

/// `来源:NBC News`, `(来源:NBC News)`, `（來源：路透社）`.
fn is_credit(line: &str) -> bool {
    let inner = line
        .trim_start_matches(['(', '（'])
        .trim_end_matches([')', '）']);
    ["来源:", "来源：", "來源:", "來源：", "图源", "圖源"]
        .iter()
        .any(|p| inner.starts_with(p))
        && line.chars().count() <= 40
}

/// A caption that ends with its credit in brackets, e.g. `…舉行雙邊會面。（Reuters）`.
fn has_trailing_credit(line: &str) -> bool {
    let Some(body) = line.strip_suffix('）').or_else(|| line.strip_suffix(')')) else {
        return false;
    };
    let Some(open) = body.rfind(['（', '(']) else {
        return false;
    };
    let credit = &body[open..].trim_start_matches(['（', '(']);
    let before = body[..open].trim_end();
    let credit_like = !credit.is_empty()
        && credit.chars().count() <= 30
        && credit
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || " .&/-'".contains(c));
    credit_like && before.ends_with(['。', '.', '）', ')'])
}

fn is_heading(line: &str) -> bool {
    line.chars().count() <= 30 && !line.ends_with(is_terminal) && !line.ends_with(is_closing)
}

fn is_terminal(c: char) -> bool {
    matches!(c, '。' | '！' | '？' | '!' | '?' | '…')
}

fn is_closing(c: char) -> bool {
    matches!(c, '”' | '」' | '』' | '’' | '"' | '）' | ')' | '》')
}

fn is_opening(c: char) -> bool {
    matches!(c, '“' | '「' | '『' | '‘')
}

/// Splits a paragraph after 。！？!? (and …), keeping closing quotes and brackets with their
/// sentence and never splitting inside a quotation.
pub fn split_sentences(paragraph: &str) -> Vec<String> {
    let chars: Vec<char> = paragraph.chars().collect();
    let mut sentences = Vec::new();
    let mut current = String::new();
    let mut depth = 0usize;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        current.push(c);
        let mut ends = is_terminal(c) && depth == 0;
        if is_opening(c) {
            depth += 1;
        } else if matches!(c, '”' | '」' | '』' | '’') {
            depth = depth.saturating_sub(1);
            // `……。”` closes both the quotation and the sentence.
            ends = depth == 0 && i > 0 && is_terminal(chars[i - 1]);
        }
        if ends {
            while i + 1 < chars.len() && (is_terminal(chars[i + 1]) || is_closing(chars[i + 1])) {
                i += 1;
                current.push(chars[i]);
            }
            push_trimmed(&mut sentences, &mut current);
        }
        i += 1;
    }
    push_trimmed(&mut sentences, &mut current);
    sentences
}

fn push_trimmed(sentences: &mut Vec<String>, current: &mut String) {
    let s = current.trim();
    if !s.is_empty() {
        sentences.push(s.to_string());
    }
    current.clear();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn around_gives_neighbouring_body_paragraphs_only() {
        let text = "引言\n第一段正文，内容较长的一句话。\n特朗普与高市早苗在赤坂检阅仪仗队\n(来源:NBC News)\n第二段正文，内容较长的一句话。\n第三段正文，内容较长的一句话。\n";
        let blocks = parse(text);
        let meta: Metadata =
            toml::from_str("id = \"x\"\nfile = \"x.txt\"\nscript = \"Hans\"").unwrap();
        let article = Article { meta, blocks };
        let body: Vec<usize> = article.body().map(|b| b.paragraph).collect();
        let around = |p| -> Vec<usize> { article.around(p).iter().map(|b| b.paragraph).collect() };
        assert_eq!(around(body[1]), body, "caption and credit are skipped");
        assert_eq!(around(body[0]), &body[..2]);
        assert_eq!(around(body[2]), &body[1..]);
        assert!(around(1).is_empty(), "a heading has no context");
    }

    #[test]
    fn classifies_structure_of_a_simplified_article() {
        let text = "作者:某人 发布时间:2025-11-03 来源:某刊\n引言\n正文第一句。第二句！\n\n特朗普与高市早苗在赤坂检阅仪仗队\n(来源:NBC News)\n读卖新闻的相关报道。\n来源:读卖新闻\n01\n";
        let kinds: Vec<_> = parse(text).iter().map(|b| b.kind).collect();
        use BlockKind::*;
        assert_eq!(
            kinds,
            [Byline, Heading, Body, Caption, Credit, Caption, Credit, Heading]
        );
    }

    #[test]
    fn paragraph_numbers_count_non_empty_lines() {
        let blocks = parse("引言\n\n甲段。\n\n\n乙段。\n");
        let numbers: Vec<_> = blocks
            .iter()
            .map(|b| (b.paragraph, b.text.as_str()))
            .collect();
        assert_eq!(numbers, [(1, "引言"), (2, "甲段。"), (3, "乙段。")]);
    }

    #[test]
    fn caption_with_trailing_credit_is_not_body() {
        let line = "2025年10月28日，日本東京，日本首相高市早苗在迎賓館赤坂離宮與美國總統特朗普（Donald Trump）舉行雙邊會面。（Reuters）";
        assert_eq!(parse(line)[0].kind, BlockKind::Caption);
        let body = "包括將TPP改造為《全面與進步跨太平洋夥伴關係協定》（CPTPP）。";
        assert_eq!(parse(body)[0].kind, BlockKind::Body);
    }

    #[test]
    fn sentences_keep_quotes_and_closing_marks() {
        let s = split_sentences("他说：“我们是盟友。我们很强。”然后离开了。真的吗？是的!");
        assert_eq!(
            s,
            [
                "他说：“我们是盟友。我们很强。”",
                "然后离开了。",
                "真的吗？",
                "是的!"
            ]
        );
    }

    #[test]
    fn sentence_without_terminal_is_kept() {
        assert_eq!(split_sentences("没有句号的结尾"), ["没有句号的结尾"]);
        assert!(split_sentences("").is_empty());
    }

    #[test]
    fn unbalanced_quote_does_not_lose_text() {
        let s = split_sentences("「未闭合。还有。");
        assert_eq!(s.concat(), "「未闭合。还有。");
    }
}
