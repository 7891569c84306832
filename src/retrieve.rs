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
/// Score factor for a sentence that offers what the question asks for (a number, a date).
const EXPECTED_TYPE_BONUS: f32 = 1.5;
/// Query weight of a word that completes the one before it into a corpus string (早苗 after 高市).
const NAME_PART_WEIGHT: f32 = 0.3;
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
        let normalized = text::normalize(question);
        let expects = text::expects(&normalized);
        let mut terms = text::question_terms(&self.jieba, &normalized);
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
                weight: t.weight * if self.completes_previous(t) { NAME_PART_WEIGHT } else { 1.0 },
            })
            .collect();
        let mut hits: Vec<Scored> = self
            .index
            .search(&query, CANDIDATES)?
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
        tracing::debug!(?terms, top = ?hits.iter().take(5).map(|h| (h.at.article, h.at.block, h.at.sentence, h.score, h.coverage)).collect::<Vec<_>>(), "retrieved");
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

    /// Share of the terms' weight × rarity found for a sentence: whole in the sentence (full
    /// credit), in its paragraph (most), or in part (a little). A term written right after
    /// another, with which it forms a string of the corpus (高市 + 早苗), shares that one's credit.
    fn coverage(&self, terms: &[Term], idf: &[f32], unit: &UnitText) -> f32 {
        let paragraph = &self.paragraphs[unit.paragraph];
        let credit: Vec<f32> = terms
            .iter()
            .map(|t| {
                if unit.sentence.contains(&t.text) {
                    1.0
                } else if paragraph.contains(&t.text) {
                    0.7
                } else {
                    partial_credit(&t.text, &unit.sentence)
                }
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
        None => 0.25 * char_share(word, text),
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
