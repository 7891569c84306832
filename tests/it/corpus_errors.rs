//! Broken corpus folders give a clear message naming the file, never a panic.

use summit_qa::config::AnswerConfig;
use summit_qa::Engine;

use crate::util::{corpus_copy, run, stderr};

fn load_error(dir: &std::path::Path) -> String {
    match Engine::from_dir(dir, AnswerConfig::default()) {
        Ok(_) => panic!("a broken corpus loaded"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn missing_corpus_folder() {
    let e = load_error(std::path::Path::new("/nonexistent/corpus"));
    assert!(
        e.contains("/nonexistent/corpus") && e.contains("corpus_dir"),
        "{e}"
    );
}

#[test]
fn article_that_is_not_utf8_is_named() {
    let dir = corpus_copy();
    let file = dir.path().join("004_8c99b04382caaf45.txt");
    let mut bytes = std::fs::read(&file).unwrap();
    bytes.extend_from_slice(&[0xff, 0xfe, 0x00]);
    std::fs::write(&file, bytes).unwrap();
    let e = load_error(dir.path());
    assert!(
        e.contains("004_8c99b04382caaf45.txt") && e.contains("UTF-8"),
        "{e}"
    );
}

#[test]
fn article_without_metadata_is_named() {
    let dir = corpus_copy();
    std::fs::write(dir.path().join("new_article.txt"), "正文。\n").unwrap();
    let e = load_error(dir.path());
    assert!(
        e.contains("new_article.txt") && e.contains("articles.toml"),
        "{e}"
    );
}

#[test]
fn malformed_metadata_is_named_with_the_problem() {
    let dir = corpus_copy();
    std::fs::write(
        dir.path().join("articles.toml"),
        "[[article]]\nid = \"x\"\n",
    )
    .unwrap();
    let e = load_error(dir.path());
    assert!(e.contains("articles.toml") && e.contains("file"), "{e}");
}

#[test]
fn listed_file_that_is_missing_is_named() {
    let dir = corpus_copy();
    std::fs::remove_file(dir.path().join("000_128d67810036f820.txt")).unwrap();
    let e = load_error(dir.path());
    assert!(e.contains("000_128d67810036f820.txt"), "{e}");
}

#[test]
fn broken_glossary_is_named() {
    let dir = corpus_copy();
    std::fs::write(dir.path().join("glossary.toml"), "[terms]\ntrump = 3\n").unwrap();
    let e = load_error(dir.path());
    assert!(e.contains("glossary.toml"), "{e}");
}

#[test]
fn a_third_article_needs_only_a_file_and_an_entry() {
    let dir = corpus_copy();
    std::fs::write(
        dir.path().join("010_test.txt"),
        "测试标题\n\n白宫宣布将在明年举办美日青年交流营，首批共有120名学生参加。\n",
    )
    .unwrap();
    let mut meta = std::fs::read_to_string(dir.path().join("articles.toml")).unwrap();
    meta.push_str("\n[[article]]\nid = \"010_test\"\nfile = \"010_test.txt\"\nscript = \"Hans\"\nauthor = \"测试\"\n");
    std::fs::write(dir.path().join("articles.toml"), meta).unwrap();
    let engine = Engine::from_dir(dir.path(), AnswerConfig::default()).unwrap();
    let a = engine
        .ask("美日青年交流营有多少名学生参加？", None)
        .unwrap();
    assert!(a.answered(), "{a:?}");
    assert_eq!(a.citations[0].article, "010_test");
    assert_eq!(a.citations[0].paragraph, 2, "¶ counts non-empty lines");
    assert!(a.text().contains("120名学生"));
}

#[test]
fn cli_reports_a_broken_corpus_on_stderr_with_exit_1() {
    let dir = corpus_copy();
    std::fs::write(dir.path().join("stray.txt"), "x").unwrap();
    let o = run(
        &["check"],
        &[("SUMMIT_QA_CORPUS_DIR", dir.path().to_str().unwrap())],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("stray.txt"), "{}", stderr(&o));
    assert!(!stderr(&o).contains("panicked"));
}

#[test]
fn a_listed_file_that_is_missing_says_to_add_it_or_remove_its_entry() {
    let dir = corpus_copy();
    std::fs::remove_file(dir.path().join("004_8c99b04382caaf45.txt")).unwrap();
    let e = load_error(dir.path());
    assert!(
        e.contains("004_8c99b04382caaf45.txt")
            && e.contains("add the file, or remove its [[article]]"),
        "{e}"
    );
    assert!(!e.contains("corpus_dir"), "the folder is fine: {e}");
    assert_eq!(e.matches("No such file").count(), 1, "{e}");
}

#[test]
fn a_duplicate_id_is_one_problem_and_the_first_file_is_kept() {
    let dir = corpus_copy();
    let text = std::fs::read(dir.path().join("004_8c99b04382caaf45.txt")).unwrap();
    std::fs::write(dir.path().join("copy.txt"), text).unwrap();
    let mut metadata = std::fs::read_to_string(dir.path().join("articles.toml")).unwrap();
    metadata.push_str(
        "\n[[article]]\nid = \"004_8c99b04382caaf45\"\nfile = \"copy.txt\"\nscript = \"Hant\"\n",
    );
    std::fs::write(dir.path().join("articles.toml"), metadata).unwrap();
    let scan = summit_qa::corpus::scan(dir.path()).unwrap();
    let problems: Vec<String> = scan.problems.iter().map(|p| p.to_string()).collect();
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert!(problems[0].contains("used twice") && problems[0].contains("copy.txt is skipped"));
    assert!(scan
        .sources
        .iter()
        .any(|s| s.meta.file == "004_8c99b04382caaf45.txt"));
}

#[test]
fn an_unusable_index_folder_names_index_dir_once() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("file"), "").unwrap();
    let o = run(
        &["ask", "日本承诺对美国投资多少？"],
        &[(
            "SUMMIT_QA_INDEX_DIR",
            &dir.path().join("file/index").display().to_string(),
        )],
    );
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(e.contains("index_dir") && !e.contains("corpus_dir"), "{e}");
    assert_eq!(e.matches("Not a directory").count(), 1, "{e}");
}
