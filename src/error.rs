//! The library's one error type: every failure a user or operator can act on.

use std::path::PathBuf;

/// Result alias used across the library, so signatures stay short.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong while loading the corpus, building the index or answering.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The corpus folder (or its metadata file) cannot be read.
    #[error(
        "cannot read {path}: {source} (set `corpus_dir` in the config or SUMMIT_QA_CORPUS_DIR)"
    )]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A corpus file is not valid UTF-8 text.
    #[error("{path} is not UTF-8 text (byte {valid_up_to} is invalid): save the article as UTF-8")]
    NotUtf8 { path: PathBuf, valid_up_to: usize },
    /// The metadata file is malformed.
    #[error("{path}: {message}")]
    Metadata { path: PathBuf, message: String },
    /// A text file in the corpus folder has no metadata entry.
    #[error("{path} has no entry in {metadata}: add an [[article]] with file = \"{file}\"")]
    Unlisted {
        path: PathBuf,
        metadata: PathBuf,
        file: String,
    },
    /// An article file has no body text.
    #[error("{path} has no body paragraph (empty, or only headings and captions): add the article's text or remove its entry")]
    Empty { path: PathBuf },
    /// The index folder cannot be used.
    #[error("index {path}: {message}")]
    IndexDir { path: PathBuf, message: String },
    /// The configuration is invalid.
    #[error("configuration: {0}")]
    Config(String),
    /// The question cannot be answered as given.
    #[error("{0}")]
    Question(String),
    /// The embedding model file cannot be used.
    #[error("model {path}: {message}")]
    Model { path: PathBuf, message: String },
    /// The embedding model failed on a text.
    #[error("embedding model: {0}")]
    Embedding(String),
    /// The search index failed.
    #[error("search index: {0}")]
    Index(#[from] tantivy::TantivyError),
}
