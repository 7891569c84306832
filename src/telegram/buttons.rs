//! The buttons under an answer — more sources, full passage, 👍/👎 — and their callback
//! data. Everything a button needs travels in its data (at most 64 bytes), so buttons keep
//! working across restarts and replicas without any server-side session.

use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup};

use crate::answer::PassageRef;
use crate::corpus::Script;
use crate::render::labels;

/// Telegram's limit for callback data, in bytes.
pub const DATA_LIMIT: usize = 64;
/// Largest citation number a button may carry (answers list a handful): forged data with a
/// larger one is rejected, so numbering from it can never overflow.
pub const MAX_CITATION: usize = 1000;
/// Length of the corpus fingerprint in the data.
const FINGERPRINT: usize = 4;

/// What a pressed button asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Show these further passages, numbering them from `first`.
    More {
        /// The number of the first passage shown.
        first: usize,
        /// The passages.
        passages: Vec<PassageRef>,
    },
    /// Show these cited passages with the paragraphs around them.
    Full(Vec<PassageRef>),
    /// A feedback vote on the answer to the question with this id.
    Vote {
        /// 👍 (true) or 👎.
        up: bool,
        /// The question's id (a hash, never its text).
        question: String,
    },
}

/// A pressed button: what it asks for, and the script of the question it belongs to (the
/// reply is written in it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pressed {
    /// Script of the question.
    pub script: Script,
    /// Fingerprint of the corpus the answer came from (4 hex digits): passages named by
    /// position are only valid while it holds.
    pub corpus: String,
    /// What to do.
    pub action: Action,
}

impl Pressed {
    /// The callback data: a script letter (`h`ans, han`t`, `l`atin), the corpus fingerprint,
    /// then the action: `h1f2em:4:0.12,1.7`, `t1f2ep:0.12`, `l1f2ef:u:1a2b3c4d`. At most
    /// [`DATA_LIMIT`] bytes.
    pub fn encode(&self) -> String {
        let script = match self.script {
            Script::Hans => 'h',
            Script::Hant => 't',
            Script::Latin => 'l',
        };
        format!("{script}{}{}", self.corpus, self.action.encode())
    }

    /// Parses callback data; `None` for anything we did not produce.
    pub fn decode(data: &str) -> Option<Pressed> {
        let script = match data.chars().next()? {
            'h' => Script::Hans,
            't' => Script::Hant,
            'l' => Script::Latin,
            _ => return None,
        };
        let corpus = data.get(1..1 + FINGERPRINT)?;
        if !corpus.chars().all(|c| c.is_ascii_hexdigit()) {
            return None;
        }
        let action = Action::decode(&data[1 + FINGERPRINT..])?;
        Some(Pressed {
            script,
            corpus: corpus.to_string(),
            action,
        })
    }
}

impl Action {
    /// The action part of the callback data; passage lists are cut to leave room for the
    /// script letter and the fingerprint within [`DATA_LIMIT`] bytes.
    fn encode(&self) -> String {
        match self {
            Action::More { first, passages } => with_refs(&format!("m:{first}:"), passages),
            Action::Full(refs) => with_refs("p:", refs),
            Action::Vote { up, question } => {
                format!("f:{}:{question}", if *up { 'u' } else { 'd' })
            }
        }
    }

    fn decode(data: &str) -> Option<Action> {
        let (kind, rest) = data.split_once(':')?;
        match kind {
            "m" => {
                let (first, list) = rest.split_once(':')?;
                let first: usize = first.parse().ok().filter(|f| *f <= MAX_CITATION)?;
                Some(Action::More {
                    first,
                    passages: refs(list)?,
                })
            }
            "p" => Some(Action::Full(refs(rest)?)),
            "f" => {
                let (vote, question) = rest.split_once(':')?;
                let up = match vote {
                    "u" => true,
                    "d" => false,
                    _ => return None,
                };
                let valid = !question.is_empty()
                    && question.len() <= 16
                    && question.chars().all(|c| c.is_ascii_hexdigit());
                valid.then(|| Action::Vote {
                    up,
                    question: question.to_string(),
                })
            }
            _ => None,
        }
    }
}

fn with_refs(prefix: &str, refs: &[PassageRef]) -> String {
    let mut data = prefix.to_string();
    for (i, r) in refs.iter().enumerate() {
        let item = format!(
            "{}{}.{}",
            if i > 0 { "," } else { "" },
            r.article,
            r.paragraph
        );
        if data.len() + item.len() > DATA_LIMIT - 1 - FINGERPRINT {
            break;
        }
        data.push_str(&item);
    }
    data
}

fn refs(list: &str) -> Option<Vec<PassageRef>> {
    let parsed: Option<Vec<PassageRef>> = list
        .split(',')
        .map(|item| {
            let (article, paragraph) = item.split_once('.')?;
            Some(PassageRef {
                article: article.parse().ok()?,
                paragraph: paragraph.parse().ok()?,
            })
        })
        .collect();
    parsed.filter(|r| !r.is_empty())
}

/// A short, stable id for a question (FNV-1a, 32 bits, hex): joins feedback in the logs to
/// the answer it rates without putting the question itself anywhere.
pub fn question_id(question: &str) -> String {
    crate::journal::question_id(question)
}

/// The buttons under an answer: "more sources" when there are further passages, "full
/// passage" when something was cited, then 👍 / 👎.
pub fn keyboard(
    cited: &[PassageRef],
    more: &[PassageRef],
    listed: usize,
    question: &str,
    script: Script,
    corpus: &str,
) -> InlineKeyboardMarkup {
    let labels = labels(script);
    let button = |text: &str, action: Action| {
        let pressed = Pressed {
            script,
            corpus: corpus.to_string(),
            action,
        };
        InlineKeyboardButton::callback(text, pressed.encode())
    };
    let mut first = Vec::new();
    if !more.is_empty() {
        first.push(button(
            labels.more_sources,
            Action::More {
                first: listed + 1,
                passages: more.to_vec(),
            },
        ));
    }
    if !cited.is_empty() {
        first.push(button(labels.full_passage, Action::Full(cited.to_vec())));
    }
    let id = question_id(question);
    let votes = vec![
        button(
            "👍",
            Action::Vote {
                up: true,
                question: id.clone(),
            },
        ),
        button(
            "👎",
            Action::Vote {
                up: false,
                question: id,
            },
        ),
    ];
    let rows: Vec<Vec<InlineKeyboardButton>> = if first.is_empty() {
        vec![votes]
    } else {
        vec![first, votes]
    };
    InlineKeyboardMarkup::new(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(article: usize, paragraph: usize) -> PassageRef {
        PassageRef { article, paragraph }
    }

    #[test]
    fn actions_round_trip() {
        for action in [
            Action::More {
                first: 4,
                passages: vec![at(0, 12), at(1, 7)],
            },
            Action::Full(vec![at(1, 3)]),
            Action::Vote {
                up: false,
                question: question_id("日本承诺对美国投资多少？"),
            },
        ] {
            let pressed = Pressed {
                script: Script::Hant,
                corpus: "1f2e".into(),
                action,
            };
            assert_eq!(Pressed::decode(&pressed.encode()), Some(pressed));
        }
    }

    #[test]
    fn data_always_fits_telegrams_limit() {
        let many: Vec<PassageRef> = (0..40).map(|i| at(i, 1000 + i)).collect();
        let data = Pressed {
            script: Script::Latin,
            corpus: "ffff".into(),
            action: Action::More {
                first: 4,
                passages: many,
            },
        }
        .encode();
        assert!(data.len() <= DATA_LIMIT, "{}", data.len());
        let decoded = Pressed::decode(&data).map(|p| p.action);
        assert!(matches!(decoded, Some(Action::More { passages, .. }) if passages.len() > 3));
    }

    #[test]
    fn foreign_or_broken_data_is_rejected() {
        for data in [
            "",
            "x",
            "hm:",
            "hm:1",
            "hm:4:",
            "hm:a.b",
            "hm:x:1.2",
            "hf:x:12",
            "hf:u:",
            "hf:u:<b>",
            "hz:1.2",
            "xm:4:1.2",
            "m:4:1.2",
            "hm:4:1.2",
            "h12m:4:1.2",
            "hxyzwm:4:1.2",
            "h0000m:18446744073709551615:1.2",
        ] {
            assert_eq!(Pressed::decode(data), None, "{data}");
        }
    }

    proptest::proptest! {
        #[test]
        fn encoded_actions_decode_to_themselves(
            first in 0usize..=MAX_CITATION,
            refs in proptest::collection::vec((0usize..100, 1usize..10_000), 1..4),
            up: bool,
        ) {
            let passages: Vec<PassageRef> = refs.iter().map(|&(a, p)| at(a, p)).collect();
            for action in [
                Action::More { first, passages: passages.clone() },
                Action::Full(passages.clone()),
                Action::Vote { up, question: question_id(&format!("{first}")) },
            ] {
                let pressed = Pressed { script: Script::Hans, corpus: "0a9f".into(), action };
                let data = pressed.encode();
                proptest::prop_assert!(data.len() <= DATA_LIMIT);
                proptest::prop_assert_eq!(Pressed::decode(&data), Some(pressed));
            }
        }

        #[test]
        fn any_64_bytes_decode_without_panic_or_overflow(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..=DATA_LIMIT),
            text in "[htlx][0-9a-f]{4}[mpf:0-9.,ud]{0,59}",
        ) {
            for data in [String::from_utf8_lossy(&bytes).into_owned(), text] {
                if let Some(Pressed { action: Action::More { first, passages }, .. }) =
                    Pressed::decode(&data)
                {
                    proptest::prop_assert!(first.checked_add(passages.len()).is_some());
                }
            }
        }
    }

    #[test]
    fn question_ids_are_stable_and_short() {
        assert_eq!(question_id("a"), "e40c292c");
        assert_ne!(question_id("日本"), question_id("美国"));
    }
}
