//! Retrieval: a question (and an optional previous question as context) → scored sentences
//! of body paragraphs, with how much of the question the best evidence covers.

use std::collections::BTreeSet;
use std::sync::Arc;

use jieba_rs::Jieba;

use crate::corpus::{Article, BlockKind, Script};
use crate::error::Result;
use crate::index::{QueryTerm, SearchIndex, Unit};
use crate::lexicon::{Bridge, Glossary, Lexicon};
use crate::text::{self, Term};

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
    /// Rarity-weighted share of the question's terms found in the sentence or its paragraph.
    pub coverage: f32,
}

/// What retrieval found for one question.
#[derive(Debug, Clone)]
pub struct Retrieval {
    /// Script of the question (labels follow it).
    pub script: Script,
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
const CANDIDATES: usize = 40;

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
    /// Normalised body paragraphs, for rarity (idf) and coverage.
    paragraphs: Vec<String>,
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
                    raw.push(Unit {
                        sentence,
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
        let index = SearchIndex::build(jieba.clone(), &raw)?;
        let vocabulary: BTreeSet<&str> = paragraphs
            .iter()
            .flat_map(|p| text::words(&jieba, p))
            .collect();
        let lexicon = Lexicon::embedded();
        let bridge = Bridge::build(&lexicon, vocabulary, glossary);
        Ok(Retriever {
            jieba,
            lexicon,
            bridge,
            index,
            units,
            paragraphs,
        })
    }

    /// Finds the sentences that best answer `question`, using `context` (the previous
    /// question of a conversation) at a lower weight.
    pub fn retrieve(&self, question: &str, context: Option<&str>) -> Result<Retrieval> {
        let normalized = text::normalize(question);
        let expects = text::expects(&normalized);
        let mut terms = self.terms(&normalized);
        if let Some(previous) = context {
            for mut t in self.terms(&text::normalize(previous)) {
                if !terms.iter().any(|own| own.text == t.text) {
                    t.weight *= CONTEXT_WEIGHT;
                    terms.push(t);
                }
            }
        }
        let idf: Vec<f32> = terms.iter().map(|t| self.idf(&t.forms)).collect();
        let mut hits: Vec<Scored> = self
            .index
            .search(&self.query(&terms), CANDIDATES)?
            .into_iter()
            .map(|hit| {
                let unit = &self.units[hit.unit];
                let coverage = self.coverage(&terms, &idf, unit);
                let fits = expects.is_some_and(|e| text::offers(e, &unit.sentence));
                let prior = if fits { EXPECTED_TYPE_BONUS } else { 1.0 };
                Scored {
                    at: unit.at.clone(),
                    score: hit.score * (0.25 + coverage) * prior,
                    coverage,
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

    /// The question's terms: Chinese words (with synonyms when the corpus lacks the word)
    /// and English words or phrases translated into the corpus's words.
    fn terms(&self, normalized: &str) -> Vec<Term> {
        let mut terms: Vec<Term> = text::question_terms(&self.jieba, normalized)
            .into_iter()
            .filter(|t| !t.text.chars().all(|c| c.is_ascii_alphanumeric() || c == '\''))
            .collect();
        for term in &mut terms {
            if !self.occurs(&term.text) {
                term.forms.extend(self.bridge.synonyms(&self.lexicon, &term.text));
            }
        }
        for t in self.bridge.translate(normalized) {
            terms.push(Term {
                exact_forms: t.exact_forms,
                text: t.source,
                forms: t.forms,
                weight: if t.asked_kind {
                    text::ASKED_KIND_WEIGHT
                } else {
                    1.0
                },
                follows: None,
            });
        }
        terms
    }

    /// One query term per form; a term's weight is shared among the forms the corpus has.
    fn query(&self, terms: &[Term]) -> Vec<QueryTerm> {
        let mut query = Vec::new();
        for t in terms {
            let present: Vec<&String> = t.forms.iter().filter(|f| self.occurs(f)).collect();
            let share = 1.0 / (present.len().max(1) as f32).sqrt();
            let part = if self.completes_previous(t) {
                NAME_PART_WEIGHT
            } else {
                1.0
            };
            for form in present {
                query.push(QueryTerm {
                    text: form.clone(),
                    weight: t.weight * share * part,
                });
            }
        }
        query
    }

    /// Rarity of a term across body paragraphs: paragraphs containing any of its forms
    /// (substring match, so segmentation cannot hide it).
    fn idf(&self, forms: &[String]) -> f32 {
        let n = self.paragraphs.len() as f32;
        let df = self
            .paragraphs
            .iter()
            .filter(|p| forms.iter().any(|f| p.contains(f.as_str())))
            .count() as f32;
        (1.0 + n / (1.0 + df)).ln()
    }

    /// Share of the terms' weight × rarity found for a sentence: whole in the sentence (full
    /// credit), in its paragraph (most), or in part (a little). A term written right after
    /// another, with which it forms a string of the corpus (高市 + 早苗), shares that one's credit.
    fn coverage(&self, terms: &[Term], idf: &[f32], unit: &UnitText) -> f32 {
        let paragraph = &self.paragraphs[unit.paragraph];
        let credit: Vec<f32> = terms
            .iter()
            .map(|t| {
                t.forms
                    .iter()
                    .enumerate()
                    .map(|(i, form)| {
                        let c = if unit.sentence.contains(form.as_str()) {
                            1.0
                        } else if paragraph.contains(form.as_str()) {
                            PARAGRAPH_CREDIT
                        } else {
                            partial_credit(form, &unit.sentence)
                        };
                        if i < t.exact_forms {
                            c
                        } else {
                            c * SYNONYM_CREDIT
                        }
                    })
                    .fold(0.0, f32::max)
            })
            .collect();
        let (mut found, mut total) = (0.0, 0.0);
        for (i, term) in terms.iter().enumerate() {
            let mut c = credit[i];
            if let Some(previous) = term.follows.as_ref().filter(|_| self.completes_previous(term)) {
                if let Some(p) = terms.iter().position(|t| &t.text == previous) {
                    c = c.max(credit[p]);
                }
            }
            let w = term.weight * idf[i];
            total += w;
            found += w * c;
        }
        if total == 0.0 {
            0.0
        } else {
            found / total
        }
    }

    /// True when the term and the word written before it form one string of the corpus
    /// (高市 + 早苗): the term then adds little beyond its predecessor.
    fn completes_previous(&self, term: &Term) -> bool {
        term.follows
            .as_ref()
            .is_some_and(|p| self.occurs(&format!("{p}{}", term.text)))
    }

    fn occurs(&self, text: &str) -> bool {
        self.paragraphs.iter().any(|p| p.contains(text))
    }
}

/// Credit for a word not found whole: the longest run of its ideographs (two or more) found
/// in the text, scaled down; a lone shared character counts for little (送 of 送给 in 赠送).
fn partial_credit(word: &str, text: &str) -> f32 {
    let chars: Vec<char> = word.chars().collect();
    if chars.len() < 2 || !chars.iter().all(|c| text::is_cjk(*c)) {
        return 0.0;
    }
    let longest = (2..chars.len())
        .rev()
        .find(|&n| chars.windows(n).any(|w| text.contains(&w.iter().collect::<String>())));
    match longest {
        Some(n) => 0.8 * n as f32 / chars.len() as f32,
        None => 0.25 * char_share(&chars, text),
    }
}

/// Share of the characters that occur in `text`.
fn char_share(chars: &[char], text: &str) -> f32 {
    let hits = chars.iter().filter(|c| text.contains(**c)).count();
    hits as f32 / chars.len() as f32
}
