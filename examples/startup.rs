use std::time::Instant;
fn main() {
    let t = Instant::now();
    let j = summit_qa::text::load_jieba([]);
    eprintln!("jieba {:?}", t.elapsed());
    let t = Instant::now();
    let arts = summit_qa::corpus::load(std::path::Path::new("corpus")).unwrap();
    eprintln!("corpus {:?}", t.elapsed());
    let t = Instant::now();
    let g = summit_qa::lexicon::Glossary::load(std::path::Path::new("corpus")).unwrap();
    let r = summit_qa::retrieve::Retriever::build(j, &arts, g).unwrap();
    eprintln!("retriever {:?}", t.elapsed());
    std::hint::black_box(r);
}
