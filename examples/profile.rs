//! Runs every dev and colloquial question 200 times through one engine, for `perf record`:
//! `cargo build --release --example profile && perf record -g target/release/examples/profile`
//! (from the repository root).

use summit_qa::{config::AnswerConfig, Engine};

fn main() {
    let engine = Engine::from_dir(std::path::Path::new("corpus"), AnswerConfig::default())
        .expect("run from the repository root");
    let questions: Vec<String> = concat!(
        include_str!("../tests/fixtures/dev.jsonl"),
        include_str!("../tests/fixtures/dev_colloquial.jsonl")
    )
    .lines()
    .map(|l| {
        let v: serde_json::Value = serde_json::from_str(l).expect("JSONL");
        v["q"].as_str().expect("q").to_string()
    })
    .collect();
    for _ in 0..200 {
        for q in &questions {
            std::hint::black_box(engine.ask(q, None).expect("answers"));
        }
    }
}
