//! The engine: opens the search index once (and again on reload), then answers questions.
//! Every transport (CLI, console chat, Telegram) calls [`Engine::ask`] and knows nothing of
//! tantivy.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use tantivy::Index;

use crate::answer::{self, Answer, Citation, PassageRef};
use crate::config::{AnswerConfig, Config};
use crate::corpus::{self, Article, Metadata};
use crate::error::{Error, Result};
use crate::index::SearchIndex;
use crate::ingest::{self, Catalog, Report};
use crate::retrieve::Retriever;
use crate::text;

/// Labels of at most this many articles are listed in a refusal.
const TOPICS: usize = 5;

/// One generation of the index, opened for answering; replaced whole on reload.
struct Snapshot {
    retriever: Retriever,
    fingerprint: String,
    /// The index commit it was opened at.
    generation: u64,
}

/// The index, opened for answering, with the answer limits. Cheap to share behind an `Arc`;
/// [`Engine::reload`] swaps in the index's latest generation while answers in flight finish
/// on the one they started with.
pub struct Engine {
    current: RwLock<Arc<Snapshot>>,
    /// The index on disk (folder and a handle to watch its commits); `None` for an engine
    /// built in memory.
    disk: Option<(PathBuf, Index)>,
    /// Modification time of the index's meta.json when last looked at.
    meta_seen: std::sync::Mutex<Option<std::time::SystemTime>>,
    limits: AnswerConfig,
}

/// What [`prepare`] had to do before the index could be opened.
#[derive(Debug)]
pub enum Prepared {
    /// The index was up to date.
    Fresh,
    /// It was missing or older than the corpus, and was updated.
    Updated(Report),
    /// It may be older than the corpus but could not be checked or updated (a read-only index
    /// folder, a missing corpus folder); it is used as it is.
    Outdated(Error),
}

/// Makes sure the index in `config.index_dir` reflects the corpus in `config.corpus_dir`,
/// updating it when not (`progress(done, total)` per article). Bad files are skipped and
/// reported in the returned report.
pub fn prepare(config: &Config, progress: &mut dyn FnMut(usize, usize)) -> Result<Prepared> {
    let index = SearchIndex::on_disk(&config.index_dir)?;
    let outcome = match ingest::is_fresh(&index, &config.corpus_dir) {
        Ok(true) => return Ok(Prepared::Fresh),
        Ok(false) => update(&index, &config.corpus_dir, progress).map(Prepared::Updated),
        Err(e) => Err(e),
    };
    match outcome {
        // A corpus folder that is gone or cannot be read, or an index folder that cannot be
        // written: answer from the index there is, if there is one.
        Err(e) if !Catalog::of(&index)?.entries.is_empty() => Ok(Prepared::Outdated(e)),
        other => other,
    }
}

/// Updates the index in `config.index_dir` from the corpus (the `index` command).
pub fn build(config: &Config, progress: &mut dyn FnMut(usize, usize)) -> Result<Report> {
    let index = SearchIndex::on_disk(&config.index_dir)?;
    update(&index, &config.corpus_dir, progress)
}

fn update(
    index: &Index,
    corpus_dir: &Path,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Report> {
    let glossary = crate::lexicon::Glossary::load(corpus_dir)?;
    SearchIndex::register(index, text::load_jieba(glossary.chinese_forms()));
    ingest::update(index, corpus_dir, progress)
}

impl Engine {
    /// Opens the index named by the config (build it first with [`prepare`] or [`build`]).
    pub fn load(config: &Config) -> Result<Engine> {
        let index_dir = config.index_dir.clone();
        let index = SearchIndex::on_disk(&index_dir)?;
        let snapshot = open(&index)?;
        if snapshot.retriever.catalog().entries.is_empty() {
            return Err(Error::IndexDir {
                path: index_dir,
                message: "holds no article: run `summit-qa index` (check corpus_dir)".into(),
            });
        }
        Ok(Engine {
            current: RwLock::new(Arc::new(snapshot)),
            disk: Some((index_dir, index)),
            meta_seen: Default::default(),
            limits: config.answer.clone(),
        })
    }

    /// Indexes the corpus in `dir` in memory, failing on the first bad file (tests, benches).
    pub fn from_dir(dir: &Path, limits: AnswerConfig) -> Result<Engine> {
        if let Some(problem) = corpus::scan(dir)?.problems.into_iter().next() {
            return Err(problem);
        }
        let glossary = crate::lexicon::Glossary::load(dir)?;
        let index = SearchIndex::in_memory(text::load_jieba(glossary.chinese_forms()))?;
        ingest::update(&index, dir, &mut |_, _| {})?;
        Ok(Engine {
            current: RwLock::new(Arc::new(open(&index)?)),
            disk: None,
            meta_seen: Default::default(),
            limits,
        })
    }

    /// Opens the index's latest generation and answers from it from now on; answers in
    /// flight finish on the previous one. Returns the new corpus fingerprint. An engine
    /// built in memory has nothing to reload.
    pub fn reload(&self) -> Result<String> {
        let Some((dir, _)) = &self.disk else {
            return Ok(self.fingerprint());
        };
        let snapshot = Arc::new(open(&SearchIndex::on_disk(dir)?)?);
        let fingerprint = snapshot.fingerprint.clone();
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = snapshot;
        Ok(fingerprint)
    }

    /// Reloads when the index on disk has a newer commit than the one answering (after
    /// `summit-qa index` ran); returns the new fingerprint if it did.
    pub fn refresh(&self) -> Result<Option<String>> {
        let Some((dir, index)) = &self.disk else {
            return Ok(None);
        };
        // A commit rewrites meta.json: read it (it holds the catalog) only when it changed.
        let stamp = std::fs::metadata(dir.join("meta.json"))
            .and_then(|m| m.modified())
            .ok();
        let mut seen = self.meta_seen.lock().unwrap_or_else(|e| e.into_inner());
        if stamp.is_some() && *seen == stamp {
            return Ok(None);
        }
        *seen = stamp;
        drop(seen);
        if index.load_metas()?.opstamp == self.snapshot().generation {
            return Ok(None);
        }
        self.reload().map(Some)
    }

    fn snapshot(&self) -> Arc<Snapshot> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// A short fingerprint of the indexed corpus; changes whenever an article does.
    pub fn fingerprint(&self) -> String {
        self.snapshot().fingerprint.clone()
    }

    /// What the index holds.
    pub fn catalog(&self) -> Catalog {
        self.snapshot().retriever.catalog().clone()
    }

    /// The metadata of the indexed articles, in metadata order.
    pub fn articles(&self) -> Vec<Metadata> {
        self.snapshot()
            .retriever
            .catalog()
            .entries
            .iter()
            .map(|e| e.meta.clone())
            .collect()
    }

    /// A body paragraph as a citation numbered `n`, or `None` when it does not exist.
    pub fn passage(&self, at: PassageRef, n: usize) -> Option<Citation> {
        let article = self.article(at.article)?;
        answer::citation_for(&article, at.paragraph, n)
    }

    /// Where a citation's paragraph is, for carrying it in a button.
    pub fn locate(&self, citation: &Citation) -> Option<PassageRef> {
        let snapshot = self.snapshot();
        let article = snapshot
            .retriever
            .catalog()
            .entries
            .iter()
            .position(|e| e.meta.id == citation.article)?;
        Some(PassageRef {
            article,
            paragraph: citation.paragraph,
        })
    }

    /// The paragraph at `at` with the body paragraphs around it, verbatim.
    pub fn around(&self, at: PassageRef) -> Vec<String> {
        self.article(at.article).map_or_else(Vec::new, |a| {
            a.around(at.paragraph)
                .into_iter()
                .map(|b| b.text.clone())
                .collect()
        })
    }

    fn article(&self, position: usize) -> Option<Arc<Article>> {
        self.snapshot()
            .retriever
            .article(position)
            .unwrap_or_else(|e| {
                tracing::warn!(error = %e, "an indexed article cannot be read");
                None
            })
    }

    /// Answers `question`; `context` is the previous question when this one is a follow-up.
    /// An empty (or whitespace/control-only) question is an error; an over-long one is truncated.
    pub fn ask(&self, question: &str, context: Option<&str>) -> Result<Answer> {
        let cleaned = clean(question);
        if cleaned.is_empty() {
            return Err(Error::Question(
                "the question is empty: ask something about the summit, e.g. 日本承诺对美国投资多少？"
                    .into(),
            ));
        }
        let (question, truncated) = truncate(&cleaned, self.limits.max_question_chars);
        let snapshot = self.snapshot();
        let retrieval = snapshot.retriever.retrieve(question, context)?;
        let mut answer = answer::compose(question, &retrieval, &self.limits);
        answer.truncated = truncated;
        answer.topics = snapshot
            .retriever
            .catalog()
            .entries
            .iter()
            .filter_map(|e| e.meta.label.clone())
            .take(TOPICS)
            .collect();
        answer.corpus = snapshot.fingerprint.clone();
        Ok(answer)
    }
}

/// Opens the last commit of `index`, with the dictionary its catalog was built with.
fn open(index: &Index) -> Result<Snapshot> {
    let (search, payload, generation) = SearchIndex::open(index)?;
    let catalog = ingest::read(payload)?;
    let jieba = text::load_jieba(catalog.glossary.chinese_forms());
    SearchIndex::register(index, jieba.clone());
    let retriever = Retriever::new(jieba, search, catalog)?;
    Ok(Snapshot {
        fingerprint: retriever.catalog().fingerprint(),
        retriever,
        generation,
    })
}
/// Drops control characters (NUL, bidi overrides stay visible-safe) and trims whitespace.
fn clean(question: &str) -> String {
    question
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_string()
}

fn truncate(text: &str, max_chars: usize) -> (&str, bool) {
    match text.char_indices().nth(max_chars) {
        Some((at, _)) => (&text[..at], true),
        None => (text, false),
    }
}

/// An engine shared by concurrent transports.
pub type SharedEngine = Arc<Engine>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncates_on_char_boundaries() {
        assert_eq!(truncate("日本承诺", 2), ("日本", true));
        assert_eq!(truncate("日本", 5), ("日本", false));
    }

    #[test]
    fn clean_removes_controls() {
        assert_eq!(clean("\0 日本\u{7}\n"), "日本");
        assert_eq!(clean("\0\0"), "");
    }
}
