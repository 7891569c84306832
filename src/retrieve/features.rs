//! Features: what one retrieval shows about whether its best passage answers the question,
//! as named numbers the answer decision weighs (see [`super::decision`]).

use crate::corpus::Script;
use crate::text::Kind;

use super::intents::Nearest;
use super::Retrieval;

/// The features' names, in the order of [`Features::values`]; the decision file lists them
/// too, so a file fitted on other features is refused.
pub const NAMES: [&str; 27] = [
    "confidence",
    "confidence_top3",
    "confidence_max",
    "confident",
    "coverage",
    "about",
    "cosine",
    "paragraph_cosine",
    "best_cosine",
    "best_paragraph_cosine",
    "cosine_margin",
    "top_by_words",
    "rankings_agree",
    "meaning_rank",
    "score_margin",
    "asks_kind",
    "offers_kind",
    "absent",
    "english",
    "traditional",
    "length",
    "terms",
    "asks_who_or_what",
    "asks_why_or_list",
    "general_cosine",
    "talk_cosine",
    "corpus_lead",
];

/// The confidence from which the word evidence alone answered before the decision was fitted
/// (`answer.min_confidence`'s default): whether some passage reaches it is a feature.
const CONFIDENT: f32 = 0.5;

/// The features of one retrieval.
#[derive(Debug, Clone, PartialEq)]
pub struct Features {
    /// One value per name of [`NAMES`].
    pub values: [f32; NAMES.len()],
}

impl Features {
    /// The features of `retrieval` for `question` (as asked, before normalisation), whose
    /// nearest exemplars are `nearest`.
    pub fn of(retrieval: &Retrieval, question: &str, nearest: Nearest) -> Features {
        let hits = &retrieval.hits;
        let top = hits.first();
        let get = |f: fn(&super::Scored) -> f32| top.map_or(0.0, f);
        let confidence_top3 = hits
            .iter()
            .take(3)
            .map(|h| h.confidence)
            .fold(0.0, f32::max);
        let about = hits.iter().map(|h| h.about).fold(0.0, f32::max);
        let confidence_max = hits.iter().map(|h| h.confidence).fold(0.0, f32::max);
        let top_by_words = top.and_then(|h| h.word_rank).is_some_and(|r| r < 3);
        let agree = top_by_words && top.is_some_and(|h| h.meaning_rank < 3);
        let score_margin = match (hits.first(), hits.get(1)) {
            (Some(a), Some(b)) if a.score > 0.0 => (a.score - b.score) / a.score,
            (Some(_), None) => 1.0,
            _ => 0.0,
        };
        let closeness = retrieval.closeness;
        let flag = |b: bool| if b { 1.0 } else { 0.0 };
        let chars = question.chars().filter(|c| !c.is_whitespace()).count();
        Features {
            values: [
                get(|h| h.confidence),
                confidence_top3,
                confidence_max,
                flag(confidence_max >= CONFIDENT),
                get(|h| h.coverage),
                about,
                get(|h| h.similarity),
                get(|h| h.paragraph_similarity),
                closeness.best,
                closeness.best_paragraph,
                closeness.best - closeness.median,
                flag(top_by_words),
                flag(agree),
                get(|h| (1.0 + h.meaning_rank as f32).ln()),
                score_margin,
                flag(top.is_some_and(|h| h.offers.is_some())),
                flag(top.is_some_and(|h| h.offers == Some(true))),
                retrieval.absent,
                flag(retrieval.script == Script::Latin),
                flag(retrieval.script == Script::Hant),
                (1.0 + chars as f32).ln(),
                (1.0 + retrieval.terms.len() as f32).ln(),
                flag(retrieval.kind == Kind::Entity),
                flag(matches!(
                    retrieval.kind,
                    Kind::Reason | Kind::List | Kind::Topic
                )),
                nearest.general,
                nearest.talk,
                closeness.best - nearest.general.max(nearest.talk),
            ],
        }
    }
}
