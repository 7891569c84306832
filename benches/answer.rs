//! Speed of the engine on the dev and colloquial questions: one question end to end (retrieval
//! and answer),
//! and the start-up cost (jieba dictionary, corpus, index, bridge).
//! Run: cargo bench --bench answer

use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion};
use summit_qa::config::AnswerConfig;
use summit_qa::Engine;

const DEV: &str = include_str!("../tests/fixtures/dev.jsonl");
const COLLOQUIAL: &str = include_str!("../tests/fixtures/dev_colloquial.jsonl");

fn questions() -> Vec<String> {
    questions_of(DEV)
}

fn questions_of(set: &str) -> Vec<String> {
    set.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("dev.jsonl is JSONL");
            v["q"].as_str().expect("q is a string").to_string()
        })
        .collect()
}

fn corpus() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/corpus"))
}

fn answer(c: &mut Criterion) {
    let engine = Engine::from_dir(corpus(), AnswerConfig::default()).expect("corpus loads");
    let questions = questions();
    // Sanity inside the bench: the flagship question is answered with the investment figure.
    let first = engine.ask(&questions[0], None).unwrap();
    assert!(first.answered && first.text().contains("5500"));
    for (name, set) in [
        ("ask/one dev question (round robin)", questions),
        (
            "ask/one colloquial question (round robin)",
            questions_of(COLLOQUIAL),
        ),
    ] {
        let mut i = 0;
        c.bench_function(name, |b| {
            b.iter(|| {
                let q = &set[i % set.len()];
                i += 1;
                engine.ask(q, None).unwrap()
            })
        });
    }
}

/// The worst case a Telegram user can send: a 500-character question mixing English and
/// Chinese (the longest the engine accepts), with many English words to translate.
fn worst_case(c: &mut Criterion) {
    let engine = Engine::from_dir(corpus(), AnswerConfig::default()).expect("corpus loads");
    let unit = "What did Japan promise about rare earth magnets and 5500亿美元 investment, 高市早苗和特朗普在横须贺说了什么? ";
    let question: String = unit.chars().cycle().take(500).collect();
    assert!(engine.ask(&question, None).is_ok());
    c.bench_function(
        "ask/500-character mixed English and Chinese question",
        |b| b.iter(|| engine.ask(&question, None).unwrap()),
    );
}

fn startup(c: &mut Criterion) {
    let mut group = c.benchmark_group("startup");
    group.sample_size(10);
    group.bench_function("load engine (jieba + corpus + index + bridge)", |b| {
        b.iter(|| Engine::from_dir(corpus(), AnswerConfig::default()).unwrap())
    });
    group.finish();
}

criterion_group!(benches, answer, worst_case, startup);
criterion_main!(benches);
