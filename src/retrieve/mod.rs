//! Retrieval: a question (and an optional previous question as context) → scored sentences
//! of body paragraphs, with how much of the question the best evidence covers; the word and
//! meaning rankings fused ([`fusion`]), the evidence summed up as features ([`features`]) and
//! the reply decided from them ([`decision`]).

pub mod decision;
pub mod features;
pub mod fusion;
pub mod intents;

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
    pub fn refuse(&mut self, fusion: &Fusion) {
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

    /// The question's terms: Chinese words (with synonyms when the corpus lacks the word)
    /// and English words or phrases translated into the corpus's words.
    fn terms(&self, normalized: &str) -> Vec<Term> {
        let mut terms: Vec<Term> =
            text::question_terms(&self.jieba, normalized, &|w| self.occurs(w), &|w| {
                self.lexicon.has(w)
            })
            .into_iter()
            // Latin words are the English path's; a hyphenated one (cvn-73) stays when
            // the corpus has it as written.
            .filter(|t| {
                let latin = t
                    .text
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '\'');
                let compound = t.text.chars().all(|c| c.is_ascii() && c != ' ');
                !latin && (!compound || self.occurs(&t.text))
            })
            .collect();
        for term in &mut terms {
            term.forms.extend(self.bridge.aliases(&term.text));
            term.exact_forms = term.forms.len();
            if !self.occurs(&term.text) {
                term.forms.extend(self.synonyms(&term.text).iter().cloned());
                // A verb with a result complement the corpus lacks (开成, 见着, 谈完) says how
                // the question is put, not what it is about.
                if term.forms.len() == 1 && text::is_resultative(&term.text) {
                    term.info = term.info.min(ABSENT_VERB_INFO);
                }
            }
        }
        for t in self.bridge.translate(normalized) {
            let kind_weight = if t.asked_kind {
                text::ASKED_KIND_WEIGHT
            } else {
                1.0
            };
            terms.push(Term {
                weight: kind_weight,
                info: english_background(&t.forms[..t.exact_forms])
                    .unwrap_or_else(|| self.everyday(&t.source)),
                exact_forms: t.exact_forms,
                text: t.source,
                forms: t.forms,
                follows: None,
                asked: t.asked_kind,
                verb: t.verb,
            });
        }
        terms
    }

    /// Works out once per question what each term can match and how much it weighs.
    fn prepare(&self, term: &Term, all: &[Term]) -> Prepared {
        let english = !term.text.chars().any(text::is_cjk);
        let forms: Vec<Found> = term
            .forms
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let mut credit = if i < term.exact_forms {
                    1.0
                } else {
                    SYNONYM_CREDIT
                };
                // One character translating an English word (上 for first, 中 for hit) is
                // written all over the corpus in other senses: weak evidence, as in Chinese.
                if english && f.chars().count() == 1 {
                    credit *= text::SINGLE_CHARACTER_WEIGHT;
                }
                (f, credit)
            })
            .filter(|(f, _)| self.occurs(f))
            .map(|(f, credit)| {
                let mut found = Found::new(f.clone(), credit);
                found.names_whole = !english && self.names_whole(f);
                found.alone_only = english && f.chars().count() == 1;
                // Another form of an everyday word (日方 for 日本) is rarer in the corpus, so
                // BM25 would prize it: it weighs no more than the word it stands for.
                if f != &term.text && term.text.chars().any(text::is_cjk) {
                    found.query_factor = (term.info / text::background_weight(f)).min(1.0);
                }
                found
            })
            .collect();
        // Only part of a name completes another (早苗 after 高市): 大米 after 美国 is a word.
        let completes = term
            .follows
            .as_ref()
            .filter(|_| is_name_part(term))
            .and_then(|previous| {
                let p = all.iter().position(|t| &t.text == previous)?;
                self.occurs(&format!("{previous}{}", term.text))
                    .then_some(p)
            });
        let chars: Vec<char> = term.text.chars().filter(|c| text::is_cjk(*c)).collect();
        let pieces = if forms.is_empty() {
            self.pieces(&chars)
        } else {
            Vec::new()
        };
        // A place, person or organisation the corpus never names (台湾) is another topic,
        // however common the name is in everyday Chinese.
        let info = if forms.is_empty() && pieces.is_empty() && text::is_proper_noun(&term.text) {
            1.0
        } else {
            term.info
        };
        Prepared {
            former: false,
            ubiquitous: self.ubiquitous(&forms),
            weight: term.weight,
            asked: term.asked,
            counted: false,
            info,
            query_weight: if completes.is_some() {
                NAME_PART_WEIGHT
            } else {
                1.0
            },
            pieces,
            chars: if forms.is_empty() && chars.len() > 1 {
                chars
            } else {
                Vec::new()
            },
            forms,
            completes,
            text: term.text.clone(),
        }
    }

    /// Runs of two or more ideographs of a word absent from the corpus that the corpus has,
    /// longest first, with the credit each earns (抗议 of 抗议者).
    fn pieces(&self, chars: &[char]) -> Vec<Found> {
        if let [root, suffix] = chars {
            return self.root(*root, *suffix).into_iter().collect();
        }
        if chars.len() < 3 {
            return Vec::new();
        }
        (2..chars.len())
            .rev()
            .flat_map(|n| {
                chars
                    .windows(n)
                    .map(move |w| (w.iter().collect::<String>(), n))
            })
            // The corpus's own subject (日本 of 日本央行) tells nothing of what the word names.
            .filter(|(piece, _)| self.occurs(piece) && self.share(piece) < UBIQUITOUS_SHARE)
            .map(|(piece, n)| Found::new(piece, 0.8 * n as f32 / chars.len() as f32))
            .collect()
    }

    /// The root of a noun made with a suffix (帽 of 帽子, 鸟 of 鸟儿), when the corpus ends a
    /// word with it (棒球帽 is a kind of 帽子): found only there, as the head of a word.
    fn root(&self, root: char, suffix: char) -> Option<Found> {
        let root = root.to_string();
        let noun = format!("{root}{suffix}");
        let suffixed = NOUN_SUFFIXES.contains(suffix) && text::is_noun(&noun);
        (suffixed && self.occurs(&root)).then(|| {
            let mut found = Found::new(root, ROOT_CREDIT);
            found.head_only = true;
            found
        })
    }

    /// True for a name (its first gloss is written as one: 三菱 "Mitsubishi") or a string of
    /// ideographs with no meaning of its own (读卖, short for 读卖新闻).
    fn names_whole(&self, form: &str) -> bool {
        self.lexicon
            .first_gloss(form)
            .map_or(form.chars().count() > 1, |g| {
                g.chars().next().is_some_and(|c| c.is_ascii_uppercase())
            })
    }

    /// How informative an English word the corpus has no translation of is in everyday use
    /// (remembered per generation).
    fn everyday(&self, word: &str) -> f32 {
        if let Some(known) = self.everyday.get(word) {
            return known;
        }
        let weight = self.bridge.everyday_weight(&self.lexicon, word);
        self.everyday.insert(word.to_string(), weight);
        weight
    }

    /// Corpus words that mean what `word` means (remembered per generation).
    fn synonyms(&self, word: &str) -> Arc<Vec<String>> {
        if let Some(known) = self.synonyms.get(word) {
            return known;
        }
        let found = Arc::new(self.bridge.synonyms(&self.lexicon, word));
        self.synonyms.insert(word.to_string(), found.clone());
        found
    }

    /// True when a form is written in a large share of the corpus's sentences: the corpus's
    /// own subject (特朗普, 高市, 日本), which alone cannot tell what a question asks about.
    fn ubiquitous(&self, forms: &[Found]) -> bool {
        forms
            .iter()
            .any(|f| self.share(&f.text) >= UBIQUITOUS_SHARE)
    }

    /// True when a sentence names someone (a glossary name) that the question does not,
    /// other than the corpus's own subject (特朗普, 高市).
    fn names_another(&self, sentence: &str, asked: &[Prepared]) -> bool {
        self.name_finder.find_iter(sentence).any(|m| {
            let name = &sentence[m.range()];
            let in_question = asked
                .iter()
                .flat_map(|p| &p.forms)
                .any(|f| f.text.contains(name) || name.contains(f.text.as_str()));
            !in_question && self.share(name) < UBIQUITOUS_SHARE
        })
    }

    /// Share of the corpus's sentences with `word` (remembered per generation).
    fn share(&self, word: &str) -> f32 {
        if let Some(known) = self.shares.get(word) {
            return known;
        }
        let share = self.index.share(word).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "document frequency lookup failed; taking the word as rare");
            0.0
        });
        self.shares.insert(word.to_string(), share);
        share
    }

    /// True when a sentence of the corpus contains `text` (remembered per generation).
    fn occurs(&self, text: &str) -> bool {
        if let Some(known) = self.lookups.get(text) {
            return known;
        }
        let found = self.index.occurs(text).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "substring lookup failed; treating the word as absent");
            false
        });
        self.lookups.insert(text.to_string(), found);
        found
    }
}

/// True for a word that can be the second part of a name (早苗, 稔): rare, and not a word of the
/// dictionary unless a single character (大米 and 经济界 are words of their own).
/// The prefix that makes a title someone's former one (前首相, 前总统).
const FORMER: char = '前';

/// True when `form` occurs in `text`, and only right after [`FORMER`]: the text speaks of a
/// former holder of the title, not of the present one.
fn only_as_former(form: &str, text: &str) -> bool {
    let mut seen = false;
    for (at, _) in text.match_indices(form) {
        if !text[..at].ends_with(FORMER) {
            return false;
        }
        seen = true;
    }
    seen
}

/// Share of the question's weighted informative terms of which the corpus has no form.
fn absent_share(terms: &[Prepared]) -> f32 {
    let weight = |t: &Prepared| t.weight * t.info;
    let total: f32 = terms.iter().map(weight).sum();
    if total <= 0.0 {
        return 0.0;
    }
    terms
        .iter()
        .filter(|t| t.is_absent())
        .map(weight)
        .sum::<f32>()
        / total
}

/// The corpus forms of the question's subject: its informative terms that are not the kind
/// of answer asked for (礼物 in 什么礼物) nor a counted unit (架 in 几架).
fn subject_forms(terms: &[Prepared]) -> Vec<&str> {
    terms
        .iter()
        .filter(|t| !t.asked && !t.counted && !t.ubiquitous)
        .flat_map(|t| t.forms.iter().map(|f| f.text.as_str()))
        .collect()
}

fn is_name_part(term: &Term) -> bool {
    term.info >= NAME_PART_INFO
        && (term.text.chars().count() == 1 || !text::is_dictionary_word(&term.text))
}

/// The question's most informative term that the corpus has: whom a "who is" question asks
/// about.
fn subject(terms: &[Prepared]) -> Option<&Prepared> {
    terms
        .iter()
        .filter(|t| !t.forms.is_empty())
        .max_by(|a, b| (a.weight * a.info).total_cmp(&(b.weight * b.info)))
}

/// True when the sentence at `at` is where its article first mentions `subject`: where a
/// writer introduces a person (官房长官木原稔).
fn introduces(article: &Loaded, at: &Location, subject: &Prepared) -> bool {
    let mentions = |s: &str| subject.forms.iter().any(|f| f.is_in(s));
    let first = (0..article.sentences.len()).find_map(|b| {
        let s = article.block(b).iter().position(|s| mentions(s))?;
        Some((b, s))
    });
    first == Some((at.block, at.sentence))
}

/// Share of the terms' weight × rarity found for a sentence: whole in the sentence (full
/// credit), in its paragraph (most), or in part (a little). A term written right after
/// another, with which it forms a string of the corpus (高市 + 早苗), shares that one's credit.
/// Returns the coverage, the confidence and how surely the sentence is about the question's
/// subject (the confidence before the penalty for lacking what was asked). The confidence is
/// the same share with every informative word
/// the corpus lacks altogether counted [`ABSENT_FACTOR`] times (evidence of another topic),
/// lowered when the sentence does not offer what the question asks for — a number for 多少
/// (`fits`: `None` when the question's form expects nothing in particular), or anything at
/// all of a kind the corpus never names (什么牌子 where no brand is named) — and when it matches
/// only words written all over the corpus.
fn coverage(
    terms: &[Prepared],
    sentence: Sentence<'_>,
    paragraph: &str,
    fits: Option<bool>,
    kind: Kind,
) -> (f32, f32, f32) {
    let offers = fits.unwrap_or(true);
    let credit: Vec<f32> = terms
        .iter()
        .map(|t| t.credit(sentence, paragraph))
        .collect();
    let (mut found, mut total) = (0.0, 0.0);
    let (mut strict_found, mut strict_total) = (0.0, 0.0);
    for (i, term) in terms.iter().enumerate() {
        let c = term
            .completes
            .map_or(credit[i], |p| credit[i].max(credit[p]));
        let w = term.weight * term.info;
        total += w;
        found += w * c;
        // In the confidence, one name is one piece of evidence (高市早苗 asked as 高市 + 早苗).
        if term.completes.is_some() {
            continue;
        }
        // What was asked for counts fully: 什么音乐 is not answered by a sentence that
        // merely names the person.
        let strict = if term.asked {
            w / text::ASKED_KIND_WEIGHT
        } else {
            w
        };
        // A word the corpus lacks is found only where its characters are written in order
        // close together (先见 in 先行会见), not by sharing one (结婚 and 结果).
        let (strict, c) = if term.is_absent() {
            let spread = spread_in(&term.chars, sentence.text);
            (strict * ABSENT_FACTOR, if spread { c } else { 0.0 })
        } else {
            (strict, c)
        };
        strict_total += strict;
        strict_found += strict * c;
    }
    if total == 0.0 {
        return (0.0, 0.0, 0.0);
    }
    // What was asked for, never written anywhere in the corpus, however common the word.
    let unnamed_kind = terms
        .iter()
        .any(|t| t.asked && t.forms.is_empty() && t.pieces.is_empty());
    let misfit = match (offers, unnamed_kind) {
        (_, true) => UNNAMED_KIND_FACTOR,
        (false, false) => MISFIT_FACTOR,
        (true, false) => 1.0,
    };
    // Only the corpus's own subject found (特朗普 + 高市 for 特朗普夸高市了没): the sentence
    // need not be about what was asked, unless the question asks nothing else and the sentence
    // gives the kind of answer asked for (a number for 多少), or it is about a name (who is).
    // The rest of a name (早苗 after 高市) is as telling as the name's first part.
    let telling = |t: &Prepared| {
        !t.forms.is_empty()
            && !t.ubiquitous
            && t.completes.is_none()
            && (t.weight >= 1.0 || t.asked)
    };
    let specific = terms
        .iter()
        .zip(&credit)
        .any(|(t, c)| *c > 0.0 && telling(t));
    let nothing_else_asked = fits == Some(true) && !terms.iter().any(telling);
    let about = if specific || nothing_else_asked || kind == Kind::Entity {
        strict_found / strict_total
    } else {
        SUBJECT_ONLY_FACTOR * strict_found / strict_total
    };
    (found / total, misfit * about, about)
}

/// Most characters between two of a word's characters for them to count as spread out.
const SPREAD_GAP: usize = 3;

/// True when `chars` occur in `sentence` in order, each within [`SPREAD_GAP`] characters of the
/// one before (先见 in 先行会见).
fn spread_in(chars: &[char], sentence: &str) -> bool {
    let Some((first, rest)) = chars.split_first() else {
        return false;
    };
    let text: Vec<char> = sentence.chars().collect();
    text.iter()
        .enumerate()
        .filter(|(_, c)| *c == first)
        .any(|(start, _)| {
            let mut at = start;
            rest.iter().all(|ch| {
                let mut window = text.iter().skip(at + 1).take(SPREAD_GAP + 1);
                match window.position(|c| c == ch) {
                    Some(offset) => {
                        at += offset + 1;
                        true
                    }
                    None => false,
                }
            })
        })
}

/// How informative an English word is, by the most informative of its Chinese translations
/// in the corpus (japan → 日本 weighs little); `None` when the corpus has none.
fn english_background(forms: &[String]) -> Option<f32> {
    forms
        .iter()
        .filter(|f| f.chars().any(text::is_cjk))
        .map(|f| text::background_weight(f))
        .reduce(f32::max)
}

/// A string the corpus has, and the credit a sentence containing it earns.
struct Found {
    text: String,
    /// Searches for `text` (built once per question, used on every candidate).
    finder: memmem::Finder<'static>,
    /// Credit earned when it is in the sentence.
    credit: f32,
    /// Factor on its weight in the BM25 query.
    query_factor: f32,
    /// Counts only where a word ends with it (see [`Found::place_in`]).
    head_only: bool,
    /// A name or a shortening with no meaning of its own (三菱, 读卖): at the start of a longer
    /// word (三菱重工, 读卖新闻) it still names the same thing.
    names_whole: bool,
    /// Counts fully only as a word of its own, not as the end of a longer one.
    alone_only: bool,
}

impl Found {
    fn new(text: String, credit: f32) -> Found {
        let finder = memmem::Finder::new(text.as_bytes()).into_owned();
        Found {
            text,
            finder,
            credit,
            query_factor: 1.0,
            head_only: false,
            names_whole: false,
            alone_only: false,
        }
    }

    /// True when `haystack` contains the string.
    fn is_in(&self, haystack: &str) -> bool {
        self.finder.find(haystack.as_bytes()).is_some()
    }

    /// Where the string is in `sentence` (see [`Place`]); a place where it ends a word wins
    /// over one inside a longer word, and that over one across two words.
    fn place_in(&self, sentence: Sentence<'_>) -> Place {
        let mut found = Place::Absent;
        for start in self.finder.find_iter(sentence.text.as_bytes()) {
            let end = start + self.text.len();
            // Compounds are in order and do not overlap: the last one starting before `end`
            // is the only one that can hold it, or that it can start inside of.
            let before = sentence.compounds.partition_point(|&(from, _)| from < end);
            let place = match before.checked_sub(1).map(|i| sentence.compounds[i]) {
                Some((_, to)) if end < to => Place::Inside,
                Some((from, to)) if from < start && start < to && to < end => Place::Across,
                // An English word's one-character translation (后 for behind) is that word
                // only where written alone: 会后 is "after the meeting".
                Some((from, to)) if self.alone_only && from < start && start < to => Place::Inside,
                _ => return Place::Whole,
            };
            found = found.min(place);
        }
        found
    }
}

/// Where a string is found in a sentence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Place {
    /// Ending a word (税 in 所得税, 大使 alone).
    Whole,
    /// Inside a longer word (大使 in 大使馆).
    Inside,
    /// Starting inside one word and ending after it (美日 in 欧美/日): not the word.
    Across,
    /// Not in the sentence.
    Absent,
}

/// A question term made ready for scoring.
struct Prepared {
    /// The term as asked.
    text: String,
    /// True when the question itself says "former" of it (前首相).
    former: bool,
    /// Importance in the question.
    weight: f32,
    /// Informativeness in everyday language.
    info: f32,
    /// Written all over the corpus (see [`Retriever::ubiquitous`]).
    ubiquitous: bool,
    /// Names the kind of answer asked for.
    asked: bool,
    /// The unit a how-many question counts: found only right after a number.
    counted: bool,
    /// Weight factor in the BM25 query.
    query_weight: f32,
    /// Forms the corpus has.
    forms: Vec<Found>,
    /// For a word the corpus lacks: its pieces the corpus has.
    pieces: Vec<Found>,
    /// For a word the corpus lacks (two or more ideographs): its ideographs.
    chars: Vec<char>,
    /// The term before it, when together they form a corpus string (高市 + 早苗).
    completes: Option<usize>,
}

impl Prepared {
    /// True for an informative word of which the corpus has no form, piece or synonym.
    fn is_absent(&self) -> bool {
        self.forms.is_empty() && self.pieces.is_empty() && self.info >= ABSENT_INFO
    }

    /// Credit a sentence (normalised, with its paragraph's sentences joined by line breaks)
    /// earns for this term: whole in the sentence, in its paragraph, a piece of it, or some
    /// of its ideographs. A form found only as the first part of a longer word (大使 in
    /// 大使馆, 棒球 in 棒球帽) names something else and earns [`MODIFIER_CREDIT`] of it; as the
    /// last part it is still that thing (税 in 所得税).
    fn credit(&self, sentence: Sentence<'_>, paragraph: &str) -> f32 {
        if self.counted {
            return if text::counts_unit(sentence.text, &self.text) {
                1.0
            } else {
                0.0
            };
        }
        let mut best: f32 = 0.0;
        // The paragraph holds the sentence: a form it lacks is in neither (the common case,
        // one scan).
        for form in self.forms.iter().filter(|f| f.is_in(paragraph)) {
            match form.place_in(sentence) {
                // 前首相 is the former one, someone else than the one asked about (unless 前 is
                // asked too): no evidence for it.
                Place::Whole if !self.former && only_as_former(&form.text, sentence.text) => {}
                Place::Whole => return form.credit,
                Place::Inside if form.names_whole => return form.credit,
                Place::Inside => best = best.max(form.credit * MODIFIER_CREDIT),
                Place::Across => {}
                Place::Absent => best = best.max(form.credit * PARAGRAPH_CREDIT),
            }
        }
        if best > 0.0 || self.chars.is_empty() {
            return best;
        }
        let found = |p: &&Found| {
            if p.head_only {
                p.place_in(sentence) == Place::Whole
            } else {
                p.is_in(sentence.text)
            }
        };
        if let Some(piece) = self.pieces.iter().find(found) {
            return piece.credit;
        }
        let hits = self
            .chars
            .iter()
            .filter(|c| sentence.text.contains(**c))
            .count();
        0.25 * hits as f32 / self.chars.len() as f32
    }
}

/// One query term per form the corpus has; a term's weight is shared among its forms.
fn query(terms: &[Prepared]) -> Vec<QueryTerm> {
    let mut query = Vec::new();
    for t in terms {
        let share = 1.0 / (t.forms.len().max(1) as f32).sqrt();
        for form in &t.forms {
            query.push(QueryTerm {
                text: form.text.clone(),
                weight: t.weight * share * t.query_weight * form.credit * form.query_factor,
                whole_word: true,
            });
        }
        if t.forms.is_empty() && !t.chars.is_empty() {
            query.push(QueryTerm {
                text: t.text.clone(),
                weight: t.weight,
                whole_word: false,
            });
        }
    }
    query
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_title_only_after_former_is_someone_else() {
        assert!(only_as_former("首相", "会见了日本前首相石破茂"));
        assert!(!only_as_former("首相", "前首相石破茂与新首相高市"));
        assert!(!only_as_former("首相", "第一位女性首相"));
        assert!(!only_as_former("首相", "没有这个词"));
    }

    #[test]
    fn a_form_inside_a_longer_word_is_told_from_one_that_ends_it() {
        let jieba = text::load_jieba([]);
        let place = |form: &str, sentence: &str| {
            let compounds = text::compounds(&jieba, sentence);
            Found::new(form.to_string(), 1.0).place_in(Sentence {
                text: sentence,
                compounds: &compounds,
                shape: text::Shape::default(),
            })
        };
        assert_eq!(place("大使", "在美国驻日大使馆举行了晚餐会"), Place::Inside);
        assert_eq!(place("税", "增长所得税、烟草税和法人税"), Place::Whole);
        assert_eq!(place("大使", "被提名为美国驻联合国大使"), Place::Whole);
        assert_eq!(place("大使", "举行了晚餐会"), Place::Absent);
        assert_eq!(place("美日", "欧美日三方"), Place::Across);
        assert_eq!(place("会上", "更在会上签署协议"), Place::Whole);
        assert_eq!(place("活", "在2017年11月复活"), Place::Whole);
        let sentence = "会后,高市和特朗普访问了横须贺美军基地";
        let compounds = text::compounds(&jieba, sentence);
        let mut behind = Found::new("后".to_string(), 0.5);
        behind.alone_only = true;
        let at = Sentence {
            text: sentence,
            compounds: &compounds,
            shape: text::Shape::default(),
        };
        assert_eq!(behind.place_in(at), Place::Inside);
        let sentence = "会议后,两人访问了基地";
        let compounds = text::compounds(&jieba, sentence);
        let alone = Sentence {
            text: sentence,
            compounds: &compounds,
            shape: text::Shape::default(),
        };
        assert_eq!(behind.place_in(alone), Place::Whole);
    }

    #[test]
    fn characters_spread_in_order_close_together() {
        let chars = |w: &str| w.chars().collect::<Vec<char>>();
        assert!(spread_in(
            &chars("先见"),
            "在27日抵达东京后先行会见了德仁天皇"
        ));
        assert!(!spread_in(&chars("结婚"), "从结果上来看,高市赢得了赞许,婚"));
        assert!(!spread_in(&chars("见先"), "先行会见"));
        assert!(!spread_in(&[], "先行会见"));
    }
}
