//! Word evidence: how a sentence covers the question's terms — the terms made ready for
//! scoring, where a form stands in a sentence, coverage and confidence, the word query.

use super::*;

/// The prefix that makes a title someone's former one (前首相, 前总统).
pub(super) const FORMER: char = '前';

/// True when `form` occurs in `text`, and only right after [`FORMER`]: the text speaks of a
/// former holder of the title, not of the present one.
pub(super) fn only_as_former(form: &str, text: &str) -> bool {
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
pub(super) fn absent_share(terms: &[Prepared]) -> f32 {
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
pub(super) fn subject_forms(terms: &[Prepared]) -> Vec<&str> {
    terms
        .iter()
        .filter(|t| !t.asked && !t.counted && !t.ubiquitous)
        .flat_map(|t| t.forms.iter().map(|f| f.text.as_str()))
        .collect()
}

/// True for a word that can be the second part of a name (早苗, 稔): rare, and not a word of the
/// dictionary unless a single character (大米 and 经济界 are words of their own).
pub(super) fn is_name_part(term: &Term) -> bool {
    term.info >= NAME_PART_INFO
        && (term.text.chars().count() == 1 || !text::is_dictionary_word(&term.text))
}

/// The question's most informative term that the corpus has: whom a "who is" question asks
/// about.
pub(super) fn subject(terms: &[Prepared]) -> Option<&Prepared> {
    terms
        .iter()
        .filter(|t| !t.forms.is_empty())
        .max_by(|a, b| (a.weight * a.info).total_cmp(&(b.weight * b.info)))
}

/// True when the sentence at `at` is where its article first mentions `subject`: where a
/// writer introduces a person (官房长官木原稔).
pub(super) fn introduces(article: &Loaded, at: &Location, subject: &Prepared) -> bool {
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
pub(super) fn coverage(
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
pub(super) const SPREAD_GAP: usize = 3;

/// True when `chars` occur in `sentence` in order, each within [`SPREAD_GAP`] characters of the
/// one before (先见 in 先行会见).
pub(super) fn spread_in(chars: &[char], sentence: &str) -> bool {
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
pub(super) fn english_background(forms: &[String]) -> Option<f32> {
    forms
        .iter()
        .filter(|f| f.chars().any(text::is_cjk))
        .map(|f| text::background_weight(f))
        .reduce(f32::max)
}

/// A string the corpus has, and the credit a sentence containing it earns.
pub(super) struct Found {
    pub(super) text: String,
    /// Searches for `text` (built once per question, used on every candidate).
    pub(super) finder: memmem::Finder<'static>,
    /// Credit earned when it is in the sentence.
    pub(super) credit: f32,
    /// Factor on its weight in the BM25 query.
    pub(super) query_factor: f32,
    /// Counts only where a word ends with it (see [`Found::place_in`]).
    pub(super) head_only: bool,
    /// A name or a shortening with no meaning of its own (三菱, 读卖): at the start of a longer
    /// word (三菱重工, 读卖新闻) it still names the same thing.
    pub(super) names_whole: bool,
    /// Counts fully only as a word of its own, not as the end of a longer one.
    pub(super) alone_only: bool,
}

impl Found {
    pub(super) fn new(text: String, credit: f32) -> Found {
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
    pub(super) fn is_in(&self, haystack: &str) -> bool {
        self.finder.find(haystack.as_bytes()).is_some()
    }

    /// Where the string is in `sentence` (see [`Place`]); a place where it ends a word wins
    /// over one inside a longer word, and that over one across two words.
    pub(super) fn place_in(&self, sentence: Sentence<'_>) -> Place {
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
pub(super) enum Place {
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
pub(super) struct Prepared {
    /// The term as asked.
    pub(super) text: String,
    /// True when the question itself says "former" of it (前首相).
    pub(super) former: bool,
    /// Importance in the question.
    pub(super) weight: f32,
    /// Informativeness in everyday language.
    pub(super) info: f32,
    /// Written all over the corpus (see [`Retriever::ubiquitous`]).
    pub(super) ubiquitous: bool,
    /// Names the kind of answer asked for.
    pub(super) asked: bool,
    /// The unit a how-many question counts: found only right after a number.
    pub(super) counted: bool,
    /// Weight factor in the BM25 query.
    pub(super) query_weight: f32,
    /// Forms the corpus has.
    pub(super) forms: Vec<Found>,
    /// For a word the corpus lacks: its pieces the corpus has.
    pub(super) pieces: Vec<Found>,
    /// For a word the corpus lacks (two or more ideographs): its ideographs.
    pub(super) chars: Vec<char>,
    /// The term before it, when together they form a corpus string (高市 + 早苗).
    pub(super) completes: Option<usize>,
}

impl Prepared {
    /// True for an informative word of which the corpus has no form, piece or synonym.
    pub(super) fn is_absent(&self) -> bool {
        self.forms.is_empty() && self.pieces.is_empty() && self.info >= ABSENT_INFO
    }

    /// Credit a sentence (normalised, with its paragraph's sentences joined by line breaks)
    /// earns for this term: whole in the sentence, in its paragraph, a piece of it, or some
    /// of its ideographs. A form found only as the first part of a longer word (大使 in
    /// 大使馆, 棒球 in 棒球帽) names something else and earns [`MODIFIER_CREDIT`] of it; as the
    /// last part it is still that thing (税 in 所得税).
    pub(super) fn credit(&self, sentence: Sentence<'_>, paragraph: &str) -> f32 {
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
pub(super) fn query(terms: &[Prepared]) -> Vec<QueryTerm> {
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
