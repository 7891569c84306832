//! `ask --batch`: JSONL questions in, one answer object a line out (the `ask --json` contract),
//! in order. A bad line gets an `error` object in its place, so lines stay aligned.

use std::io::{BufRead, Write};
use std::time::Instant;

use crate::engine::Engine;
use crate::render;

/// Answers every non-empty line of `input` onto `output`; reports each bad line to `errors`
/// (named by `source` and line number). Returns how many lines failed.
pub fn run(
    engine: &Engine,
    source: &str,
    input: impl BufRead,
    mut output: impl Write,
    mut errors: impl Write,
) -> std::io::Result<usize> {
    let mut failed = 0;
    for (i, line) in input.lines().enumerate() {
        let line = line.map_err(|e| {
            std::io::Error::new(e.kind(), format!("{source} line {}: not UTF-8 text", i + 1))
        })?;
        if line.trim().is_empty() {
            continue;
        }
        match answer_line(engine, &line) {
            Ok(json) => writeln!(output, "{json}")?,
            Err((id, message)) => {
                failed += 1;
                writeln!(errors, "error: {source} line {}: {message}", i + 1)?;
                let object = serde_json::json!({"id": id, "answered": false, "error": message,
                                                "answer": "", "citations": []});
                writeln!(output, "{object}")?;
            }
        }
    }
    Ok(failed)
}

/// The answer object for one JSONL line with `q` (and optional `id`), or the line's id and
/// what is wrong with it.
pub fn answer_line(engine: &Engine, line: &str) -> Result<String, (serde_json::Value, String)> {
    let value: serde_json::Value = serde_json::from_str(line)
        .map_err(|e| (serde_json::Value::Null, format!("not JSON: {e}")))?;
    let id = value.get("id").cloned();
    let fail = |m: String| (id.clone().unwrap_or_default(), m);
    let question = value
        .get("q")
        .and_then(|q| q.as_str())
        .ok_or_else(|| fail("no string field \"q\"".into()))?;
    let started = Instant::now();
    let answer = engine
        .ask(question, None)
        .map_err(|e| fail(e.to_string()))?;
    let took_us = started.elapsed().as_micros() as u64;
    let object = render::json(&answer, id.as_ref(), took_us);
    serde_json::to_string(&object).map_err(|e| fail(e.to_string()))
}
