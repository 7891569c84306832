use summit_qa::{config::AnswerConfig, Engine};
fn main() {
    let engine = Engine::from_dir(std::path::Path::new("corpus"), AnswerConfig::default()).unwrap();
    let qs: Vec<String> = include_str!("../tests/fixtures/dev.jsonl")
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["q"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    for _ in 0..200 {
        for q in &qs {
            std::hint::black_box(engine.ask(q, None).unwrap());
        }
    }
}
