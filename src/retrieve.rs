//! Retrieval: a question (and an optional previous question as context) → scored sentences
//! of body paragraphs, with how much of the question the best evidence covers.

use std::sync::Arc;

use jieba_rs::Jieba;

use crate::corpus::{Article, Script};
use crate::error::Result;
use crate::index::{QueryTerm, SearchIndex, Unit};
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
    /// Ranking score (BM25, scaled by coverage).
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
    index: SearchIndex,
    units: Vec<UnitText>,
    /// Normalised body paragraphs, for rarity (idf) and coverage.
    paragraphs: Vec<String>,
}

impl Retriever {
    /// Indexes every sentence of every body paragraph.
    pub fn build(jieba: Arc<Jieba>, articles: &[Article]) -> Result<Retriever> {
        let mut units = Vec::new();
        let mut raw = Vec::new();
        let mut paragraphs = Vec::new();
        for (a, article) in articles.iter().enumerate() {
            for (b, block) in article.blocks.iter().enumerate() {
                if block.kind != crate::corpus::BlockKind::Body {
                    continue;
                }
                paragraphs.push(text::normalize(&block.text));
                for (s, sentence) in block.sentences.iter().enumerate() {
                    raw.push(Unit {
                        sentence,
                        paragraph: &block.text,
                    });
                    units.push(UnitText {
                        at: Location {
                            article: a,
                            block: b,
                            sentence: s,
                        },
                        sentence: text::normalize(sentence),
                        paragraph: paragraphs.len() - 1,
                    });
                }
            }
        }
        let index = SearchIndex::build(jieba.clone(), &raw)?;
        Ok(Retriever {
            jieba,
            index,
            units,
            paragraphs,
        })
    }

    /// Finds the sentences that best answer `question`, using `context` (the previous
    /// question of a conversation) at a lower weight.
    pub fn retrieve(&self, question: &str, context: Option<&str>) -> Result<Retrieval> {
        let script = text::detect_script(question);
        let mut terms = text::question_terms(&self.jieba, &text::normalize(question));
        if let Some(previous) = context {
            for mut t in text::question_terms(&self.jieba, &text::normalize(previous)) {
                if !terms.iter().any(|own| own.text == t.text) {
                    t.weight *= CONTEXT_WEIGHT;
                    terms.push(t);
                }
            }
        }
        let idf: Vec<f32> = terms.iter().map(|t| self.idf(&t.text)).collect();
        let query: Vec<QueryTerm> = terms
            .iter()
            .map(|t| QueryTerm {
                text: t.text.clone(),
                weight: t.weight,
            })
            .collect();
        let mut hits: Vec<Scored> = self
            .index
            .search(&query, CANDIDATES)?
            .into_iter()
            .map(|hit| {
                let unit = &self.units[hit.unit];
                let coverage = self.coverage(&terms, &idf, unit);
                Scored {
                    at: unit.at.clone(),
                    score: hit.score * (0.25 + coverage),
                    coverage,
                }
            })
            .collect();
        hits.sort_by(|a, b| b.score.total_cmp(&a.score));
        Ok(Retrieval {
            script,
            terms,
            hits,
        })
    }

    /// Rarity of a term across body paragraphs (substring match, so segmentation cannot hide it).
    fn idf(&self, term: &str) -> f32 {
        let n = self.paragraphs.len() as f32;
        let df = self.paragraphs.iter().filter(|p| p.contains(term)).count() as f32;
        (1.0 + n / (1.0 + df)).ln()
    }

    /// Share of the terms' weight × rarity found in the sentence (full credit), its paragraph
    /// (most credit), or only as characters of the sentence (a little credit).
    fn coverage(&self, terms: &[Term], idf: &[f32], unit: &UnitText) -> f32 {
        let paragraph = &self.paragraphs[unit.paragraph];
        let (mut found, mut total) = (0.0, 0.0);
        for (term, idf) in terms.iter().zip(idf) {
            let w = term.weight * idf;
            total += w;
            found += w * if unit.sentence.contains(&term.text) {
                1.0
            } else if paragraph.contains(&term.text) {
                0.7
            } else {
                0.5 * char_share(&term.text, &unit.sentence)
            };
        }
        if total == 0.0 {
            0.0
        } else {
            found / total
        }
    }
}

/// Share of a word's ideographs that occur in `text`; 0 for Latin words (they match whole or not at all).
fn char_share(word: &str, text: &str) -> f32 {
    let chars: Vec<char> = word.chars().filter(|c| text::is_cjk(*c)).collect();
    if chars.is_empty() {
        return 0.0;
    }
    let hits = chars.iter().filter(|c| text.contains(**c)).count();
    hits as f32 / chars.len() as f32
}
