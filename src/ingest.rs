//! Ingestion: the corpus folder → the search index, incrementally. Records what was indexed
//! (the catalog) with each commit, so an unchanged article is never segmented again and a
//! reader always sees an index and a catalog that belong together.

use std::collections::HashMap;
use std::path::Path;
use std::time::UNIX_EPOCH;

use serde::{Deserialize, Serialize};

use crate::corpus::{self, Block, BlockKind, Metadata, METADATA_FILE};
use crate::embed::{Embedder, Role};
use crate::error::{Error, Result};
use crate::index::vectors::{text_hash, ArticleVectors, Embedded, VectorStore, PARAGRAPH};
use crate::index::{article_key, Handle};
use crate::lexicon::{Glossary, Lexicon, GLOSSARY_FILE};
use crate::text;

/// Changes whenever the schema, the analyzers or the catalog's meaning change: an index
/// built by another version is rebuilt from scratch.
const FORMAT: &str = concat!("summit-qa ", env!("CARGO_PKG_VERSION"), " index 4");

/// What an index holds: recorded atomically with every commit.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Catalog {
    /// [`FORMAT`] of the build that wrote it.
    pub format: String,
    /// Quick fingerprint of the corpus folder (names, sizes, times): unchanged means fresh.
    pub inputs: String,
    /// Hash of the glossary (it changes how every article is segmented).
    pub glossary_hash: String,
    /// The glossary the index was built with.
    pub glossary: Glossary,
    /// The indexed articles, in metadata order.
    pub entries: Vec<Entry>,
}

/// One indexed article.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Entry {
    /// Its metadata.
    pub meta: Metadata,
    /// Hash of its text and metadata.
    pub hash: String,
}

impl Catalog {
    /// A short fingerprint of the indexed corpus (4 hex digits), carried in buttons.
    pub fn fingerprint(&self) -> String {
        let mut all = self.glossary_hash.clone();
        for e in &self.entries {
            all.push_str(&e.meta.id);
            all.push_str(&e.hash);
        }
        format!(
            "{:04x}",
            xxhash_rust::xxh3::xxh3_64(all.as_bytes()) & 0xffff
        )
    }

    /// The catalog recorded with the last commit of `index`; empty before the first.
    pub fn of(index: &Handle) -> Result<Catalog> {
        read(index.payload()?)
    }
}

/// Parses a commit payload.
pub fn read(payload: Option<String>) -> Result<Catalog> {
    match payload {
        None => Ok(Catalog::default()),
        Some(json) => serde_json::from_str(&json).map_err(|e| Error::IndexDir {
            path: "index".into(),
            message: format!("its catalog cannot be read ({e}): delete the index folder and run `summit-qa index`"),
        }),
    }
}

/// What one ingestion did.
#[derive(Debug, Default)]
pub struct Report {
    /// Articles indexed for the first time.
    pub added: usize,
    /// Articles indexed again because their text or metadata changed.
    pub changed: usize,
    /// Articles taken out of the index.
    pub removed: usize,
    /// Articles left as they were.
    pub unchanged: usize,
    /// Files skipped, and why.
    pub problems: Vec<Error>,
    /// Sentences and paragraphs embedded by the model (0 when it is off).
    pub embedded: usize,
    /// Sentences whose vector was kept from before (their text did not change).
    pub reused: usize,
}

/// The sentence vectors to bring up to date with the articles, and the model that makes them.
pub struct Vectors<'a> {
    /// The embedding model.
    pub model: &'a Embedder,
    /// The vectors so far (read from the index folder); updated in place.
    pub store: &'a mut VectorStore,
}

/// What [`update`] reports as it goes: a stage ("articles", "passages embedded") with how far
/// it is.
pub type Progress<'a> = &'a mut dyn FnMut(&str, usize, usize);

impl Report {
    /// One line for people: what changed, and how many files were skipped.
    pub fn summary(&self) -> String {
        let mut line = format!(
            "{} added, {} changed, {} removed, {} unchanged; {} skipped",
            self.added,
            self.changed,
            self.removed,
            self.unchanged,
            self.problems.len()
        );
        if self.embedded + self.reused > 0 {
            line.push_str(&format!(
                "; {} passages embedded, {} vectors reused",
                self.embedded, self.reused
            ));
        }
        line
    }

    /// True when nothing had to be written.
    pub fn untouched(&self) -> bool {
        self.added + self.changed + self.removed == 0
    }
}

/// True when `index` was built from the corpus in `dir` as it is now (by this version).
/// Compares file names, sizes and times first; when those differ (a copy or a checkout sets
/// new times) it compares contents.
pub fn is_fresh(index: &Handle, dir: &Path) -> Result<bool> {
    let catalog = Catalog::of(index)?;
    if catalog.format != FORMAT || catalog.entries.is_empty() {
        return Ok(false);
    }
    if catalog.inputs == inputs(dir)? {
        return Ok(true);
    }
    if catalog.glossary_hash != glossary_hash(dir) {
        return Ok(false);
    }
    let sources = corpus::scan(dir)?.sources;
    Ok(sources.len() == catalog.entries.len()
        && sources
            .iter()
            .zip(&catalog.entries)
            .all(|(s, e)| s.meta.id == e.meta.id && digest(s) == e.hash))
}

/// Hash of an article's metadata and text: equal means nothing to re-index.
fn digest(source: &corpus::Source) -> String {
    let meta = serde_json::to_string(&source.meta).unwrap_or_default();
    hash(&format!("{meta}\n{}", source.text))
}

fn glossary_hash(dir: &Path) -> String {
    hash(&std::fs::read_to_string(dir.join(GLOSSARY_FILE)).unwrap_or_default())
}

/// Brings `index` up to date with the corpus in `dir`: adds new articles, re-indexes changed
/// ones, removes those gone; skips (and reports) bad files. `progress(done, total)` is called
/// after each article. Commits once, at the end: an interrupted run changes nothing.
/// Waits while another process holds the index's writer lock.
/// With `vectors`, every body sentence also gets its vector (kept from before when its text
/// did not change) — after the commit, so a reader never waits for the model.
pub fn update(
    index: &Handle,
    dir: &Path,
    progress: Progress,
    mut vectors: Option<Vectors>,
) -> Result<Report> {
    let mut writer = loop {
        match index.writer()? {
            Some(w) => break w,
            None => std::thread::sleep(std::time::Duration::from_millis(200)),
        }
    };
    let inputs = inputs(dir)?;
    let glossary = Glossary::load(dir)?;
    let glossary_hash = glossary_hash(dir);
    let scan = corpus::scan(dir)?;
    let previous = Catalog::of(index)?;
    let rebuild = previous.format != FORMAT || previous.glossary_hash != glossary_hash;
    let before: HashMap<&str, &str> = if rebuild {
        HashMap::new()
    } else {
        previous
            .entries
            .iter()
            .map(|e| (e.meta.id.as_str(), e.hash.as_str()))
            .collect()
    };
    let mut report = Report {
        problems: scan.problems,
        ..Report::default()
    };
    if rebuild && !previous.entries.is_empty() {
        writer.remove_all()?;
    }
    let lexicon = Lexicon::embedded();
    let total = scan.sources.len();
    let mut entries = Vec::with_capacity(total);
    // Articles whose sentences need vectors: (key, digest, blocks).
    let mut to_embed: Vec<(u64, String, Vec<Block>)> = Vec::new();
    for (done, source) in scan.sources.into_iter().enumerate() {
        let digest = digest(&source);
        let key = article_key(&source.meta.id);
        let lacks_vectors = vectors.as_ref().is_some_and(|v| {
            v.store
                .articles
                .get(&key)
                .is_none_or(|a| a.digest != digest)
        });
        match before.get(source.meta.id.as_str()) {
            Some(h) if *h == digest => {
                report.unchanged += 1;
                if lacks_vectors {
                    let blocks = source.clone().into_article().blocks;
                    to_embed.push((key, digest.clone(), blocks));
                }
            }
            seen => {
                if seen.is_some() {
                    writer.remove(key);
                    report.changed += 1;
                } else {
                    report.added += 1;
                }
                let meta = source.meta.clone();
                let blocks = source.into_article().blocks;
                let headwords = headwords(&lexicon, &blocks);
                let headwords: Vec<&str> = headwords.iter().map(String::as_str).collect();
                writer.add(key, &blocks, &headwords)?;
                if lacks_vectors {
                    to_embed.push((key, digest.clone(), blocks));
                }
                entries.push(Entry { meta, hash: digest });
                progress("articles", done + 1, total);
                continue;
            }
        }
        entries.push(Entry {
            meta: source.meta,
            hash: digest,
        });
        progress("articles", done + 1, total);
    }
    let kept: std::collections::HashSet<&str> =
        entries.iter().map(|e| e.meta.id.as_str()).collect();
    for gone in previous
        .entries
        .iter()
        .filter(|e| !kept.contains(e.meta.id.as_str()))
    {
        if !rebuild {
            writer.remove(article_key(&gone.meta.id));
        }
        report.removed += 1;
    }
    let catalog = Catalog {
        format: FORMAT.to_string(),
        inputs,
        glossary_hash,
        glossary,
        entries,
    };
    let same_inputs = previous.inputs == catalog.inputs && !rebuild;
    if report.untouched() && same_inputs {
        drop(writer);
    } else {
        writer.commit(&serde_json::to_string(&catalog).expect("the catalog serialises"))?;
    }
    if let Some(vectors) = vectors.as_mut() {
        let keys: std::collections::HashSet<u64> = catalog
            .entries
            .iter()
            .map(|e| article_key(&e.meta.id))
            .collect();
        embed_articles(vectors, to_embed, &mut report, progress)?;
        vectors.store.articles.retain(|key, _| keys.contains(key));
    }
    Ok(report)
}

/// The text of a paragraph of several sentences, embedded whole beside its sentences.
fn whole(block: &Block) -> Option<String> {
    (block.sentences.len() > 1).then(|| block.sentences.concat())
}

/// Texts embedded together, one per core, between two progress reports.
const EMBED_BATCH: usize = 32;

/// Gives every body sentence of these articles, and every paragraph of several sentences, its
/// vector in the store: the vector kept for the same text, or a new one from the model.
fn embed_articles(
    vectors: &mut Vectors,
    articles: Vec<(u64, String, Vec<Block>)>,
    report: &mut Report,
    progress: Progress,
) -> Result<()> {
    let known: HashMap<u64, Box<[f32]>> = vectors
        .store
        .by_hash()
        .into_iter()
        .map(|(hash, v)| (hash, v.into()))
        .collect();
    let mut missing: Vec<String> = articles
        .iter()
        .flat_map(|(_, _, blocks)| blocks.iter().filter(|b| b.kind == BlockKind::Body))
        .flat_map(|b| b.sentences.iter().cloned().chain(whole(b)))
        .filter(|s| !known.contains_key(&text_hash(s)))
        .collect();
    missing.sort_unstable();
    missing.dedup();
    let mut made: HashMap<u64, Box<[f32]>> = HashMap::new();
    for batch in missing.chunks(EMBED_BATCH) {
        let normalized: Vec<String> = batch.iter().map(|t| text::normalize(t)).collect();
        let vectors = vectors.model.embed_many(&normalized, Role::Passage)?;
        for (text, vector) in batch.iter().zip(vectors) {
            made.insert(text_hash(text), vector.to_vec().into_boxed_slice());
        }
        report.embedded += batch.len();
        progress("passages embedded", made.len(), missing.len());
    }
    for (key, digest, blocks) in articles {
        let mut sentences = Vec::new();
        for (b, block) in blocks.iter().enumerate() {
            if block.kind != BlockKind::Body {
                continue;
            }
            let own = block.sentences.iter().map(String::as_str).enumerate();
            let paragraph = whole(block);
            let paragraph = paragraph.as_deref().map(|p| (PARAGRAPH, p));
            for (s, text) in own.chain(paragraph) {
                let hash = text_hash(text);
                let vector = match known.get(&hash) {
                    Some(v) => {
                        report.reused += 1;
                        v.clone()
                    }
                    None => made.get(&hash).cloned().ok_or_else(|| {
                        Error::Embedding(format!("no vector was made for {text:?}"))
                    })?,
                };
                sentences.push(Embedded {
                    block: b,
                    sentence: s,
                    hash,
                    vector,
                });
            }
        }
        vectors
            .store
            .articles
            .insert(key, ArticleVectors { digest, sentences });
    }
    Ok(())
}

/// The dictionary headwords written in the body of an article, each once: the corpus's
/// words as the dictionary knows them, whatever the segmenter made of them.
fn headwords(lexicon: &Lexicon, blocks: &[Block]) -> Vec<String> {
    let mut found: Vec<String> = blocks
        .iter()
        .filter(|b| b.kind == BlockKind::Body)
        .flat_map(|b| {
            let normalized = text::normalize(&b.text);
            lexicon
                .headwords_in(&normalized)
                .into_iter()
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect();
    found.sort_unstable();
    found.dedup();
    found
}

fn hash(text: &str) -> String {
    format!("{:032x}", xxhash_rust::xxh3::xxh3_128(text.as_bytes()))
}

/// A quick fingerprint of what the corpus folder holds: the metadata and glossary files'
/// contents, and the name, size and modification time of every other file.
fn inputs(dir: &Path) -> Result<String> {
    let entries = std::fs::read_dir(dir).map_err(|cause| Error::Io {
        action: "read the corpus folder",
        path: dir.to_path_buf(),
        cause,
        fix: crate::error::FIX_CORPUS_DIR,
    })?;
    let mut lines: Vec<String> = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Ok(meta) = entry.metadata() else { continue };
        if !meta.is_file() || name.starts_with('.') {
            continue;
        }
        if name == METADATA_FILE || name == GLOSSARY_FILE {
            let bytes = std::fs::read(entry.path()).unwrap_or_default();
            lines.push(format!("{name} {:x}", xxhash_rust::xxh3::xxh3_64(&bytes)));
            continue;
        }
        let modified = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos());
        lines.push(format!("{name} {} {modified}", meta.len()));
    }
    lines.sort();
    Ok(hash(&lines.join("\n")))
}
