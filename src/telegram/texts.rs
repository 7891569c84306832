//! What the bot says about itself in Telegram — /start, /help, /about, /sources, an unknown
//! command, a message that is not text, a late answer — in the asker's script, which Telegram
//! tells by the user's language setting.

use teloxide::utils::html;

use crate::corpus::{Metadata, Script};

/// The script of a Telegram user's language setting (`zh-hans`, `zh-TW`, `zh-HK`, `en`…):
/// Traditional for Taiwan, Hong Kong, Macau and `hant`, Simplified for other Chinese, else
/// English.
pub fn script_of(language_code: Option<&str>) -> Script {
    let code = language_code.unwrap_or("").to_ascii_lowercase();
    if !code.starts_with("zh") {
        return Script::Latin;
    }
    if ["hant", "tw", "hk", "mo"].iter().any(|t| code.contains(t)) {
        Script::Hant
    } else {
        Script::Hans
    }
}

/// One script's texts.
struct Texts {
    knows: &'static str,
    articles: &'static str,
    examples: [&'static str; 3],
    how: &'static str,
    unknown_command: &'static str,
    not_text: &'static str,
    about: &'static str,
    no_articles: &'static str,
    /// A late answer; `{}` is the expected wait in seconds.
    later: &'static str,
    again: &'static str,
}

const HANS: Texts = Texts {
    knows: "你好！我回答关于 2025 年 10 月 28 日特朗普与高市早苗东京会谈的问题，只引用文章原句并注明出处；文章没写的，我会直说。",
    articles: "文章：",
    examples: [
        "日本承诺对美国投资多少？",
        "美日稀土协议说了什么？",
        "横须贺基地外有多少人抗议？",
    ],
    how: "怎么问：\n• 私聊里直接发问题，简体、繁体、粤语或英语都行。\n• 追问：回复我的回答，例如「那防卫装备呢？」。\n• 群组里：/ask 问题，或 @我 加上问题。\n• 任何聊天里：输入 @我 加问题，选出回答（inline 模式）。\n• /sources 看文章，/about 看我是什么。",
    unknown_command: "不认识这个命令。发送 /help 看看怎么用。",
    not_text: "请用文字把问题发给我，例如：日本承诺对美国投资多少？",
    about: "summit-qa：只根据已收录的文章回答，离线运行；文章没有涉及的问题，会直说不答。",
    no_articles: "还没有收录文章。",
    later: "现在提问的人很多，你的回答大约 {} 秒后送到。",
    again: "现在提问的人太多了，请一分钟后再问一次。",
};

const HANT: Texts = Texts {
    knows: "你好！我回答關於 2025 年 10 月 28 日特朗普與高市早苗東京會談的問題，只引用文章原句並註明出處；文章沒寫的，我會直說。",
    articles: "文章：",
    examples: [
        "日本承諾對美國投資多少？",
        "美日稀土協議的內容是什麼？",
        "橫須賀基地外有多少人抗議？",
    ],
    how: "怎麼問：\n• 私訊裡直接發問題，簡體、繁體、粵語或英語都可以。\n• 追問：回覆我的回答，例如「那防衛裝備呢？」。\n• 群組裡：/ask 問題，或 @我 加上問題。\n• 任何聊天裡：輸入 @我 加問題，選出回答（inline 模式）。\n• /sources 看文章，/about 看我是什麼。",
    unknown_command: "不認識這個指令。發送 /help 看看怎麼用。",
    not_text: "請用文字把問題發給我，例如：日本承諾對美國投資多少？",
    about: "summit-qa：只根據已收錄的文章回答，離線運行；文章沒有涉及的問題，會直說不答。",
    no_articles: "還沒有收錄文章。",
    later: "現在提問的人很多，你的回答大約 {} 秒後送到。",
    again: "現在提問的人太多了，請一分鐘後再問一次。",
};

const EN: Texts = Texts {
    knows: "Hello! I answer questions about the Trump–Takaichi summit in Tokyo on 28 October 2025, quoting the articles' own sentences and citing each source; when they do not say, I tell you so.",
    articles: "The articles:",
    examples: [
        "How much did Japan promise to invest in the US?",
        "What did the rare earth deal say?",
        "What gift did Takaichi give Trump?",
    ],
    how: "How to ask:\n• In a private chat, just send a question — English, Simplified or Traditional Chinese.\n• Follow up by replying to one of my answers, e.g. “and the rice?”.\n• In a group: /ask your question, or @mention me with it.\n• In any chat: type @me and a question, then pick the answer (inline mode).\n• /sources lists the articles, /about says what I am.",
    unknown_command: "I do not know that command. Send /help to see how to ask.",
    not_text: "Please send me your question as text, e.g. How much did Japan promise to invest?",
    about: "summit-qa answers only from the indexed articles, offline, and says so when they do not cover a question.",
    no_articles: "No articles are indexed yet.",
    later: "Many questions right now: your answer follows in about {} s.",
    again: "Too many questions right now: please ask again in a minute.",
};

fn texts(script: Script) -> &'static Texts {
    match script {
        Script::Hans => &HANS,
        Script::Hant => &HANT,
        Script::Latin => &EN,
    }
}

/// /start, as Telegram HTML: what the bot knows, its articles, three example questions.
pub fn start(script: Script, articles: &[Metadata]) -> String {
    let t = texts(script);
    let examples: Vec<String> = t.examples.iter().map(|e| format!("• {e}")).collect();
    format!(
        "{}\n\n{}\n\n{}",
        html::escape(t.knows),
        sources(script, articles),
        html::escape(&examples.join("\n"))
    )
}

/// /help: how to ask, then three example questions.
pub fn help(script: Script) -> String {
    let t = texts(script);
    let examples: Vec<String> = t.examples.iter().map(|e| format!("• {e}")).collect();
    format!("{}\n\n{}", t.how, examples.join("\n"))
}

/// /sources, as Telegram HTML: the articles by our label (or headline), author, outlet and
/// date (what is known); the title links to the article when its URL is known.
pub fn sources(script: Script, articles: &[Metadata]) -> String {
    let t = texts(script);
    if articles.is_empty() {
        return html::escape(t.no_articles);
    }
    let lines: Vec<String> = articles
        .iter()
        .map(|m| {
            let known: Vec<&str> = [&m.author, &m.publisher, &m.published]
                .into_iter()
                .filter_map(|f| f.as_deref())
                .collect();
            let title = m.label.as_ref().or(m.title.as_ref()).unwrap_or(&m.id);
            let title = match &m.url {
                Some(url) => html::link(url, title),
                None => html::escape(title),
            };
            if known.is_empty() {
                format!("• {title}")
            } else {
                format!("• {title} — {}", html::escape(&known.join(" · ")))
            }
        })
        .collect();
    format!("{}\n{}", html::escape(t.articles), lines.join("\n"))
}

/// /privacy: what is kept, for how long, and how to delete it.
pub fn privacy(script: Script) -> String {
    match script {
        Script::Hans => "本机器人会记录你的问题、回答的类型、引用的段落、时间和聊天类型，以及你对回答的 👍/👎，保留 90 天（运营者可调整），用于统计和改进回答。不记录你的用户名或 ID：聊天和用户只以加密散列保存。发送 /forget 即可删除你的全部记录和对话上下文。",
        Script::Hant => "本機器人會記錄你的問題、回答的類型、引用的段落、時間和聊天類型，以及你對回答的 👍/👎，保留 90 天（營運者可調整），用於統計和改進回答。不記錄你的用戶名或 ID：聊天和用戶只以加密雜湊保存。發送 /forget 即可刪除你的全部記錄和對話上下文。",
        Script::Latin => "This bot keeps your questions, the kind of reply, the cited paragraphs, the time and the chat type, and your 👍/👎 on answers, for 90 days (the operator may change this), to count and improve its answers. It keeps no user name or id: chats and users are stored only as keyed hashes. Send /forget to delete all your records and conversation context.",
    }
    .to_string()
}

/// After /forget: how many records were deleted.
pub fn forgotten(script: Script, n: usize) -> String {
    match script {
        Script::Hans => format!("已删除你的 {n} 条记录和对话上下文。"),
        Script::Hant => format!("已刪除你的 {n} 條記錄和對話上下文。"),
        Script::Latin => format!("Deleted your {n} records and your conversation context."),
    }
}

/// When /forget could not reach the records.
pub fn not_forgotten(script: Script) -> &'static str {
    match script {
        Script::Hans => "暂时无法删除你的记录，请稍后再发送 /forget。",
        Script::Hant => "暫時無法刪除你的記錄，請稍後再發送 /forget。",
        Script::Latin => "Your records cannot be deleted right now; send /forget again later.",
    }
}

/// The line an unlisted user gets in a private chat (once a day).
pub fn not_allowed(script: Script) -> &'static str {
    match script {
        Script::Hans => "抱歉，这个机器人只为受邀的用户和群组服务。如需使用，请联系它的管理员。",
        Script::Hant => "抱歉，這個機器人只為受邀的用戶和群組服務。如需使用，請聯絡它的管理員。",
        Script::Latin => "Sorry, this bot serves invited users and groups only. Ask its administrator for access.",
    }
}

/// /about, in the asker's script.
pub fn about(script: Script) -> &'static str {
    texts(script).about
}

/// The one line for an unknown command.
pub fn unknown_command(script: Script) -> &'static str {
    texts(script).unknown_command
}

/// The notice that an answer follows after about `wait` (rounded up to 10 s).
pub fn answer_follows(script: Script, wait: std::time::Duration) -> String {
    let seconds = wait.as_secs().div_ceil(10).max(1) * 10;
    texts(script).later.replace("{}", &seconds.to_string())
}

/// The notice that the question will not be answered now: ask again in a minute.
pub fn ask_again(script: Script) -> &'static str {
    texts(script).again
}

/// The one line for a sticker, photo, voice message… in a private chat.
pub fn not_text(script: Script) -> &'static str {
    texts(script).not_text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_language_setting_picks_the_script() {
        assert_eq!(script_of(Some("zh-hans")), Script::Hans);
        assert_eq!(script_of(Some("zh")), Script::Hans);
        assert_eq!(script_of(Some("zh-TW")), Script::Hant);
        assert_eq!(script_of(Some("zh-hk")), Script::Hant);
        assert_eq!(script_of(Some("en")), Script::Latin);
        assert_eq!(script_of(None), Script::Latin);
    }

    fn meta(label: Option<&str>, author: Option<&str>) -> Metadata {
        Metadata {
            id: "004_x".into(),
            file: "004.txt".into(),
            script: Script::Hant,
            title: None,
            author: author.map(Into::into),
            publisher: None,
            published: None,
            label: label.map(Into::into),
            url: None,
        }
    }

    #[test]
    fn a_late_answer_is_announced_in_tens_of_seconds_in_each_script() {
        let wait = std::time::Duration::from_secs(61);
        assert_eq!(
            answer_follows(Script::Latin, wait),
            "Many questions right now: your answer follows in about 70 s."
        );
        assert!(answer_follows(Script::Hans, wait).contains("大约 70 秒"));
        assert!(answer_follows(Script::Hant, wait).contains("大約 70 秒"));
        assert!(ask_again(Script::Hant).contains("一分鐘後"));
    }

    #[test]
    fn sources_show_titles_not_ids() {
        let text = sources(
            Script::Latin,
            &[meta(Some("美日同盟評論"), None), meta(None, Some("华浩男"))],
        );
        assert!(text.starts_with("The articles:\n"), "{text}");
        assert!(text.contains("• 美日同盟評論\n"), "{text}");
        assert!(text.contains("• 004_x — 华浩男"), "{text}");
    }

    #[test]
    fn sources_link_an_article_with_a_url_and_escape_every_field() {
        let mut linked = meta(None, Some("A & B"));
        linked.title = Some("<農協>反彈".into());
        linked.url = Some("https://news.example/a?x=1&y=2".into());
        let text = sources(Script::Hant, &[linked]);
        assert!(
            text.contains(
                "• <a href=\"https://news.example/a?x=1&amp;y=2\">&lt;農協&gt;反彈</a> — A &amp; B"
            ),
            "{text}"
        );
    }

    #[test]
    fn start_and_help_differ_and_follow_the_script() {
        assert_ne!(start(Script::Hans, &[]), help(Script::Hans));
        assert!(help(Script::Hant).contains("/ask"));
        assert!(start(Script::Latin, &[]).contains("What gift did Takaichi give Trump?"));
        assert!(!help(Script::Hans).contains("docs"));
    }
}
