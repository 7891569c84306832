//! Typed settings: built-in defaults, then `config/*.toml`, then `SUMMIT_QA_…` environment overrides.

use std::path::{Path, PathBuf};

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// All settings of the engine; see `config/default.toml` for what each key means.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Folder with the articles and `articles.toml`.
    pub corpus_dir: PathBuf,
    /// How answers are built.
    pub answer: AnswerConfig,
}

/// Limits for building an answer and deciding to refuse.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AnswerConfig {
    /// Most sentences in one answer.
    pub max_sentences: usize,
    /// Soft limit on answer length in characters.
    pub max_chars: usize,
    /// A further sentence must score at least this share of the best one.
    pub min_relative_score: f32,
    /// Most sources listed.
    pub max_sources: usize,
    /// Refusal threshold on weighted term coverage (0–1).
    pub min_coverage: f32,
    /// Longer questions are truncated to this many characters.
    pub max_question_chars: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            corpus_dir: PathBuf::from("corpus"),
            answer: AnswerConfig::default(),
        }
    }
}

impl Default for AnswerConfig {
    fn default() -> Self {
        AnswerConfig {
            max_sentences: 3,
            max_chars: 160,
            min_relative_score: 0.8,
            max_sources: 3,
            min_coverage: 0.5,
            max_question_chars: 500,
        }
    }
}

impl Config {
    /// Loads defaults, then `file` if given (it must exist), then `SUMMIT_QA_…` variables.
    pub fn load(file: Option<&Path>) -> Result<Config> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = file {
            if !path.is_file() {
                return Err(Error::Config(format!(
                    "{} does not exist or is not a file",
                    path.display()
                )));
            }
            figment = figment.merge(Toml::file(path));
        }
        let config: Config = figment
            .merge(Env::prefixed("SUMMIT_QA_").split("__"))
            .extract()
            .map_err(|e| Error::Config(e.to_string()))?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<()> {
        let a = &self.answer;
        if a.max_sentences == 0 || a.max_sources == 0 || a.max_question_chars == 0 {
            return Err(Error::Config(
                "answer.max_sentences, answer.max_sources and answer.max_question_chars must be at least 1"
                    .into(),
            ));
        }
        if !(0.0..=1.0).contains(&a.min_coverage) || !(0.0..=1.0).contains(&a.min_relative_score) {
            return Err(Error::Config(
                "answer.min_coverage and answer.min_relative_score must be between 0 and 1".into(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_file_matches_built_in_defaults() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/default.toml");
        let from_file: Config = Figment::new().merge(Toml::file(&path)).extract().unwrap();
        let built_in = Config::default();
        assert_eq!(
            toml::to_string(&from_file).unwrap(),
            toml::to_string(&built_in).unwrap()
        );
    }

    #[test]
    fn bad_file_names_the_file_and_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.toml");
        std::fs::write(&path, "[answer]\nmax_chars = \"lots\"\n").unwrap();
        let err = Config::load(Some(&path)).unwrap_err().to_string();
        assert!(err.contains("bad.toml"), "{err}");
        assert!(err.contains("max_chars"), "{err}");
    }

    #[test]
    fn missing_file_is_an_error() {
        let err = Config::load(Some(Path::new("/nonexistent/x.toml"))).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/x.toml"));
    }

    #[test]
    fn out_of_range_threshold_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "[answer]\nmin_coverage = 3.0\n").unwrap();
        assert!(Config::load(Some(&path)).is_err());
    }
}
