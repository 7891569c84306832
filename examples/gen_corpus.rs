//! Writes a synthetic corpus for scale tests: N articles of 24 body paragraphs, each paragraph
//! 2–5 sentences drawn at random from the shipped articles, with an `articles.toml` entry each.
//! `cargo run --release --example gen_corpus -- 10000 /tmp/corpus-10k` (from the repository
//! root; deterministic for a given N).

use std::fmt::Write as _;
use std::path::Path;

use summit_qa::corpus;

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(n), Some(out)) = (
        args.next().and_then(|n| n.parse::<usize>().ok()),
        args.next(),
    ) else {
        eprintln!("usage: gen_corpus ARTICLES OUT_DIR");
        std::process::exit(2);
    };
    let sentences: Vec<String> = corpus::load(Path::new("corpus"))
        .expect("run from the repository root")
        .iter()
        .flat_map(|a| a.body_sentences().map(str::to_string).collect::<Vec<_>>())
        .collect();
    let out = Path::new(&out);
    std::fs::create_dir_all(out).expect("output folder");
    let mut rng = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = |below: usize| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        (rng % below as u64) as usize
    };
    let mut meta = String::new();
    let mut bytes = 0;
    for i in 0..n {
        let mut text = format!("合成文章第{i}篇\n\n");
        for _ in 0..24 {
            for _ in 0..2 + next(4) {
                text.push_str(&sentences[next(sentences.len())]);
            }
            text.push_str("\n\n");
        }
        let id = format!("syn_{i:06}");
        std::fs::write(out.join(format!("{id}.txt")), &text).expect("write article");
        bytes += text.len();
        let _ = write!(
            meta,
            "[[article]]\nid = \"{id}\"\nfile = \"{id}.txt\"\nscript = \"Hans\"\nauthor = \"合成\"\npublisher = \"测试\"\npublished = \"2025-11-{:02}\"\nlabel = \"合成文章 {i}\"\n\n",
            1 + i % 28
        );
    }
    std::fs::write(out.join("articles.toml"), meta).expect("write metadata");
    if let Ok(glossary) = std::fs::read("corpus/glossary.toml") {
        std::fs::write(out.join("glossary.toml"), glossary).expect("write glossary");
    }
    eprintln!(
        "{n} articles, {} paragraphs, {:.1} MB in {}",
        n * 24,
        bytes as f64 / 1e6,
        out.display()
    );
}
