//! How people ask: colloquial and regional forms folded to standard Mandarin, how informative a
//! word is in everyday Chinese (jieba's dictionary frequencies and part-of-speech tags), and the
//! kind of answer a question's form asks for. Pure functions over embedded tables.

use std::collections::HashMap;
use std::sync::{LazyLock, OnceLock};

use aho_corasick::{AhoCorasick, MatchKind};
use rustc_hash::FxHashMap;
use unicode_normalization::UnicodeNormalization;

/// Colloquial/regional form → standard form (see the file's header).
static COLLOQUIAL: &str = include_str!("colloquial.tsv");

struct Table {
    matcher: AhoCorasick,
    replacements: Vec<String>,
    latin: Vec<bool>,
}

fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut entries: HashMap<String, String> = HashMap::new();
        for line in COLLOQUIAL.lines() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let (from, to) = line.split_once('\t').unwrap_or((line, ""));
            entries.insert(from.to_string(), to.to_string());
            let simplified = fast2s::convert(from);
            if from.chars().count() > 1 && simplified != from {
                entries.entry(simplified).or_insert_with(|| to.to_string());
            }
        }
        let (patterns, replacements): (Vec<String>, Vec<String>) = entries.into_iter().unzip();
        let latin = patterns.iter().map(|p| p.is_ascii()).collect();
        Table {
            matcher: AhoCorasick::builder()
                .match_kind(MatchKind::LeftmostLongest)
                .build(&patterns)
                .expect("the colloquial table builds"),
            replacements,
            latin,
        }
    })
}

/// Rewrites colloquial and regional forms as standard written Mandarin (啥 → 什么, 嗰啲 → 那些,
/// 老美 → 美国, ppl → people) in a question, after NFKC folding and lowercasing; the caller
/// then normalises the script as usual.
pub fn standardize(question: &str) -> String {
    let folded: String = question.nfkc().collect::<String>().to_lowercase();
    let t = table();
    let mut out = String::with_capacity(folded.len());
    let mut last = 0;
    for m in t.matcher.find_iter(&folded) {
        let i = m.pattern().as_usize();
        if t.latin[i] && !whole_word(&folded, m.start(), m.end()) {
            continue;
        }
        out.push_str(&folded[last..m.start()]);
        out.push_str(&t.replacements[i]);
        if t.replacements[i].is_empty() {
            out.push(' ');
        }
        last = m.end();
    }
    out.push_str(&folded[last..]);
    out
}

fn whole_word(text: &str, start: usize, end: usize) -> bool {
    let before = text[..start].chars().next_back();
    let after = text[end..].chars().next();
    let joins = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '\'');
    !joins(before) && !joins(after)
}

/// A word of jieba's dictionary: frequency in its general corpus and part-of-speech tag.
#[derive(Debug, Clone, Copy)]
struct Entry {
    freq: u32,
    tag: &'static str,
}

fn dictionary() -> &'static FxHashMap<&'static str, Entry> {
    static MAP: OnceLock<FxHashMap<&'static str, Entry>> = OnceLock::new();
    MAP.get_or_init(|| {
        super::DICTIONARY
            .lines()
            .filter_map(|line| {
                let mut parts = line.split(' ');
                let word = parts.next()?;
                let freq = parts.next()?.parse().ok()?;
                let tag = parts.next().unwrap_or("");
                Some((word, Entry { freq, tag }))
            })
            .collect()
    })
}

/// True when `word` is in the segmentation dictionary.
pub(crate) fn is_dictionary_word(word: &str) -> bool {
    dictionary().contains_key(word)
}

/// Sum of the frequencies of jieba's full dictionary (the general corpus it was counted on).
const TOTAL_FREQUENCY: f32 = 60_101_964.0;
/// Frequency assumed for a word the (small) dictionary lacks: rarer than any word it keeps.
const UNSEEN_FREQUENCY: f32 = 10.0;
/// Information (−ln p) at and below which a word counts least: everyday words (说, 日本).
const COMMON_INFORMATION: f32 = 6.5;
/// Information span from everyday words to rare ones (稀土, 卢特尼克) that count fully.
const INFORMATION_SPAN: f32 = 5.5;
/// Least weight of a content word.
const MIN_BACKGROUND: f32 = 0.15;

/// How informative `word` is in everyday Chinese, 0.15 (very common) to 1 (rare or unknown),
/// from its frequency in jieba's dictionary — independent of the corpus. Words the corpus lacks
/// weigh as much as those it has: a rare word it lacks is evidence the question is off-topic.
pub fn background_weight(word: &str) -> f32 {
    let freq = dictionary()
        .get(word)
        .map_or(UNSEEN_FREQUENCY, |e| e.freq as f32);
    let information = (TOTAL_FREQUENCY / freq.max(1.0)).ln();
    ((information - COMMON_INFORMATION) / INFORMATION_SPAN).clamp(MIN_BACKGROUND, 1.0)
}

/// True for function words by jieba's part-of-speech tags: pronouns and question words (r),
/// adverbs, conjunctions, prepositions, particles, interjections, onomatopoeia, measure words,
/// numerals written in characters, locatives (之内, 以前) and affixes (们, 者).
pub fn is_function_word(word: &str) -> bool {
    if word.chars().any(|c| c.is_ascii_digit()) {
        return false;
    }
    // 百分之, 千分之 (a fraction written out): a numeral whatever jieba tags it.
    if word
        .strip_suffix("分之")
        .is_some_and(|n| !n.is_empty() && n.chars().all(|c| QUANTIFYING.contains(c)))
    {
        return true;
    }
    // The copula glued to a preposition (是从, 是在, 是跟): "is from", "is at".
    if word.strip_prefix('是').is_some_and(is_linking_word) {
        return true;
    }
    let Some(entry) = dictionary().get(word) else {
        return false;
    };
    let tag = entry.tag;
    // jieba tags some nouns as numerals or measure words (大米 m, 美方 q, 零件 mq): a longer
    // word of those tags counts as a function word only when it has a numeral or demonstrative.
    let quantity = matches!(tag, "q" | "mq" | "m");
    if quantity && word.chars().count() > 1 && !word.chars().any(|c| QUANTIFYING.contains(c)) {
        return false;
    }
    matches!(
        tag,
        "r" | "d" | "c" | "p" | "e" | "o" | "y" | "q" | "mq" | "m" | "f" | "k" | "h"
    ) || tag.starts_with('u')
}

/// Characters that make a numeral or measure word a quantity (一些, 几个, 这场, 第一).
const QUANTIFYING: &str =
    "一二三四五六七八九十百千万亿兆两俩几半多少数第双若许余诸整每全各某这那哪该本此首";

/// True for a preposition or conjunction by jieba's tag (给, 跟, 和): after one, the words no
/// longer name what a question word asks for (什么 给 特朗普).
pub fn is_linking_word(word: &str) -> bool {
    dictionary()
        .get(word)
        .is_some_and(|e| matches!(e.tag, "p" | "c"))
}

/// True for a noun by jieba's tag (士兵, 大米), or a word jieba does not know (most are names).
pub(crate) fn is_noun(word: &str) -> bool {
    dictionary()
        .get(word)
        .is_none_or(|e| e.tag.starts_with('n'))
}

/// True for the name of a place, person or organisation by jieba's tags (台湾, 京都, 丰田).
pub fn is_proper_noun(word: &str) -> bool {
    dictionary()
        .get(word)
        .is_some_and(|e| matches!(e.tag, "ns" | "nr" | "nrt" | "nrfg" | "nt" | "nz"))
}

/// True for a verb by jieba's tag (逮捕, 签署).
pub(crate) fn is_verb(word: &str) -> bool {
    dictionary()
        .get(word)
        .is_some_and(|e| e.tag.starts_with('v'))
}

/// True for a yes/no question (有人被逮捕吗, 是不是, 有没有, did anyone get arrested): it asks
/// whether its predicate happened, so a corpus that never writes the verb cannot say yes.
pub fn is_yes_no(normalized: &str) -> bool {
    const ENDINGS: &[&str] = &["吗", "没有", "没", "了没", "未"];
    const INSIDE: &[&str] = &[
        "有没有",
        "是不是",
        "是否",
        "会不会",
        "能不能",
        "有没",
        "了没",
    ];
    const AUXILIARIES: &[&str] = &[
        "did", "does", "do", "is", "are", "was", "were", "has", "have", "had", "can", "could",
        "will", "would", "should",
    ];
    let q = normalized.trim_end_matches(|c: char| !c.is_alphanumeric());
    ENDINGS.iter().any(|e| q.ends_with(e))
        || INSIDE.iter().any(|w| q.contains(w))
        || q.split(|c: char| !c.is_ascii_alphanumeric() && c != '\'')
            .next()
            .is_some_and(|first| AUXILIARIES.contains(&first))
}

/// True for a dictionary word tagged as a common noun or verb (会面, 峰会, 会谈), not a name
/// (日本, 特朗普).
pub(crate) fn is_common_noun_or_verb(word: &str) -> bool {
    dictionary()
        .get(word)
        .is_some_and(|e| matches!(e.tag, "n" | "v" | "vn"))
}

/// True for a measure word or numeral by jieba's tag (份, 艘, 名).
pub(crate) fn is_measure_word(word: &str) -> bool {
    dictionary()
        .get(word)
        .is_some_and(|e| matches!(e.tag, "q" | "m"))
}

/// Complements of result or direction written after a verb (谈成, 见着, 说完, 买到).
const COMPLEMENTS: &str = "成完好到着掉住过起";

/// True for a two-character verb whose second character is a result or direction complement
/// (开成, 见着, 谈完): a rare verb of jieba's dictionary, or a verb character followed by one
/// when jieba does not know the pair.
pub fn is_resultative(word: &str) -> bool {
    let mut chars = word.chars();
    let (Some(verb), Some(complement), None) = (chars.next(), chars.next(), chars.next()) else {
        return false;
    };
    let verb_entry = |w: &str| {
        dictionary()
            .get(w)
            .filter(|e| e.tag.starts_with('v'))
            .copied()
    };
    let pair = match dictionary().get(word) {
        // A frequent pair is a word of its own (完成 "complete"), not a verb and its result.
        Some(entry) => entry.freq < LEXICALIZED_FREQUENCY && verb_entry(word).is_some(),
        None => verb_entry(verb.encode_utf8(&mut [0; 4])).is_some(),
    };
    COMPLEMENTS.contains(complement) && pair
}

/// Dictionary frequency from which a verb–complement pair is a word of its own.
const LEXICALIZED_FREQUENCY: u32 = 500;

/// Nouns that name no particular kind of thing after a question word (哪些方面, 哪些范畴,
/// what areas), and the stance asked of someone (啥看法, 什么态度): the articles need not use
/// the noun to give it.
pub(crate) const GENERIC_KINDS: &[&str] = &[
    "方面", "领域", "范畴", "范围", "部分", "类", "类别", "种类", "方向", "板块", "内容", "事情",
    "事项", "议题", "话题", "问题", "看法", "态度", "评价", "意见", "观点", "反应", "立场",
    "areas", "area", "aspects", "aspect", "topics", "topic", "kinds", "sorts",
];

/// Measure words too vague to be what a "how many" question asks for (多少个, 几些).
const VAGUE_UNITS: &[&str] = &["个", "些", "点", "种", "下"];

/// True for a unit of measure that, right after 多少/几, names what is counted (多少岁, 几天,
/// 多少次): the answer must give a number of it. By jieba's tags (numerals and measure words).
pub fn is_counted_unit(word: &str) -> bool {
    if VAGUE_UNITS.contains(&word) || word.chars().any(|c| c.is_ascii_digit()) {
        return false;
    }
    dictionary()
        .get(word)
        .is_some_and(|e| matches!(e.tag, "q" | "m" | "mq"))
}

/// Words that frame a question without naming its subject, in standard form: verbs of
/// telling and asking (说说, 展开讲讲), vague nouns (那块, 情况), hedges (听说, 到底), and
/// their casual English equivalents (stuff, anything, again).
pub(crate) const FRAME_WORDS: &[&str] = &[
    "说说",
    "讲讲",
    "谈谈",
    "聊聊",
    "展开",
    "详细",
    "详细点",
    "介绍",
    "简单",
    "解释",
    "讲",
    "聊",
    "讲一讲",
    "说一说",
    "情况",
    "怎么回事",
    "回事",
    "这事",
    "那事",
    "这件事",
    "那件事",
    "这块",
    "那块",
    "这段",
    "那段",
    "这部分",
    "那部分",
    "这方面",
    "那方面",
    "东西",
    "来着",
    "听说",
    "据说",
    "到底",
    "究竟",
    "其实",
    "知道",
    "想知道",
    "问问",
    "呗",
    "嘛",
    "呀",
    "啦",
    "哈",
    "嗯",
    "哦",
    "喔",
    "欸",
    "诶",
    "哎",
    "唉",
    "咯",
    "嘞",
    "喽",
    "相关",
    "有关",
    "一些",
    "原话",
    "说法",
    "咋",
    "那个",
    "这个",
    "那些",
    "这些",
    "人家",
    "大概",
    "好像",
    "一下子",
    "提到",
    "提过",
    "讲过",
    "说过",
    "文章",
    "文中",
    "里面",
    "里头",
    "当时",
    "时候",
    "一点",
    // casual English
    "so",
    "anything",
    "something",
    "stuff",
    "thing",
    "things",
    "again",
    "wait",
    "like",
    "just",
    "really",
    "actually",
    "any",
    "some",
    "say",
    "says",
    "said",
    "talk",
    "talked",
    "know",
    "hey",
    "hi",
    "ok",
    "okay",
    "um",
    "uh",
    "yeah",
    "basically",
    "exactly",
    "kind",
    "sort",
    "bit",
    "lot",
    "lots",
    "people",
    "guys",
    "guy",
    "folks",
    "article",
    "articles",
    "they",
    "mention",
    "mentioned",
    "happen",
    "happened",
    "went",
    "go",
    "going",
    "got",
    "get",
    "whole",
    "part",
    "bits",
    "piece",
    "anyone",
    "anybody",
    "someone",
    "somebody",
];

/// Wordings that ask why or what for (为什么, 目的, why): a reason is the answer.
pub(crate) const WHY: &[&str] = &[
    "为什么",
    "为何",
    "什么原因",
    "目的",
    "用意",
    "为了什么",
    "why ",
    "how come",
    "what for",
    "purpose",
    "the point of",
];

/// What a question's form asks for, beyond its subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A single fact (the default).
    Fact,
    /// What the articles say about a subject (说说X, X那块说了什么, what about X).
    Topic,
    /// Who or what someone is (X是谁, who is X): the sentence that introduces them.
    Entity,
    /// Why, or what the author thinks: the author's reasoning.
    Reason,
    /// Which things, which ones: the sentence that enumerates them.
    List,
}

/// Reads the kind of question from its standardised, normalised form.
pub fn kind(normalized: &str) -> Kind {
    const ENTITY: &[&str] = &[
        "是谁",
        "谁啊",
        "谁呀",
        "是做什么的",
        "是什么人",
        "是何人",
        "谁是",
        "who is ",
        "who was ",
        "who are ",
    ];
    const OPINION: &[&str] = &[
        "怎么看",
        "作者认为",
        "作者觉得",
        "笔者",
        "管用",
        "what does the author think",
        "author",
    ];
    const LIST: &[&str] = &[
        "哪些",
        "哪几",
        "都有什么",
        "都有哪",
        "有几个",
        "which ",
        "what are the",
        "list ",
    ];
    const TOPIC: &[&str] = &[
        "说说",
        "讲讲",
        "谈谈",
        "聊聊",
        "展开",
        "介绍",
        "怎么说",
        "说了什么",
        "讲了什么",
        "讲什么",
        "说什么",
        "什么情况",
        "怎么回事",
        "那块",
        "这块",
        "那段",
        "这事",
        "what about",
        "tell me about",
        "anything on",
        "anything about",
        "say about",
        "what happened",
        "went down",
        "what's up with",
        "how about",
    ];
    static WORDINGS: LazyLock<Wordings> =
        LazyLock::new(|| Wordings::new(&[ENTITY, WHY, OPINION, LIST, TOPIC]));
    let found = WORDINGS.found(&format!("{normalized} "));
    let has = |list: usize| found & (1 << list) != 0;
    let (entity, why, opinion, list, topic) = (0, 1, 2, 3, 4);
    let reason = has(why) || has(opinion);
    if has(entity) {
        Kind::Entity
    } else if reason {
        Kind::Reason
    } else if has(list) {
        Kind::List
    } else if has(topic) || is_bare_topic(normalized) {
        Kind::Topic
    } else {
        Kind::Fact
    }
}

/// Lists of wordings looked for in a question in one pass (list `i` → bit `i` of
/// [`Wordings::found`]).
pub(crate) struct Wordings {
    automaton: AhoCorasick,
    list_of: Vec<usize>,
}

impl Wordings {
    /// Builds the matcher for up to 32 lists.
    pub(crate) fn new(lists: &[&[&str]]) -> Wordings {
        let (patterns, list_of): (Vec<&str>, Vec<usize>) = lists
            .iter()
            .enumerate()
            .flat_map(|(i, list)| list.iter().map(move |w| (*w, i)))
            .unzip();
        Wordings {
            automaton: AhoCorasick::new(patterns).expect("the wordings are valid patterns"),
            list_of,
        }
    }

    /// The lists with a wording in `text`, as bits.
    pub(crate) fn found(&self, text: &str) -> u32 {
        self.automaton
            .find_overlapping_iter(text)
            .fold(0, |bits, m| {
                bits | 1 << self.list_of[m.pattern().as_usize()]
            })
    }

    /// The list whose wording starts first in `text` (ties: the lower list).
    pub(crate) fn first(&self, text: &str) -> Option<usize> {
        self.automaton
            .find_overlapping_iter(text)
            .min_by_key(|m| (m.start(), self.list_of[m.pattern().as_usize()]))
            .map(|m| self.list_of[m.pattern().as_usize()])
    }
}

/// X呢？ on its own, or a bare noun phrase with no question word.
fn is_bare_topic(normalized: &str) -> bool {
    let q = normalized
        .trim()
        .trim_end_matches(['?', '。', '.', '!', ' ']);
    q.ends_with('呢') && q.chars().count() <= 12
}

/// Words that mark a sentence as reasoning or opinion (the author's view, a cause).
const REASONING_MARKERS: &[&str] = &[
    "因为",
    "由于",
    "原因",
    "所以",
    "因此",
    "为了",
    "目的",
    "用意",
    "旨在",
    "意在",
    "力求",
    "是因",
    "笔者",
    "认为",
    "看来",
    "可见",
    "意味着",
    "实际上",
    "事实上",
    "显然",
    "恐怕",
    "难以",
    "不过",
    "然而",
    "但是",
    "因而",
    "because",
    "due to",
];

/// True when a normalised sentence reasons (gives a cause or the author's view).
pub fn reasons(normalized_sentence: &str) -> bool {
    static MARKERS: LazyLock<AhoCorasick> = LazyLock::new(|| {
        AhoCorasick::new(REASONING_MARKERS).expect("the reasoning markers are valid patterns")
    });
    MARKERS.is_match(normalized_sentence)
}

/// True when a normalised sentence enumerates (A、B、C; 包括…; 等领域).
pub fn enumerates(normalized_sentence: &str) -> bool {
    normalized_sentence.matches('、').count() >= 2
        || normalized_sentence.contains("包括")
        || normalized_sentence.contains("以及")
        || normalized_sentence.matches(['等', ',']).count() >= 4
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colloquial_forms_become_standard() {
        assert_eq!(standardize("稀土那块说了啥"), "稀土那块说了什么");
        assert_eq!(standardize("嗰啲係咩"), "那些是什么");
        assert_eq!(standardize("華爾茲係邊個？"), "華爾茲是谁?");
        assert_eq!(standardize("why are ppl mad lol"), "why are people mad  ");
        // Latin entries only replace whole words; single Chinese characters only as written.
        assert_eq!(standardize("cups"), "cups");
        assert_eq!(standardize("关系"), "关系");
        assert_eq!(standardize("中日關係"), "中日關係");
    }

    #[test]
    fn nouns_and_verbs_jieba_tags_as_adverbs_are_content_words() {
        for word in ["首相", "反对", "首都", "同意"] {
            assert!(!is_function_word(word), "{word}");
        }
        for word in ["已经", "一同", "非常", "偶尔", "百分之", "千分之"] {
            assert!(is_function_word(word), "{word}");
        }
    }

    #[test]
    fn yes_no_questions_are_told_from_others() {
        for q in [
            "横须贺抗议有人被逮捕吗?",
            "高市有没有去看棒球",
            "特朗普见了安倍昭惠没",
            "did anyone get arrested?",
            "is japan buying boeing planes",
        ] {
            assert!(is_yes_no(q), "{q}");
        }
        for q in [
            "谁被逮捕了",
            "日本买了什么",
            "what did they sign",
            "who is bessent",
        ] {
            assert!(!is_yes_no(q), "{q}");
        }
    }

    #[test]
    fn everyday_words_weigh_less_than_rare_ones() {
        assert!(background_weight("说") < 0.2);
        assert!(background_weight("日本") < background_weight("稀土"));
        assert_eq!(background_weight("卢特尼克"), 1.0);
        assert!(is_function_word("什么"));
        assert!(is_function_word("已经"));
        assert!(!is_function_word("稀土"));
        assert!(!is_function_word("2.5"));
    }

    #[test]
    fn kinds_from_the_form_of_the_question() {
        assert_eq!(kind("华尔兹是谁?"), Kind::Entity);
        assert_eq!(kind("who is bessent"), Kind::Entity);
        assert_eq!(kind("稀土那块说了什么"), Kind::Topic);
        assert_eq!(kind("what about the rice?"), Kind::Topic);
        assert_eq!(kind("为什么取消了记者会?"), Kind::Reason);
        assert_eq!(kind("日本要买哪些东西?"), Kind::List);
        assert_eq!(kind("日本承诺对美国投资多少?"), Kind::Fact);
    }

    #[test]
    fn reasoning_and_enumerating_sentences() {
        assert!(reasons("笔者认为这更多是日方的单方面让步"));
        assert!(enumerates("半导体、制药、关键矿产等领域"));
        assert!(!enumerates("日本承诺投资"));
    }
}
