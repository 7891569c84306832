//! Times embedding N new sentences as an index does (`Embedder::embed_many`: one text per core),
//! the sentences made from the shipped articles' clauses (each the clauses of one corpus
//! sentence, rotated by a different amount, so every text is new and as long as a real one).
//! Run: cargo run --release --example embed_batch -- 1000   (from the repository root)

use std::path::Path;
use std::time::Instant;

use summit_qa::corpus;
use summit_qa::embed::{Embedder, Role};

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(1000);
    let sentences: Vec<String> = corpus::load(Path::new("corpus"))
        .expect("run from the repository root")
        .iter()
        .flat_map(|a| a.body_sentences().map(str::to_string).collect::<Vec<_>>())
        .collect();
    let mut texts = Vec::with_capacity(n);
    let mut seen = std::collections::HashSet::new();
    let mut k = 0;
    while texts.len() < n {
        let sentence = &sentences[k % sentences.len()];
        let clauses: Vec<&str> = sentence.split(['，', ',']).collect();
        let shift = (k / sentences.len()) % clauses.len().max(1);
        let text = format!(
            "{}（{}）",
            [&clauses[shift..], &clauses[..shift]].concat().join("，"),
            k / sentences.len()
        );
        if seen.insert(text.clone()) {
            texts.push(text);
        }
        k += 1;
    }
    let chars: usize = texts.iter().map(|t| t.chars().count()).sum();
    let model = Embedder::open(Path::new("models/multilingual-e5-small-zh-en.q4"))
        .expect("the model opens (run from the repository root)");
    let started = Instant::now();
    model.embed_many(&texts, Role::Passage).expect("embeds");
    let took = started.elapsed().as_secs_f64();
    println!(
        "{n} sentences ({:.0} characters each on average) embedded in {took:.1} s on {} threads \
         ({:.1} ms a sentence)",
        chars as f64 / n as f64,
        rayon::current_num_threads(),
        took * 1000.0 / n as f64
    );
}
