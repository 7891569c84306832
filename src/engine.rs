//! The engine: opens the search index once (and again on reload), then answers questions.
//! Every transport (CLI, console chat, Telegram) calls [`Engine::ask`] and knows nothing of
//! tantivy.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use crate::answer::{self, Answer, Citation, PassageRef};
use crate::config::{AnswerConfig, Config, SemanticConfig, Switch};
use crate::corpus::{self, Article, Metadata};
use crate::embed::{self, Embedder, Role};
use crate::error::{Error, Result};
use crate::index::vectors::{Dense, VectorStore};
use crate::index::{article_key, Handle};
use crate::ingest::{self, Catalog, Progress, Report, Vectors};
use crate::retrieve::decision::{Decision, Judged, Verdict};
use crate::retrieve::features::Features;
use crate::retrieve::fusion::Fusion;
use crate::retrieve::intents::{Intents, Nearest};
use crate::retrieve::{Retrieval, Retriever, Semantic};
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
    disk: Option<(PathBuf, Handle)>,
    /// Modification time of the index's meta.json when last looked at.
    meta_seen: std::sync::Mutex<Option<std::time::SystemTime>>,
    limits: AnswerConfig,
    /// The embedding model, when meaning is compared too.
    model: Option<Arc<Embedder>>,
    /// The fitted answer decision, when the model is on and its file is usable.
    decision: Option<Arc<Decision>>,
    /// Why there is no decision, when the model is on.
    decision_problem: Option<String>,
}

/// How the engine would reply to one question, for calibration: its features and the two
/// forms of reply it could give.
pub struct Trial {
    /// The features of the retrieval.
    pub features: Features,
    /// The reply as a claim.
    pub claim: Answer,
    /// The reply as the closest passages.
    pub closest: Answer,
    /// The message's nearest exemplars.
    pub nearest: Nearest,
    /// The best cosine of an article sentence to the question.
    pub best_sentence: f32,
}

/// What the fitted decision made of a message.
enum Decided {
    /// Conversation, by its nearest exemplar.
    Talk(text::Talk),
    /// A verdict on the evidence.
    Judged(Judged),
}

/// The decision file for `model`, or why it cannot be used (logged once).
fn decision_for(
    config: &SemanticConfig,
    model: Option<&Arc<Embedder>>,
) -> (Option<Arc<Decision>>, Option<String>) {
    let Some(model) = model else {
        return (None, None);
    };
    match Decision::load(&config.decision, &model.checksum) {
        Ok(decision) => (Some(Arc::new(decision)), None),
        Err(e) => {
            tracing::warn!(error = %e, "the answer decision falls back to the thresholds in [answer]");
            (None, Some(e.to_string()))
        }
    }
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
pub fn prepare(config: &Config, progress: Progress) -> Result<Prepared> {
    let index = Handle::on_disk(&config.index_dir)?;
    let model = model_for(&config.semantic, &config.corpus_dir)?;
    let fresh = ingest::is_fresh(&index, &config.corpus_dir).and_then(|fresh| {
        Ok(fresh
            && model
                .as_deref()
                .map_or(Ok(true), |m| vectors_cover(config, &index, m))?)
    });
    let outcome = match fresh {
        Ok(true) => return Ok(Prepared::Fresh),
        Ok(false) => update(&index, config, model.as_deref(), progress).map(Prepared::Updated),
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
pub fn build(config: &Config, progress: Progress) -> Result<Report> {
    let index = Handle::on_disk(&config.index_dir)?;
    let model = model_for(&config.semantic, &config.corpus_dir)?;
    update(&index, config, model.as_deref(), progress)
}

fn update(
    index: &Handle,
    config: &Config,
    model: Option<&Embedder>,
    progress: Progress,
) -> Result<Report> {
    let glossary = crate::lexicon::Glossary::load(&config.corpus_dir)?;
    index.register(text::load_jieba(glossary.chinese_forms()));
    let Some(model) = model else {
        return ingest::update(index, &config.corpus_dir, progress, None);
    };
    let mut store = VectorStore::read(&config.index_dir, &model.checksum)?;
    let vectors = Vectors {
        model,
        store: &mut store,
    };
    let report = ingest::update(index, &config.corpus_dir, progress, Some(vectors))?;
    store.write(&config.index_dir)?;
    Ok(report)
}

/// True when the vectors in the index folder cover every indexed article as it is now.
fn vectors_cover(config: &Config, index: &Handle, model: &Embedder) -> Result<bool> {
    let store = VectorStore::read(&config.index_dir, &model.checksum)?;
    Ok(Catalog::of(index)?.entries.iter().all(|e| {
        store
            .articles
            .get(&article_key(&e.meta.id))
            .is_some_and(|a| a.digest == e.hash)
    }))
}

/// The embedding model, when `config` turns it on for the corpus in `corpus_dir`: `auto` does
/// for corpora of up to [`SemanticConfig::AUTO_LIMIT_BYTES`] of text, and says in one log line
/// how to turn it on for a larger one (and what it costs), or that the model file is missing.
pub fn model_for(config: &SemanticConfig, corpus_dir: &Path) -> Result<Option<Arc<Embedder>>> {
    match config.enabled {
        Switch::Fixed(false) => Ok(None),
        Switch::Fixed(true) => embed::shared(&config.model).map(Some),
        Switch::Auto(_) => {
            let size = corpus_bytes(corpus_dir);
            if size > SemanticConfig::AUTO_LIMIT_BYTES {
                tracing::warn!(
                    corpus_kb = size / 1000,
                    "comparing meaning is off for a corpus this large: set semantic.enabled = true (SUMMIT_QA_SEMANTIC__ENABLED=true) to embed it once, at about {} minutes on two cores",
                    size / EMBEDDED_BYTES_PER_SECOND / 60 + 1
                );
                return Ok(None);
            }
            match embed::shared(&config.model) {
                Ok(model) => Ok(Some(model)),
                Err(e) => {
                    tracing::warn!(error = %e, "comparing meaning is off: answers use words alone");
                    Ok(None)
                }
            }
        }
    }
}

/// Bytes of article files embedded per second on two cores (the shipped corpus: 25 KB, 115
/// body sentences, 5.7 s).
const EMBEDDED_BYTES_PER_SECOND: u64 = 4_000;

/// Bytes of article text in the corpus folder.
fn corpus_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir).map_or(0, |entries| {
        entries
            .flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x == "txt"))
            .filter_map(|e| e.metadata().ok())
            .map(|m| m.len())
            .sum()
    })
}

impl Engine {
    /// Opens the index named by the config (build it first with [`prepare`] or [`build`]).
    pub fn load(config: &Config) -> Result<Engine> {
        let index_dir = config.index_dir.clone();
        let index = Handle::on_disk(&index_dir)?;
        let model = model_for(&config.semantic, &config.corpus_dir)?;
        let (decision, decision_problem) = decision_for(&config.semantic, model.as_ref());
        let fusion = decision.as_ref().map(|d| d.fusion).unwrap_or_default();
        let snapshot = open(&index, semantic(model.as_ref(), &index_dir)?, fusion)?;
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
            model,
            decision,
            decision_problem,
        })
    }

    /// Indexes the corpus in `dir` in memory, failing on the first bad file (tests, benches).
    pub fn from_dir(dir: &Path, limits: AnswerConfig) -> Result<Engine> {
        if let Some(problem) = corpus::scan(dir)?.problems.into_iter().next() {
            return Err(problem);
        }
        let glossary = crate::lexicon::Glossary::load(dir)?;
        let index = Handle::in_memory(text::load_jieba(glossary.chinese_forms()))?;
        let model = model_for(&SemanticConfig::default(), dir)?;
        let (decision, decision_problem) = decision_for(&SemanticConfig::default(), model.as_ref());
        let fusion = decision.as_ref().map(|d| d.fusion).unwrap_or_default();
        let mut store = VectorStore::empty(model.as_ref().map_or("", |m| &m.checksum));
        let vectors = model.as_deref().map(|model| Vectors {
            model,
            store: &mut store,
        });
        ingest::update(&index, dir, &mut |_, _, _| {}, vectors)?;
        let semantic = model.clone().map(|m| (m, store));
        Ok(Engine {
            current: RwLock::new(Arc::new(open(&index, semantic, fusion)?)),
            disk: None,
            meta_seen: Default::default(),
            limits,
            model,
            decision,
            decision_problem,
        })
    }

    /// Opens the index's latest generation and answers from it from now on; answers in
    /// flight finish on the previous one. Returns the new corpus fingerprint. An engine
    /// built in memory has nothing to reload.
    pub fn reload(&self) -> Result<String> {
        let Some((dir, _)) = &self.disk else {
            return Ok(self.fingerprint());
        };
        let semantic = semantic(self.model.as_ref(), dir)?;
        let snapshot = Arc::new(open(&Handle::on_disk(dir)?, semantic, self.fusion())?);
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
        if index.generation()? == self.snapshot().generation {
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

    /// The paragraph at `at` with the body paragraphs around it, verbatim, each with its ¶n.
    pub fn around(&self, at: PassageRef) -> Vec<(usize, String)> {
        self.article(at.article).map_or_else(Vec::new, |a| {
            a.around(at.paragraph)
                .into_iter()
                .map(|b| (b.paragraph, b.text.clone()))
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

    /// The vector of `text` as a question (normalised as questions are); an error without the
    /// model.
    pub fn embed_query(&self, text: &str) -> Result<Arc<[f32]>> {
        let model = self.model.as_ref().ok_or_else(|| {
            Error::Embedding("the model is off: set semantic.enabled = true".into())
        })?;
        model.embed(&as_retrieved(text), Role::Query)
    }

    /// Checksum of the embedding model, when meaning is compared.
    pub fn model_checksum(&self) -> Option<&str> {
        self.model.as_deref().map(|m| m.checksum.as_str())
    }

    /// The fitted decision in use, or why there is none (`None, None`: the model is off).
    pub fn decision(&self) -> (Option<&Decision>, Option<&str>) {
        (self.decision.as_deref(), self.decision_problem.as_deref())
    }

    fn fusion(&self) -> Fusion {
        self.decision.as_ref().map(|d| d.fusion).unwrap_or_default()
    }

    /// How close the whole message is to the nearest exemplar of each intent.
    fn nearest(&self, intents: &Intents, message: &str) -> Result<Nearest> {
        let Some(model) = &self.model else {
            return Ok(Nearest::default());
        };
        // Normalised as retrieval normalises a question: the same text is embedded once.
        let vector = model.embed(&as_retrieved(message), Role::Query)?;
        Ok(intents.nearest(&vector))
    }

    /// The fitted decision on `retrieval` of `message` (asked as `asked`): conversation by
    /// example, or a verdict; `None` without a decision or without meaning.
    fn decide(
        &self,
        retriever: &Retriever,
        retrieval: &Retrieval,
        message: &str,
        asked: &str,
    ) -> Result<Option<Decided>> {
        let Some(decision) = self.decision.as_ref().filter(|_| retriever.has_meaning()) else {
            return Ok(None);
        };
        let nearest = self.nearest(&decision.intents, message)?;
        if let Some(talk) = decision.talk(&nearest, retrieval.closeness.best) {
            return Ok(Some(Decided::Talk(talk)));
        }
        let features = Features::of(retrieval, asked, nearest);
        Ok(Some(Decided::Judged(decision.judge(&features))))
    }

    /// How the engine would reply to `question` with the rankings fused each way of `fusions`
    /// (one trial each, in order), given the exemplars `intents`; `None` for small talk by the
    /// phrase rules, which is replied to before retrieval.
    pub fn trials(
        &self,
        question: &str,
        fusions: &[Fusion],
        intents: &Intents,
    ) -> Result<Option<Vec<Trial>>> {
        let cleaned = clean(question);
        let (question, _) = truncate(&cleaned, self.limits.max_question_chars);
        if question.is_empty() || text::small_talk(question).is_some() {
            return Ok(None);
        }
        let asked = text::without_small_talk(question);
        let snapshot = self.snapshot();
        let mut retrieval = snapshot.retriever.retrieve(asked, None)?;
        let nearest = self.nearest(intents, question)?;
        let mut trials = Vec::with_capacity(fusions.len());
        for fusion in fusions {
            retrieval.fuse_again(fusion);
            let form = |verdict| answer::compose(question, &retrieval, &self.limits, Some(verdict));
            trials.push(Trial {
                features: Features::of(&retrieval, asked, nearest),
                claim: form(Verdict::Answer),
                closest: form(Verdict::Closest),
                nearest,
                best_sentence: retrieval.closeness.best,
            });
        }
        Ok(Some(trials))
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
        let mut answer = match text::small_talk(question) {
            Some(talk) => Answer::small_talk(question, text::detect_script(question), talk),
            None => {
                let asked = text::without_small_talk(question);
                let retrieval = snapshot.retriever.retrieve(asked, context)?;
                match self.decide(&snapshot.retriever, &retrieval, question, asked)? {
                    Some(Decided::Talk(talk)) => {
                        Answer::small_talk(question, text::detect_script(question), talk)
                    }
                    Some(Decided::Judged(judged)) => {
                        let mut answer = answer::compose(
                            question,
                            &retrieval,
                            &self.limits,
                            Some(judged.verdict),
                        );
                        answer.decided = Some((judged.claim, judged.topic));
                        answer
                    }
                    None => answer::compose(question, &retrieval, &self.limits, None),
                }
            }
        };
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

/// The model with the vectors stored in index folder `dir`.
fn semantic(
    model: Option<&Arc<Embedder>>,
    dir: &Path,
) -> Result<Option<(Arc<Embedder>, VectorStore)>> {
    model
        .map(|m| Ok((m.clone(), VectorStore::read(dir, &m.checksum)?)))
        .transpose()
}

/// Opens the last commit of `index`, with the dictionary its catalog was built with, and the
/// sentence vectors that belong to it.
fn open(
    index: &Handle,
    semantic: Option<(Arc<Embedder>, VectorStore)>,
    fusion: Fusion,
) -> Result<Snapshot> {
    let (search, payload, generation) = index.open()?;
    let catalog = ingest::read(payload)?;
    let jieba = text::load_jieba(catalog.glossary.chinese_forms());
    index.register(jieba.clone());
    let semantic = semantic.map(|(model, store)| {
        let articles = catalog
            .entries
            .iter()
            .map(|e| (article_key(&e.meta.id), e.hash.as_str()));
        Semantic {
            model,
            dense: Dense::new(&store, articles),
        }
    });
    let mut retriever = Retriever::new(jieba, search, catalog, semantic)?;
    retriever.set_fusion(fusion);
    Ok(Snapshot {
        fingerprint: retriever.catalog().fingerprint(),
        retriever,
        generation,
    })
}
/// A question as retrieval embeds it: colloquial forms standardised, then normalised.
fn as_retrieved(question: &str) -> String {
    text::normalize(&text::standardize(question))
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
    fn auto_leaves_the_model_off_for_a_large_corpus_and_a_missing_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let text = "日本承诺对美国投资。\n".repeat(20_000);
        std::fs::write(dir.path().join("big.txt"), text).unwrap();
        let missing = SemanticConfig {
            model: dir.path().join("absent.q4"),
            ..SemanticConfig::default()
        };
        assert!(
            model_for(&missing, dir.path()).unwrap().is_none(),
            "auto, too large"
        );
        let off = SemanticConfig {
            enabled: Switch::Fixed(false),
            ..missing.clone()
        };
        assert!(model_for(&off, dir.path()).unwrap().is_none());
        let on = SemanticConfig {
            enabled: Switch::Fixed(true),
            ..missing
        };
        let err = model_for(&on, dir.path())
            .err()
            .expect("a missing model is an error");
        assert!(err.to_string().contains("absent.q4"), "{err}");
    }

    #[test]
    fn clean_removes_controls() {
        assert_eq!(clean("\0 日本\u{7}\n"), "日本");
        assert_eq!(clean("\0\0"), "");
    }
}
