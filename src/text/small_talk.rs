//! Conversation that is not a question about the articles: greetings, thanks, goodbyes, "who
//! are you / what can you do / help", praise and complaints, in Simplified, Traditional
//! (Cantonese included) and English. A message is small talk only when every word of it is
//! conversational: one content word ("hello, what did Trump say about rice?") makes it a
//! question. Pure functions over the table below.

use std::sync::LazyLock;

use aho_corasick::AhoCorasick;

use super::{normalize, standardize};

/// What a conversational message does; the reply follows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Talk {
    /// 你好, hi, 早晨.
    Greeting,
    /// 你是谁, what can you do, help, 怎么用.
    About,
    /// 再见, bye, 晚安.
    Goodbye,
    /// 谢谢, 唔该, thanks.
    Thanks,
    /// 真棒, 好叻, great job.
    Praise,
    /// 太烂了, 没用, useless.
    Complaint,
    /// 好的, 收到, 明白了, got it: the asker took the reply in.
    Ack,
}

impl Talk {
    /// Every kind, in the order of [`Talk::name`]'s names.
    pub const ALL: [Talk; 7] = [
        Talk::Greeting,
        Talk::About,
        Talk::Goodbye,
        Talk::Thanks,
        Talk::Praise,
        Talk::Complaint,
        Talk::Ack,
    ];

    /// The kind's name in exemplar files (`greeting`, `about`, …).
    pub fn name(self) -> &'static str {
        match self {
            Talk::Greeting => "greeting",
            Talk::About => "about",
            Talk::Goodbye => "goodbye",
            Talk::Thanks => "thanks",
            Talk::Praise => "praise",
            Talk::Complaint => "complaint",
            Talk::Ack => "ack",
        }
    }

    /// The kind named `name`.
    pub fn named(name: &str) -> Option<Talk> {
        Talk::ALL.into_iter().find(|t| t.name() == name)
    }
}

/// Conversational phrases by what they do, in the folded form (Simplified, lowercase, after
/// the colloquial table: 係邊個 → 是谁). Latin phrases match whole words.
const PHRASES: &[(Talk, &[&str])] = &[
    (
        Talk::Greeting,
        &[
            "你好",
            "您好",
            "你们好",
            "大家好",
            "嗨",
            "哈喽",
            "哈啰",
            "哈罗",
            "喂",
            "在吗",
            "在不在",
            "早",
            "早安",
            "早上好",
            "上午好",
            "中午好",
            "下午好",
            "晚上好",
            "早晨",
            "你好吗",
            "最近好吗",
            "hi",
            "hello",
            "hey",
            "hiya",
            "howdy",
            "yo",
            "greetings",
            "good morning",
            "good afternoon",
            "good evening",
            "what's up",
            "whats up",
            "sup",
            "how are you",
            "how's it going",
            "morning",
            "gm",
        ],
    ),
    (
        Talk::About,
        &[
            "你是谁",
            "您是谁",
            "你是什么",
            "你是什么来",
            "你是啥",
            "你叫什么",
            "你叫什么名字",
            "你能做什么",
            "你会做什么",
            "你会什么",
            "你会做些什么",
            "你可以做什么",
            "你能干什么",
            "你有什么用",
            "你懂什么",
            "你知道什么",
            "你识做些什么",
            "你识做什么",
            "怎么用",
            "怎样用",
            "怎么使用",
            "如何使用",
            "如何用",
            "点用",
            "怎么问",
            "怎么提问",
            "这是什么",
            "你是机器人",
            "帮助",
            "求助",
            "帮忙",
            "使用说明",
            "说明",
            "help",
            "who are you",
            "what are you",
            "what can you do",
            "what do you do",
            "what do you know",
            "how do i use",
            "how to use",
            "how does this work",
            "how does it work",
            "are you a bot",
            "what is this",
            "what's this",
            "about",
        ],
    ),
    (
        Talk::Goodbye,
        &[
            "再见",
            "再会",
            "拜拜",
            "拜",
            "回见",
            "晚安",
            "下次见",
            "回头见",
            "先这样",
            "88",
            "bye",
            "bye bye",
            "goodbye",
            "good bye",
            "see you",
            "see ya",
            "see you later",
            "good night",
            "goodnight",
            "later",
            "cya",
            "take care",
            "gn",
        ],
    ),
    (
        Talk::Thanks,
        &[
            "谢谢",
            "多谢",
            "感谢",
            "谢了",
            "谢啦",
            "感恩",
            "唔该",
            "唔该晒",
            "多谢晒",
            "3q",
            "thanks",
            "thank you",
            "thank u",
            "thx",
            "ty",
            "cheers",
            "much appreciated",
            "appreciate it",
        ],
    ),
    (
        Talk::Praise,
        &[
            "真棒",
            "好棒",
            "很棒",
            "棒",
            "厉害",
            "真厉害",
            "好厉害",
            "不错",
            "很好",
            "真好",
            "好样的",
            "牛",
            "赞",
            "牛逼",
            "牛b",
            "给力",
            "好叻",
            "叻",
            "好嘢",
            "great",
            "good job",
            "great job",
            "nice",
            "awesome",
            "well done",
            "cool",
            "perfect",
            "good bot",
            "love it",
            "amazing",
            "brilliant",
            "excellent",
        ],
    ),
    (
        Talk::Complaint,
        &[
            "烂",
            "太烂",
            "很烂",
            "真烂",
            "没用",
            "没有用",
            "垃圾",
            "废物",
            "好废",
            "废",
            "答非所问",
            "错了",
            "不对",
            "听不懂",
            "看不懂",
            "笨",
            "好笨",
            "蠢",
            "useless",
            "wrong",
            "bad bot",
            "terrible",
            "not helpful",
            "unhelpful",
            "stupid",
            "dumb",
            "bad",
            "awful",
            "rubbish",
            "suck",
            "sucks",
        ],
    ),
];

/// Words that may surround the phrases without making the message a question: who is
/// addressed, particles, degree words, "this bot / answer", "so much".
const FILLERS: &[&str] = &[
    "你",
    "您",
    "你们",
    "我",
    "啊",
    "呀",
    "啦",
    "吧",
    "哦",
    "喔",
    "噢",
    "嗯",
    "哈",
    "哈哈",
    "呢",
    "嘛",
    "了",
    "的",
    "得",
    "很",
    "非常",
    "太",
    "真",
    "真的",
    "好",
    "好的",
    "这个",
    "机器人",
    "回答",
    "答案",
    "晒",
    "大家",
    "朋友",
    "哇",
    "嘿",
    "又",
    "都",
    "也",
    "是",
    "再",
    "一下",
    "一个",
    "个",
    "这",
    "那",
    "先",
    "ok",
    "okay",
    "oh",
    "ah",
    "so",
    "much",
    "very",
    "a",
    "lot",
    "the",
    "this",
    "that",
    "it",
    "answer",
    "was",
    "is",
    "you",
    "your",
    "there",
    "again",
    "all",
    "for",
    "everyone",
    "guys",
    "mate",
    "buddy",
    "man",
    "and",
    "really",
    "too",
    "bot",
    "robot",
    "help",
    "me",
    "my",
    "friend",
    "dear",
    "hey",
    "just",
    "well",
    "pretty",
    "again",
    "then",
    "such",
    "one",
    "no",
    "yes",
    "please",
];

struct Table {
    matcher: AhoCorasick,
    /// What each pattern does; `None` for a filler.
    talk: Vec<Option<Talk>>,
    latin: Vec<bool>,
}

static TABLE: LazyLock<Table> = LazyLock::new(|| {
    let mut patterns = Vec::new();
    let mut talk = Vec::new();
    for (t, phrases) in PHRASES {
        for p in *phrases {
            patterns.push(*p);
            talk.push(Some(*t));
        }
    }
    for f in FILLERS {
        patterns.push(*f);
        talk.push(None);
    }
    let latin = patterns.iter().map(|p| p.is_ascii()).collect();
    Table {
        matcher: AhoCorasick::new(&patterns).expect("the small-talk table builds"),
        talk,
        latin,
    }
});

/// The longest message read as small talk (characters, after folding).
const MAX_CHARS: usize = 40;

/// What a message does when it is only conversation (greeting, thanks, …), else `None`.
pub fn small_talk(message: &str) -> Option<Talk> {
    // As written (唔该 stays whole) and after the colloquial table (係邊個 → 是谁).
    read(&fold(message)).or_else(|| read(&fold(&standardize(message))))
}

/// Marks between the parts of a message ("你好，日本投资多少？谢谢").
const PART_MARKS: &[char] = &[
    ',', '，', '!', '！', '。', '.', '?', '？', '~', '～', ';', '；', '\n',
];

/// The message without the greetings, thanks and the like written before or after it as parts
/// of their own (你好，日本投资多少？谢谢 → 日本投资多少？): what is left is the question.
pub fn without_small_talk(message: &str) -> &str {
    let mut rest = message.trim();
    while let Some(end) = rest.find(PART_MARKS) {
        let mark = rest[end..].chars().next().map_or(1, char::len_utf8);
        let after = rest[end + mark..].trim_start_matches(PART_MARKS).trim();
        if after.is_empty() || small_talk(&rest[..end]).is_none() {
            break;
        }
        rest = after;
    }
    while let Some(start) = rest.trim_end_matches(PART_MARKS).rfind(PART_MARKS) {
        let mark = rest[start..].chars().next().map_or(1, char::len_utf8);
        if small_talk(&rest[start + mark..]).is_none() {
            break;
        }
        rest = rest[..start + mark].trim();
    }
    rest
}

/// The strongest talk of a message made only of conversational patterns.
fn read(folded: &str) -> Option<Talk> {
    if folded.is_empty() || folded.chars().count() > MAX_CHARS {
        return None;
    }
    let t = &*TABLE;
    // Every way a pattern occurs, then whether the message is a chain of them.
    let mut ends: Vec<Vec<(usize, Option<Talk>)>> = vec![Vec::new(); folded.len() + 1];
    for m in t.matcher.find_overlapping_iter(folded) {
        let i = m.pattern().as_usize();
        if t.latin[i] && !whole_word(folded, m.start(), m.end()) {
            continue;
        }
        ends[m.start()].push((m.end(), t.talk[i]));
    }
    // best[i]: the strongest talk of a chain covering folded[i..] (Some(None) = fillers only).
    let mut best: Vec<Option<Option<Talk>>> = vec![None; folded.len() + 1];
    best[folded.len()] = Some(None);
    for start in (0..folded.len()).rev() {
        if !folded.is_char_boundary(start) {
            continue;
        }
        let skip = folded[start..].starts_with(' ');
        let mut here: Option<Option<Talk>> = None;
        if skip {
            here = best[start + 1];
        }
        for &(end, talk) in &ends[start] {
            if let Some(rest) = best[end] {
                let chain = talk.max(rest);
                here = Some(here.map_or(chain, |h| h.max(chain)));
            }
        }
        best[start] = here;
    }
    best[0].flatten()
}

/// Lowercase Simplified standard forms, punctuation and symbols (emoji) as single spaces.
fn fold(message: &str) -> String {
    let spaced: String = normalize(message)
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '\'' {
                c
            } else {
                ' '
            }
        })
        .collect();
    spaced.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn whole_word(text: &str, start: usize, end: usize) -> bool {
    let before = text[..start].chars().next_back();
    let after = text[end..].chars().next();
    let joins = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '\'');
    !joins(before) && !joins(after)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversation_is_recognised_in_three_languages() {
        assert_eq!(small_talk("hello"), Some(Talk::Greeting));
        assert_eq!(small_talk("Hey there!"), Some(Talk::Greeting));
        assert_eq!(small_talk("谢谢"), Some(Talk::Thanks));
        assert_eq!(small_talk("唔該晒"), Some(Talk::Thanks));
        assert_eq!(small_talk("你係邊個？"), Some(Talk::About));
        assert_eq!(small_talk("what can you do?"), Some(Talk::About));
        assert_eq!(small_talk("拜拜～"), Some(Talk::Goodbye));
        assert_eq!(small_talk("你真棒👍"), Some(Talk::Praise));
        assert_eq!(small_talk("你回答得太烂了"), Some(Talk::Complaint));
        assert_eq!(small_talk("thanks, great job"), Some(Talk::Praise));
    }

    #[test]
    fn greetings_around_a_question_are_left_out() {
        assert_eq!(
            without_small_talk("你好，日本投资多少？谢谢"),
            "日本投资多少？"
        );
        assert_eq!(
            without_small_talk("hi! how much did Japan invest?"),
            "how much did Japan invest?"
        );
        assert_eq!(without_small_talk("日本投资多少？"), "日本投资多少？");
        assert_eq!(without_small_talk("谢谢！"), "谢谢！");
        assert_eq!(
            without_small_talk("Hello, hello! 特朗普说了什么？Thanks!"),
            "特朗普说了什么？"
        );
    }

    #[test]
    fn one_content_word_makes_it_a_question() {
        assert_eq!(small_talk("hello, what did Trump say about rice?"), None);
        assert_eq!(small_talk("特朗普说了谢谢吗"), None);
        assert_eq!(small_talk("日本承诺对美国投资多少？"), None);
        assert_eq!(small_talk("who is takaichi"), None);
        assert_eq!(small_talk("helpful"), None);
        assert_eq!(small_talk("？？"), None);
    }
}
