//! The engine: loads corpus and index once, then answers questions. Every transport
//! (CLI, console chat, Telegram) calls [`Engine::ask`] and knows nothing of tantivy.

use std::path::Path;
use std::sync::Arc;

use crate::answer::{self, Answer, Citation, PassageRef};
use crate::config::{AnswerConfig, Config};
use crate::corpus::{self, Article};
use crate::error::{Error, Result};
use crate::lexicon::Glossary;
use crate::retrieve::Retriever;
use crate::text;

/// Corpus, index and answer limits, ready to answer questions. Cheap to share behind an `Arc`.
pub struct Engine {
    articles: Vec<Article>,
    retriever: Retriever,
    limits: AnswerConfig,
}

impl Engine {
    /// Loads the corpus named by the config and indexes it (~100 ms, mostly jieba's dictionary).
    pub fn load(config: &Config) -> Result<Engine> {
        Self::from_dir(&config.corpus_dir, config.answer.clone())
    }

    /// Loads the corpus in `dir` with the given limits.
    pub fn from_dir(dir: &Path, limits: AnswerConfig) -> Result<Engine> {
        let articles = corpus::load(dir)?;
        let glossary = Glossary::load(dir)?;
        let jieba = text::load_jieba(glossary.chinese_forms());
        let retriever = Retriever::build(jieba, &articles, glossary)?;
        Ok(Engine {
            articles,
            retriever,
            limits,
        })
    }

    /// The indexed articles, in metadata order.
    pub fn articles(&self) -> &[Article] {
        &self.articles
    }

    /// A body paragraph as a citation numbered `n`, or `None` when it does not exist.
    pub fn passage(&self, at: PassageRef, n: usize) -> Option<Citation> {
        answer::citation_for(&self.articles, at, n)
    }

    /// Where a citation's paragraph is, for carrying it in a button.
    pub fn locate(&self, citation: &Citation) -> Option<PassageRef> {
        let article = self
            .articles
            .iter()
            .position(|a| a.meta.id == citation.article)?;
        Some(PassageRef {
            article,
            paragraph: citation.paragraph,
        })
    }

    /// The paragraph at `at` with the body paragraphs around it, verbatim.
    pub fn around(&self, at: PassageRef) -> Vec<String> {
        self.articles.get(at.article).map_or_else(Vec::new, |a| {
            a.around(at.paragraph)
                .into_iter()
                .map(|b| b.text.clone())
                .collect()
        })
    }

    /// Answers `question`; `context` is the previous question when this one is a follow-up.
    /// An empty (or whitespace/control-only) question is an error; an over-long one is truncated.
    pub fn ask(&self, question: &str, context: Option<&str>) -> Result<Answer> {
        let cleaned = clean(question);
        if cleaned.is_empty() {
            return Err(Error::Question(
                "the question is empty: ask something about the summit, e.g. 日本承诺对美国投资多少？"
                    .into(),
            ));
        }
        let (question, truncated) = truncate(&cleaned, self.limits.max_question_chars);
        let retrieval = self.retriever.retrieve(question, context)?;
        let mut answer = answer::compose(question, &retrieval, &self.articles, &self.limits);
        answer.truncated = truncated;
        Ok(answer)
    }
}

/// Drops control characters (NUL, bidi overrides stay visible-safe) and trims whitespace.
fn clean(question: &str) -> String {
    question
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_string()
}

fn truncate(text: &str, max_chars: usize) -> (&str, bool) {
    match text.char_indices().nth(max_chars) {
        Some((at, _)) => (&text[..at], true),
        None => (text, false),
    }
}

/// An engine shared by concurrent transports.
pub type SharedEngine = Arc<Engine>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncates_on_char_boundaries() {
        assert_eq!(truncate("日本承诺", 2), ("日本", true));
        assert_eq!(truncate("日本", 5), ("日本", false));
    }

    #[test]
    fn clean_removes_controls() {
        assert_eq!(clean("\0 日本\u{7}\n"), "日本");
        assert_eq!(clean("\0\0"), "");
    }
}
