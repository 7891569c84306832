//! Fusion: the word ranking and the two meaning rankings (sentences, and the paragraphs they
//! stand in) → one order of candidate sentences. Its form is weighted reciprocal rank; the
//! weights are fitted by `summit-qa calibrate` and kept in the decision file.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::Scored;

/// How the rankings are fused: score = (1/(k+1+word rank) + sentence_weight/(k+1+sentence
/// rank) + paragraph_weight/(k+1+paragraph rank)) × fit^fit_power.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Fusion {
    /// The rank offset: small values trust the first places more.
    pub k: f32,
    /// Weight of the sentence meaning ranking against the word ranking's 1.
    pub sentence_weight: f32,
    /// Weight of the paragraph meaning ranking.
    pub paragraph_weight: f32,
    /// How much offering what is asked (a number for 多少) counts: the power of the fit.
    pub fit_power: f32,
}

impl Default for Fusion {
    /// Words and sentence meaning only, meaning at half weight (used without a decision file).
    fn default() -> Self {
        Fusion {
            k: 5.0,
            sentence_weight: 0.5,
            paragraph_weight: 0.0,
            fit_power: 1.0,
        }
    }
}

impl Fusion {
    /// The forms `calibrate` chooses among.
    pub fn grid() -> Vec<Fusion> {
        let mut grid = Vec::new();
        for k in [1.0, 5.0, 20.0, 60.0] {
            for sentence_weight in [0.5, 1.0] {
                for paragraph_weight in [0.0, 0.5, 1.0] {
                    for fit_power in [1.0, 2.0, 3.0] {
                        grid.push(Fusion {
                            k,
                            sentence_weight,
                            paragraph_weight,
                            fit_power,
                        });
                    }
                }
            }
        }
        grid
    }
}

/// A sentence (catalog position, block, sentence) with its cosine to the question.
pub(crate) type Near = ((usize, usize, usize), f32);
/// A paragraph (catalog position, block) with its cosine to the question.
pub(crate) type NearParagraph = ((usize, usize), f32);

/// The meaning rankings of one question: every sentence and every paragraph, closest first
/// (both empty without the model).
#[derive(Debug, Clone, Default)]
pub(crate) struct Meaning {
    /// Sentences, closest first.
    pub sentences: Vec<Near>,
    /// Paragraphs, closest first.
    pub paragraphs: Vec<NearParagraph>,
}

impl Meaning {
    /// True without the model.
    pub fn is_empty(&self) -> bool {
        self.sentences.is_empty()
    }

    /// The best cosine of any sentence (0 without the model).
    pub fn best(&self) -> f32 {
        self.sentences.first().map_or(0.0, |n| n.1)
    }

    /// The median cosine of the sentences: how close the corpus as a whole is.
    pub fn median(&self) -> f32 {
        self.sentences
            .get(self.sentences.len() / 2)
            .map_or(0.0, |n| n.1)
    }

    /// The best cosine of any paragraph.
    pub fn best_paragraph(&self) -> f32 {
        self.paragraphs.first().map_or(0.0, |n| n.1)
    }
}

/// Orders `hits` by the fused score (best first), setting each hit's `score`, `similarity`,
/// `paragraph_similarity` and ranks. A sentence found by meaning alone has no word rank.
/// Without the model, the word ranking (× fit) stands.
pub(crate) fn fuse(hits: &mut [Scored], meaning: &Meaning, fusion: &Fusion) {
    let mut by_words: Vec<f32> = hits.iter().map(|h| h.words).filter(|&w| w > 0.0).collect();
    by_words.sort_by(|a, b| b.total_cmp(a));
    let sentence_rank: HashMap<(usize, usize, usize), (usize, f32)> = meaning
        .sentences
        .iter()
        .enumerate()
        .map(|(rank, &(at, cosine))| (at, (rank, cosine)))
        .collect();
    let paragraph_rank: HashMap<(usize, usize), (usize, f32)> = meaning
        .paragraphs
        .iter()
        .enumerate()
        .map(|(rank, &(at, cosine))| (at, (rank, cosine)))
        .collect();
    let part = |weight: f32, rank: usize| weight / (fusion.k + 1.0 + rank as f32);
    for hit in hits.iter_mut() {
        hit.word_rank = by_words
            .iter()
            .position(|&x| x == hit.words)
            .filter(|_| hit.words > 0.0);
        if meaning.is_empty() {
            hit.score = hit.words * hit.fit;
            continue;
        }
        let (rank, cosine) = sentence_rank
            .get(&(hit.at.article, hit.at.block, hit.at.sentence))
            .copied()
            .unwrap_or((meaning.sentences.len(), 0.0));
        let (prank, pcosine) = paragraph_rank
            .get(&(hit.at.article, hit.at.block))
            .copied()
            .unwrap_or((meaning.paragraphs.len(), 0.0));
        hit.similarity = cosine;
        hit.meaning_rank = rank;
        hit.paragraph_similarity = pcosine;
        let words = hit.word_rank.map_or(0.0, |r| part(1.0, r));
        hit.score =
            (words + part(fusion.sentence_weight, rank) + part(fusion.paragraph_weight, prank))
                * hit.fit.powf(fusion.fit_power);
    }
    hits.sort_by(|a, b| b.score.total_cmp(&a.score));
    offering_first(hits);
}

/// Places within [`OFFERING_REACH`] of the top from which a hit that offers the kind of detail
/// asked (a number for 多少) goes first when the top one does not.
const OFFERING_REACH: usize = 3;

/// Moves the best hit that offers what is asked to the front when the top hit does not and
/// it is among the first [`OFFERING_REACH`]: the answer leads with the number asked for.
fn offering_first(hits: &mut [Scored]) {
    if hits.first().is_none_or(|h| h.offers != Some(false)) {
        return;
    }
    let reach = hits.len().min(OFFERING_REACH);
    if let Some(at) = hits[..reach].iter().position(|h| h.offers == Some(true)) {
        hits[..=at].rotate_right(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::retrieve::Location;

    fn scored(block: usize, words: f32, fit: f32) -> Scored {
        Scored {
            at: Location {
                article: 0,
                block,
                sentence: 0,
            },
            words,
            fit,
            coverage: 0.5,
            confidence: 0.5,
            about: 0.5,
            ..Scored::default()
        }
    }

    fn meaning(sentences: Vec<Near>) -> Meaning {
        let paragraphs = sentences
            .iter()
            .map(|&((a, b, _), c)| ((a, b), c))
            .collect();
        Meaning {
            sentences,
            paragraphs,
        }
    }

    #[test]
    fn meaning_reorders_close_words_and_keeps_meaning_alone_behind() {
        // Sentence 1 is best by words but sixth by meaning; 2 is second by words and first by
        // meaning; 3 is found by meaning alone (second).
        let mut hits = vec![
            scored(1, 9.0, 1.0),
            scored(2, 8.0, 1.0),
            scored(3, 0.0, 1.0),
        ];
        let near = meaning(vec![
            ((0, 2, 0), 0.9),
            ((0, 3, 0), 0.88),
            ((0, 4, 0), 0.87),
            ((0, 5, 0), 0.86),
            ((0, 6, 0), 0.85),
            ((0, 1, 0), 0.7),
        ]);
        fuse(&mut hits, &near, &Fusion::default());
        let order: Vec<usize> = hits.iter().map(|h| h.at.block).collect();
        assert_eq!(order, vec![2, 1, 3]);
        assert_eq!(hits[0].similarity, 0.9);
        assert_eq!(hits[1].similarity, 0.7);
        assert_eq!((hits[0].word_rank, hits[2].word_rank), (Some(1), None));
        // The fit to what is asked (a number for 多少) still multiplies.
        let mut hits = vec![scored(1, 9.0, 1.0), scored(2, 8.0, 1.5)];
        fuse(
            &mut hits,
            &meaning(vec![((0, 1, 0), 0.9), ((0, 2, 0), 0.8)]),
            &Fusion::default(),
        );
        assert_eq!(hits[0].at.block, 2);
    }

    #[test]
    fn a_close_paragraph_lifts_its_sentence_when_weighted() {
        let mut hits = vec![scored(1, 9.0, 1.0), scored(2, 8.0, 1.0)];
        let mut near = meaning(vec![((0, 1, 0), 0.8), ((0, 2, 0), 0.79)]);
        near.paragraphs = vec![((0, 2), 0.9), ((0, 1), 0.5)];
        fuse(&mut hits, &near, &Fusion::default());
        assert_eq!(hits[0].at.block, 1, "paragraphs weigh nothing by default");
        let fusion = Fusion {
            paragraph_weight: 2.0,
            ..Fusion::default()
        };
        fuse(&mut hits, &near, &fusion);
        assert_eq!(hits[0].at.block, 2);
        assert_eq!(hits[0].paragraph_similarity, 0.9);
    }

    #[test]
    fn a_hit_offering_what_is_asked_leads_when_close_to_the_top() {
        let mut hits: Vec<Scored> = (1..=4).map(|b| scored(b, 10.0 - b as f32, 1.0)).collect();
        hits[0].offers = Some(false);
        hits[1].offers = Some(false);
        hits[2].offers = Some(true);
        offering_first(&mut hits);
        let order: Vec<usize> = hits.iter().map(|h| h.at.block).collect();
        assert_eq!(order, vec![3, 1, 2, 4]);
        // Beyond the first three, or with nothing asked, the order stands.
        let mut far: Vec<Scored> = (1..=4).map(|b| scored(b, 10.0 - b as f32, 1.0)).collect();
        far[0].offers = Some(false);
        far[3].offers = Some(true);
        offering_first(&mut far);
        assert_eq!(far[0].at.block, 1);
    }

    #[test]
    fn without_the_model_the_word_ranking_stands() {
        let mut hits = vec![scored(2, 8.0, 1.0), scored(1, 9.0, 1.0)];
        fuse(&mut hits, &Meaning::default(), &Fusion::default());
        assert_eq!((hits[0].score, hits[1].score), (9.0, 8.0));
    }
}
