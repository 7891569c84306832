//! Retrieval: a question (and an optional previous question as context) → scored sentences
//! of body paragraphs, with how much of the question the best evidence covers; the word and
//! meaning rankings fused ([`fusion`]), the evidence summed up as features ([`features`]) and
//! the reply decided from them ([`decision`]).

pub mod decision;
pub mod features;
pub mod fusion;
pub mod intents;
mod terms;
mod words;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, OnceLock};

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use jieba_rs::Jieba;
use memchr::memmem;
use quick_cache::sync::Cache;

use crate::corpus::{Article, Script};
use crate::embed::{Embedder, Role};
use crate::error::Result;
use crate::index::vectors::Dense;
use crate::index::{article_key, Hit, Probe, QueryTerm, Ranking, SearchIndex};
use crate::ingest::Catalog;
use crate::lexicon::{Bridge, Lexicon};
use crate::text::{self, Kind, Term};
use fusion::{Fusion, Meaning, Near, NearParagraph};
use words::*;

/// Where a sentence lives in the corpus.
#[derive(Debug, Clone, Default)]
pub struct Location {
    /// Index into the engine's articles.
    pub article: usize,
    /// Index into the article's blocks.
    pub block: usize,
    /// Index into the block's sentences.
    pub sentence: usize,
}

/// A sentence found for a question.
#[derive(Debug, Clone, Default)]
pub struct Scored {
    /// Where it is.
    pub at: Location,
    /// Ranking score: the fused ranks (see [`fusion`]), times `fit`.
    pub score: f32,
    /// Word score: BM25 scaled by coverage (0 for a sentence found by meaning alone).
    pub words: f32,
    /// Place in the word ranking (`None`: found by meaning alone).
    pub word_rank: Option<usize>,
    /// Place in the sentence meaning ranking.
    pub meaning_rank: usize,
    /// The cosine of its paragraph to the question (0 without the model).
    pub paragraph_similarity: f32,
    /// Whether it offers the kind of detail the question asks for (a number for 多少); `None`
    /// when the question asks for no particular kind.
    pub offers: Option<bool>,
    /// Share of the question's terms (weighted by how informative they are) found in the
    /// sentence or its paragraph.
    pub coverage: f32,
    /// How sure we are that this sentence answers the question (0–1): the coverage, with words
    /// the corpus lacks counting more and a penalty when it lacks what was asked for.
    pub confidence: f32,
    /// How sure we are that this sentence speaks of what the question is about, whether or
    /// not it gives the detail asked (0–1): the confidence without the penalty for lacking it.
    pub about: f32,
    /// How close its meaning is to the question's (the embedding model's cosine; 0 without
    /// the model).
    pub similarity: f32,
    /// Factor for offering what the question asks (a number for 多少, the first mention of
    /// the person asked about…); part of `score`.
    pub fit: f32,
}

/// Meaning beside words: the embedding model and the indexed sentences' vectors.
pub struct Semantic {
    /// Embeds the question.
    pub model: Arc<Embedder>,
    /// The sentences' vectors.
    pub dense: Dense,
}

/// Articles by their position in the catalog: those a retrieval touched, or one asked for.
#[derive(Debug, Clone, Default)]
pub struct Shelf(BTreeMap<usize, Arc<Article>>);

impl Shelf {
    /// The article at `position`, if it is on the shelf.
    pub fn get(&self, position: usize) -> Option<&Article> {
        self.0.get(&position).map(|a| &**a)
    }
}

impl std::ops::Index<usize> for Shelf {
    type Output = Article;
    /// Panics when the article is not on the shelf: hits always put theirs there.
    fn index(&self, position: usize) -> &Article {
        self.get(position)
            .expect("hits put their articles on the shelf")
    }
}

/// What retrieval found for one question.
#[derive(Debug, Clone)]
pub struct Retrieval {
    /// Script of the question (labels follow it).
    pub script: Script,
    /// What the question's form asks for.
    pub kind: Kind,
    /// The content terms searched for.
    pub terms: Vec<Term>,
    /// True when the question asks for a particular detail (a number, a date, a place, a
    /// person, a kind of thing: 什么武器), which the articles may fail to give.
    pub asks_detail: bool,
    /// Candidate sentences, best first.
    pub hits: Vec<Scored>,
    /// The articles of the hits.
    pub articles: Shelf,
    /// How close the corpus is to the question in meaning (zeros without the model).
    pub closeness: Closeness,
    /// Share of the question's weighted informative terms the corpus has no form of (0–1).
    pub absent: f32,
    /// The meaning rankings the hits were fused with.
    meaning: Meaning,
}

impl Retrieval {
    /// Orders the hits again, the rankings fused as `fusion` (for calibration).
    pub fn fuse_again(&mut self, fusion: &Fusion) {
        fusion::fuse(&mut self.hits, &self.meaning, fusion);
    }
}

/// How close the corpus is to a question in meaning.
#[derive(Debug, Clone, Copy, Default)]
pub struct Closeness {
    /// The best cosine of any sentence.
    pub best: f32,
    /// The median cosine of the sentences.
    pub median: f32,
    /// The best cosine of any paragraph.
    pub best_paragraph: f32,
}

/// Most paragraphs, closest in meaning first, whose closest sentence is made a candidate.
const PARAGRAPH_CANDIDATES: usize = 8;

/// Weight of terms that come from the previous question (context of a follow-up).
const CONTEXT_WEIGHT: f32 = 0.3;
/// Least informativeness of a word that can complete the one before it into a name.
const NAME_PART_INFO: f32 = 0.9;
/// Query weight of a word that completes the one before it into a corpus string (早苗 after 高市).
const NAME_PART_WEIGHT: f32 = 0.3;
/// Score factor for a sentence that offers what the question asks for (a number, a date).
const EXPECTED_TYPE_BONUS: f32 = 1.5;
/// Credit for a synonym found instead of the word itself.
const SYNONYM_CREDIT: f32 = 0.8;
/// Credit for a form found in the sentence only as the first part of a longer word (大使 of
/// 大使馆): what it names is related, not the same.
const MODIFIER_CREDIT: f32 = 0.5;
/// Suffixes that make a noun of a root without changing what it names (帽子, 鸟儿, 石头).
const NOUN_SUFFIXES: &str = "子儿头";
/// Credit for the root of such a noun found as the head of a corpus word (帽 of 棒球帽).
const ROOT_CREDIT: f32 = 0.8;
/// Credit for a term found in the sentence's paragraph but not the sentence.
const PARAGRAPH_CREDIT: f32 = 0.7;
/// How many sentences BM25 hands to re-ranking.
const CANDIDATES: usize = 20;
/// How many sentences closest in meaning join them.
const DENSE_CANDIDATES: usize = 20;
/// Candidates for a "who is" question: the introducing sentence may rank low on words alone.
const ENTITY_CANDIDATES: usize = 60;
/// Score factor for a sentence of the shape the question asks for: the first mention of the
/// person asked about, reasoning for a why/opinion question, an enumeration for a list.
const KIND_BONUS: f32 = 1.4;
/// In the confidence, an informative word the corpus lacks altogether counts this many times.
const ABSENT_FACTOR: f32 = 2.0;
/// Share of the corpus's sentences from which a word is its subject rather than evidence.
const UBIQUITOUS_SHARE: f32 = 0.2;
/// Confidence factor when a sentence matches nothing of the question but the corpus's subject.
const SUBJECT_ONLY_FACTOR: f32 = 0.45;
/// Least informativeness of a missing word that counts as evidence of another topic.
const ABSENT_INFO: f32 = 0.5;
/// Most informativeness of a verb with a result complement the corpus lacks.
const ABSENT_VERB_INFO: f32 = 0.3;
/// Confidence factor when the best sentence lacks what was asked (no number for 多少).
const MISFIT_FACTOR: f32 = 0.85;
/// Confidence factor when a how-many (how-long) question's sentence gives no number (length)
/// about its subject: numbers are written plainly, so this lack is sure — at most "not stated".
const COUNT_MISFIT_FACTOR: f32 = 0.45;
/// Confidence factor when the question asks for a kind of thing the corpus never names
/// (什么牌子 where no brand is named anywhere): a near-miss.
const UNNAMED_KIND_FACTOR: f32 = 0.6;

/// An article loaded from the index, with its sentences normalised for matching.
struct Loaded {
    article: Arc<Article>,
    /// Normalised blocks, normalised when first needed.
    sentences: Vec<OnceLock<Normalized>>,
    /// Segments sentences into words.
    jieba: Arc<Jieba>,
    /// The glossary's forms (names): a word inside one is the name's, not a modifier.
    names: Arc<HashSet<String>>,
}

/// A block's normalised sentences, and the same joined by line breaks (no question string
/// has one, so a match in the whole is a match in one sentence).
struct Normalized {
    sentences: Vec<String>,
    /// For each sentence, the byte ranges of its compound words other than names.
    compounds: Vec<Vec<(usize, usize)>>,
    /// For each sentence, what it offers.
    shapes: Vec<text::Shape>,
    whole: String,
}

/// A normalised sentence with its compound words (see [`text::compounds`]).
#[derive(Clone, Copy)]
struct Sentence<'a> {
    text: &'a str,
    compounds: &'a [(usize, usize)],
    shape: text::Shape,
}

impl Loaded {
    /// The normalised sentences of block `block` (empty when there is no such block).
    fn block(&self, block: usize) -> &[String] {
        self.normalized(block).map_or(&[], |n| &n.sentences)
    }

    /// The normalised sentences of block `block` joined by line breaks.
    fn paragraph(&self, block: usize) -> &str {
        self.normalized(block).map_or("", |n| &n.whole)
    }

    fn normalized(&self, block: usize) -> Option<&Normalized> {
        let (cell, b) = (self.sentences.get(block)?, self.article.blocks.get(block)?);
        Some(cell.get_or_init(|| {
            let sentences: Vec<String> = b.sentences.iter().map(|s| text::normalize(s)).collect();
            let compounds = sentences
                .iter()
                .map(|s| {
                    let mut found = text::compounds(&self.jieba, s);
                    found.retain(|&(from, to)| !self.names.contains(&s[from..to]));
                    found
                })
                .collect();
            let shapes = sentences.iter().map(|s| text::Shape::of(s)).collect();
            let whole = sentences.join("\n");
            Normalized {
                sentences,
                compounds,
                shapes,
                whole,
            }
        }))
    }

    fn sentence(&self, at: &Location) -> Sentence<'_> {
        let n = self.normalized(at.block);
        Sentence {
            text: n
                .and_then(|n| n.sentences.get(at.sentence))
                .map_or("", String::as_str),
            compounds: n
                .and_then(|n| n.compounds.get(at.sentence))
                .map_or(&[], Vec::as_slice),
            shape: n
                .and_then(|n| n.shapes.get(at.sentence))
                .copied()
                .unwrap_or_default(),
        }
    }
}

/// Articles kept loaded at once (~50 KB each; a question touches up to 60).
const LOADED_ARTICLES: usize = 512;
/// Substring lookups (and synonym lists) remembered per index generation.
const REMEMBERED_LOOKUPS: usize = 100_000;

/// Searches the corpus; opened once per index generation, shared by every transport.
pub struct Retriever {
    jieba: Arc<Jieba>,
    lexicon: Lexicon,
    /// The glossary's forms, normalised (names and the corpus's own terms).
    names: Arc<HashSet<String>>,
    /// Finds the glossary's forms in a sentence (longest first).
    name_finder: AhoCorasick,
    bridge: Bridge,
    index: SearchIndex,
    catalog: Catalog,
    /// Catalog position of each article key.
    positions: HashMap<u64, usize>,
    loaded: Cache<usize, Arc<Loaded>>,
    lookups: Cache<String, bool>,
    shares: Cache<String, f32>,
    synonyms: Cache<String, Arc<Vec<String>>>,
    everyday: Cache<String, f32>,
    semantic: Option<Semantic>,
    fusion: Fusion,
}

impl Retriever {
    /// Answers from `index` (a reader on one commit) and its `catalog`; builds the English
    /// bridge to the corpus's words.
    /// With `semantic`, sentences close in meaning are candidates too, and the ranking fuses
    /// both.
    pub fn new(
        jieba: Arc<Jieba>,
        index: SearchIndex,
        catalog: Catalog,
        semantic: Option<Semantic>,
    ) -> Result<Retriever> {
        let lexicon = Lexicon::embedded();
        let vocabulary = index.vocabulary()?;
        let bridge = Bridge::build(
            &lexicon,
            vocabulary.iter().map(String::as_str),
            catalog.glossary.clone(),
        );
        let names = catalog
            .glossary
            .terms
            .values()
            .flatten()
            .map(|f| text::normalize(f))
            .collect::<HashSet<String>>();
        let name_finder = AhoCorasickBuilder::new()
            .match_kind(MatchKind::LeftmostLongest)
            .build(&names)
            .map_err(|e| crate::error::Error::Metadata {
                path: "glossary.toml".into(),
                message: format!("its names cannot be searched for ({e}): shorten the glossary"),
            })?;
        let positions = catalog
            .entries
            .iter()
            .enumerate()
            .map(|(i, e)| (article_key(&e.meta.id), i))
            .collect();
        Ok(Retriever {
            jieba,
            lexicon,
            names: Arc::new(names),
            name_finder,
            bridge,
            index,
            catalog,
            positions,
            loaded: Cache::new(LOADED_ARTICLES),
            lookups: Cache::new(REMEMBERED_LOOKUPS),
            shares: Cache::new(REMEMBERED_LOOKUPS),
            synonyms: Cache::new(REMEMBERED_LOOKUPS),
            everyday: Cache::new(REMEMBERED_LOOKUPS),
            semantic: semantic.filter(|s| !s.dense.is_empty()),
            fusion: Fusion::default(),
        })
    }

    /// Fuses the rankings this way from now on (the decision file's fitted form).
    pub fn set_fusion(&mut self, fusion: Fusion) {
        self.fusion = fusion;
    }

    /// True when meaning is compared too (the model and the sentences' vectors are there).
    pub fn has_meaning(&self) -> bool {
        self.semantic.is_some()
    }

    /// What the index holds.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// The article at catalog position `position`, loaded from the index.
    pub fn article(&self, position: usize) -> Result<Option<Arc<Article>>> {
        Ok(self.load(position)?.map(|l| l.article.clone()))
    }

    fn load(&self, position: usize) -> Result<Option<Arc<Loaded>>> {
        if let Some(found) = self.loaded.get(&position) {
            return Ok(Some(found));
        }
        let Some(entry) = self.catalog.entries.get(position) else {
            return Ok(None);
        };
        let Some(blocks) = self.index.article(article_key(&entry.meta.id))? else {
            return Ok(None);
        };
        let sentences = blocks.iter().map(|_| OnceLock::new()).collect();
        let loaded = Arc::new(Loaded {
            article: Arc::new(Article {
                meta: entry.meta.clone(),
                blocks,
            }),
            sentences,
            jieba: self.jieba.clone(),
            names: self.names.clone(),
        });
        self.loaded.insert(position, loaded.clone());
        Ok(Some(loaded))
    }

    /// Finds the sentences that best answer `question`, using `context` (the previous
    /// question of a conversation) at a lower weight.
    pub fn retrieve(&self, question: &str, context: Option<&str>) -> Result<Retrieval> {
        self.retrieve_with(question, context, &self.fusion)
    }

    /// [`Retriever::retrieve`] with the rankings fused in the given form (for calibration).
    pub fn retrieve_with(
        &self,
        question: &str,
        context: Option<&str>,
        fusion: &Fusion,
    ) -> Result<Retrieval> {
        let normalized = text::normalize(&text::standardize(question));
        let previous = context.map(|c| text::normalize(&text::standardize(c)));
        // A follow-up (那防卫装备呢？) asks for the same kind of answer as the question before it.
        let expects =
            text::expects(&normalized).or_else(|| previous.as_deref().and_then(text::expects));
        let mut terms = self.terms(&normalized);
        if let Some(previous) = &previous {
            for mut t in self.terms(previous) {
                if !terms.iter().any(|own| own.text == t.text) {
                    t.weight *= CONTEXT_WEIGHT;
                    terms.push(t);
                }
            }
        }
        let yes_no = text::is_yes_no(&normalized);
        let mut prepared: Vec<Prepared> = terms.iter().map(|t| self.prepare(t, &terms)).collect();
        for p in prepared.iter_mut() {
            p.former = only_as_former(&p.text, &normalized);
        }
        let kind = text::kind(&normalized);
        // "Who is X" asks for the sentence introducing X, not for someone else's name.
        let expects = expects.filter(|e| kind != Kind::Entity || *e != text::Expects::Person);
        // Whether something happened (有人被逮捕吗) is what a yes/no question asks: a verb the
        // corpus never writes is what the answer would have to give.
        for (p, t) in prepared.iter_mut().zip(&terms) {
            if yes_no && t.verb && p.is_absent() {
                p.asked = true;
            }
            // The unit a how-many question counts (几杆, 多少岁) is found only with a number.
            p.counted = t.asked
                && expects == Some(text::Expects::Quantity)
                && text::is_counted_unit(&t.text);
        }
        let subject = match kind {
            Kind::Entity => subject(&prepared),
            _ => None,
        };
        let candidates = if kind == Kind::Entity {
            ENTITY_CANDIDATES
        } else {
            CANDIDATES
        };
        // What the asked-for value must be said of, and the numbers the question gives itself.
        let said_of = subject_forms(&prepared);
        let own = text::numbers(&normalized);
        let mut shelf = Shelf::default();
        let mut hits: Vec<Scored> = Vec::new();
        // Meaning is compared in one script (the question's own would pull it towards the
        // article written in it); a follow-up (那防卫装备呢？) means what it means after the
        // question before it.
        let meaning = match &previous {
            Some(previous) => self.meaning(&format!("{previous} {normalized}"))?,
            None => self.meaning(&normalized)?,
        };
        for hit in self.candidates(&prepared, candidates, &meaning)? {
            let Some((at, loaded)) = self.locate(&hit)? else {
                continue;
            };
            let words = loaded.sentence(&at);
            let sentence = words.text;
            let paragraph = loaded.paragraph(at.block);
            let fits = match expects {
                Some(text::Expects::Person) => self.names_another(sentence, &prepared),
                // A number or a length is said of what stands in its clause.
                Some(
                    e @ (text::Expects::Quantity | text::Expects::Duration | text::Expects::Place),
                ) => words.shape.offers(e) && text::offers_about(e, sentence, &said_of, &own),
                Some(e) => words.shape.offers(e),
                None => false,
            };
            // The glossary lists only some of the corpus's names: a sentence without one is
            // not taken to lack what a "who" question asks.
            let judged = expects.filter(|e| *e != text::Expects::Person);
            // A place is written in many sentences (every 在…举行): one that gives a place is
            // not taken to answer a question that names nothing but the corpus's subject.
            let judged_fit = match judged {
                Some(text::Expects::Place) if fits => None,
                _ => judged.map(|_| fits),
            };
            let (coverage, mut confidence, about) =
                coverage(&prepared, words, paragraph, judged_fit, kind);
            let lacks_count = !fits
                && matches!(
                    judged,
                    Some(
                        text::Expects::Quantity
                            | text::Expects::Duration
                            | text::Expects::Place
                            | text::Expects::Time
                    )
                );
            if lacks_count {
                confidence = confidence.min(about * COUNT_MISFIT_FACTOR);
            }
            let mut prior = if fits { EXPECTED_TYPE_BONUS } else { 1.0 };
            prior *= match kind {
                Kind::Entity if subject.is_some_and(|s| introduces(&loaded, &at, s)) => KIND_BONUS,
                Kind::Reason if words.shape.reasons => KIND_BONUS,
                Kind::List if words.shape.enumerates => KIND_BONUS,
                _ => 1.0,
            };
            tracing::trace!(
                bm25 = hit.score,
                coverage,
                confidence,
                prior,
                sentence,
                "candidate"
            );
            shelf.0.insert(at.article, loaded.article.clone());
            hits.push(Scored {
                at,
                words: hit.score * (0.25 + coverage),
                offers: expects.map(|_| fits),
                coverage,
                confidence,
                about,
                fit: prior,
                ..Scored::default()
            });
        }
        // Whether to answer stays the word evidence's decision: a sentence found by meaning
        // alone is no surer than the best one found by words.
        let by_words = hits
            .iter()
            .filter(|h| h.words > 0.0)
            .map(|h| h.confidence)
            .fold(0.0, f32::max);
        let about_by_words = hits
            .iter()
            .filter(|h| h.words > 0.0)
            .map(|h| h.about)
            .fold(0.0, f32::max);
        for hit in hits.iter_mut().filter(|h| h.words == 0.0) {
            hit.confidence = hit.confidence.min(by_words);
            hit.about = hit.about.min(about_by_words);
        }
        fusion::fuse(&mut hits, &meaning, fusion);
        let absent = absent_share(&prepared);
        tracing::debug!(
            terms = ?terms.iter().map(|t| (&t.text, &t.forms, t.weight)).collect::<Vec<_>>(),
            expects = ?expects,
            top = ?hits
                .iter()
                .take(3)
                .map(|h| (&h.at, h.score, h.confidence, h.about))
                .collect::<Vec<_>>(),
            "retrieved"
        );
        Ok(Retrieval {
            script: text::detect_script(question),
            kind,
            asks_detail: expects.is_some() || terms.iter().any(|t| t.asked),
            terms,
            hits,
            articles: shelf,
            closeness: Closeness {
                best: meaning.best(),
                median: meaning.median(),
                best_paragraph: meaning.best_paragraph(),
            },
            absent,
            meaning,
        })
    }

    /// Every indexed sentence and paragraph with its cosine to the question, best first
    /// (empty without the model).
    fn meaning(&self, question: &str) -> Result<Meaning> {
        let Some(semantic) = &self.semantic else {
            return Ok(Meaning::default());
        };
        let vector = semantic.model.embed(question, Role::Query)?;
        let probe = Probe {
            terms: &[],
            vector: Some(&vector),
        };
        let paragraphs: Vec<NearParagraph> = semantic
            .dense
            .paragraphs(&vector)
            .into_iter()
            .filter_map(|((article, block), cosine)| {
                Some(((*self.positions.get(&article)?, block), cosine))
            })
            .collect();
        let ranked: Vec<Near> = semantic
            .dense
            .rank(&probe, semantic.dense.len())?
            .into_iter()
            .filter_map(|hit| {
                let article = *self.positions.get(&hit.article)?;
                Some(((article, hit.block, hit.sentence), hit.score))
            })
            .collect();
        tracing::debug!(
            best = ranked.first().map(|n| n.1),
            median = ranked.get(ranked.len() / 2).map(|n| n.1),
            "meaning"
        );
        Ok(Meaning {
            sentences: ranked,
            paragraphs,
        })
    }

    /// The sentences to judge: the best by words, then the closest in meaning that are not
    /// among them (with no word score of their own), then the sentence closest in meaning of
    /// each paragraph closest in meaning.
    fn candidates(
        &self,
        prepared: &[Prepared],
        limit: usize,
        meaning: &Meaning,
    ) -> Result<Vec<Hit>> {
        let terms = query(prepared);
        let probe = Probe {
            terms: &terms,
            vector: None,
        };
        let mut hits = self.index.rank(&probe, limit)?;
        let near = &meaning.sentences;
        let paragraph_best = meaning
            .paragraphs
            .iter()
            .take(PARAGRAPH_CANDIDATES)
            .filter_map(|&((article, block), _)| {
                near.iter()
                    .find(|((a, b, _), _)| *a == article && *b == block)
            });
        for &((article, block, sentence), _) in
            near.iter().take(DENSE_CANDIDATES).chain(paragraph_best)
        {
            let article = article_key(&self.catalog.entries[article].meta.id);
            if !hits
                .iter()
                .any(|h| h.article == article && h.block == block && h.sentence == sentence)
            {
                hits.push(Hit {
                    article,
                    block,
                    sentence,
                    score: 0.0,
                });
            }
        }
        Ok(hits)
    }

    /// Where a hit is in the catalog, with its article loaded; `None` for an article the
    /// catalog does not list.
    fn locate(&self, hit: &Hit) -> Result<Option<(Location, Arc<Loaded>)>> {
        let Some(&article) = self.positions.get(&hit.article) else {
            return Ok(None);
        };
        let Some(loaded) = self.load(article)? else {
            return Ok(None);
        };
        let exists = loaded
            .article
            .blocks
            .get(hit.block)
            .is_some_and(|b| hit.sentence < b.sentences.len());
        let at = Location {
            article,
            block: hit.block,
            sentence: hit.sentence,
        };
        Ok(exists.then_some((at, loaded)))
    }
}
