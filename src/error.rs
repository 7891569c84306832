//! The library's one error type: every failure a user or operator can act on.

use std::path::PathBuf;

/// Result alias used across the library, so signatures stay short.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// `path` from the root (a relative path is read from the current folder, which is what a
/// reader run from elsewhere needs to see).
fn full(path: &std::path::Path) -> String {
    std::path::absolute(path)
        .unwrap_or_else(|_| path.to_path_buf())
        .display()
        .to_string()
}

/// What to do when the corpus folder or its metadata cannot be read.
pub(crate) const FIX_CORPUS_DIR: &str = "relative folders are read from the current folder: run summit-qa from the repository folder (where config/default.toml is), or set `corpus_dir` in the config or SUMMIT_QA_CORPUS_DIR to the folder with articles.toml";
/// What to do when the index folder cannot be used.
pub(crate) const FIX_INDEX_DIR: &str =
    "set `index_dir` in the config or SUMMIT_QA_INDEX_DIR to a folder this user can write";
/// What to do when a file listed in articles.toml cannot be read.
pub(crate) const FIX_ARTICLE: &str = "add the file, or remove its [[article]] from articles.toml";

/// Everything that can go wrong while loading the corpus, building the index or answering.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file or folder cannot be read or written; `fix` says what to do.
    #[error("cannot {action} {} ({cause}): {fix}", full(path))]
    Io {
        /// What was attempted ("read", "create the index folder").
        action: &'static str,
        /// The file or folder.
        path: PathBuf,
        /// The operating system's error.
        cause: std::io::Error,
        /// What to do about it.
        fix: &'static str,
    },
    /// A corpus file is not valid UTF-8 text.
    #[error("{path} is not UTF-8 text (byte {valid_up_to} is invalid): save the article as UTF-8")]
    NotUtf8 {
        /// The file.
        path: PathBuf,
        /// Bytes of valid UTF-8 before the first invalid one.
        valid_up_to: usize,
    },
    /// The metadata file is malformed.
    #[error("{path}: {message}")]
    Metadata {
        /// The metadata (or glossary) file.
        path: PathBuf,
        /// What is wrong and what to do.
        message: String,
    },
    /// A text file in the corpus folder has no metadata entry.
    #[error("{path} has no entry in {metadata}: add an [[article]] with file = \"{file}\"")]
    Unlisted {
        /// The unlisted file.
        path: PathBuf,
        /// The metadata file that should list it.
        metadata: PathBuf,
        /// Its file name, as an entry would give it.
        file: String,
    },
    /// An article file has no body text.
    #[error("{path} has no body paragraph (empty, or only headings and captions): add the article's text or remove its entry")]
    Empty {
        /// The file.
        path: PathBuf,
    },
    /// The index folder cannot be used.
    #[error("index {path}: {message}")]
    IndexDir {
        /// The index folder.
        path: PathBuf,
        /// What is wrong and what to do.
        message: String,
    },
    /// The configuration is invalid.
    #[error("configuration: {0}")]
    Config(String),
    /// The question cannot be answered as given.
    #[error("{0}")]
    Question(String),
    /// The embedding model file cannot be used.
    #[error("model {path}: {message}")]
    Model {
        /// The model file.
        path: PathBuf,
        /// What is wrong and what to do.
        message: String,
    },
    /// The answer decision's file cannot be used.
    #[error("decision file {}: {message}", full(path))]
    Decision {
        /// The decision file.
        path: PathBuf,
        /// What is wrong and what to do.
        message: String,
    },
    /// The embedding model failed on a text.
    #[error("embedding model: {0}")]
    Embedding(String),
    /// The search index failed.
    #[error("search index: {0}")]
    Index(#[from] tantivy::TantivyError),
}
