//! Rendering answers for people and programs: console text, the `ask --json` contract and
//! Telegram HTML. Labels follow the asker's script (Simplified, Traditional or English).

pub mod link;
pub mod telegram;

use serde::Serialize;

use crate::answer::{Answer, Citation, Reply};
use crate::corpus::Script;
use crate::text::Talk;

/// User-facing words in one script.
#[derive(Debug)]
pub struct Labels {
    /// Heading of the sources list.
    pub sources: &'static str,
    /// Shown for an unknown author.
    pub unknown_author: &'static str,
    /// Shown for an unknown outlet.
    pub unknown_publisher: &'static str,
    /// Shown for an unknown date.
    pub unknown_date: &'static str,
    /// After an article's label when neither its author nor its outlet is known.
    pub unknown_source: &'static str,
    /// First sentence of a refusal.
    pub not_covered: &'static str,
    /// Introduces what the articles do cover.
    pub covered: &'static str,
    /// Between two sentences (a space in English, nothing in Chinese).
    pub sentence_sep: &'static str,
    /// Added when the question was cut.
    pub truncated: &'static str,
    /// Separator inside lists.
    pub list_sep: &'static str,
    /// Button: further passages.
    pub more_sources: &'static str,
    /// Button: the cited paragraphs with the paragraphs around them.
    pub full_passage: &'static str,
    /// Reply to a feedback vote.
    pub thanks: &'static str,
    /// Reply to a button whose passage no longer exists (the corpus changed).
    pub stale: &'static str,
    /// The one notice sent when a user asks too often.
    pub slow_down: &'static str,
    /// Title of an answer offered in inline mode.
    pub answer_title: &'static str,
    /// Title of the closest passages offered in inline mode.
    pub closest_title: &'static str,
    /// Title of the inline hint shown for an empty query.
    pub hint_title: &'static str,
    /// Text of the inline hint.
    pub hint: &'static str,
    /// Opens a "not stated" reply: the articles cover the subject, not the detail.
    pub not_stated: &'static str,
    /// Opens a "closest passages" reply: no claim, the passages closest to the question.
    pub closest: &'static str,
    /// Opens the reply to a greeting, thanks, goodbye, praise, complaint or acknowledgement
    /// (in that order).
    pub talk_openers: [&'static str; 6],
    /// What the bot does, then the articles it answers from.
    pub about: &'static str,
    /// Introduces the example questions.
    pub try_asking: &'static str,
    /// Two example questions.
    pub examples: [&'static str; 2],
}

const HANS: Labels = Labels {
    sources: "来源",
    unknown_author: "作者不详",
    unknown_publisher: "出处不详",
    unknown_date: "日期不详",
    unknown_source: "（作者、出处不详）",
    not_covered: "已收录的文章没有涉及这个问题，所以我不作回答。",
    covered: "这些文章讨论的是 2025 年 10 月 28 日特朗普与高市早苗在东京的会谈：",
    sentence_sep: "",
    truncated: "（问题过长，只按前面部分作答。）",
    list_sep: "；",
    more_sources: "更多来源",
    full_passage: "完整段落",
    thanks: "谢谢反馈！",
    stale: "这个按钮已失效（文章已更新），请重新提问。",
    slow_down: "提问太频繁了，请稍等一分钟再问。",
    answer_title: "回答",
    closest_title: "没有直接的回答：最接近的内容",
    hint_title: "输入关于特朗普与高市早苗会谈的问题",
    hint: "例如：日本承诺对美国投资多少？",
    not_stated: "文章没有写明这一点。相关的内容是：",
    closest: "文章没有直接回答这个问题，最接近的内容是：",
    talk_openers: ["你好！", "不客气！", "再见！", "谢谢夸奖！", "抱歉没帮上忙。换个说法再问问看吧。", "好的。"],
    about: "我根据已收录的文章回答关于 2025 年 10 月 28 日特朗普与高市早苗东京会谈的问题，只引用原文并注明出处。文章：",
    try_asking: "可以这样问：",
    examples: ["日本承诺对美国投资多少？", "美日稀土协议说了什么？"],
};

const HANT: Labels = Labels {
    sources: "來源",
    unknown_author: "作者不詳",
    unknown_publisher: "出處不詳",
    unknown_date: "日期不詳",
    unknown_source: "（作者、出處不詳）",
    not_covered: "已收錄的文章沒有涉及這個問題，所以我不作回答。",
    covered: "這些文章討論的是 2025 年 10 月 28 日特朗普與高市早苗在東京的會談：",
    sentence_sep: "",
    truncated: "（問題過長，只按前面部分作答。）",
    list_sep: "；",
    more_sources: "更多來源",
    full_passage: "完整段落",
    thanks: "謝謝回饋！",
    stale: "這個按鈕已失效（文章已更新），請重新提問。",
    slow_down: "提問太頻繁了，請稍等一分鐘再問。",
    answer_title: "回答",
    closest_title: "沒有直接的回答：最接近的內容",
    hint_title: "輸入關於特朗普與高市早苗會談的問題",
    hint: "例如：美日稀土協議的內容是什麼？",
    not_stated: "文章沒有寫明這一點。相關的內容是：",
    closest: "文章沒有直接回答這個問題，最接近的內容是：",
    talk_openers: ["你好！", "不客氣！", "再見！", "謝謝誇獎！", "抱歉沒幫上忙。換個說法再問問看吧。", "好的。"],
    about: "我根據已收錄的文章回答關於 2025 年 10 月 28 日特朗普與高市早苗東京會談的問題，只引用原文並註明出處。文章：",
    try_asking: "可以這樣問：",
    examples: ["日本承諾對美國投資多少？", "美日稀土協議說了什麼？"],
};

const EN: Labels = Labels {
    sources: "Sources",
    unknown_author: "author unknown",
    unknown_publisher: "outlet unknown",
    unknown_date: "date unknown",
    unknown_source: " (author and outlet unknown)",
    not_covered: "The indexed articles do not cover this question, so I will not guess.",
    covered: "They discuss the Trump–Takaichi summit in Tokyo on 28 October 2025: ",
    sentence_sep: " ",
    truncated: "(The question was too long; only its beginning was used.)",
    list_sep: "; ",
    more_sources: "More sources",
    full_passage: "Full passage",
    thanks: "Thanks for the feedback!",
    stale: "This button is out of date (the articles changed); please ask again.",
    slow_down: "You are asking very often; please wait a minute before the next question.",
    answer_title: "Answer",
    closest_title: "No direct answer: the closest passages",
    hint_title: "Type a question about the Trump–Takaichi summit",
    hint: "e.g. What gift did Takaichi give Trump?",
    not_stated: "The articles do not state that. What they do say:",
    closest: "The articles may not answer exactly this. Closest passages:",
    talk_openers: [
        "Hello!",
        "You're welcome!",
        "Goodbye!",
        "Thank you!",
        "Sorry that did not help. Try asking in other words.",
        "OK.",
    ],
    about: "I answer questions about the Trump–Takaichi summit in Tokyo on 28 October 2025 by quoting the indexed articles and citing each source. The articles: ",
    try_asking: "Try asking:",
    examples: ["How much did Japan promise to invest in the US?", "What did the rare earth deal say?"],
};

/// The labels for a script.
pub fn labels(script: Script) -> &'static Labels {
    match script {
        Script::Hans => &HANS,
        Script::Hant => &HANT,
        Script::Latin => &EN,
    }
}

/// `author · outlet · date · ¶n`, with unknown fields named as unknown; when neither author
/// nor outlet is known, our label of the article stands for them (`label（作者、出处不详）· ¶n`).
pub fn source_line(c: &Citation, l: &Labels) -> String {
    if let (None, None, Some(label)) = (
        &c.author,
        &c.publisher,
        c.label.as_ref().or(c.title.as_ref()),
    ) {
        let date = c
            .published
            .as_deref()
            .map(|d| format!(" · {d}"))
            .unwrap_or_default();
        return format!("{label}{}{date} · ¶{}", l.unknown_source, c.paragraph);
    }
    format!(
        "{} · {} · {} · ¶{}",
        c.author.as_deref().unwrap_or(l.unknown_author),
        c.publisher.as_deref().unwrap_or(l.unknown_publisher),
        c.published.as_deref().unwrap_or(l.unknown_date),
        c.paragraph
    )
}

/// The refusal text: not covered, then what the articles are about (our own labels).
pub fn refusal(script: Script, topics: &[String]) -> String {
    let l = labels(script);
    format!(
        "{}{}{}{}",
        l.not_covered,
        l.sentence_sep,
        l.covered,
        topics.join(l.list_sep)
    )
}

/// The reply to conversation: an opener for what the message did, what the bot knows (the
/// articles, by our labels) and two example questions.
pub fn small_talk(script: Script, talk: Talk, topics: &[String]) -> String {
    let l = labels(script);
    let opener = match talk {
        Talk::Greeting => Some(l.talk_openers[0]),
        Talk::Thanks => Some(l.talk_openers[1]),
        Talk::Goodbye => Some(l.talk_openers[2]),
        Talk::Praise => Some(l.talk_openers[3]),
        Talk::Complaint => Some(l.talk_openers[4]),
        Talk::Ack => Some(l.talk_openers[5]),
        Talk::About => None,
    };
    let mut out = String::new();
    if let Some(opener) = opener {
        out.push_str(opener);
        out.push_str(l.sentence_sep);
    }
    out.push_str(l.about);
    out.push_str(&topics.join(l.list_sep));
    out.push_str(if l.sentence_sep.is_empty() {
        "。"
    } else {
        "."
    });
    out.push_str(l.sentence_sep);
    out.push_str(l.try_asking);
    for example in l.examples {
        out.push_str(&format!("{}{}", l.sentence_sep, quoted(script, example)));
    }
    out
}

fn quoted(script: Script, text: &str) -> String {
    match script {
        Script::Latin => format!("“{text}”"),
        _ => format!("「{text}」"),
    }
}

/// "Not stated": the articles cover the subject but not the detail; then what they say.
pub fn not_stated(script: Script, context: &str) -> String {
    let l = labels(script);
    format!("{}{}{}", l.not_stated, l.sentence_sep, context)
}

/// "Closest passages": no claim, then the passages' sentences with their markers.
pub fn closest(script: Script, passages: &str) -> String {
    let l = labels(script);
    format!("{}{}{}", l.closest, l.sentence_sep, passages)
}

/// The text a person reads: quoted sentences with markers, the closest passages, "not
/// stated" with its context, the refusal, or the small-talk reply.
pub fn answer_text(answer: &Answer) -> String {
    match answer.reply {
        Reply::Answer => answer.text(),
        Reply::Closest => closest(answer.script, &answer.text()),
        Reply::NotStated => not_stated(answer.script, &answer.text()),
        Reply::Refused => refusal(answer.script, &answer.topics),
        Reply::SmallTalk(talk) => small_talk(answer.script, talk, &answer.topics),
    }
}

/// A short quote: at most `max` characters, cut with an ellipsis.
pub fn short_quote(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

/// Plain text for a terminal: answer, then numbered sources with a short quote.
pub fn console(answer: &Answer) -> String {
    let l = labels(answer.script);
    let mut out = answer_text(answer);
    if answer.truncated {
        out.push('\n');
        out.push_str(l.truncated);
    }
    if !answer.citations.is_empty() {
        out.push_str(&format!("\n\n{}:\n", l.sources));
        for c in &answer.citations {
            out.push_str(&format!(
                "[{}] {}\n    「{}」\n",
                c.n,
                source_line(c, l),
                short_quote(&c.best_sentence, 80)
            ));
            if let Some(link) = link::of(c) {
                out.push_str(&format!("    {link}\n"));
            }
        }
    }
    out.trim_end().to_string()
}

/// One citation in the JSON contract.
#[derive(Debug, Serialize)]
pub struct JsonCitation<'a> {
    n: usize,
    article: &'a str,
    author: Option<&'a str>,
    publisher: Option<&'a str>,
    published: Option<&'a str>,
    paragraph: usize,
    text: &'a str,
    score: f64,
    quote: &'a str,
    /// Where the article was published (when known).
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<&'a str>,
    /// That page at the quoted sentence (a URL text fragment).
    #[serde(skip_serializing_if = "Option::is_none")]
    link: Option<String>,
}

/// The `ask --json` object (see `docs/json-contract.md`); extra fields do not change meaning.
#[derive(Debug, Serialize)]
pub struct JsonAnswer<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a serde_json::Value>,
    question: &'a str,
    answered: bool,
    reply: &'static str,
    answer: String,
    citations: Vec<JsonCitation<'a>>,
    took_us: u64,
    truncated: bool,
    coverage: f64,
    confidence: f64,
    about: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    decision: Option<JsonDecision>,
}

/// The answer decision's probabilities, when the fitted decision made the reply.
#[derive(Debug, Serialize)]
pub struct JsonDecision {
    /// P(the claim is right).
    claim: f64,
    /// P(the articles speak of what is asked).
    topic: f64,
}

/// Builds the JSON contract object for one answer; `id` is echoed when given.
pub fn json<'a>(
    answer: &'a Answer,
    id: Option<&'a serde_json::Value>,
    took_us: u64,
) -> JsonAnswer<'a> {
    JsonAnswer {
        id,
        question: &answer.question,
        answered: answer.answered(),
        reply: answer.reply.name(),
        answer: answer_text(answer),
        citations: answer
            .citations
            .iter()
            .map(|c| JsonCitation {
                n: c.n,
                article: &c.article,
                author: c.author.as_deref(),
                publisher: c.publisher.as_deref(),
                published: c.published.as_deref(),
                paragraph: c.paragraph,
                text: &c.text,
                score: (f64::from(c.score) * 100.0).round() / 100.0,
                quote: &c.best_sentence,
                url: c.url.as_deref(),
                link: link::of(c),
            })
            .collect(),
        took_us,
        truncated: answer.truncated,
        coverage: (f64::from(answer.coverage) * 100.0).round() / 100.0,
        confidence: (f64::from(answer.confidence) * 1000.0).round() / 1000.0,
        about: (f64::from(answer.about) * 1000.0).round() / 1000.0,
        decision: answer.decided.map(|(claim, topic)| JsonDecision {
            claim: (f64::from(claim) * 1000.0).round() / 1000.0,
            topic: (f64::from(topic) * 1000.0).round() / 1000.0,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_reads_as_two_sentences_in_each_script() {
        let topics = ["A".to_string(), "B".to_string()];
        assert!(refusal(Script::Latin, &topics).contains("not guess. They discuss"));
        assert!(refusal(Script::Hans, &topics).contains("不作回答。这些文章"));
    }

    fn citation(author: Option<&str>) -> Citation {
        Citation {
            n: 1,
            article: "004".into(),
            author: author.map(Into::into),
            publisher: None,
            published: None,
            label: None,
            title: None,
            url: None,
            paragraph: 3,
            text: "段落。".into(),
            best_sentence: "段落。".into(),
            score: 1.234,
        }
    }

    #[test]
    fn unknown_metadata_is_shown_as_unknown_in_the_askers_script() {
        let c = citation(None);
        assert_eq!(
            source_line(&c, labels(Script::Hant)),
            "作者不詳 · 出處不詳 · 日期不詳 · ¶3"
        );
        assert_eq!(
            source_line(&c, labels(Script::Latin)),
            "author unknown · outlet unknown · date unknown · ¶3"
        );
    }

    #[test]
    fn an_article_of_unknown_author_and_outlet_is_named_by_its_label() {
        let mut c = citation(None);
        c.label = Some("美日同盟評論（繁體）".into());
        assert_eq!(
            source_line(&c, labels(Script::Hant)),
            "美日同盟評論（繁體）（作者、出處不詳） · ¶3"
        );
        c.published = Some("2025-10-29".into());
        assert_eq!(
            source_line(&c, labels(Script::Latin)),
            "美日同盟評論（繁體） (author and outlet unknown) · 2025-10-29 · ¶3"
        );
    }

    #[test]
    fn json_keeps_unknown_as_null_and_echoes_id() {
        let answer = Answer {
            question: "q".into(),
            script: Script::Hans,
            reply: crate::answer::Reply::Answer,
            quotes: vec![crate::answer::Quote {
                text: "段落。".into(),
                citation: 1,
            }],
            citations: vec![citation(None)],
            truncated: false,
            coverage: 0.8,
            confidence: 0.8,
            about: 0.8,
            more: Vec::new(),
            topics: Vec::new(),
            corpus: String::new(),
            decided: Some((0.9, 0.99)),
        };
        let id = serde_json::json!("d01");
        let v = serde_json::to_value(json(&answer, Some(&id), 7)).unwrap();
        assert_eq!(v["id"], "d01");
        assert_eq!(v["answer"], "段落。[1]");
        assert!(v["citations"][0]["author"].is_null());
        assert_eq!(v["citations"][0]["score"], 1.23);
        assert_eq!(v["took_us"], 7);
        assert_eq!(v["decision"]["claim"], 0.9);
        assert_eq!(v["reply"], "answer");
        assert!(
            v["citations"][0].get("url").is_none(),
            "no URL, no url or link field"
        );
        let mut linked = answer.clone();
        linked.citations[0].url = Some("https://news.example/a#top".into());
        let v = serde_json::to_value(json(&linked, None, 7)).unwrap();
        assert_eq!(v["citations"][0]["url"], "https://news.example/a#top");
        let link = v["citations"][0]["link"].as_str().unwrap();
        assert!(
            link.starts_with("https://news.example/a#:~:text=%E"),
            "{link}"
        );
        assert!(
            console(&linked).contains(&format!("\n    {link}")),
            "{}",
            console(&linked)
        );
    }

    #[test]
    fn closest_passages_say_what_they_are_and_claim_nothing() {
        let answer = Answer {
            question: "q".into(),
            script: Script::Latin,
            reply: Reply::Closest,
            quotes: vec![crate::answer::Quote {
                text: "段落。".into(),
                citation: 1,
            }],
            citations: vec![citation(None)],
            truncated: false,
            coverage: 0.3,
            confidence: 0.3,
            about: 0.3,
            more: Vec::new(),
            topics: Vec::new(),
            corpus: String::new(),
            decided: Some((0.4, 0.95)),
        };
        assert_eq!(
            answer_text(&answer),
            "The articles may not answer exactly this. Closest passages: 段落。[1]"
        );
        let v = serde_json::to_value(json(&answer, None, 1)).unwrap();
        assert_eq!(
            (v["answered"].clone(), v["reply"].clone()),
            (false.into(), "closest".into())
        );
        assert_eq!(v["citations"].as_array().unwrap().len(), 1);
        let html = telegram::messages(&answer, telegram::MESSAGE_LIMIT).join("");
        assert!(
            html.starts_with("<i>The articles may not answer exactly this. Closest passages:</i>"),
            "{html}"
        );
    }

    #[test]
    fn short_quote_cuts_on_characters() {
        assert_eq!(short_quote("日本承诺投资", 2), "日本…");
        assert_eq!(short_quote("日本", 2), "日本");
    }
}
