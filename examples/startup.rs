//! Times the stages of engine start-up (segmentation dictionary, corpus, index + bridge):
//! `cargo run --release --example startup` (from the repository root).

use std::path::Path;
use std::time::Instant;

use summit_qa::{corpus, lexicon::Glossary, retrieve::Retriever, text};

fn main() {
    let dir = Path::new("corpus");
    let t = Instant::now();
    let jieba = text::load_jieba([]);
    eprintln!("jieba dictionary {:?}", t.elapsed());
    let t = Instant::now();
    let articles = corpus::load(dir).expect("run from the repository root");
    let glossary = Glossary::load(dir).expect("glossary");
    eprintln!("corpus {:?}", t.elapsed());
    let t = Instant::now();
    let retriever = Retriever::build(jieba, &articles, glossary).expect("index");
    eprintln!("index + bridge {:?}", t.elapsed());
    std::hint::black_box(retriever);
}
