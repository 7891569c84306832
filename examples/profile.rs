//! Runs every dev and colloquial question 200 times through one engine, for `perf record`:
//! `cargo build --release --example profile && perf record -g target/release/examples/profile`
//! (from the repository root).

use summit_qa::{config::AnswerConfig, Config, Engine};

/// With SUMMIT_QA_INDEX_DIR set, the index there is used (e.g. one built from
/// `examples/gen_corpus.rs`), and ROUNDS (default 200) sets the repetitions.
fn main() {
    let engine = match std::env::var_os("SUMMIT_QA_INDEX_DIR") {
        Some(_) => Engine::load(&Config::load(None).expect("config")).expect("index opens"),
        None => Engine::from_dir(std::path::Path::new("corpus"), AnswerConfig::default())
            .expect("run from the repository root"),
    };
    let rounds: usize = std::env::var("ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(200);
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
    let mut took = Vec::with_capacity(rounds * questions.len());
    let mut per_question = vec![0.0; questions.len()];
    for _ in 0..rounds {
        for (i, q) in questions.iter().enumerate() {
            let start = std::time::Instant::now();
            std::hint::black_box(engine.ask(q, None).expect("answers"));
            let us = start.elapsed().as_nanos() as f64 / 1000.0;
            took.push(us);
            per_question[i] += us / rounds as f64;
        }
    }
    let mut slowest: Vec<(f64, &String)> = per_question.into_iter().zip(&questions).collect();
    slowest.sort_by(|a, b| b.0.total_cmp(&a.0));
    for (us, q) in slowest.iter().take(8) {
        eprintln!("{us:8.1} µs  {q}");
    }
    took.sort_by(f64::total_cmp);
    if !took.is_empty() {
        let mean = took.iter().sum::<f64>() / took.len() as f64;
        eprintln!(
            "{} answers: p50 {:.1} µs, p90 {:.1} µs, mean {:.1} µs",
            took.len(),
            took[took.len() / 2],
            took[took.len() * 9 / 10],
            mean
        );
    }
}
