//! Text handling shared by indexing and querying: one normalised form (NFKC width folding,
//! Traditional → Simplified, lowercase Latin), script detection, word segmentation with jieba
//! and character n-grams. Pure functions; the jieba dictionary is loaded once by the caller.

use std::collections::HashSet;
use std::sync::{Arc, LazyLock, OnceLock};

use aho_corasick::AhoCorasick;
use jieba_rs::Jieba;
use unicode_normalization::UnicodeNormalization;

use crate::corpus::Script;

mod question;
mod small_talk;

pub use question::{
    background_weight, enumerates, is_function_word, is_proper_noun, is_resultative, is_yes_no,
    kind, reasons, standardize, Kind,
};
pub(crate) use question::{is_counted_unit, is_dictionary_word, is_noun};
pub use small_talk::{small_talk, without_small_talk, Talk};

/// Folds text to the one form used for indexing and matching: NFKC (full-width ，５５００ →
/// half-width), Traditional → Simplified, lowercase. Display always uses the original.
pub fn normalize(text: &str) -> String {
    let folded: String = text.nfkc().collect();
    fast2s::convert(&folded).to_lowercase()
}

/// Guesses the script of a question: Latin when it has no CJK character, Traditional when
/// converting to Simplified changes it (or it uses forms that only Traditional text uses).
pub fn detect_script(text: &str) -> Script {
    let cjk = text.chars().filter(|c| is_cjk(*c)).count();
    if cjk == 0 {
        return Script::Latin;
    }
    let changed = text
        .chars()
        .filter(|c| is_cjk(*c))
        .zip(fast2s::convert(text).chars().filter(|c| is_cjk(*c)))
        .filter(|(a, b)| a != b)
        .count();
    if changed > 0 {
        Script::Hant
    } else {
        Script::Hans
    }
}

/// True for CJK ideographs (the characters n-grams are built from).
pub fn is_cjk(c: char) -> bool {
    matches!(c,
        '\u{3400}'..='\u{4dbf}' | '\u{4e00}'..='\u{9fff}' | '\u{f900}'..='\u{faff}'
        | '\u{20000}'..='\u{2ffff}' | '〇')
}

/// A token worth indexing: it has at least one letter, digit or ideograph.
fn is_word(token: &str) -> bool {
    token.chars().any(char::is_alphanumeric)
}

/// Segments already-normalised text into words with jieba (precise mode), dropping spaces
/// and punctuation. Latin words and numbers stay whole (`5500`, `gdp`, `quad`).
pub fn words<'a>(jieba: &Jieba, normalized: &'a str) -> Vec<&'a str> {
    cut(jieba, normalized, true)
}

/// Byte ranges of the dictionary words of two or more ideographs in already-normalised text
/// (jieba's precise mode, no guessing): where a shorter word can sit inside a longer one
/// (大使 in 大使馆).
pub fn compounds(jieba: &Jieba, normalized: &str) -> Vec<(usize, usize)> {
    let mut at = 0;
    let mut out = Vec::new();
    for token in jieba.cut(normalized, false) {
        let end = at + token.word.len();
        if token.word.chars().filter(|c| is_cjk(*c)).count() > 1 {
            out.push((at, end));
        }
        at = end;
    }
    out
}

/// jieba's words of `text`, guessing unknown words (HMM) or not, without spaces and punctuation.
fn cut<'a>(jieba: &Jieba, text: &'a str, guess: bool) -> Vec<&'a str> {
    jieba
        .cut(text, guess)
        .into_iter()
        .map(|t| t.word)
        .filter(|w| is_word(w))
        .collect()
}

/// The byte offset of each character of `text`, and its length: every place a slice may
/// start or end.
pub fn char_starts(text: &str) -> Vec<usize> {
    text.char_indices()
        .map(|(i, _)| i)
        .chain([text.len()])
        .collect()
}

/// A word jieba guessed, cut again: the longest strings the corpus writes (早苗 of a guessed
/// 早苗钟意) stay whole, and the rest is cut by jieba's dictionary alone.
fn recut<'a>(jieba: &Jieba, word: &'a str, in_corpus: &dyn Fn(&str) -> bool) -> Vec<&'a str> {
    let starts = char_starts(word);
    let mut out = Vec::new();
    let (mut k, mut rest) = (0, 0);
    while k + 1 < starts.len() {
        let longest = (k + 2..starts.len())
            .rev()
            .find(|&end| in_corpus(&word[starts[k]..starts[end]]));
        match longest {
            Some(end) => {
                out.extend(cut(jieba, &word[starts[rest]..starts[k]], false));
                out.push(&word[starts[k]..starts[end]]);
                (k, rest) = (end, end);
            }
            None => k += 1,
        }
    }
    out.extend(cut(jieba, &word[starts[rest]..], false));
    out
}

/// Character unigrams and bigrams of each run of ideographs, plus Latin/digit runs whole.
/// Makes recall survive segmentation mismatches (送 vs 赠送).
pub fn grams(normalized: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut run: Vec<char> = Vec::new();
    let mut latin = String::new();
    for c in normalized.chars().chain(std::iter::once(' ')) {
        if is_cjk(c) {
            flush_latin(&mut latin, &mut out);
            run.push(c);
        } else {
            flush_cjk(&mut run, &mut out);
            if c.is_alphanumeric() {
                latin.push(c);
            } else {
                flush_latin(&mut latin, &mut out);
            }
        }
    }
    out
}

fn flush_cjk(run: &mut Vec<char>, out: &mut Vec<String>) {
    for (i, c) in run.iter().enumerate() {
        out.push(c.to_string());
        if let Some(next) = run.get(i + 1) {
            out.push([*c, *next].iter().collect());
        }
    }
    run.clear();
}

fn flush_latin(latin: &mut String, out: &mut Vec<String>) {
    if !latin.is_empty() {
        out.push(std::mem::take(latin));
    }
}

/// Function words and question words that carry no evidence (normalised, Simplified).
const STOP_WORDS: &[&str] = &[
    "的",
    "了",
    "是",
    "在",
    "有",
    "和",
    "与",
    "及",
    "对",
    "上",
    "中",
    "都",
    "也",
    "会",
    "将",
    "被",
    "把",
    "这",
    "那",
    "个",
    "一",
    "吗",
    "呢",
    "吧",
    "啊",
    "么",
    "要",
    "就",
    "还",
    "又",
    "而",
    "或",
    "从",
    "向",
    "给",
    "让",
    "到",
    "说",
    "我",
    "你",
    "他",
    "她",
    "它",
    "我们",
    "你们",
    "他们",
    "什么",
    "怎么",
    "怎么样",
    "怎样",
    "如何",
    "为什么",
    "为何",
    "哪",
    "哪些",
    "哪个",
    "哪里",
    "哪儿",
    "哪位",
    "哪艘",
    "哪家",
    "哪国",
    "谁",
    "多少",
    "几",
    "几个",
    "是否",
    "有没有",
    "有没",
    "是不是",
    "会不会",
    "能不能",
    "何时",
    "什么时候",
    "时候",
    "请问",
    "请",
    "告诉",
    "一下",
    "关于",
    "之",
    "所",
    "以",
    "其",
    "该",
    "此",
    "能",
    "可以",
    "内容",
    "情况",
    "具体",
    "问题",
    "方面",
    // English function and question words (Latin questions keep only content words).
    "a",
    "an",
    "the",
    "is",
    "are",
    "was",
    "were",
    "be",
    "been",
    "do",
    "does",
    "did",
    "what",
    "which",
    "who",
    "whom",
    "whose",
    "when",
    "where",
    "why",
    "how",
    "much",
    "many",
    "of",
    "in",
    "on",
    "at",
    "to",
    "for",
    "from",
    "by",
    "with",
    "and",
    "or",
    "about",
    "after",
    "before",
    "will",
    "would",
    "can",
    "could",
    "should",
    "this",
    "that",
    "these",
    "those",
    "it",
    "its",
    "he",
    "she",
    "they",
    "them",
    "his",
    "her",
    "their",
    "there",
    "i",
    "you",
    "we",
    "me",
    "my",
    "your",
    "our",
    "us",
    "tell",
    "please",
    "s",
    "than",
    "into",
    "as",
    "no",
    "not",
];

/// Question words after which the next content word names the *kind* of answer
/// (什么礼物, 哪些文件) and is weak evidence: the article rarely repeats it.
const ASKS_FOR: &[&str] = &[
    "什么", "哪些", "哪个", "哪位", "哪艘", "哪家", "哪国", "哪", "which", "what",
];

/// What 多少 counts in everyday speech without the articles having to write the word (多少钱
/// is answered by 4900亿美元, 多少人 by 300名).
const GENERIC_COUNTS: &[&str] = &["钱", "人", "次", "年", "天"];

/// Words asking "how many" (a unit right after them names what is counted).
const HOW_MANY: &[&str] = &["多少", "几"];

/// True for 多少/几, alone or with a measure word (几个, 多少位).
fn asks_how_many(word: &str) -> bool {
    HOW_MANY.contains(&word)
        || HOW_MANY.iter().any(|h| {
            word.strip_prefix(h)
                .is_some_and(|unit| MEASURE_WORDS.contains(&unit))
        })
}

/// Measure words skipped between a question word and the noun it asks about (哪 艘 航母).
const MEASURE_WORDS: &[&str] = &[
    "艘", "位", "个", "家", "些", "架", "名", "种", "项", "份", "国", "间", "款", "条", "只",
];

/// True for a noun that names no particular kind after a question word (方面, areas).
pub fn is_generic_kind(word: &str) -> bool {
    question::GENERIC_KINDS.contains(&word)
}

/// True for words that carry no evidence: function words, question words and the words that
/// frame a question (说说, 那块, stuff).
pub fn is_stop_word(word: &str) -> bool {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| {
        STOP_WORDS
            .iter()
            .chain(question::FRAME_WORDS)
            .copied()
            .collect()
    })
    .contains(word)
}

/// A content word of a question with its weight.
#[derive(Debug, Clone, PartialEq)]
pub struct Term {
    /// The normalised word (or the English word or phrase as asked).
    pub text: String,
    /// Normalised strings that count as this term in the corpus: the word itself, its
    /// translations or synonyms.
    pub forms: Vec<String>,
    /// How many leading `forms` count fully; the rest are synonyms and count less.
    pub exact_forms: usize,
    /// Relative importance in the question (its role: subject, asked-for kind, context).
    pub weight: f32,
    /// How informative the word is in everyday language (see [`background_weight`]).
    pub info: f32,
    /// The content word written right before it, if any (高市 for 早苗 in 高市早苗): lets a
    /// match of one part of a split name count for the other.
    pub follows: Option<String>,
    /// True when it names the kind of answer asked for (礼物 in 什么礼物): weak evidence for
    /// ranking, but what the answer must offer.
    pub asked: bool,
    /// True for a verb: in a yes/no question, what is asked to have happened.
    pub verb: bool,
}

/// Weight of a one-character content word (待, 走, 买): most are ambiguous (待 "stay" or "until")
/// and much of the corpus contains them, so they are weak evidence.
pub const SINGLE_CHARACTER_WEIGHT: f32 = 0.5;

/// Weight of a noun that names the asked-for kind (礼物 in 什么礼物).
pub const ASKED_KIND_WEIGHT: f32 = 0.5;

/// Weight of the event a demonstrative points back to (会面 in 这次会面): the articles' own
/// occasion, which says little about what is asked.
pub const DEICTIC_WEIGHT: f32 = 0.3;

/// Directional complements of a verb (飞过去, 活过来, 拿出来).
const DIRECTIONS: &[&str] = &[
    "过去", "过来", "出来", "出去", "进来", "进去", "回来", "回去", "上来", "上去", "下来", "下去",
    "起来",
];

/// Demonstratives of an occasion (这次会面, 此次峰会, 这场会谈).
const THIS_EVENT: &[&str] = &[
    "这次",
    "此次",
    "本次",
    "这回",
    "这场",
    "这一次",
    "这一场",
    "那次",
    "那场",
    "这趟",
];

/// The content words of a normalised question, each once, weighted by how informative they are
/// in everyday Chinese (and less for the noun naming the kind of answer asked for).
/// `in_corpus` tells whether the corpus contains a string, `known` whether the dictionary of
/// glosses has it as a word: a word jieba guessed (not in its own dictionary) that neither
/// knows is cut again — strings the corpus writes kept whole, the rest by jieba's dictionary
/// alone (一到 → 一/到) — so that a guess never stands for a rare word. Two single ideographs
/// in a row that form a known word the corpus writes (兵推, which jieba does not know) are one
/// word, and so are those of a framing word (那块).
pub fn question_terms(
    jieba: &Jieba,
    normalized: &str,
    in_corpus: &dyn Fn(&str) -> bool,
    known: &dyn Fn(&str) -> bool,
) -> Vec<Term> {
    let mut terms: Vec<Term> = Vec::new();
    let mut after_question_word = false;
    let mut previous: Option<&str> = None;
    let words: Vec<&str> = words(jieba, normalized)
        .into_iter()
        .flat_map(|word| {
            let guessed = word.chars().filter(|c| is_cjk(*c)).count() > 1
                && !question::is_dictionary_word(word)
                && !in_corpus(word)
                && !known(word);
            if guessed {
                recut(jieba, word, in_corpus)
            } else {
                vec![word]
            }
        })
        .collect();
    // A framing word jieba cut in two (那块 → 那/块) is joined too, and then dropped.
    let words = join_characters(normalized, words, &|w| {
        is_stop_word(w) || (known(w) && in_corpus(w))
    });
    let mut after_how_many = false;
    // In the nouns right after 多少/几 (多少美军士兵): one the corpus never writes is what the
    // question counts, and the articles cannot give its number.
    let mut counting = false;
    // Right after 这次/此次/这场: the event under discussion (这次会面), not a new topic.
    let mut this_event = false;
    let mut last_word: Option<&str> = None;
    for word in words {
        let deictic = std::mem::replace(&mut this_event, THIS_EVENT.contains(&word));
        // 飞过去, 活过来: after a one-character word (a verb, whatever jieba tags it), a
        // direction says how it went, not what the question is about (过去 alone is "the past").
        let after_verb = last_word
            .replace(word)
            .is_some_and(|w| w.chars().count() == 1 && w.chars().all(is_cjk));
        if after_verb && DIRECTIONS.contains(&word) {
            continue;
        }
        if ASKS_FOR.contains(&word) {
            after_question_word = true;
            previous = None;
            continue;
        }
        // 多少岁, 几天 (one word or two): the unit is what the answer must give a number of.
        let glued = word
            .strip_prefix('几')
            .filter(|unit| question::is_counted_unit(unit));
        let counted = glued.is_some()
            || std::mem::replace(&mut after_how_many, HOW_MANY.contains(&word))
                && question::is_counted_unit(word);
        let word = glued.unwrap_or(word);
        if counted {
            after_question_word = true;
        }
        if (is_stop_word(word) || (is_function_word(word) && !counted))
            || (after_question_word && !counted && MEASURE_WORDS.contains(&word))
            || (after_question_word && question::GENERIC_KINDS.contains(&word))
        {
            after_question_word &=
                !question::GENERIC_KINDS.contains(&word) && !question::is_linking_word(word);
            counting = asks_how_many(word) || (counting && MEASURE_WORDS.contains(&word));
            previous = None;
            continue;
        }
        let uncounted = counting
            && !GENERIC_COUNTS.contains(&word)
            && question::is_noun(word)
            && !in_corpus(word);
        let asked = std::mem::take(&mut after_question_word) || uncounted;
        let mut weight = if asked { ASKED_KIND_WEIGHT } else { 1.0 };
        if !asked && word.chars().count() == 1 && word.chars().all(is_cjk) {
            weight *= SINGLE_CHARACTER_WEIGHT;
        }
        if deictic && !asked && question::is_common_noun_or_verb(word) {
            weight *= DEICTIC_WEIGHT;
        }
        let follows = previous.replace(word).map(str::to_string);
        match terms.iter_mut().find(|t| t.text == word) {
            Some(t) => t.weight = t.weight.max(weight),
            None => terms.push(Term {
                info: background_weight(word),
                text: word.to_string(),
                forms: vec![word.to_string()],
                exact_forms: 1,
                weight,
                follows,
                asked,
                verb: question::is_verb(word),
            }),
        }
    }
    terms
}

/// `words` (slices of `text`, in order) with each two single ideographs written side by side
/// that `joins` accepts made one.
fn join_characters<'a>(
    text: &'a str,
    words: Vec<&'a str>,
    joins: &dyn Fn(&str) -> bool,
) -> Vec<&'a str> {
    let single = |w: &str| w.chars().count() == 1 && w.chars().all(is_cjk);
    let offset = |w: &str| w.as_ptr() as usize - text.as_ptr() as usize;
    let mut out: Vec<&'a str> = Vec::with_capacity(words.len());
    let mut i = 0;
    while i < words.len() {
        if let Some(next) = words.get(i + 1) {
            let (start, end) = (offset(words[i]), offset(next) + next.len());
            let adjacent = offset(words[i]) + words[i].len() == offset(next);
            if adjacent && single(words[i]) && single(next) && joins(&text[start..end]) {
                out.push(&text[start..end]);
                i += 2;
                continue;
            }
        }
        out.push(words[i]);
        i += 1;
    }
    out
}

/// What kind of answer a question expects, when its wording says so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expects {
    /// 多少, 几, how many/much: a sentence with a number.
    Quantity,
    /// 何时, 什么时候, 哪年, when: a sentence with a date.
    Time,
    /// 为什么, 为何, why: a sentence that gives a cause or purpose.
    Reason,
    /// 多久, how long: a sentence with a length of time (三天, 4年任期), not a date.
    Duration,
    /// 谁, who: a sentence naming someone the question does not (which names the corpus
    /// knows is the retriever's to tell; [`offers`] is false for it).
    Person,
    /// 哪里, 在哪, where: a sentence that says where (在首尔举行, 转往东京, 公园, 基地).
    Place,
}

/// Reads the expected answer type from a normalised question.
pub fn expects(normalized: &str) -> Option<Expects> {
    const TIME: &[&str] = &[
        "什么时候",
        "何时",
        "哪年",
        "哪一年",
        "几月",
        "几号",
        "哪天",
        "when ",
        "what year",
        "what date",
        "how soon",
    ];
    const DURATION: &[&str] = &[
        "多久",
        "多长时间",
        "多少天",
        "几天",
        "多少日",
        "几日",
        "几年",
        "多少年",
        "几个月",
        "多少个月",
        "几周",
        "几个星期",
        "几小时",
        "几个小时",
        "多少小时",
        "多少分钟",
        "几分钟",
        "how long",
        "how many days",
        "how many years",
        "how many months",
        "how many weeks",
        "how many hours",
        "how many minutes",
    ];
    const QUANTITY: &[&str] = &[
        "多少",
        "几个",
        "几架",
        "几成",
        "几",
        "多大",
        "多高",
        "百分之几",
        "how many",
        "how much",
        "what percentage",
        "how old",
        "how far",
        "how often",
        "how big",
        "how large",
        "how high",
    ];
    const PERSON: &[&str] = &["谁", "who ", "who's ", "whom "];
    const PLACE: &[&str] = &[
        "哪里",
        "在哪",
        "去哪",
        "哪个地方",
        "什么地方",
        "哪个城市",
        "哪座",
        "哪个国家",
        "哪国",
        "哪个州",
        "哪个省",
        "哪个地区",
        "where ",
        "where's ",
        "which city",
        "which country",
        "which state",
        "what city",
        "what country",
    ];
    static WORDINGS: LazyLock<question::Wordings> = LazyLock::new(|| {
        question::Wordings::new(&[question::WHY, DURATION, TIME, QUANTITY, PERSON, PLACE])
    });
    let kinds = [
        Expects::Reason,
        Expects::Duration,
        Expects::Time,
        Expects::Quantity,
        Expects::Person,
        Expects::Place,
    ];
    // 那几任首相, 这几个领域, 哪几块: "those / which several", not a how-many question.
    let text = format!(
        "{} ",
        normalized
            .replace("那几", "那些")
            .replace("这几", "这些")
            .replace("哪几", "哪些")
    );
    // English puts its question word first (who did he meet when he got there); in Chinese
    // the more specific kind wins wherever it is written.
    if !normalized.chars().any(is_cjk) {
        return WORDINGS.first(&text).map(|i| kinds[i]);
    }
    let found = WORDINGS.found(&text);
    (0..kinds.len())
        .find(|i| found & (1 << i) != 0)
        .map(|i| kinds[i])
}

/// Words that introduce a cause or purpose.
const CAUSE_MARKERS: &[&str] = &[
    "因为", "由于", "原因", "所以", "因此", "为了", "目的", "是因", "用意", "旨在", "意在", "力求",
    "以便", "because", "due to",
];

/// What a sentence offers, worked out once when its article is loaded: the kinds of answer
/// (see [`offers`]), reasoning (see [`reasons`]) and an enumeration (see [`enumerates`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct Shape {
    quantity: bool,
    time: bool,
    reason: bool,
    duration: bool,
    place: bool,
    /// The sentence reasons (笔者认为, 因为…).
    pub reasons: bool,
    /// The sentence enumerates (A、B、C).
    pub enumerates: bool,
}

impl Shape {
    /// Reads the shape of a normalised sentence.
    pub fn of(normalized_sentence: &str) -> Shape {
        let offers = |e| offers(e, normalized_sentence);
        Shape {
            quantity: offers(Expects::Quantity),
            time: offers(Expects::Time),
            reason: offers(Expects::Reason),
            duration: offers(Expects::Duration),
            place: offers(Expects::Place),
            reasons: reasons(normalized_sentence),
            enumerates: enumerates(normalized_sentence),
        }
    }

    /// True when the sentence offers the expected kind of answer.
    pub fn offers(&self, expected: Expects) -> bool {
        match expected {
            Expects::Quantity => self.quantity,
            Expects::Time => self.time,
            Expects::Reason => self.reason,
            Expects::Duration => self.duration,
            Expects::Person => false,
            Expects::Place => self.place,
        }
    }
}

/// True when a normalised sentence offers the expected kind of answer.
pub fn offers(expected: Expects, normalized_sentence: &str) -> bool {
    let has_digit = normalized_sentence.chars().any(|c| c.is_ascii_digit());
    match expected {
        Expects::Quantity => has_digit || counts_in_words(normalized_sentence),
        Expects::Time => {
            has_digit && (normalized_sentence.contains('年') || normalized_sentence.contains('月'))
        }
        Expects::Reason => {
            static MARKERS: LazyLock<AhoCorasick> = LazyLock::new(|| {
                AhoCorasick::new(CAUSE_MARKERS).expect("the cause markers are valid patterns")
            });
            MARKERS.is_match(normalized_sentence)
        }
        Expects::Duration => ["天", "日", "个月", "周", "星期", "小时", "分钟", "年"]
            .iter()
            .any(|unit| counts_unit(normalized_sentence, unit)),
        Expects::Person => false,
        Expects::Place => says_where(normalized_sentence),
    }
}

/// Marks that end a clause or a list item: what a clause says of its subject stays inside it.
const CLAUSE_MARKS: &[char] = &[
    ',', '，', ';', '；', '、', '。', ':', '：', '!', '！', '?', '？',
];

/// True when a normalised sentence offers the expected kind of answer *about the subject*: in
/// a clause (between commas, semicolons or list marks) that names one of `subject`, with the
/// question's own numbers (`own`, e.g. the 100 of 那100架飞机多少钱) left out — a number the
/// question already gives answers nothing. Without a subject, the whole sentence is judged.
pub fn offers_about(expected: Expects, sentence: &str, subject: &[&str], own: &[String]) -> bool {
    clauses_about(sentence, subject).any(|c| offers(expected, &without_numbers(c, own)))
}

/// The clauses (between commas, semicolons or list marks) of a normalised sentence that name
/// one of `subject`; the whole sentence when `subject` is empty.
pub fn clauses_about<'a>(sentence: &'a str, subject: &'a [&str]) -> impl Iterator<Item = &'a str> {
    let whole = subject.is_empty();
    sentence
        .split(move |c| !whole && CLAUSE_MARKS.contains(&c))
        .filter(move |c| whole || subject.iter().any(|s| c.contains(s)))
}

/// The numbers (runs of digits, with a decimal point) written in a normalised text.
pub fn numbers(normalized: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut current = String::new();
    for c in normalized.chars().chain(std::iter::once(' ')) {
        if c.is_ascii_digit() || (c == '.' && !current.is_empty()) {
            current.push(c);
        } else if !current.is_empty() {
            let n = current.trim_end_matches('.').to_string();
            if !out.contains(&n) {
                out.push(n);
            }
            current.clear();
        }
    }
    out
}

/// `text` with each of the numbers `own` removed where it stands as a whole number.
fn without_numbers(text: &str, own: &[String]) -> String {
    if own.is_empty() {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut current = String::new();
    for c in text.chars().chain(std::iter::once('\u{0}')) {
        if c.is_ascii_digit() || (c == '.' && !current.is_empty()) {
            current.push(c);
            continue;
        }
        if !own.iter().any(|n| *n == current.trim_end_matches('.')) {
            out.push_str(&current);
        }
        current.clear();
        if c != '\u{0}' {
            out.push(c);
        }
    }
    out
}

/// Words that name a kind of place (公园, 大使馆, 基地) or lead to one (抵达, 前往, 出发转往).
const PLACE_WORDS: &[&str] = &[
    "公园", "使馆", "基地", "机场", "港口", "宫", "广场", "酒店", "饭店", "总部", "首都", "航母",
    "抵达", "前往", "转往", "飞往", "来到",
];
/// Prepositions of place (在, 于) and the events whose place they give (在首尔举行).
const AT: &[char] = &['在', '于'];
const HELD: &[&str] = &["举行", "召开", "举办", "集合", "聚集", "会面", "会见"];
/// Most characters between 在/于 and the event for the words between to be its place.
const PLACE_SPAN: usize = 12;

/// True when a normalised sentence says where something is or happened: a word naming a
/// kind of place or a movement to one, or 在/于 shortly before an event (于首尔举行).
fn says_where(sentence: &str) -> bool {
    static WORDS: LazyLock<AhoCorasick> = LazyLock::new(|| {
        AhoCorasick::new(PLACE_WORDS).expect("the place words are valid patterns")
    });
    if WORDS.is_match(sentence) {
        return true;
    }
    let chars: Vec<char> = sentence.chars().collect();
    chars.iter().enumerate().any(|(i, c)| {
        AT.contains(c) && {
            let end = (i + 2 + PLACE_SPAN).min(chars.len());
            let after: String = chars[i + 1..end].iter().collect();
            // What stands between 在 and the event is its place, unless it is a date
            // (在2024年4月举行).
            HELD.iter().filter_map(|h| after.find(h)).any(|at| {
                let between = &after[..at];
                between.chars().count() >= 2 && !is_date_text(between)
            })
        }
    })
}

/// True for text made only of a date's figures and units (2024年4月, 28日).
fn is_date_text(text: &str) -> bool {
    text.chars()
        .all(|c| c.is_ascii_digit() || "年月日号初底中旬上下".contains(c))
}

/// True when `unit` is written right after a number in the sentence (3架, 两份, 八个): a count
/// of it, which a how-many question asking for that unit needs (几杆 is not answered by 球杆).
/// A date is no count (10月27日 is no number of days, 2025年 no number of years).
pub fn counts_unit(normalized_sentence: &str, unit: &str) -> bool {
    normalized_sentence.match_indices(unit).any(|(at, _)| {
        let before = &normalized_sentence[..at];
        let counted = before
            .chars()
            .next_back()
            .is_some_and(|c| c.is_ascii_digit() || c == '一' || is_numeral(c) || c == '几');
        counted && !is_date(before, unit)
    })
}

/// True when the number ending `before` and `unit` after it write part of a date: a day in
/// figures (27日; a length of days is written 三天), a four-digit year (2025年), a month in
/// figures (4月; a length of months is written 6个月).
fn is_date(before: &str, unit: &str) -> bool {
    let digits = before
        .chars()
        .rev()
        .take_while(char::is_ascii_digit)
        .count();
    match unit {
        "日" | "号" | "月" => digits > 0,
        "年" => digits == 4,
        _ => false,
    }
}

/// True for a numeral written as a character that gives a count (一 is left out: 一定, 一道
/// are not counts).
fn is_numeral(c: char) -> bool {
    matches!(
        c,
        '二' | '两' | '三' | '四' | '五' | '六' | '七' | '八' | '九' | '十' | '百' | '千' | '万'
    )
}

/// True when the sentence gives a count in characters: a numeral and a measure word (两份,
/// 三艘, 八个), or an ordinal (第一位).
fn counts_in_words(normalized_sentence: &str) -> bool {
    let mut chars = normalized_sentence.chars().peekable();
    while let Some(c) = chars.next() {
        // An ordinal (第一位, 第三次) answers 第几.
        if c == '第' && chars.peek().is_some_and(|&n| n == '一' || is_numeral(n)) {
            return true;
        }
        let Some(&next) = chars.peek().filter(|_| is_numeral(c)) else {
            continue;
        };
        let mut unit = [0; 4];
        let unit = next.encode_utf8(&mut unit);
        if MEASURE_WORDS.contains(&&*unit) || question::is_measure_word(unit) {
            return true;
        }
    }
    false
}

/// True for a short message that leans on the previous question (那防卫装备呢？, and the
/// rice?, what about Boeing?): a follow-up to be asked with the previous question as context.
pub fn is_elliptical(question: &str) -> bool {
    let q = question
        .trim()
        .trim_end_matches(['？', '?', '。', '.', '!', '！']);
    let lower = q.to_lowercase();
    let short = q.chars().count() <= 12 || (q.is_ascii() && q.split_whitespace().count() <= 5);
    let marked = q.ends_with('呢')
        || q.starts_with('那')
        || q.starts_with("還有")
        || q.starts_with("还有")
        || lower.starts_with("and ")
        || lower.starts_with("what about")
        || lower.starts_with("how about");
    short && marked
}

/// The words of jieba's dictionary used at least 20 times (see `tools/jieba-small.py`).
static DICTIONARY: &str = include_str!("jieba_small.txt");

/// Frequency given to a glossary name, as common as an everyday word (首相 ~1,000): it then
/// stays whole beside a character that forms a rarer word with its end (高市 + 话, not 高/市话),
/// but not against two common words (提高/市场).
const NAME_FREQUENCY: usize = 1_000;

/// Loads the segmentation dictionary once, plus those `extra` words (names from the
/// glossary) that it would cut into fragments (特朗普 → 特朗/普); names it splits into
/// meaningful parts (高市早苗 → 高市/早苗) are left alone. Share the result.
pub fn load_jieba<'a>(extra: impl IntoIterator<Item = &'a str>) -> Arc<Jieba> {
    let mut jieba = Jieba::with_dict(&mut DICTIONARY.as_bytes())
        .expect("the embedded jieba dictionary is well-formed");
    // In one order whatever order they come in: whether a name is cut into meaningful parts
    // depends on the names added before it (安倍晋三 after 安倍 is 安倍/晋三), and the index and
    // every question must be cut alike.
    let extra: std::collections::BTreeSet<String> = extra.into_iter().map(normalize).collect();
    for word in extra {
        let parts = jieba.cut(&word, true);
        let meaningful_parts = parts.len() > 1 && parts.iter().all(|t| t.word.chars().count() > 1);
        if word.chars().count() > 1 && word.chars().all(is_cjk) && !meaningful_parts {
            let freq = jieba.suggest_freq(&word).max(NAME_FREQUENCY);
            jieba.add_word(&word, Some(freq), None);
        }
    }
    Arc::new(jieba)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jieba() -> &'static Jieba {
        static J: OnceLock<Arc<Jieba>> = OnceLock::new();
        J.get_or_init(|| load_jieba([]))
    }

    #[test]
    fn normalize_folds_width_script_and_case() {
        assert_eq!(normalize("５５００億美元，ＧＤＰ"), "5500亿美元,gdp");
        assert_eq!(normalize("美日稀土協議"), "美日稀土协议");
        assert_eq!(normalize("CVN-73"), "cvn-73");
    }

    #[test]
    fn detects_script() {
        assert_eq!(detect_script("美日稀土協議的內容是什麼？"), Script::Hant);
        assert_eq!(detect_script("日本承诺对美国投资多少？"), Script::Hans);
        assert_eq!(detect_script("How much will Japan invest?"), Script::Latin);
        assert_eq!(detect_script("QUAD是什么时候复活的？"), Script::Hans);
    }

    #[test]
    fn words_drop_punctuation_and_keep_numbers_whole() {
        let text = normalize("日本应向美国提供5500亿美元规模的投资，GDP！");
        let w = words(jieba(), &text);
        assert!(w.contains(&"5500"), "{w:?}");
        assert!(w.contains(&"gdp"), "{w:?}");
        assert!(
            w.iter().all(|t| !t.contains(['，', ',', '！', '!', ' '])),
            "{w:?}"
        );
    }

    #[test]
    fn the_occasion_a_demonstrative_points_to_weighs_little() {
        let weight = |q: &str, word: &str| {
            question_terms(jieba(), &normalize(q), &|_| true, &|_| false)
                .into_iter()
                .find(|t| t.text == word)
                .map(|t| t.weight)
        };
        assert_eq!(
            weight("安倍在这次会面里的作用", "会面"),
            Some(DEICTIC_WEIGHT)
        );
        assert_eq!(weight("安倍在这次会面里的作用", "安倍"), Some(1.0));
        assert_eq!(weight("这回日本让步了吗", "日本"), Some(1.0));
        assert_eq!(weight("会面时说了什么", "会面"), Some(1.0));
    }

    #[test]
    fn grams_bridge_segmentation_mismatch() {
        let g = grams("赠送了 cvn73");
        assert!(g.contains(&"送".to_string()));
        assert!(g.contains(&"赠送".to_string()));
        assert!(g.contains(&"cvn73".to_string()));
        assert!(!g.iter().any(|t| t.contains(' ')));
    }

    #[test]
    fn question_terms_drop_question_words_and_weaken_asked_kind() {
        let t = question_terms(
            jieba(),
            &normalize("高市早苗送给特朗普什么礼物？"),
            &|w| "高市早苗赠送特朗普".contains(w),
            &|_| false,
        );
        let texts: Vec<_> = t.iter().map(|t| t.text.as_str()).collect();
        assert!(!texts.contains(&"什么"), "{texts:?}");
        let gift = t.iter().find(|t| t.text == "礼物").expect("礼物 kept");
        assert_eq!(gift.weight, ASKED_KIND_WEIGHT);
        assert!(t
            .iter()
            .any(|t| t.text.contains("特朗普") && t.weight == 1.0));
    }

    #[test]
    fn a_unit_is_counted_only_right_after_a_number() {
        assert!(counts_unit("购买100架波音飞机", "架"));
        assert!(counts_unit("签署了两份文件", "份"));
        assert!(!counts_unit("高尔夫球杆以展示", "杆"));
        assert!(!counts_unit("没有数字", "岁"));
        assert!(!counts_unit("在27日抵达", "日"));
        assert!(counts_unit("访问了三日", "日"));
    }

    #[test]
    fn a_counted_unit_is_asked_for_and_a_generic_kind_is_not() {
        let terms = |q: &str| question_terms(jieba(), &normalize(q), &|_| true, &|_| false);
        for q in ["高市早苗今年多少岁？", "特朗普在日本待了几天？"] {
            let asked: Vec<String> = terms(q)
                .into_iter()
                .filter(|t| t.asked)
                .map(|t| t.text)
                .collect();
            assert!(asked == ["岁"] || asked == ["天"], "{q}: {asked:?}");
        }
        assert!(!terms("日本承诺对美国投资多少个？").iter().any(|t| t.asked));
        let areas = terms("投资会用在哪些方面？");
        assert!(
            !areas.iter().any(|t| t.text == "方面" || t.asked),
            "{areas:?}"
        );
    }

    #[test]
    fn nouns_jieba_tags_as_numerals_are_content_words() {
        let terms = question_terms(
            jieba(),
            &normalize("日本要买多少美国大米？"),
            &|_| true,
            &|_| false,
        );
        assert!(
            terms.iter().any(|t| t.text == "大米" && !t.asked),
            "{terms:?}"
        );
        assert!(!is_function_word("大米") && !is_function_word("零件"));
        assert!(is_function_word("一些") && is_function_word("几个"));
    }

    #[test]
    fn a_counted_noun_the_corpus_lacks_is_asked_for() {
        let lacks = |missing: &'static str| move |w: &str| w != missing;
        let soldiers = question_terms(
            jieba(),
            &normalize("横须贺基地有多少美军士兵"),
            &lacks("士兵"),
            &|_| false,
        );
        let asked: Vec<_> = soldiers
            .iter()
            .filter(|t| t.asked)
            .map(|t| t.text.as_str())
            .collect();
        assert_eq!(asked, ["士兵"], "{soldiers:?}");
        for q in ["高市有几个孩子", "高市有多少个孩子"] {
            let kids = question_terms(jieba(), &normalize(q), &lacks("孩子"), &|_| false);
            let asked: Vec<_> = kids.iter().filter(|t| t.asked).map(|t| &t.text).collect();
            assert_eq!(asked, ["孩子"], "{q}: {kids:?}");
        }
        let rice = question_terms(
            jieba(),
            &normalize("日本要买多少美国大米"),
            &|_| true,
            &|_| false,
        );
        assert!(!rice.iter().any(|t| t.asked), "{rice:?}");
        let money = question_terms(
            jieba(),
            &normalize("谈成了多少钱的项目"),
            &lacks("钱"),
            &|_| false,
        );
        assert!(!money.iter().any(|t| t.asked), "{money:?}");
    }

    #[test]
    fn a_preposition_ends_what_a_question_word_asks_for() {
        let terms = question_terms(
            jieba(),
            &normalize("高市送了什么给特朗普？"),
            &|_| true,
            &|_| false,
        );
        let trump = terms.iter().find(|t| t.text == "特朗普").expect("kept");
        assert!(!trump.asked && trump.weight == 1.0, "{terms:?}");
    }

    #[test]
    fn verbs_with_a_result_complement() {
        for w in ["开成", "谈完", "见着"] {
            assert!(is_resultative(w), "{w}");
        }
        assert!(!is_resultative("结婚") && !is_resultative("成功") && !is_resultative("完成"));
    }

    #[test]
    fn a_count_in_characters_is_a_quantity() {
        assert!(offers(Expects::Quantity, "两国签署了两份文件"));
        assert!(offers(Expects::Quantity, "超过300名抗议人群"));
        assert!(!offers(Expects::Quantity, "这给日本予以了一定的打击"));
    }

    #[test]
    fn guessed_words_the_corpus_lacks_are_cut_by_the_dictionary() {
        let q = normalize("特朗普一到东京先见的谁？");
        let guessed = question_terms(jieba(), &q, &|_| false, &|_| false);
        let texts: Vec<_> = guessed.iter().map(|t| t.text.as_str()).collect();
        assert!(!texts.contains(&"一到"), "{texts:?}");
        assert!(texts.contains(&"东京"), "{texts:?}");
    }

    #[test]
    fn glossary_names_are_kept_whole_only_when_cut_into_fragments() {
        let j = load_jieba(["特朗普", "高市早苗"]);
        let words = |t| words(&j, t).join("/");
        assert_eq!(words("特朗普到东京"), "特朗普/到/东京");
        assert_eq!(words("高市早苗"), "高市/早苗");
        let j = load_jieba(["高市"]);
        let cut = |t| super::words(&j, t).join("/");
        assert!(cut("高市话美日系咩盟友").starts_with("高市/话/"));
        assert!(cut("提高市场份额").starts_with("提高/市场"));
    }

    #[test]
    fn segmentation_does_not_depend_on_the_order_names_come_in() {
        // Added after 安倍, 安倍晋三 is cut into meaningful parts and left alone.
        let names = ["安倍", "安倍晋三"];
        let reversed: Vec<&str> = names.iter().rev().copied().collect();
        let (a, b) = (load_jieba(names), load_jieba(reversed));
        for text in ["说说安倍晋三的作用", "安倍晋三"] {
            assert_eq!(words(&a, text), words(&b, text), "{text}");
        }
    }

    /// The texts of a question's terms, given what the corpus has and what the glosses know.
    fn term_texts(
        q: &str,
        in_corpus: &dyn Fn(&str) -> bool,
        known: &dyn Fn(&str) -> bool,
    ) -> Vec<String> {
        question_terms(jieba(), &normalize(q), in_corpus, known)
            .into_iter()
            .map(|t| t.text)
            .collect()
    }

    #[test]
    fn a_guessed_word_keeps_the_strings_the_corpus_writes() {
        let corpus = "高市早苗与特朗普举行会谈";
        let in_corpus = |w: &str| corpus.contains(w);
        assert_eq!(recut(jieba(), "早苗钟意", &in_corpus), ["早苗", "钟", "意"]);
        assert_eq!(recut(jieba(), "钟意早苗", &in_corpus), ["钟", "意", "早苗"]);
        assert_eq!(recut(jieba(), "一到", &in_corpus), ["一", "到"]);
    }

    #[test]
    fn directions_after_a_verb_and_the_copula_with_a_preposition_are_no_terms() {
        let texts = |q: &str| term_texts(q, &|w| w == "特朗普", &|_| false);
        assert_eq!(texts("特朗普是从哪飞过去日本的"), ["特朗普", "飞", "日本"]);
        assert!(!texts("quad啥时候又活过来的").contains(&"过来".to_string()));
        assert!(texts("过去日本跟美国关系咋样").contains(&"过去".to_string()));
    }

    #[test]
    fn a_guessed_word_the_glosses_know_stays_whole() {
        let texts = |known: &dyn Fn(&str) -> bool| term_texts("有冇合照", &|_| false, known);
        assert!(texts(&|w| w == "合照").contains(&"合照".to_string()));
        assert!(!texts(&|_| false).contains(&"合照".to_string()));
    }

    #[test]
    fn single_characters_that_form_a_known_word_are_joined() {
        let texts = |known: &dyn Fn(&str) -> bool| term_texts("美日韩在哪搞兵推", &|_| true, known);
        assert!(texts(&|w| w == "兵推").contains(&"兵推".to_string()));
        assert_eq!(
            term_texts("军费那块咋说的", &|_| true, &|_| false),
            ["军费"]
        );
        let apart = texts(&|_| false);
        assert!(!apart.contains(&"兵推".to_string()), "{apart:?}");
    }

    #[test]
    fn adjacent_content_words_are_linked() {
        let t = question_terms(
            jieba(),
            &normalize("高市早苗送给特朗普什么礼物？"),
            &|_| false,
            &|_| false,
        );
        let second = &t[1];
        assert_eq!(t[0].follows, None);
        assert_eq!(second.follows.as_deref(), Some(t[0].text.as_str()));
    }

    #[test]
    fn expected_answer_types() {
        assert_eq!(
            expects(&normalize("日本承诺对美国投资多少？")),
            Some(Expects::Quantity)
        );
        assert_eq!(
            expects(&normalize("QUAD是什么时候复活的？")),
            Some(Expects::Time)
        );
        assert_eq!(expects("when was quad revived?"), Some(Expects::Time));
        assert_eq!(
            expects(&normalize("为什么没有举行联合记者招待会？")),
            Some(Expects::Reason)
        );
        assert_eq!(
            expects(&normalize("高市想成为哪位英国首相那样的领导人？")),
            None
        );
        assert!(offers(
            Expects::Reason,
            "外务省称这是因为后续的行程安排紧凑"
        ));
        assert!(offers(Expects::Quantity, "投资5500亿美元"));
        assert!(!offers(Expects::Quantity, "没有数字"));
        assert!(offers(Expects::Time, "在2017年11月复活"));
        assert_eq!(expects("特朗普在日本待了多久"), Some(Expects::Duration));
        assert_eq!(expects("how long was he there"), Some(Expects::Duration));
        assert_eq!(expects("特朗普到东京后先见了谁"), Some(Expects::Person));
        assert_eq!(
            expects("who did trump meet when he got to tokyo"),
            Some(Expects::Person)
        );
        assert_eq!(expects("when did he meet whom"), Some(Expects::Time));
        assert_eq!(expects("谁什么时候见了天皇"), Some(Expects::Time));
        assert!(offers(Expects::Duration, "所耗时间远远超过特朗普的4年任期"));
        assert!(offers(Expects::Duration, "在未来6个月内确认"));
        assert!(!offers(Expects::Duration, "特朗普在27日抵达东京"));
        assert!(!offers(Expects::Duration, "2025年10月27日,特朗普抵达"));
    }

    #[test]
    fn where_questions_expect_a_place() {
        let asked = normalize(&standardize("抗議嘅人喺邊度集合？"));
        assert_eq!(expects(&asked), Some(Expects::Place));
        assert_eq!(expects("美日韩峰会在哪开的"), Some(Expects::Place));
        assert_eq!(expects("where did the dinner happen"), Some(Expects::Place));
        // 在…举行 with a place between, a kind of place, a movement to one.
        assert!(offers(Expects::Place, "2023年8月于首尔举行三国兵推"));
        assert!(offers(
            Expects::Place,
            "维尔尼公园中聚集了超过300名抗议人群"
        ));
        assert!(offers(Expects::Place, "从吉隆坡出发转往日本东京访问"));
        // 在 far from the event, or a figurative "starting point", is no place.
        assert!(!offers(
            Expects::Place,
            "在这样的宣传之下,高市与特朗普举行会谈"
        ));
        assert!(!offers(Expects::Place, "这些动作是从战术维度出发"));
    }

    #[test]
    fn elliptical_follow_ups() {
        assert!(is_elliptical("那防卫装备呢？"));
        assert!(is_elliptical("what about Boeing?"));
        assert!(!is_elliptical("日本承诺对美国投资多少？"));
        assert!(!is_elliptical(
            "那么，美日同盟在特朗普第二任期会如何演变呢？"
        ));
    }

    #[test]
    fn odd_input_does_not_panic() {
        for q in ["", "\0\0", "🙂🙂", "<b>&amp;</b>", "\u{202e}abc", "ｱｲｳ"] {
            let n = normalize(q);
            let _ = words(jieba(), &n);
            let _ = grams(&n);
            let _ = question_terms(jieba(), &n, &|_| false, &|_| true);
            let _ = detect_script(q);
        }
    }
}
#[cfg(test)]
mod focus_tests {
    use super::*;
    #[test]
    fn a_number_about_other_goods_does_not_answer() {
        let s = normalize("具体而言,根据披露的协议内容,日本将对美国进行80兆日元的投资、增加75%的美国大米进口、购买2.5兆日元的美国防卫装备、购买100架波音飞机、购买1.2兆日元的美国农产品、增加LNG等美国能源进口,还包括一些涉及半导体、重要矿物、造船业等数个领域的具体合作。");
        assert_eq!(expects("菅义伟岸田那几任首相对美国是什么路线"), None);
        let own = numbers(&normalize("那100架波音飞机一共要花多少钱？"));
        assert_eq!(own, vec!["100".to_string()]);
        assert!(!offers_about(
            Expects::Quantity,
            &s,
            &["波音", "飞机", "100"],
            &own
        ));
        assert!(offers_about(Expects::Quantity, &s, &["大米"], &[]));
    }
}
