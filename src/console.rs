//! The `chat` transport: an interactive console conversation over the engine, no token needed.

use std::io::{BufRead, Write};

use crate::conversation;
use crate::engine::Engine;
use crate::render;

const GREETING: &str = "summit-qa — 关于 2025-10-28 特朗普与高市早苗东京会谈的问答。\n\
直接输入问题（简体、繁體或 English 均可）；/sources 列出文章，/quit 退出。";

/// Runs the chat over `input` until EOF or `/quit`, writing answers to `output`.
/// A short elliptical message right after an answer (那防卫装备呢？) is asked with the
/// previous question as context.
pub fn run(engine: &Engine, input: impl BufRead, mut output: impl Write) -> std::io::Result<()> {
    writeln!(output, "{GREETING}")?;
    prompt(&mut output)?;
    let mut previous: Option<String> = None;
    for line in input.lines() {
        let line = line?;
        let question = line.trim();
        match question {
            "" => {}
            "/quit" | "/exit" | "/q" => break,
            "/sources" => writeln!(output, "{}", sources(&engine.articles()))?,
            "/help" => writeln!(output, "{GREETING}")?,
            _ => {
                let context = previous
                    .as_deref()
                    .filter(|_| conversation::is_follow_up(question));
                match engine.ask(question, context) {
                    Ok(answer) => {
                        writeln!(output, "{}\n", render::console(&answer))?;
                        previous = conversation::remembers(&answer).then(|| question.to_string());
                    }
                    Err(e) => writeln!(output, "{e}\n")?,
                }
            }
        }
        prompt(&mut output)?;
    }
    writeln!(output)?;
    Ok(())
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

/// One line per file the indexer skipped, saying why and what to do.
pub fn problems(report: &crate::ingest::Report) -> String {
    report
        .problems
        .iter()
        .map(|p| format!("skipped: {p}\n"))
        .collect()
}

/// Progress of indexing on stderr, per stage (articles, then sentences embedded): a bar on a
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
