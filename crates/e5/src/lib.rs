//! multilingual-e5-small's encoder for summit-qa, on integer kernels of its own: Q4_0 weights
//! (read in place from the model file, mapped) times Q8_0 activations.
//!
//! - [`kernel`]: the dot products — a portable path and an AVX2 one chosen at run time; with
//!   [`bytes`], the only `unsafe` code.
//! - [`bytes`]: the model file's bytes, mapped into memory (or owned, for tests).
//! - [`encoder`]: the forward pass — word rows, twelve layers, the mean over tokens; products
//!   split across threads when asked.
//!
//! The tokenizer and the file's header are read by summit-qa (`src/embed/`).

#![deny(unsafe_code)]

#[allow(unsafe_code)]
pub mod bytes;
pub mod encoder;
#[allow(unsafe_code)]
pub mod kernel;

pub use bytes::Bytes;
pub use encoder::{Encoder, Shape};
pub use kernel::{Kernel, BLOCK};
