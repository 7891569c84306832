//! Speed of the engine on the dev and colloquial questions: one question end to end (retrieval
//! and answer) over the shipped corpus indexed on disk, and opening that index.
//! Run: cargo bench --bench answer
//!
//! At scale: build a synthetic corpus and its index, then point the bench at them:
//! `cargo run --release --example gen_corpus -- 10000 /tmp/corpus-10k`,
//! `SUMMIT_QA_CORPUS_DIR=/tmp/corpus-10k SUMMIT_QA_INDEX_DIR=/tmp/index-10k summit-qa index`,
//! `SUMMIT_QA_BENCH_INDEX=/tmp/index-10k cargo bench --bench answer -- large`.

use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion};
use summit_qa::retrieve::decision::Decision;
use summit_qa::retrieve::features::{Features, NAMES};
use summit_qa::{engine, Config, Engine};

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

/// The shipped corpus indexed into a temporary folder (kept alive with the config).
fn shipped() -> (tempfile::TempDir, Config) {
    let dir = tempfile::tempdir().expect("temporary folder");
    let config = Config {
        corpus_dir: corpus().to_path_buf(),
        index_dir: dir.path().to_path_buf(),
        ..Config::default()
    };
    engine::build(&config, &mut |_, _, _| {}).expect("corpus indexes");
    (dir, config)
}

fn answer(c: &mut Criterion) {
    let (_dir, config) = shipped();
    let engine = Engine::load(&config).expect("index opens");
    let questions = questions();
    // Sanity inside the bench: the flagship question shows the investment figure.
    let first = engine.ask(&questions[0], None).unwrap();
    assert!(first.text().contains("5500"), "{}", first.text());
    for (name, set) in [
        ("ask/one dev question (round robin)", questions.clone()),
        ("ask/one question of either set (round robin)", {
            let mut both = questions;
            both.extend(questions_of(COLLOQUIAL));
            both
        }),
        (
            "ask/one colloquial question (round robin)",
            questions_of(COLLOQUIAL),
        ),
    ] {
        let mut i = 0;
        c.bench_function(name, |b| {
            b.iter_batched(
                // Every question as if asked for the first time: the model embeds it.
                forget_questions,
                |()| {
                    let q = &set[i % set.len()];
                    i += 1;
                    engine.ask(q, None).unwrap()
                },
                criterion::BatchSize::PerIteration,
            )
        });
    }
}

/// Forgets the question vectors the model remembered.
fn forget_questions() {
    if let Ok(model) = summit_qa::embed::shared(&Config::default().semantic.model) {
        model.forget();
    }
}

/// The worst case a Telegram user can send: a 500-character question mixing English and
/// Chinese (the longest the engine accepts), with many English words to translate.
fn worst_case(c: &mut Criterion) {
    let (_dir, config) = shipped();
    let engine = Engine::load(&config).expect("index opens");
    let unit = "What did Japan promise about rare earth magnets and 5500亿美元 investment, 高市早苗和特朗普在横须贺说了什么? ";
    let question: String = unit.chars().cycle().take(500).collect();
    assert!(engine.ask(&question, None).is_ok());
    c.bench_function(
        "ask/500-character mixed English and Chinese question",
        |b| {
            b.iter_batched(
                // Asked for the first time each time: the model embeds it (its first 32 tokens).
                forget_questions,
                |()| engine.ask(&question, None).unwrap(),
                criterion::BatchSize::PerIteration,
            )
        },
    );
}

/// What the fitted decision adds to a reply: the nearest exemplars of a question's vector and
/// the two models' verdict on its features.
fn decision(c: &mut Criterion) {
    let config = Config::default();
    let model = summit_qa::embed::shared(&config.semantic.model).expect("the model loads");
    let decision = Decision::load(
        Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/models/decision.json")),
        &model.checksum,
    )
    .expect("the shipped decision loads");
    let vector = model
        .embed("日本承诺对美国投资多少", summit_qa::embed::Role::Query)
        .unwrap();
    let mut values = [0.5; NAMES.len()];
    values[0] = 0.7;
    let features = Features { values };
    c.bench_function("decision/nearest exemplars and verdict", |b| {
        b.iter(|| {
            let near = decision.intents.nearest(&vector);
            (decision.talk(&near, 0.9), decision.judge(&features))
        })
    });
}

fn startup(c: &mut Criterion) {
    let (_dir, config) = shipped();
    let mut group = c.benchmark_group("startup");
    group.sample_size(10);
    group.bench_function("open engine (jieba + index on disk + bridge)", |b| {
        b.iter(|| Engine::load(&config).unwrap())
    });
    group.finish();
}

/// Both question sets round robin over the index in SUMMIT_QA_BENCH_INDEX (skipped when unset).
fn large(c: &mut Criterion) {
    let Some(dir) = std::env::var_os("SUMMIT_QA_BENCH_INDEX") else {
        return;
    };
    let config = Config {
        index_dir: dir.into(),
        ..Config::default()
    };
    let engine = Engine::load(&config).expect("the index in SUMMIT_QA_BENCH_INDEX opens");
    let mut set = questions();
    set.extend(questions_of(COLLOQUIAL));
    let mut group = c.benchmark_group("large");
    group.sample_size(30);
    let mut i = 0;
    group.bench_function("ask/one question of either set (round robin)", |b| {
        b.iter(|| {
            let q = &set[i % set.len()];
            i += 1;
            engine.ask(q, None).unwrap()
        })
    });
    group.bench_function("open engine", |b| b.iter(|| Engine::load(&config).unwrap()));
    group.finish();
}

criterion_group!(benches, answer, worst_case, decision, startup, large);
criterion_main!(benches);
