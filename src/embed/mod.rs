//! The embedding model: multilingual-e5-small (`models/`), its file mapped and run on our own
//! integer kernels (crate `summit-e5`) — text → a unit vector of 384 numbers whose dot product
//! with another says how close their meanings are, across Simplified, Traditional and English.

mod tokenizer;

use std::collections::HashMap;
use std::io::Read;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use rayon::prelude::*;
use rustc_hash::FxHashMap;
use summit_e5::{Bytes, Encoder, Shape};

pub use summit_e5::Kernel;
pub use tokenizer::Tokenizer;

use crate::error::{Error, Result};

/// Length of every vector.
pub const DIM: usize = 384;

/// Most tokens of a question that are embedded (prefix included): a 500-character message
/// would otherwise take ~0.5 s of both cores; its first 32 tokens (some 40 Chinese characters, 25 English
/// words) carry what it asks, and no fixture question is ranked differently for the cut.
pub const QUERY_TOKENS: usize = 32;

/// What a text is, for the model: e5 embeds questions and passages with different prefixes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// A question ("query: …").
    Query,
    /// A text that may answer one ("passage: …").
    Passage,
}

impl Role {
    fn prefix(self) -> &'static str {
        match self {
            Role::Query => "query: ",
            Role::Passage => "passage: ",
        }
    }
}

/// The model, ready to embed: tokenizer and encoder over the mapped model file.
pub struct Embedder {
    tokenizer: Tokenizer,
    encoder: Encoder,
    /// Vectors made lately, by role and text (repeated questions, re-indexed sentences).
    recent: quick_cache::sync::Cache<(Role, String), Arc<[f32]>>,
    /// Identifies the model file: vectors made by another file are made again.
    pub checksum: String,
}

/// Vectors remembered per model (~1.5 KB each).
const RECENT: usize = 4_096;

/// Texts being embedded now in this process: a text embedded alone may use every core, one
/// embedded while others are uses one (so that `serve` answering many at once runs one
/// question per core, as before).
static RUNNING: AtomicUsize = AtomicUsize::new(0);

/// Counts a text in [`RUNNING`] while it lives.
struct Running {
    alone: bool,
}

impl Running {
    fn start() -> Running {
        Running {
            alone: RUNNING.fetch_add(1, Ordering::SeqCst) == 0,
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        RUNNING.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Models opened in this process, by path: engines of one process share one.
static OPENED: Mutex<Option<HashMap<PathBuf, Arc<Embedder>>>> = Mutex::new(None);

/// The model in `path`, opened once per process.
pub fn shared(path: &Path) -> Result<Arc<Embedder>> {
    let mut opened = OPENED.lock().unwrap_or_else(|e| e.into_inner());
    let opened = opened.get_or_insert_with(HashMap::new);
    if let Some(model) = opened.get(path) {
        return Ok(model.clone());
    }
    let model = Arc::new(Embedder::open(path)?);
    opened.insert(path.to_path_buf(), model.clone());
    Ok(model)
}

impl Embedder {
    /// Maps the model file at `path`.
    pub fn open(path: &Path) -> Result<Embedder> {
        let unreadable = |e: std::io::Error| {
            Error::Model {
            path: path.to_path_buf(),
            message: format!("{e}: set `semantic.model` to the model file (models/ in the repository), or `semantic.enabled = false`"),
        }
        };
        let bytes = Bytes::map(path).map_err(unreadable)?;
        let checksum = file_checksum(path).map_err(unreadable)?;
        Embedder::from_bytes(bytes, checksum).map_err(|message| Error::Model {
            path: path.to_path_buf(),
            message: format!("{message}: not the model this version reads; regenerate it with tools/e5-prune/prune.py"),
        })
    }

    /// Parses a model file's bytes (`checksum`: the file's, see [`Embedder::checksum`]).
    pub fn from_bytes(bytes: Bytes, checksum: String) -> std::result::Result<Embedder, String> {
        let mut r = Reader {
            bytes: &bytes,
            at: 0,
        };
        if r.take(4)? != b"E5S1" {
            return Err("it does not start with E5S1".into());
        }
        let _version = r.u32()?;
        let [hidden, layers, heads, ff, vocab, positions, _types] =
            [(); 7].map(|_| r.u32().unwrap_or(0) as usize);
        let eps = f32::from_le_bytes(r.array()?);
        let _group = r.u32()?;
        if hidden != DIM || layers == 0 {
            return Err(format!(
                "unexpected shape (hidden {hidden}, layers {layers}, heads {heads})"
            ));
        }
        let tokenizer = read_tokenizer(&mut r)?;
        let count = r.u32()? as usize;
        let mut tensors: HashMap<String, Range<usize>> = HashMap::new();
        for _ in 0..count {
            let len = u16::from_le_bytes(r.array()?) as usize;
            let name = String::from_utf8_lossy(r.take(len)?).into_owned();
            let _dtype = r.take(1)?;
            let _elements = r.u32()?;
            let offset = u64::from_le_bytes(r.array()?) as usize;
            let size = u64::from_le_bytes(r.array()?) as usize;
            if offset.checked_add(size).is_none_or(|end| end > bytes.len()) {
                return Err(format!("tensor {name} lies past the end of the file"));
            }
            tensors.insert(name, offset..offset + size);
        }
        let shape = Shape {
            hidden,
            layers,
            heads,
            ff,
            vocab,
            positions,
            eps,
            unknown: tokenizer.unk,
        };
        let encoder = Encoder::new(Arc::new(bytes), shape, &|name| tensors.get(name).cloned())?;
        Ok(Embedder {
            tokenizer,
            encoder,
            recent: quick_cache::sync::Cache::new(RECENT),
            checksum,
        })
    }

    /// The model on another kernel (to compare paths in tests and benchmarks).
    pub fn with_kernel(self, kernel: Kernel) -> Embedder {
        Embedder {
            encoder: self.encoder.with_kernel(kernel),
            ..self
        }
    }

    /// The name of the kernel the model runs on ("avx2", "portable").
    pub fn kernel(&self) -> &'static str {
        self.encoder.kernel().name()
    }

    /// The tokenizer (for tests and diagnostics).
    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// The unit vector of `text` in its `role`, remembered for the next time it is asked. A
    /// question is embedded from its first [`QUERY_TOKENS`] tokens only, so that a long
    /// message costs no more than a short one.
    pub fn embed(&self, text: &str, role: Role) -> Result<Arc<[f32]>> {
        let key = (role, text.to_string());
        if let Some(known) = self.recent.get(&key) {
            return Ok(known);
        }
        let limit = match role {
            Role::Query => QUERY_TOKENS,
            Role::Passage => usize::MAX,
        };
        let vector: Arc<[f32]> = self.encode_within(text, role, limit).into();
        self.recent.insert(key, vector.clone());
        Ok(vector)
    }

    /// The vectors of many texts (as [`Embedder::embed`]), computed on every core: one text
    /// per core at a time.
    pub fn embed_many(&self, texts: &[String], role: Role) -> Result<Vec<Arc<[f32]>>> {
        let _batch = Running::start();
        texts.par_iter().map(|t| self.embed(t, role)).collect()
    }

    /// Forgets the vectors remembered by [`Embedder::embed`] (so that a benchmark measures the
    /// model, not the memory).
    pub fn forget(&self) {
        self.recent.clear();
    }

    /// The unit vector of `text` in its `role`, computed now. Texts longer than one pass are
    /// cut into windows whose vectors are averaged, weighted by their length.
    pub fn encode(&self, text: &str, role: Role) -> Result<Vec<f32>> {
        Ok(self.encode_within(text, role, usize::MAX))
    }

    /// [`Embedder::encode`] of the first `max_tokens` tokens of `text` (prefix included).
    fn encode_within(&self, text: &str, role: Role, max_tokens: usize) -> Vec<f32> {
        let running = Running::start();
        let parallel = running.alone && rayon::current_num_threads() > 1;
        let mut content = self.tokenizer.content(&format!("{}{text}", role.prefix()));
        content.truncate(max_tokens);
        let window = self.encoder.max_tokens() - 2;
        let mut sum = vec![0f32; DIM];
        let mut weight = 0f32;
        let chunks: Vec<&[u32]> = if content.is_empty() {
            vec![&[]]
        } else {
            content.chunks(window).collect()
        };
        for chunk in chunks {
            let mut ids = Vec::with_capacity(chunk.len() + 2);
            ids.push(self.tokenizer.bos);
            ids.extend_from_slice(chunk);
            ids.push(self.tokenizer.eos);
            // Run on one of rayon's threads, so that the pass's many splits join without
            // putting this thread to sleep and waking it each time.
            let mean = if parallel {
                rayon::scope(|_| self.encoder.forward(&ids, true))
            } else {
                self.encoder.forward(&ids, false)
            };
            let w = chunk.len().max(1) as f32;
            for (s, m) in sum.iter_mut().zip(mean) {
                *s += w * m;
            }
            weight += w;
        }
        let norm = sum
            .iter()
            .map(|v| (v / weight) * (v / weight))
            .sum::<f32>()
            .sqrt()
            .max(1e-6);
        sum.into_iter().map(|v| v / weight / norm).collect()
    }
}

/// The xxh3 of the file at `path`, read through a small buffer (not through the mapping,
/// whose pages would then all count as this process's memory).
fn file_checksum(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    let mut buffer = vec![0u8; 1 << 16];
    loop {
        let read = file.read(&mut buffer)?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
    }
    Ok(format!("{:016x}", hasher.digest()))
}

/// Reads the tokenizer section: pieces, scores, normalisation map.
fn read_tokenizer(r: &mut Reader) -> std::result::Result<Tokenizer, String> {
    let n = r.u32()? as usize;
    let [bos, eos, _pad, unk] = [(); 4].map(|_| r.u32().unwrap_or(0));
    let blob_len = u64::from_le_bytes(r.array()?) as usize;
    let offsets: Vec<usize> = (0..=n)
        .map(|_| r.u32().map(|v| v as usize))
        .collect::<std::result::Result<_, _>>()?;
    let scores: Vec<f32> = (0..n)
        .map(|_| r.array().map(f32::from_le_bytes))
        .collect::<std::result::Result<_, _>>()?;
    let blob = std::str::from_utf8(r.take(blob_len)?).map_err(|_| "pieces are not UTF-8")?;
    let mut pieces = Vec::with_capacity(n);
    for w in offsets.windows(2) {
        pieces.push(
            blob.get(w[0]..w[1])
                .ok_or("a piece lies outside the blob")?,
        );
    }
    let entries = r.u32()? as usize;
    let _bytes = r.u32()?;
    let mut normal = FxHashMap::default();
    for _ in 0..entries {
        let from = char::from_u32(r.u32()?).ok_or("bad character in the normalisation map")?;
        let k = r.take(1)?[0] as usize;
        let to: Box<[char]> = (0..k)
            .map(|_| r.u32().map(|c| char::from_u32(c).unwrap_or('\u{fffd}')))
            .collect::<std::result::Result<_, _>>()?;
        normal.insert(from, to);
    }
    if [bos, eos, unk].iter().any(|&id| id as usize >= n) {
        return Err("special piece ids out of range".into());
    }
    Ok(Tokenizer::new(pieces, scores, normal, [bos, eos, unk]))
}

/// Little-endian reads from the model file, failing past its end.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> std::result::Result<&'a [u8], String> {
        let out = self
            .bytes
            .get(self.at..self.at + n)
            .ok_or("the file ends early (truncated?)")?;
        self.at += n;
        Ok(out)
    }

    fn array<const N: usize>(&mut self) -> std::result::Result<[u8; N], String> {
        Ok(self.take(N)?.try_into().expect("N bytes"))
    }

    fn u32(&mut self) -> std::result::Result<u32, String> {
        self.array().map(u32::from_le_bytes)
    }
}

/// Dot product of two vectors (their cosine, for unit vectors).
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}
