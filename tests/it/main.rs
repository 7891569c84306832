//! Integration tests: one binary, shared helpers in `util`, scenarios by module.

mod add;
mod burst;
mod calibrate;
mod chat;
mod cli;
mod corpus_errors;
mod embed;
mod engine;
mod fake_api;
mod index;
mod operators;
mod production;
mod quality;
mod replicas;
mod telegram;
mod util;
