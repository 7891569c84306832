//! The embedding model: multilingual-e5-small (`models/`), read from its Q4_0 file and run
//! with candle — text → a unit vector of 384 numbers whose dot product with another says how
//! close their meanings are, across Simplified, Traditional and English.

mod tokenizer;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use candle_core::quantized::{ggml_file::qtensor_from_ggml, GgmlDType};
use candle_core::{DType, Device, Tensor};
use rustc_hash::FxHashMap;

pub use tokenizer::Tokenizer;

use crate::error::{Error, Result};

/// Length of every vector.
pub const DIM: usize = 384;
/// Values per Q4_0 block, and the block's size in bytes (an f16 scale, then 16 bytes of
/// nibbles).
const BLOCK: usize = 32;
const BLOCK_BYTES: usize = 18;

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

/// The model, ready to embed: tokenizer, the embedding table (kept in Q4_0; rows are unpacked
/// as texts use them) and the encoder's layers unpacked to f32.
pub struct Embedder {
    tokenizer: Tokenizer,
    /// Q4_0 rows of the word embedding table, one per piece.
    words: Vec<u8>,
    positions: Tensor,
    token_type: Tensor,
    norm: Norm,
    layers: Vec<Layer>,
    heads: usize,
    /// Most tokens one pass takes (with `<s>` and `</s>`).
    max_tokens: usize,
    eps: f32,
    /// Vectors made lately, by role and text (repeated questions, re-indexed sentences).
    recent: quick_cache::sync::Cache<(Role, String), Arc<[f32]>>,
    /// Identifies the model file: vectors made by another file are made again.
    pub checksum: String,
}

/// Vectors remembered per model (~1.5 KB each).
const RECENT: usize = 4_096;

struct Norm {
    weight: Tensor,
    bias: Tensor,
}

struct Linear {
    /// [in, out]
    weight: Tensor,
    bias: Tensor,
}

struct Layer {
    /// Query, key and value projections side by side.
    qkv: Linear,
    out: Linear,
    attention_norm: Norm,
    up: Linear,
    down: Linear,
    output_norm: Norm,
}

impl Linear {
    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        x.matmul(&self.weight)?.broadcast_add(&self.bias)
    }
}

impl Norm {
    fn forward(&self, x: &Tensor, eps: f32) -> candle_core::Result<Tensor> {
        candle_nn::ops::layer_norm(x, &self.weight, &self.bias, eps)
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
    /// Reads the model file at `path`.
    pub fn open(path: &Path) -> Result<Embedder> {
        let bytes = std::fs::read(path).map_err(|e| Error::Model {
            path: path.to_path_buf(),
            message: format!("{e}: set `semantic.model` to the model file (models/ in the repository), or `semantic.enabled = false`"),
        })?;
        Embedder::from_bytes(&bytes).map_err(|message| Error::Model {
            path: path.to_path_buf(),
            message: format!("{message}: not the model this version reads; regenerate it with tools/e5-prune/prune.py"),
        })
    }

    /// Parses a model file's bytes.
    pub fn from_bytes(bytes: &[u8]) -> std::result::Result<Embedder, String> {
        let mut r = Reader { bytes, at: 0 };
        if r.take(4)? != b"E5S1" {
            return Err("it does not start with E5S1".into());
        }
        let _version = r.u32()?;
        let [hidden, layers, heads, ff, rows, max_tokens, _types] =
            [(); 7].map(|_| r.u32().unwrap_or(0) as usize);
        let eps = f32::from_le_bytes(r.array()?);
        let _group = r.u32()?;
        if hidden != DIM || layers == 0 || heads == 0 || hidden % heads != 0 || ff % BLOCK != 0 {
            return Err(format!(
                "unexpected shape (hidden {hidden}, layers {layers}, heads {heads})"
            ));
        }
        let tokenizer = read_tokenizer(&mut r)?;
        let count = r.u32()? as usize;
        let mut tensors: HashMap<String, &[u8]> = HashMap::new();
        for _ in 0..count {
            let len = u16::from_le_bytes(r.array()?) as usize;
            let name = String::from_utf8_lossy(r.take(len)?).into_owned();
            let _dtype = r.take(1)?;
            let _elements = r.u32()?;
            let offset = u64::from_le_bytes(r.array()?) as usize;
            let size = u64::from_le_bytes(r.array()?) as usize;
            let data = bytes
                .get(offset..offset + size)
                .ok_or(format!("tensor {name} lies past the end of the file"))?;
            tensors.insert(name, data);
        }
        let get = |name: &str| {
            tensors
                .get(name)
                .copied()
                .ok_or(format!("tensor {name} is missing"))
        };
        let words = get("emb.word")?;
        if words.len() != rows * hidden / BLOCK * BLOCK_BYTES {
            return Err("the embedding table has the wrong size".into());
        }
        let fail = |e: candle_core::Error| e.to_string();
        let vector = |name: &str, len: usize| -> std::result::Result<Tensor, String> {
            let data = get(name)?;
            if data.len() != len * 4 {
                return Err(format!("tensor {name} has the wrong size"));
            }
            let values: Vec<f32> = data
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            Tensor::from_vec(values, len, &Device::Cpu).map_err(fail)
        };
        let norm = |name: &str| -> std::result::Result<Norm, String> {
            Ok(Norm {
                weight: vector(&format!("{name}.w"), hidden)?,
                bias: vector(&format!("{name}.b"), hidden)?,
            })
        };
        // A Q4_0 matrix stored [out, in], unpacked to f32 and laid out [in, out].
        let matrix = |name: &str, out: usize, inp: usize| -> std::result::Result<Tensor, String> {
            let data = get(name)?;
            if data.len() != out * inp / BLOCK * BLOCK_BYTES {
                return Err(format!("tensor {name} has the wrong size"));
            }
            qtensor_from_ggml(GgmlDType::Q4_0, data, vec![out, inp], &Device::Cpu)
                .and_then(|q| q.dequantize(&Device::Cpu))
                .and_then(|t| t.t()?.contiguous())
                .map_err(fail)
        };
        let linear = |l: usize, name: &str, out: usize, inp: usize| {
            Ok::<_, String>(Linear {
                weight: matrix(&format!("l{l}.{name}.w"), out, inp)?,
                bias: vector(&format!("l{l}.{name}.b"), out)?,
            })
        };
        let mut stack = Vec::with_capacity(layers);
        for l in 0..layers {
            let [q, k, v] = ["q", "k", "v"].map(|n| linear(l, n, hidden, hidden));
            let (q, k, v) = (q?, k?, v?);
            let qkv = Linear {
                weight: Tensor::cat(&[&q.weight, &k.weight, &v.weight], 1).map_err(fail)?,
                bias: Tensor::cat(&[&q.bias, &k.bias, &v.bias], 0).map_err(fail)?,
            };
            stack.push(Layer {
                qkv,
                out: linear(l, "ao", hidden, hidden)?,
                attention_norm: norm(&format!("l{l}.aln"))?,
                up: linear(l, "fi", ff, hidden)?,
                down: linear(l, "fo", hidden, ff)?,
                output_norm: norm(&format!("l{l}.oln"))?,
            });
        }
        let positions = vector("emb.pos", max_tokens * hidden)?
            .reshape((max_tokens, hidden))
            .map_err(fail)?;
        let token_type = vector("emb.type", get("emb.type")?.len() / 4)?
            .narrow(0, 0, hidden)
            .map_err(fail)?;
        Ok(Embedder {
            tokenizer,
            words: words.to_vec(),
            positions,
            token_type,
            norm: norm("emb.ln")?,
            layers: stack,
            heads,
            max_tokens,
            eps,
            recent: quick_cache::sync::Cache::new(RECENT),
            checksum: format!("{:016x}", xxhash_rust::xxh3::xxh3_64(bytes)),
        })
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
        let vector: Arc<[f32]> = self.encode_within(text, role, limit)?.into();
        self.recent.insert(key, vector.clone());
        Ok(vector)
    }

    /// Forgets the vectors remembered by [`Embedder::embed`] (so that a benchmark measures the
    /// model, not the memory).
    pub fn forget(&self) {
        self.recent.clear();
    }

    /// The unit vector of `text` in its `role`, computed now. Texts longer than one pass are
    /// cut into windows whose vectors are averaged, weighted by their length.
    pub fn encode(&self, text: &str, role: Role) -> Result<Vec<f32>> {
        self.encode_within(text, role, usize::MAX)
    }

    /// [`Embedder::encode`] of the first `max_tokens` tokens of `text` (prefix included).
    fn encode_within(&self, text: &str, role: Role, max_tokens: usize) -> Result<Vec<f32>> {
        let mut content = self.tokenizer.content(&format!("{}{text}", role.prefix()));
        content.truncate(max_tokens);
        let window = self.max_tokens - 2;
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
            let mean = self
                .forward(&ids)
                .map_err(|e| Error::Embedding(e.to_string()))?;
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
        Ok(sum.into_iter().map(|v| v / weight / norm).collect())
    }

    /// The mean of the encoder's last hidden states over `ids` (at most one pass).
    fn forward(&self, ids: &[u32]) -> candle_core::Result<Vec<f32>> {
        let tokens = ids.len();
        let mut rows = vec![0f32; tokens * DIM];
        for (row, &id) in rows.chunks_exact_mut(DIM).zip(ids) {
            self.word_row(id as usize, row);
        }
        let x = Tensor::from_vec(rows, (tokens, DIM), &Device::Cpu)?
            .add(&self.positions.narrow(0, 0, tokens)?)?
            .broadcast_add(&self.token_type)?;
        let mut x = self.norm.forward(&x, self.eps)?;
        let head = DIM / self.heads;
        let scale = 1.0 / (head as f64).sqrt();
        for layer in &self.layers {
            let qkv = layer.qkv.forward(&x)?;
            let split = |i: usize| -> candle_core::Result<Tensor> {
                qkv.narrow(1, i * DIM, DIM)?
                    .reshape((tokens, self.heads, head))?
                    .transpose(0, 1)?
                    .contiguous()
            };
            let (q, k, v) = (split(0)?, split(1)?, split(2)?);
            let scores = (q.matmul(&k.t()?)? * scale)?;
            let probs = candle_nn::ops::softmax_last_dim(&scores)?;
            let context = probs
                .matmul(&v)?
                .transpose(0, 1)?
                .contiguous()?
                .reshape((tokens, DIM))?;
            let attended = layer.out.forward(&context)?;
            x = layer.attention_norm.forward(&(x + attended)?, self.eps)?;
            let up = layer.up.forward(&x)?.gelu_erf()?;
            let down = layer.down.forward(&up)?;
            x = layer.output_norm.forward(&(x + down)?, self.eps)?;
        }
        x.mean(0)?.to_dtype(DType::F32)?.to_vec1()
    }

    /// Unpacks row `id` of the Q4_0 embedding table into `out` (an unknown id reads as
    /// `<unk>`).
    fn word_row(&self, id: usize, out: &mut [f32]) {
        let row_bytes = DIM / BLOCK * BLOCK_BYTES;
        let id = if (id + 1) * row_bytes <= self.words.len() {
            id
        } else {
            self.tokenizer.unk as usize
        };
        let row = &self.words[id * row_bytes..(id + 1) * row_bytes];
        for (block, values) in row
            .chunks_exact(BLOCK_BYTES)
            .zip(out.chunks_exact_mut(BLOCK))
        {
            let scale = half::f16::from_bits(u16::from_le_bytes([block[0], block[1]])).to_f32();
            for (j, &byte) in block[2..].iter().enumerate() {
                values[j] = f32::from(byte & 0x0f) - 8.0;
                values[j + 16] = f32::from(byte >> 4) - 8.0;
            }
            for v in values.iter_mut() {
                *v *= scale;
            }
        }
    }
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
