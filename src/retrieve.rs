//! Retrieval: a question (and an optional previous question as context) → scored sentences
//! of body paragraphs, with how much of the question the best evidence covers.

use std::collections::BTreeSet;
use std::sync::Arc;

use jieba_rs::Jieba;
use suffix::SuffixTable;

use crate::corpus::{Article, BlockKind, Script};
use crate::error::Result;
use crate::index::{QueryTerm, SearchIndex, Sentence};
use crate::lexicon::{Bridge, Glossary, Lexicon};
use crate::text::{self, Kind, Term};

/// Where a sentence lives in the corpus.
#[derive(Debug, Clone)]
pub struct Location {
    /// Index into the engine's articles.
    pub article: usize,
    /// Index into the article's blocks.
    pub block: usize,
    /// Index into the block's sentences.
    pub sentence: usize,
}

/// A sentence found for a question.
#[derive(Debug, Clone)]
pub struct Scored {
    /// Where it is.
    pub at: Location,
    /// Ranking score (BM25, scaled by coverage and answer type).
    pub score: f32,
    /// Share of the question's terms (weighted by how informative they are) found in the
    /// sentence or its paragraph.
    pub coverage: f32,
    /// How sure we are that this sentence answers the question (0–1): the coverage, with words
    /// the corpus lacks counting more and a penalty when it lacks what was asked for.
    pub confidence: f32,
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
    /// Candidate sentences, best first.
    pub hits: Vec<Scored>,
}

/// Weight of terms that come from the previous question (context of a follow-up).
const CONTEXT_WEIGHT: f32 = 0.3;
/// Query weight of a word that completes the one before it into a corpus string (早苗 after 高市).
const NAME_PART_WEIGHT: f32 = 0.3;
/// Score factor for a sentence that offers what the question asks for (a number, a date).
const EXPECTED_TYPE_BONUS: f32 = 1.5;
/// Credit for a synonym found instead of the word itself.
const SYNONYM_CREDIT: f32 = 0.8;
/// Credit for a term found in the sentence's paragraph but not the sentence.
const PARAGRAPH_CREDIT: f32 = 0.7;
/// How many sentences BM25 hands to re-ranking.
const CANDIDATES: usize = 20;
/// Candidates for a "who is" question: the introducing sentence may rank low on words alone.
const ENTITY_CANDIDATES: usize = 60;
/// Score factor for a sentence of the shape the question asks for: the first mention of the
/// person asked about, reasoning for a why/opinion question, an enumeration for a list.
const KIND_BONUS: f32 = 1.4;
/// In the confidence, an informative word the corpus lacks altogether counts this many times.
const ABSENT_FACTOR: f32 = 2.0;
/// Least informativeness of a missing word that counts as evidence of another topic.
const ABSENT_INFO: f32 = 0.5;
/// Confidence factor when the best sentence lacks what was asked (no number for 多少).
const MISFIT_FACTOR: f32 = 0.85;
/// Confidence factor when the question asks for a kind of thing the corpus never names
/// (什么牌子 where no brand is named anywhere): a near-miss.
const UNNAMED_KIND_FACTOR: f32 = 0.6;

struct UnitText {
    at: Location,
    sentence: String,
    paragraph: usize,
}

/// Searches the corpus; built once, shared by every transport.
pub struct Retriever {
    jieba: Arc<Jieba>,
    lexicon: Lexicon,
    bridge: Bridge,
    index: SearchIndex,
    units: Vec<UnitText>,
    /// Where strings occur in the normalised sentences.
    locator: Locator,
}

impl Retriever {
    /// Indexes every sentence of every body paragraph and the English bridge to its words.
    pub fn build(jieba: Arc<Jieba>, articles: &[Article], glossary: Glossary) -> Result<Retriever> {
        let mut units = Vec::new();
        let mut raw = Vec::new();
        let mut paragraphs = Vec::new();
        for (a, article) in articles.iter().enumerate() {
            for (b, block) in article.blocks.iter().enumerate() {
                if block.kind != BlockKind::Body {
                    continue;
                }
                paragraphs.push(text::normalize(&block.text));
                for (s, sentence) in block.sentences.iter().enumerate() {
                    raw.push(Sentence {
                        text: sentence,
                        paragraph: &block.text,
                    });
                    let at = Location {
                        article: a,
                        block: b,
                        sentence: s,
                    };
                    units.push(UnitText {
                        at,
                        sentence: text::normalize(sentence),
                        paragraph: paragraphs.len() - 1,
                    });
                }
            }
        }
        let lexicon = Lexicon::embedded();
        // The index and the English bridge do not depend on each other: build them side by side.
        let (index, bridge) = std::thread::scope(|scope| {
            let bridge = scope.spawn(|| {
                let vocabulary: BTreeSet<&str> = paragraphs
                    .iter()
                    .flat_map(|p| {
                        text::words(&jieba, p)
                            .into_iter()
                            .chain(lexicon.headwords_in(p))
                    })
                    .collect();
                Bridge::build(&lexicon, vocabulary, glossary)
            });
            let index = SearchIndex::build(jieba.clone(), &raw);
            (
                index,
                bridge.join().expect("building the bridge does not panic"),
            )
        });
        let index = index?;
        let locator = Locator::new(&units);
        Ok(Retriever {
            jieba,
            lexicon,
            bridge,
            index,
            units,
            locator,
        })
    }

    /// Finds the sentences that best answer `question`, using `context` (the previous
    /// question of a conversation) at a lower weight.
    pub fn retrieve(&self, question: &str, context: Option<&str>) -> Result<Retrieval> {
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
        let kind = text::kind(&normalized);
        let prepared: Vec<Prepared> = terms.iter().map(|t| self.prepare(t, &terms)).collect();
        let introductions = match kind {
            Kind::Entity => self.introductions(&prepared),
            _ => Vec::new(),
        };
        let candidates = if kind == Kind::Entity {
            ENTITY_CANDIDATES
        } else {
            CANDIDATES
        };
        let mut hits: Vec<Scored> = self
            .index
            .search(&query(&prepared), candidates)?
            .into_iter()
            .map(|hit| {
                let unit = &self.units[hit.unit];
                let fits = expects.is_some_and(|e| text::offers(e, &unit.sentence));
                let (coverage, confidence) =
                    self.coverage(&prepared, hit.unit, fits || expects.is_none());
                let mut prior = if fits { EXPECTED_TYPE_BONUS } else { 1.0 };
                prior *= match kind {
                    Kind::Entity if introductions.contains(&hit.unit) => KIND_BONUS,
                    Kind::Reason if text::reasons(&unit.sentence) => KIND_BONUS,
                    Kind::List if text::enumerates(&unit.sentence) => KIND_BONUS,
                    _ => 1.0,
                };
                Scored {
                    at: unit.at.clone(),
                    score: hit.score * (0.25 + coverage) * prior,
                    coverage,
                    confidence,
                }
            })
            .collect();
        hits.sort_by(|a, b| b.score.total_cmp(&a.score));
        tracing::debug!(
            terms = ?terms.iter().map(|t| (&t.text, &t.forms, t.weight)).collect::<Vec<_>>(),
            top = ?hits.iter().take(3).map(|h| (&self.units_at(h).sentence, h.score, h.coverage)).collect::<Vec<_>>(),
            "retrieved"
        );
        Ok(Retrieval {
            script: text::detect_script(question),
            kind,
            terms,
            hits,
        })
    }

    fn units_at(&self, hit: &Scored) -> &UnitText {
        self.units
            .iter()
            .find(|u| {
                u.at.article == hit.at.article
                    && u.at.block == hit.at.block
                    && u.at.sentence == hit.at.sentence
            })
            .expect("hits come from units")
    }

    /// The units where the question's most informative term is first mentioned in each
    /// article: where a writer introduces a person (官房长官木原稔).
    fn introductions(&self, terms: &[Prepared]) -> Vec<usize> {
        let Some(subject) = terms
            .iter()
            .filter(|t| !t.forms.is_empty())
            .max_by(|a, b| (a.weight * a.info).total_cmp(&(b.weight * b.info)))
        else {
            return Vec::new();
        };
        let mut first: Vec<usize> = Vec::new();
        for form in &subject.forms {
            for &u in &form.units {
                let article = self.units[u].at.article;
                match first
                    .iter_mut()
                    .find(|f| self.units[**f].at.article == article)
                {
                    Some(f) => *f = (*f).min(u),
                    None => first.push(u),
                }
            }
        }
        first
    }

    /// The question's terms: Chinese words (with synonyms when the corpus lacks the word)
    /// and English words or phrases translated into the corpus's words.
    fn terms(&self, normalized: &str) -> Vec<Term> {
        let mut terms: Vec<Term> =
            text::question_terms(&self.jieba, normalized, &|w| self.occurs(w))
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
                let synonyms = self.bridge.synonyms(&self.lexicon, &term.text);
                term.forms.extend(synonyms);
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
                info: english_background(&t.forms[..t.exact_forms]),
                exact_forms: t.exact_forms,
                text: t.source,
                forms: t.forms,
                follows: None,
                asked: t.asked_kind,
            });
        }
        terms
    }

    /// Works out once per question what each term can match and how much it weighs.
    fn prepare(&self, term: &Term, all: &[Term]) -> Prepared {
        let forms: Vec<Found> = term
            .forms
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let credit = if i < term.exact_forms {
                    1.0
                } else {
                    SYNONYM_CREDIT
                };
                self.find(f, credit)
            })
            .filter(|f| !f.units.is_empty())
            .collect();
        let completes = term.follows.as_ref().and_then(|previous| {
            let p = all.iter().position(|t| &t.text == previous)?;
            self.occurs(&format!("{previous}{}", term.text))
                .then_some(p)
        });
        let chars: Vec<char> = term.text.chars().filter(|c| text::is_cjk(*c)).collect();
        Prepared {
            weight: term.weight,
            asked: term.asked,
            info: term.info,
            query_weight: if completes.is_some() {
                NAME_PART_WEIGHT
            } else {
                1.0
            },
            pieces: if forms.is_empty() {
                self.pieces(&chars)
            } else {
                Vec::new()
            },
            char_units: if forms.is_empty() && chars.len() > 1 {
                chars
                    .iter()
                    .map(|c| self.find(&c.to_string(), 1.0).units)
                    .collect()
            } else {
                Vec::new()
            },
            forms,
            completes,
            text: term.text.clone(),
        }
    }

    /// The sentences and paragraphs that contain `form`.
    fn find(&self, form: &str, credit: f32) -> Found {
        let units = self.locator.units(form);
        let mut paragraphs: Vec<usize> = units.iter().map(|&u| self.units[u].paragraph).collect();
        paragraphs.dedup();
        Found {
            text: form.to_string(),
            credit,
            units,
            paragraphs,
        }
    }

    /// Runs of two or more ideographs of a word absent from the corpus that the corpus has,
    /// longest first, with the credit each earns (抗议 of 抗议者).
    fn pieces(&self, chars: &[char]) -> Vec<Found> {
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
            .map(|(piece, n)| self.find(&piece, 0.8 * n as f32 / chars.len() as f32))
            .filter(|f| !f.units.is_empty())
            .collect()
    }

    /// Share of the terms' weight × rarity found for a sentence: whole in the sentence (full
    /// credit), in its paragraph (most), or in part (a little). A term written right after
    /// another, with which it forms a string of the corpus (高市 + 早苗), shares that one's credit.
    /// Returns the coverage and the confidence: the same share with every informative word
    /// the corpus lacks altogether counted [`ABSENT_FACTOR`] times (evidence of another topic),
    /// lowered when the sentence does not offer what the question asks for — a number for 多少,
    /// or anything at all of a kind the corpus never names (什么牌子 where no brand is named).
    fn coverage(&self, terms: &[Prepared], unit: usize, offers: bool) -> (f32, f32) {
        let paragraph = self.units[unit].paragraph;
        let credit: Vec<f32> = terms.iter().map(|t| t.credit(unit, paragraph)).collect();
        let (mut found, mut total) = (0.0, 0.0);
        let (mut strict_found, mut strict_total) = (0.0, 0.0);
        for (i, term) in terms.iter().enumerate() {
            let c = term
                .completes
                .map_or(credit[i], |p| credit[i].max(credit[p]));
            let w = term.weight * term.info;
            total += w;
            found += w * c;
            // What was asked for counts fully: 什么音乐 is not answered by a sentence that
            // merely names the person.
            let strict = if term.asked {
                w / text::ASKED_KIND_WEIGHT
            } else {
                w
            };
            let strict = if term.is_absent() {
                strict * ABSENT_FACTOR
            } else {
                strict
            };
            strict_total += strict;
            strict_found += strict * c;
        }
        if total == 0.0 {
            return (0.0, 0.0);
        }
        let unnamed_kind = terms.iter().any(|t| t.asked && t.is_absent());
        let fit = match (offers, unnamed_kind) {
            (_, true) => UNNAMED_KIND_FACTOR,
            (false, false) => MISFIT_FACTOR,
            (true, false) => 1.0,
        };
        (found / total, fit * strict_found / strict_total)
    }

    fn occurs(&self, text: &str) -> bool {
        self.locator.contains(text)
    }
}

/// How informative an English word is, by the most informative of its Chinese translations
/// (japan → 日本 weighs little); 1 when none is Chinese (a name kept as itself).
fn english_background(forms: &[String]) -> f32 {
    forms
        .iter()
        .filter(|f| f.chars().any(text::is_cjk))
        .map(|f| text::background_weight(f))
        .reduce(f32::max)
        .unwrap_or(1.0)
}

/// Where strings occur: a suffix table over all normalised sentences, one per line.
struct Locator {
    table: SuffixTable<'static, 'static>,
    /// Byte offset where each unit's sentence starts.
    starts: Vec<u32>,
}

impl Locator {
    fn new(units: &[UnitText]) -> Locator {
        let mut text = String::new();
        let mut starts = Vec::with_capacity(units.len());
        for unit in units {
            starts.push(text.len() as u32);
            text.push_str(&unit.sentence);
            text.push('\n');
        }
        Locator {
            table: SuffixTable::new(text),
            starts,
        }
    }

    fn contains(&self, needle: &str) -> bool {
        !needle.is_empty() && !needle.contains('\n') && self.table.contains(needle)
    }

    /// Indices of the units whose sentence contains `needle`, ascending.
    fn units(&self, needle: &str) -> Vec<usize> {
        if !self.contains(needle) {
            return Vec::new();
        }
        let mut units: Vec<usize> = self
            .table
            .positions(needle)
            .iter()
            .map(|&at| self.starts.partition_point(|&s| s <= at) - 1)
            .collect();
        units.sort_unstable();
        units.dedup();
        units
    }
}

/// A string of the corpus and where it occurs.
struct Found {
    text: String,
    /// Credit earned when it is in the sentence.
    credit: f32,
    /// Units containing it, ascending.
    units: Vec<usize>,
    /// Paragraphs containing it, ascending.
    paragraphs: Vec<usize>,
}

/// A question term made ready for scoring.
struct Prepared {
    /// The term as asked.
    text: String,
    /// Importance in the question.
    weight: f32,
    /// Informativeness in everyday language.
    info: f32,
    /// Names the kind of answer asked for.
    asked: bool,
    /// Weight factor in the BM25 query.
    query_weight: f32,
    /// Forms the corpus has.
    forms: Vec<Found>,
    /// For a word the corpus lacks: its pieces the corpus has.
    pieces: Vec<Found>,
    /// For a word the corpus lacks: the units containing each of its ideographs.
    char_units: Vec<Vec<usize>>,
    /// The term before it, when together they form a corpus string (高市 + 早苗).
    completes: Option<usize>,
}

impl Prepared {
    /// True for an informative word of which the corpus has no form, piece or synonym.
    fn is_absent(&self) -> bool {
        self.forms.is_empty() && self.pieces.is_empty() && self.info >= ABSENT_INFO
    }

    fn credit(&self, unit: usize, paragraph: usize) -> f32 {
        let mut best: f32 = 0.0;
        for form in &self.forms {
            if form.units.binary_search(&unit).is_ok() {
                return form.credit;
            }
            if form.paragraphs.binary_search(&paragraph).is_ok() {
                best = best.max(form.credit * PARAGRAPH_CREDIT);
            }
        }
        if best > 0.0 || self.char_units.is_empty() {
            return best;
        }
        if let Some(piece) = self
            .pieces
            .iter()
            .find(|p| p.units.binary_search(&unit).is_ok())
        {
            return piece.credit;
        }
        let hits = self
            .char_units
            .iter()
            .filter(|u| u.binary_search(&unit).is_ok())
            .count();
        0.25 * hits as f32 / self.char_units.len() as f32
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
                weight: t.weight * share * t.query_weight * form.credit,
                whole_word: true,
            });
        }
        if t.forms.is_empty() && !t.char_units.is_empty() {
            query.push(QueryTerm {
                text: t.text.clone(),
                weight: t.weight,
                whole_word: false,
            });
        }
    }
    query
}
