//! Adding articles to the corpus from a web page or a local `.html` / `.txt` file (`summit-qa
//! add`): fetch (with the limits of `[ingest]`), decode, extract the article and what is known
//! of it, skip what the corpus already has, write the file and its `[[article]]` table, then
//! index incrementally.

pub mod feeds;
pub mod fetch;
pub mod page;
pub mod store;

use std::path::Path;
use std::time::Duration;

use crate::config::Config;
use crate::corpus::{Metadata, Script};
pub use fetch::Fetcher;
pub use page::Page;
pub use store::Already;

/// Why a page or file was not added; nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum AddError {
    /// The address, the host, the server's answer or the page's size is not acceptable.
    #[error("{page}: {reason}; nothing was added")]
    Refused {
        /// The URL or file.
        page: String,
        /// What is wrong, and what to do when something can be done.
        reason: String,
    },
    /// The page holds no article text (a front page, a list of links, an empty file).
    #[error("{page}: no article text found (fewer than 200 characters of paragraphs); nothing was added")]
    NoArticle {
        /// The URL or file.
        page: String,
    },
    /// The corpus folder cannot be read or written.
    #[error(transparent)]
    Corpus(#[from] crate::error::Error),
}

/// What is written instead of what was extracted (`--id`, `--author`, …).
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// The article's id (and file name).
    pub id: Option<String>,
    /// The headline.
    pub title: Option<String>,
    /// The author.
    pub author: Option<String>,
    /// The outlet.
    pub publisher: Option<String>,
    /// The publication date, YYYY-MM-DD.
    pub published: Option<String>,
    /// The script.
    pub script: Option<Script>,
}

/// What became of one page or file.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Written into the corpus (or, with `--dry-run`, what would be).
    Added {
        /// Its metadata as written.
        meta: Metadata,
        /// Its paragraphs.
        paragraphs: usize,
    },
    /// The corpus has it already.
    Skipped {
        /// The URL or file.
        page: String,
        /// Which article it is, and how that was seen.
        already: Already,
    },
}

impl Fetcher {
    /// The fetcher `config`'s `[ingest]` settings describe.
    pub fn of(config: &Config) -> Fetcher {
        Fetcher {
            allow_private_hosts: config.ingest.allow_private_hosts,
            max_bytes: config.ingest.max_page_bytes,
            timeout: Duration::from_secs_f64(config.ingest.timeout_seconds),
        }
    }
}

/// Reads `page` (an http(s) URL, or a local `.html`, `.htm` or `.txt` file) as an article,
/// with its URL when it has one.
pub async fn read(fetcher: &Fetcher, page: &str) -> Result<(Page, Option<String>), AddError> {
    if page.starts_with("http://") || page.starts_with("https://") || page.contains("://") {
        let fetched = fetcher.get(page).await?;
        let kind = fetched
            .content_type
            .as_deref()
            .and_then(|c| c.split(';').next())
            .map(|c| c.trim().to_ascii_lowercase());
        let text = page::decode(&fetched.body, fetched.content_type.as_deref());
        let url = fetched.url.to_string();
        let article = match kind.as_deref() {
            None | Some("text/html" | "application/xhtml+xml") => {
                page::from_html(&text, Some(&url), page)?
            }
            Some("text/plain") => page::from_text(&text, page)?,
            Some(other) => {
                return Err(AddError::Refused {
                    page: page.to_string(),
                    reason: format!("the server sent {other}, not an HTML page or text"),
                })
            }
        };
        return Ok((article, Some(url)));
    }
    let path = Path::new(page);
    let bytes = std::fs::read(path).map_err(|e| AddError::Refused {
        page: page.to_string(),
        reason: format!("cannot read the file ({e})"),
    })?;
    let extension = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase());
    let article = match extension.as_deref() {
        Some("html" | "htm") => page::from_html(&page::decode(&bytes, None), None, page)?,
        Some("txt") => page::from_text(&page::decode(&bytes, None), page)?,
        _ => {
            return Err(AddError::Refused {
                page: page.to_string(),
                reason: "give a URL, or a .html, .htm or .txt file".into(),
            })
        }
    };
    Ok((article, None))
}

/// Adds `page` to the corpus in `dir` unless it is there already; with `dry_run`, only says
/// what would be added.
pub async fn add(
    fetcher: &Fetcher,
    dir: &Path,
    page: &str,
    overrides: &Overrides,
    dry_run: bool,
) -> Result<Outcome, AddError> {
    let (article, url) = read(fetcher, page).await?;
    admit(dir, page, article, url, overrides, dry_run)
}

/// Writes an article read from `page` into the corpus in `dir` unless it is there already
/// (same URL or same text); with `dry_run`, only says what would be written.
pub fn admit(
    dir: &Path,
    page: &str,
    article: Page,
    url: Option<String>,
    overrides: &Overrides,
    dry_run: bool,
) -> Result<Outcome, AddError> {
    let text = article.text();
    let _lock = (!dry_run).then(|| store::Lock::take(dir)).transpose()?;
    if let Some(already) = store::already(dir, url.as_deref(), &text)? {
        return Ok(Outcome::Skipped {
            page: page.to_string(),
            already,
        });
    }
    let listed = store::listed(dir)?;
    let id = overrides
        .id
        .clone()
        .unwrap_or_else(|| store::new_id(&listed, url.as_deref().unwrap_or(&text)));
    if let Some(published) = &overrides.published {
        if page::date(published).as_deref() != Some(published.as_str()) {
            return Err(AddError::Refused {
                page: page.to_string(),
                reason: format!("--published {published:?} is not a date written YYYY-MM-DD"),
            });
        }
    }
    let or = |given: &Option<String>, found: Option<String>| given.clone().or(found);
    let meta = Metadata {
        file: format!("{id}.txt"),
        script: overrides.script.unwrap_or(article.script),
        title: or(&overrides.title, article.title.clone()),
        author: or(&overrides.author, article.author.clone()),
        publisher: or(&overrides.publisher, article.publisher.clone()),
        published: or(&overrides.published, article.published.clone()),
        label: None,
        url,
        id,
    };
    if listed.iter().any(|m| m.id == meta.id) {
        return Err(AddError::Refused {
            page: page.to_string(),
            reason: format!(
                "the corpus has an article {} already: give another --id",
                meta.id
            ),
        });
    }
    if !dry_run {
        store::write(dir, &meta, &text)?;
    }
    Ok(Outcome::Added {
        meta,
        paragraphs: article.paragraphs.len(),
    })
}
