//! Shared helpers: the engine over the repository's corpus (loaded once), fixtures, running
//! the binary, and temporary corpus copies.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use summit_qa::config::AnswerConfig;
use summit_qa::Engine;

pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

pub fn corpus_dir() -> PathBuf {
    root().join("corpus")
}

/// The engine over the shipped corpus with default limits, loaded once per test binary.
pub fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        Engine::from_dir(&corpus_dir(), AnswerConfig::default()).expect("corpus loads")
    })
}

/// One question of a fixture set (the dev set's format).
#[derive(Debug, serde::Deserialize)]
pub struct Question {
    pub id: String,
    pub q: String,
    pub gold: Vec<Gold>,
}

#[derive(Debug, serde::Deserialize)]
pub struct Gold {
    pub has: String,
}

pub fn questions(fixture: &str) -> Vec<Question> {
    let text = std::fs::read_to_string(root().join("tests/fixtures").join(fixture)).unwrap();
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Folds text the way the reference scorer does: Simplified, no spaces, lowercase.
pub fn fold(text: &str) -> String {
    summit_qa::text::normalize(text).replace(' ', "")
}

/// The index folder of the tests' runs of the binary: under cargo's target folder, never the
/// repository's own `./index` (built on first use, then kept up to date like any index).
pub fn test_index_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("index")
}

/// The binary, run from the repository root (its config and corpus) with the tests' own index
/// folder and no RUST_LOG from the caller's environment.
pub fn binary() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_summit-qa"));
    cmd.current_dir(root())
        .env_remove("RUST_LOG")
        .env("SUMMIT_QA_INDEX_DIR", test_index_dir())
        .env("SUMMIT_QA_DATA_DIR", crate::fake_api::fresh_data_dir());
    cmd
}

/// Runs the binary from the repository root with extra environment variables.
pub fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = binary();
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("binary runs")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

/// A temporary copy of the shipped corpus that a test may break.
pub fn corpus_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(corpus_dir()).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.path().join(entry.file_name())).unwrap();
    }
    dir
}
