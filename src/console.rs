//! The `chat` transport: an interactive console conversation over the engine, no token needed
//! — with line editing and history on a terminal (rustyline), plain lines from a pipe.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

use rustyline::error::ReadlineError;
use rustyline::history::DefaultHistory;
use rustyline::Editor;

use crate::conversation;
use crate::corpus::Script;
use crate::engine::Engine;
use crate::render;

/// The chat's greeting and help, in one script.
fn greeting(script: Script) -> &'static str {
    match script {
        Script::Hans => {
            "summit-qa — 关于 2025-10-28 特朗普与高市早苗东京会谈的问答。\n\
             直接输入问题（简体、繁體或 English 均可）；简短的追问（那防卫装备呢？）接着上一个问题。\n\
             /sources 列出文章，help 显示这段说明，exit 或 Ctrl-D 退出。"
        }
        Script::Hant => {
            "summit-qa — 關於 2025-10-28 特朗普與高市早苗東京會談的問答。\n\
             直接輸入問題（简体、繁體或 English 均可）；簡短的追問（那防衛裝備呢？）接著上一個問題。\n\
             /sources 列出文章，help 顯示這段說明，exit 或 Ctrl-D 退出。"
        }
        Script::Latin => {
            "summit-qa — questions about the Trump–Takaichi summit in Tokyo, 28 Oct 2025.\n\
             Type a question (English, 简体 or 繁體); a short follow-up (and the rice?) goes on\n\
             from the previous one. /sources lists the articles, help shows this, exit or Ctrl-D quits."
        }
    }
}

/// The script of the terminal's locale (`LC_ALL`, `LC_MESSAGES`, `LANG`): Traditional for
/// zh_TW / zh_HK / zh_MO, Simplified for other Chinese, else English.
pub fn locale_script() -> Script {
    let locale = ["LC_ALL", "LC_MESSAGES", "LANG"]
        .iter()
        .filter_map(|k| std::env::var(k).ok())
        .find(|v| !v.is_empty())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if !locale.starts_with("zh") {
        Script::Latin
    } else if ["tw", "hk", "mo", "hant"]
        .iter()
        .any(|t| locale.contains(t))
    {
        Script::Hant
    } else {
        Script::Hans
    }
}

/// One chat: the engine, the previous question (for follow-ups) and the greeting's script.
struct Session<'a> {
    engine: &'a Engine,
    previous: Option<String>,
    script: Script,
}

impl Session<'_> {
    /// The reply to one line; `None` to end the chat.
    fn reply(&mut self, line: &str) -> Option<String> {
        let question = line.trim();
        let reply = match question.to_lowercase().as_str() {
            "" => String::new(),
            "/quit" | "/exit" | "/q" | "quit" | "exit" | "退出" => return None,
            "/sources" | "sources" => format!("{}\n", sources(&self.engine.articles())),
            "/help" | "help" | "?" | "？" => format!("{}\n", greeting(self.script)),
            _ => self.ask(question),
        };
        Some(reply)
    }

    fn ask(&mut self, question: &str) -> String {
        let context = self
            .previous
            .as_deref()
            .filter(|_| conversation::is_follow_up(question));
        match self.engine.ask(question, context) {
            Ok(answer) => {
                if conversation::remembers(&answer) {
                    self.previous = Some(question.to_string());
                }
                format!("{}\n\n", render::console(&answer))
            }
            Err(e) => format!("{e}\n\n"),
        }
    }
}

/// Runs the chat over `input` until EOF or `exit`, writing answers to `output` (a pipe, or
/// a test). A short elliptical message right after an answer (那防卫装备呢？) is asked with the
/// previous question as context.
pub fn run(engine: &Engine, input: impl BufRead, mut output: impl Write) -> std::io::Result<()> {
    let mut session = Session {
        engine,
        previous: None,
        script: locale_script(),
    };
    writeln!(output, "{}", greeting(session.script))?;
    prompt(&mut output)?;
    for line in input.lines() {
        match session.reply(&line?) {
            Some(reply) => write!(output, "{reply}")?,
            None => break,
        }
        prompt(&mut output)?;
    }
    writeln!(output)?;
    Ok(())
}

/// Runs the chat on a terminal: line editing, history kept in the user's data folder, Ctrl-C
/// clears the line, Ctrl-D (or `exit`) ends; `[n]` markers and sources in colour unless
/// `NO_COLOR` is set or standard output is not a terminal. Without a terminal, [`run`].
pub fn run_interactive(engine: &Engine) -> std::io::Result<()> {
    if !std::io::stdin().is_terminal() {
        return run(engine, std::io::stdin().lock(), std::io::stdout().lock());
    }
    let mut editor: Editor<(), DefaultHistory> =
        Editor::new().map_err(|e| std::io::Error::other(e.to_string()))?;
    let history = history_file();
    if let Some(path) = &history {
        // A first run has no history yet.
        let _ = editor.load_history(path);
    }
    let colour = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let mut session = Session {
        engine,
        previous: None,
        script: locale_script(),
    };
    println!("{}", greeting(session.script));
    loop {
        let line = match editor.readline("> ") {
            Ok(line) => line,
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => break,
            Err(e) => return Err(std::io::Error::other(e.to_string())),
        };
        if !line.trim().is_empty() {
            let _ = editor.add_history_entry(line.as_str());
        }
        match session.reply(&line) {
            Some(reply) if colour => print!("{}", coloured(&reply)),
            Some(reply) => print!("{reply}"),
            None => break,
        }
    }
    if let Some(path) = &history {
        if let Err(e) = editor.save_history(path) {
            tracing::warn!(file = %path.display(), error = %e, "the chat history was not saved");
        }
    }
    Ok(())
}

/// `$XDG_DATA_HOME/summit-qa/history`, or `~/.local/share/summit-qa/history`; the folder is
/// created. `None` when there is no home folder.
fn history_file() -> Option<PathBuf> {
    let data = std::env::var_os("XDG_DATA_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))?;
    let dir = data.join("summit-qa");
    std::fs::create_dir_all(&dir).ok()?;
    Some(dir.join("history"))
}

const CYAN: &str = "\x1b[36m";
const BOLD: &str = "\x1b[1m";
const RESET: &str = "\x1b[0m";

/// `[n]` markers in cyan and the sources heading in bold (ANSI colours).
fn coloured(reply: &str) -> String {
    let mut out = String::with_capacity(reply.len() + 64);
    for (i, line) in reply.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        if ["来源:", "來源:", "Sources:"].contains(&line) {
            out.push_str(&format!("{BOLD}{line}{RESET}"));
            continue;
        }
        out.push_str(&colour_markers(line));
    }
    out
}

fn colour_markers(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(open) = rest.find('[') {
        let after = &rest[open + 1..];
        let digits = after.chars().take_while(char::is_ascii_digit).count();
        out.push_str(&rest[..open]);
        if digits > 0 && after[digits..].starts_with(']') {
            out.push_str(&format!("{CYAN}[{}]{RESET}", &after[..digits]));
            rest = &after[digits + 1..];
        } else {
            out.push('[');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

fn prompt(output: &mut impl Write) -> std::io::Result<()> {
    write!(output, "> ")?;
    output.flush()
}

/// One line per indexed article: id, our label, author, outlet, date (unknown stays unknown).
pub fn sources(articles: &[crate::corpus::Metadata]) -> String {
    let l = render::labels(crate::corpus::Script::Hans);
    articles
        .iter()
        .map(|m| {
            format!(
                "{} — {} · {} · {} · {}",
                m.id,
                m.label.as_deref().unwrap_or("-"),
                m.author.as_deref().unwrap_or(l.unknown_author),
                m.publisher.as_deref().unwrap_or(l.unknown_publisher),
                m.published.as_deref().unwrap_or(l.unknown_date),
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// What `check` prints: the config's corpus, how each article was read (body paragraphs,
/// sentences, headings, captions, credits, byline), then the sources.
pub fn report(articles: &[crate::corpus::Article], config: &crate::Config) -> String {
    use crate::corpus::BlockKind::*;
    let mut out = format!("config ok; corpus {}\n", config.corpus_dir.display());
    for article in articles {
        let count = |k| article.blocks.iter().filter(|b| b.kind == k).count();
        let sentences: usize = article.body().map(|b| b.sentences.len()).sum();
        out.push_str(&format!(
            "{} ({:?}): {} body paragraphs, {} sentences, {} headings, {} captions, {} credits, {} byline\n",
            article.meta.file,
            article.meta.script,
            count(Body),
            sentences,
            count(Heading),
            count(Caption),
            count(Credit),
            count(Byline),
        ));
    }
    let metas: Vec<crate::corpus::Metadata> = articles.iter().map(|a| a.meta.clone()).collect();
    out.push_str(&sources(&metas));
    out
}

/// What `add` did with one page: added (or would add) with what was found, or skipped as a
/// page the corpus has.
pub fn added(outcome: &crate::add::Outcome, dry_run: bool) -> String {
    use crate::add::{Already, Outcome};
    match outcome {
        Outcome::Added { meta, paragraphs } => {
            let known = |v: &Option<String>| v.clone().unwrap_or_else(|| "unknown".into());
            format!(
                "{} {}: {} — author {}, outlet {}, published {}, {:?}, {paragraphs} paragraphs{}",
                if dry_run { "would add" } else { "added" },
                meta.id,
                known(&meta.title),
                known(&meta.author),
                known(&meta.publisher),
                known(&meta.published),
                meta.script,
                meta.url
                    .as_deref()
                    .map(|u| format!(", from {u}"))
                    .unwrap_or_default(),
            )
        }
        Outcome::Skipped { page, already } => match already {
            Already::SameUrl(id) => {
                format!("skipped {page}: already in the corpus as {id} (same URL)")
            }
            Already::SameText(id) => {
                format!("skipped {page}: already in the corpus as {id} (same text)")
            }
        },
    }
}

/// A feed, its last poll and change, the entries it added and its last errors.
pub fn feed_status(url: &str, status: Option<&crate::add::feeds::FeedStatus>) -> String {
    let Some(s) = status else {
        return format!("{url}\n    never polled");
    };
    let ago = |t: Option<u64>| match t {
        None => "never".to_string(),
        Some(t) => {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            format!("{} s ago", now.saturating_sub(t))
        }
    };
    let mut out = format!(
        "{url}\n    last poll {}, last change {}, {} entries added in all{}",
        ago(s.last_poll),
        ago(s.last_changed),
        s.added,
        if s.last_added.is_empty() {
            String::new()
        } else {
            format!(" (last: {})", s.last_added.join(", "))
        }
    );
    for e in &s.errors {
        out.push_str(&format!("\n    error: {e}"));
    }
    out
}

/// One line per file the indexer skipped, saying why and what to do.
pub fn problems(report: &crate::ingest::Report) -> String {
    report
        .problems
        .iter()
        .map(|p| format!("skipped: {p}\n"))
        .collect()
}

/// Progress of indexing on stderr, per stage (articles, then passages embedded): a bar on a
/// terminal, a line every 10% otherwise.
pub fn progress() -> impl FnMut(&str, usize, usize) {
    use std::io::IsTerminal;
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new(0);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "indexing {bar:40} {pos}/{len} {msg} {elapsed}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    let mut last = (String::new(), 0);
    move |stage, done, total| match &bar {
        Some(bar) => {
            if last.0 != stage {
                last.0 = stage.to_string();
                bar.reset();
                bar.set_message(stage.to_string());
            }
            bar.set_length(total as u64);
            bar.set_position(done as u64);
            if done == total {
                bar.finish_and_clear();
            }
        }
        None => {
            let tenth = done * 10 / total.max(1);
            if last.0 != stage || tenth > last.1 || done == total {
                last = (stage.to_string(), tenth);
                eprintln!("indexing: {done}/{total} {stage}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_and_the_sources_heading_are_coloured() {
        let text = coloured("答案。[1]\n\n来源:\n[1] 华浩男 · ¶3\n[x] [12");
        assert!(text.contains("\x1b[36m[1]\x1b[0m"), "{text:?}");
        assert!(text.contains("\x1b[1m来源:\x1b[0m"), "{text:?}");
        assert!(text.ends_with("[x] [12"), "{text:?}");
    }
}
