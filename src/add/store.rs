//! A new article into the corpus folder: its text file and its `[[article]]` table (the
//! comments and order of `articles.toml` kept), each written to a temporary file and renamed
//! into place, so that a failure leaves the corpus as it was; an article already there (same
//! URL, or same text) found first.

use std::path::{Path, PathBuf};

use crate::corpus::{Metadata, Script, METADATA_FILE};
use crate::error::{Error, Result};

/// The corpus folder held by one writer: `.adding.lock` created exclusively, removed when
/// dropped. Replicas sharing a corpus volume add each page once: the second finds it there.
pub struct Lock(PathBuf);

/// A lock older than this was left by a writer that died: it is taken over.
const STALE_LOCK: std::time::Duration = std::time::Duration::from_secs(120);

impl Lock {
    /// Waits (up to 30 s) until no other writer holds `dir`, then holds it.
    pub fn take(dir: &Path) -> Result<Lock> {
        let path = dir.join(".adding.lock");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(_) => return Ok(Lock(path)),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let stale = std::fs::metadata(&path)
                        .and_then(|m| m.modified())
                        .ok()
                        .and_then(|t| t.elapsed().ok())
                        .is_some_and(|age| age > STALE_LOCK);
                    if stale {
                        let _ = std::fs::remove_file(&path);
                    } else if std::time::Instant::now() > deadline {
                        return Err(Error::Metadata {
                            path,
                            message: "another writer has held the corpus for 30 s: try again, or remove this file if no summit-qa is adding articles".into(),
                        });
                    } else {
                        std::thread::sleep(std::time::Duration::from_millis(50));
                    }
                }
                Err(cause) => {
                    return Err(Error::Io {
                        action: "lock",
                        path,
                        cause,
                        fix: "make the corpus folder writable by this user",
                    })
                }
            }
        }
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Why a page is already in the corpus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Already {
    /// An article has the same URL.
    SameUrl(String),
    /// An article has the same text.
    SameText(String),
}

/// The listed articles of the corpus folder `dir`.
pub fn listed(dir: &Path) -> Result<Vec<Metadata>> {
    Ok(crate::corpus::scan(dir)?
        .sources
        .into_iter()
        .map(|s| s.meta)
        .collect())
}

/// The article of `dir` that `url` or `text` already is, if any.
pub fn already(dir: &Path, url: Option<&str>, text: &str) -> Result<Option<Already>> {
    let scan = crate::corpus::scan(dir)?;
    let wanted = fingerprint(text);
    for source in scan.sources {
        if url.is_some() && source.meta.url.as_deref().map(same_page) == url.map(same_page) {
            return Ok(Some(Already::SameUrl(source.meta.id)));
        }
        if fingerprint(&source.text) == wanted {
            return Ok(Some(Already::SameText(source.meta.id)));
        }
    }
    Ok(None)
}

/// Whether an article of `dir` was added from `url` (read from articles.toml alone).
pub fn has_url(dir: &Path, url: &str) -> Result<bool> {
    let wanted = same_page(url);
    Ok(listed(dir)?
        .iter()
        .any(|m| m.url.as_deref().map(same_page).as_deref() == Some(wanted.as_str())))
}

/// A URL without its fragment and trailing slash: the same page however it was linked.
fn same_page(url: &str) -> String {
    let mut parsed = match url::Url::parse(url) {
        Ok(u) => u,
        Err(_) => return url.to_string(),
    };
    parsed.set_fragment(None);
    parsed.as_str().trim_end_matches('/').to_string()
}

/// The letters and digits of the text's body paragraphs, hashed: the same article whatever
/// its spacing, byline or headings.
fn fingerprint(text: &str) -> u64 {
    let kept: String = crate::corpus::parse(text)
        .iter()
        .filter(|b| b.kind == crate::corpus::BlockKind::Body)
        .flat_map(|b| b.text.chars())
        .filter(|c| c.is_alphanumeric())
        .collect();
    xxhash_rust::xxh3::xxh3_64(kept.as_bytes())
}

/// A new id like the seeds': the next three-digit number, then 16 hex digits of `key` (the
/// URL, or the text).
pub fn new_id(listed: &[Metadata], key: &str) -> String {
    let next = listed
        .iter()
        .filter_map(|m| m.id.split('_').next()?.parse::<u32>().ok())
        .max()
        .map_or(0, |n| n + 1);
    format!(
        "{next:03}_{:016x}",
        xxhash_rust::xxh3::xxh3_64(key.as_bytes())
    )
}

/// Writes `text` as `dir/<meta.file>` and appends `meta` to `dir/articles.toml`; on any
/// failure neither is changed.
pub fn write(dir: &Path, meta: &Metadata, text: &str) -> Result<()> {
    let metadata_path = dir.join(METADATA_FILE);
    let raw = std::fs::read_to_string(&metadata_path).map_err(|cause| Error::Io {
        action: "read",
        path: metadata_path.clone(),
        cause,
        fix: crate::error::FIX_CORPUS_DIR,
    })?;
    let updated = with_table(&raw, meta).map_err(|message| Error::Metadata {
        path: metadata_path.clone(),
        message,
    })?;
    let article_path = dir.join(&meta.file);
    if article_path.exists() {
        return Err(Error::Metadata {
            path: article_path,
            message: "already exists: choose another --id".into(),
        });
    }
    replace(&article_path, text)?;
    if let Err(e) = replace(&metadata_path, &updated) {
        let _ = std::fs::remove_file(&article_path);
        return Err(e);
    }
    Ok(())
}

/// `raw` (articles.toml) with `meta` appended as one more `[[article]]`, all else kept.
fn with_table(raw: &str, meta: &Metadata) -> std::result::Result<String, String> {
    let mut doc: toml_edit::DocumentMut = raw.parse().map_err(|e| format!("{e}"))?;
    let mut table = toml_edit::Table::new();
    table.insert("id", toml_edit::value(meta.id.as_str()));
    table.insert("file", toml_edit::value(meta.file.as_str()));
    let script = match meta.script {
        Script::Hans => "Hans",
        Script::Hant => "Hant",
        Script::Latin => "Latin",
    };
    table.insert("script", toml_edit::value(script));
    for (key, value) in [
        ("title", &meta.title),
        ("author", &meta.author),
        ("publisher", &meta.publisher),
        ("published", &meta.published),
        ("label", &meta.label),
        ("url", &meta.url),
    ] {
        if let Some(v) = value {
            table.insert(key, toml_edit::value(v.as_str()));
        }
    }
    let articles = doc
        .entry("article")
        .or_insert_with(|| toml_edit::Item::ArrayOfTables(Default::default()))
        .as_array_of_tables_mut()
        .ok_or("`article` is not a list of [[article]] tables")?;
    articles.push(table);
    Ok(doc.to_string())
}

/// Writes `path` whole or not at all: a temporary file beside it, synced, then renamed.
fn replace(path: &Path, contents: &str) -> Result<()> {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let temporary: PathBuf = path.with_file_name(format!(".{name}.adding"));
    let io = |cause| Error::Io {
        action: "write",
        path: path.to_path_buf(),
        cause,
        fix: "make the corpus folder writable by this user",
    };
    let write = || -> std::io::Result<()> {
        use std::io::Write;
        let mut file = std::fs::File::create(&temporary)?;
        file.write_all(contents.as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&temporary, path)
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&temporary);
        io(e)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(id: &str) -> Metadata {
        Metadata {
            id: id.into(),
            file: format!("{id}.txt"),
            script: Script::Hant,
            title: Some("標題".into()),
            author: None,
            publisher: Some("某報".into()),
            published: Some("2025-10-29".into()),
            label: None,
            url: Some("https://example.com/a".into()),
        }
    }

    #[test]
    fn a_new_table_keeps_the_comments_and_order_of_the_file() {
        let raw = "# our corpus\n# fields: id, file\n\n[[article]]\nid = \"000_a\" # first\nfile = \"000_a.txt\"\nscript = \"Hans\"\n";
        let out = with_table(raw, &meta("001_b")).unwrap();
        assert!(out.starts_with(raw), "{out}");
        assert!(out.contains("[[article]]\nid = \"001_b\"\nfile = \"001_b.txt\"\nscript = \"Hant\"\ntitle = \"標題\""), "{out}");
        assert!(!out.contains("author"), "unknown stays unwritten: {out}");
        let back: toml::Value = toml::from_str(&out).unwrap();
        assert_eq!(back["article"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn ids_follow_the_highest_number() {
        let listed = vec![meta("000_a"), meta("004_b")];
        assert!(new_id(&listed, "https://x").starts_with("005_"));
        assert_eq!(new_id(&listed, "k").len(), "005_".len() + 16);
        assert!(new_id(&[], "k").starts_with("000_"));
    }

    #[test]
    fn the_same_page_however_it_was_linked() {
        assert_eq!(
            same_page("https://a.com/x/#top"),
            same_page("https://a.com/x")
        );
        assert_ne!(same_page("https://a.com/x"), same_page("https://a.com/y"));
        let body = "美日首脑会谈在东京举行，双方签署了关于稀土的协议。";
        assert_eq!(
            fingerprint(&format!(
                "作者:某某 发布时间:2025-11-03 来源:某报\n{body}\n"
            )),
            fingerprint(&body.replace('，', " ， "))
        );
    }

    #[test]
    fn a_failed_write_leaves_the_corpus_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let raw = "[[article]]\nid = \"000_a\"\nfile = \"000_a.txt\"\nscript = \"Hans\"\n";
        std::fs::write(dir.path().join(METADATA_FILE), raw).unwrap();
        // A folder where the article file would go: the text cannot be written.
        std::fs::create_dir(dir.path().join("bad.txt")).unwrap();
        let mut m = meta("bad");
        m.file = "bad.txt".into();
        assert!(write(dir.path(), &m, "text").is_err());
        assert_eq!(
            std::fs::read_to_string(dir.path().join(METADATA_FILE)).unwrap(),
            raw
        );
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(
            names,
            ["articles.toml", "bad.txt"],
            "no temporary file left"
        );
        let held = Lock::take(dir.path()).unwrap();
        let waiter = {
            let dir = dir.path().to_path_buf();
            std::thread::spawn(move || Lock::take(&dir).map(|_| std::time::Instant::now()))
        };
        std::thread::sleep(std::time::Duration::from_millis(200));
        let released = std::time::Instant::now();
        drop(held);
        assert!(
            waiter.join().unwrap().unwrap() >= released,
            "the second writer waited"
        );
        write(dir.path(), &meta("001_b"), "正文。\n").unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.path().join("001_b.txt")).unwrap(),
            "正文。\n"
        );
    }
}
