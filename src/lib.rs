//! summit-qa answers questions about the 28 October 2025 Trump–Takaichi summit from indexed
//! news articles, quoting their sentences and citing each source.
//!
//! # Layout (in the order data flows)
//! - [`config`]: typed settings from `config/*.toml` and `SUMMIT_QA_…` variables.
//! - [`error`]: the library's one error type.
//! - [`corpus`]: article files + `articles.toml` → articles split into bylines, headings,
//!   captions, credits and body paragraphs (only body text is ever cited).
//! - [`text`]: normalisation (width, Traditional → Simplified, case), jieba words, n-grams;
//!   how people ask: colloquial/regional forms, everyday word weights, question kinds, and
//!   small talk (greetings, thanks, "who are you") told apart from questions.
//! - [`lexicon`]: CC-CEDICT and the glossary: English → the corpus's Chinese words, synonyms.
//! - [`embed`]: the embedding model (multilingual-e5-small, `models/`, mapped) run on the
//!   integer kernels of `crates/e5`: text → a unit vector; its SentencePiece tokenizer.
//! - [`index`]: tantivy schema, named analyzers, the documents an article becomes, search and
//!   substring lookups over one reader (on disk, or in memory for tests); a small index's
//!   postings are also held in memory and scored there. The sentence vectors kept beside it
//!   (`index::vectors`), and the `Ranking` seam both words and meaning implement.
//! - [`add`]: a web page or a local file → a new article in the corpus folder (fetched within
//!   limits, decoded, extracted with its metadata, duplicates skipped, written atomically);
//!   feeds polled for new entries the same way.
//! - [`ingest`]: corpus folder → index, incrementally (content hashes), bad files skipped,
//!   one atomic commit with the catalog of what is indexed; then the sentences' vectors.
//! - [`retrieve`]: question (+ context) → scored sentences with coverage and confidence;
//!   fuses the word and meaning rankings (sentences and paragraphs), sums the evidence up as
//!   features and decides the reply with the fitted decision (claim, closest passages or
//!   refusal), conversation and general knowledge also recognised by example.
//! - [`calibrate`]: fits that decision on labeled question sets, cross-validated leave one set
//!   out, into `models/decision.json`.
//! - [`answer`]: scored sentences → short verbatim answer with citations, the closest
//!   passages shown as such, "not stated" with context, a refusal, or a small-talk reply.
//! - [`engine`]: the above wired together behind `Engine::ask`; reload swaps generations.
//! - [`render`]: answers → console text, the JSON contract, Telegram HTML (escaped, split);
//!   labels in the asker's script; links that open a source at the quoted sentence.
//! - [`conversation`]: the follow-up rule every transport shares.
//! - [`console`]: the interactive `chat` transport and the `check` report.
//! - [`batch`]: `ask --batch`, JSONL in, the JSON contract out.
//! - [`journal`]: operators' records — questions, reply kinds and votes, with keyed hashes
//!   for chats and users, in Redis or a JSONL file, kept for a set time — and the reports built
//!   from them (`/stats`, `/unanswered`, `/feedback`, the export for labeling).
//! - [`ops`]: metrics (Prometheus) and the `/healthz`, `/readyz`, `/metrics` endpoints.
//! - [`telegram`]: the bot — routing, the allowlist, commands (admin ones too), buttons, inline
//!   mode, rate limits, the outbox
//!   (the bot's send rate, shared by replicas; late askers told), polling or webhook, the
//!   `--dry-run` stand-in; calls the engine, the renderer and the journal only.
//! - [`app`]: the running service — the bot and its HTTP endpoint over one engine, index
//!   reloads, feeds followed, shutdown; what `main` and the tests run.

#![warn(missing_docs)]

pub mod add;
pub mod answer;
pub mod app;
pub mod batch;
pub mod calibrate;
pub mod config;
pub mod console;
pub(crate) mod conversation;
pub mod corpus;
pub mod embed;
pub mod engine;
mod error;
pub(crate) mod index;
pub(crate) mod ingest;
pub mod journal;
pub mod lexicon;
pub mod ops;
pub mod render;
pub mod retrieve;
pub mod telegram;
pub mod text;

pub use answer::Answer;
pub use config::Config;
pub use engine::Engine;
pub use error::{Error, Result};
