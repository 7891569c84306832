//! The crate's only `unsafe` code: dot products of Q4_0 weight rows with Q8_0 activations, on
//! a portable path and on an AVX2 one chosen at run time (one binary for every x86-64).
//!
//! A Q4_0 block is GGML's: 18 bytes for 32 weights — an f16 scale `d`, then 16 bytes whose byte
//! `j` holds weight `j` (low nibble) and weight `j + 16` (high nibble); weight = (nibble − 8)·d.
//! A [`Q8`] block is 32 activations rounded to int8 with one f32 scale (max |x| / 127).

use std::sync::OnceLock;

/// Values per block.
pub const BLOCK: usize = 32;
/// Bytes of one Q4_0 block.
pub const Q4_BYTES: usize = 18;
/// Bytes of activations multiplied by one weight row before the next row is read: they stay
/// in the first-level cache while the rows stream past.
const TILE_BYTES: usize = 16 * 1024;

/// 32 activations as int8 with their scale (GGML's Q8_0, the scale kept in f32).
#[derive(Clone, Copy, Debug, Default)]
#[repr(C)]
pub struct Q8 {
    /// What one step of `values` is worth.
    pub scale: f32,
    /// The sum of `values` (for the weights' −8 offset, folded in once per block).
    pub sum: i32,
    /// The activations divided by `scale`, rounded: within −127..=127.
    pub values: [i8; BLOCK],
}

/// The code that multiplies on this CPU: made only by [`Kernel::detect`] (which checks the
/// CPU) or [`Kernel::portable`], so a fast path never runs where its instructions are missing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Kernel(Path);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Path {
    Portable,
    #[cfg(target_arch = "x86_64")]
    Avx2,
}

impl Kernel {
    /// The fastest path this CPU supports (checked once per process).
    pub fn detect() -> Kernel {
        static FOUND: OnceLock<Kernel> = OnceLock::new();
        *FOUND.get_or_init(|| {
            #[cfg(target_arch = "x86_64")]
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
                && std::arch::is_x86_feature_detected!("f16c")
            {
                return Kernel(Path::Avx2);
            }
            Kernel::portable()
        })
    }

    /// The portable path (plain Rust, any CPU).
    pub fn portable() -> Kernel {
        Kernel(Path::Portable)
    }

    /// The path's name, for logs and benchmarks.
    pub fn name(self) -> &'static str {
        match self.0 {
            Path::Portable => "portable",
            #[cfg(target_arch = "x86_64")]
            Path::Avx2 => "avx2",
        }
    }

    /// `out[t]` = the dot product of one weight row (`row`, its Q4_0 blocks) with token `t`'s
    /// activations (`tokens[t * blocks .. (t + 1) * blocks]`), for every token.
    pub fn row_dots(self, row: &[u8], tokens: &[Q8], out: &mut [f32]) {
        let blocks = row.len() / Q4_BYTES;
        assert_eq!(row.len(), blocks * Q4_BYTES, "a row is whole blocks");
        assert_eq!(
            tokens.len(),
            out.len() * blocks,
            "one activation row per output"
        );
        match self.0 {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Path::Avx2` is only made by `detect`, after the CPU reported AVX2, FMA
            // and F16C; the lengths were checked above, and the row fits the unpacked buffer.
            Path::Avx2 if blocks <= avx2::MAX_BLOCKS => unsafe { avx2::row_dots(row, tokens, out) },
            _ => portable::row_dots(row, tokens, out),
        }
    }

    /// `out[r * n + t]` = row `r` of `matrix` (Q4_0, `rows` rows) · token `t` of `tokens`, for
    /// the rows of `matrix` and the `n` tokens; tokens are taken a tile at a time so that
    /// their activations stay in cache while the rows stream past.
    pub fn rows_dots(self, matrix: &[u8], tokens: &[Q8], n: usize, out: &mut [f32]) {
        if n == 0 {
            return;
        }
        let blocks = tokens.len() / n;
        let row_bytes = blocks * Q4_BYTES;
        let rows = out.len() / n;
        assert_eq!(
            matrix.len(),
            rows * row_bytes,
            "the matrix matches the output"
        );
        let tile = (TILE_BYTES / (blocks * std::mem::size_of::<Q8>())).max(4) / 4 * 4;
        for start in (0..n).step_by(tile) {
            let end = (start + tile).min(n);
            let tile = &tokens[start * blocks..end * blocks];
            for (r, row) in matrix.chunks_exact(row_bytes).enumerate() {
                self.row_dots(row, tile, &mut out[r * n + start..r * n + end]);
            }
        }
    }
}

impl Kernel {
    /// Self-attention of one head: `queries` and `values` are [n, width], `keys` is given
    /// transposed ([width, n]); `out` ([n, width]) receives softmax(q·kᵀ·scale)·v per query.
    pub fn attend(
        self,
        queries: &[f32],
        keys: &[f32],
        values: &[f32],
        width: usize,
        scale: f32,
        out: &mut [f32],
    ) {
        assert!(
            width > 0 && queries.len().is_multiple_of(width),
            "whole rows"
        );
        assert!(keys.len() == queries.len() && values.len() == queries.len());
        assert_eq!(out.len(), queries.len(), "one output row per query");
        match self.0 {
            Path::Portable => attend(queries, keys, values, width, scale, out),
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Path::Avx2` is only made by `detect`, after the CPU reported AVX2 and FMA.
            Path::Avx2 => unsafe { avx2::attend(queries, keys, values, width, scale, out) },
        }
    }
}

/// [`Kernel::attend`]'s arithmetic, written so that the compiler vectorises it for whichever
/// instructions the caller enables.
#[inline(always)]
fn attend(
    queries: &[f32],
    keys: &[f32],
    values: &[f32],
    width: usize,
    scale: f32,
    out: &mut [f32],
) {
    let n = queries.len() / width;
    let mut scores = vec![0f32; n];
    for (q, o) in queries.chunks_exact(width).zip(out.chunks_exact_mut(width)) {
        scores.fill(0.0);
        for (d, &qd) in q.iter().enumerate() {
            for (s, k) in scores.iter_mut().zip(&keys[d * n..(d + 1) * n]) {
                *s += qd * k;
            }
        }
        let max = scores.iter().fold(f32::NEG_INFINITY, |m, &s| m.max(s));
        let mut total = 0.0;
        for s in scores.iter_mut() {
            *s = ((*s - max) * scale).exp();
            total += *s;
        }
        o.fill(0.0);
        for (p, v) in scores.iter().zip(values.chunks_exact(width)) {
            let p = p / total;
            for (a, b) in o.iter_mut().zip(v) {
                *a += p * b;
            }
        }
    }
}

/// Rounds `x` (whole blocks) to Q8 blocks, appended to `out`.
pub fn quantize(x: &[f32], out: &mut Vec<Q8>) {
    assert!(x.len().is_multiple_of(BLOCK), "whole blocks");
    out.reserve(x.len() / BLOCK);
    for block in x.chunks_exact(BLOCK) {
        let max = block.iter().fold(0f32, |m, v| m.max(v.abs()));
        let scale = max / 127.0;
        let inverse = if scale > 0.0 { 1.0 / scale } else { 0.0 };
        let mut values = [0i8; BLOCK];
        for (q, &v) in values.iter_mut().zip(block) {
            // Half away from zero, as `round` (which is a library call without SSE4.1).
            let scaled = v * inverse;
            *q = (scaled + 0.5f32.copysign(scaled)) as i8;
        }
        let sum = values.iter().map(|&v| i32::from(v)).sum();
        out.push(Q8 { scale, sum, values });
    }
}

fn half_to_f32(bytes: [u8; 2]) -> f32 {
    half::f16::from_bits(u16::from_le_bytes(bytes)).to_f32()
}

mod portable {
    use super::{half_to_f32, Q4_BYTES, Q8};

    /// Σ_j weight_j · x_j of one block, in integers.
    pub(super) fn block_sum(block: &[u8], x: &Q8) -> i32 {
        let mut sum = 0i32;
        for (j, &byte) in block[2..Q4_BYTES].iter().enumerate() {
            sum += (i32::from(byte & 0x0f) - 8) * i32::from(x.values[j]);
            sum += (i32::from(byte >> 4) - 8) * i32::from(x.values[j + 16]);
        }
        sum
    }

    pub(super) fn row_dots(row: &[u8], tokens: &[Q8], out: &mut [f32]) {
        let blocks = row.len() / Q4_BYTES;
        for (t, o) in out.iter_mut().enumerate() {
            let xs = &tokens[t * blocks..(t + 1) * blocks];
            *o = row
                .chunks_exact(Q4_BYTES)
                .zip(xs)
                .map(|(block, x)| {
                    half_to_f32([block[0], block[1]]) * x.scale * block_sum(block, x) as f32
                })
                .sum();
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    use super::{Q4_BYTES, Q8};

    /// Most blocks in a row this path takes (a row is unpacked on the stack first); longer
    /// rows take the portable path.
    pub(super) const MAX_BLOCKS: usize = 64;

    /// The 32 weights of a Q4_0 block as their unsigned nibbles (0..=15, the weight plus 8), and
    /// its scale.
    ///
    /// # Safety
    /// AVX2 and F16C present; `block` points at 18 readable bytes.
    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn unpack(block: *const u8) -> (__m256i, __m256) {
        // SAFETY: the caller gives 18 readable bytes: 2 of scale, then 16 of nibbles; both
        // reads are unaligned loads.
        let (bits, nibbles) = unsafe {
            (
                std::ptr::read_unaligned(block as *const u16),
                _mm_loadu_si128(block.add(2) as *const __m128i),
            )
        };
        let scale = _mm256_set1_ps(_mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(i32::from(
            bits,
        )))));
        let high = _mm_srli_epi16(nibbles, 4);
        let bytes = _mm256_and_si256(_mm256_set_m128i(high, nibbles), _mm256_set1_epi8(0x0f));
        (bytes, scale)
    }

    /// Eight partial integer sums of (nibble − 8) × activation over one block: the nibbles
    /// times the activations (unsigned × signed bytes, pairs summed without saturation:
    /// 15 · 127 · 2 < 2¹⁵), less the block's activation sum once per lane (8 lanes × sum
    /// = the −8 offset of every weight).
    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    fn block_sums(nibbles: __m256i, x: &Q8) -> __m256i {
        // SAFETY: `x.values` is 32 readable bytes; the load is unaligned.
        let y = unsafe { _mm256_loadu_si256(x.values.as_ptr() as *const __m256i) };
        let products = _mm256_maddubs_epi16(nibbles, y);
        let sums = _mm256_madd_epi16(products, _mm256_set1_epi16(1));
        _mm256_sub_epi32(sums, _mm256_set1_epi32(x.sum))
    }

    /// `sum + the block's dot product × both scales`.
    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    fn accumulate(sum: __m256, nibbles: __m256i, scale: __m256, x: &Q8) -> __m256 {
        let dot = _mm256_cvtepi32_ps(block_sums(nibbles, x));
        _mm256_fmadd_ps(dot, _mm256_mul_ps(scale, _mm256_set1_ps(x.scale)), sum)
    }

    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    fn horizontal_sum(v: __m256) -> f32 {
        let pair = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
        let two = _mm_add_ps(pair, _mm_movehl_ps(pair, pair));
        _mm_cvtss_f32(_mm_add_ss(two, _mm_shuffle_ps(two, two, 1)))
    }

    /// As the portable `row_dots`: the row unpacked once, then four tokens at a time.
    ///
    /// # Safety
    /// AVX2, FMA and F16C present; `row.len()` is whole blocks, at most [`MAX_BLOCKS`], and
    /// `tokens.len()` equals `out.len()` × blocks (checked by the caller).
    #[target_feature(enable = "avx2,fma,f16c")]
    pub(super) unsafe fn row_dots(row: &[u8], tokens: &[Q8], out: &mut [f32]) {
        let blocks = row.len() / Q4_BYTES;
        let mut weights = [(_mm256_setzero_si256(), _mm256_setzero_ps()); MAX_BLOCKS];
        for (b, unpacked) in weights[..blocks].iter_mut().enumerate() {
            // SAFETY: block b of the row lies within `row` (b < blocks).
            *unpacked = unsafe { unpack(row.as_ptr().add(b * Q4_BYTES)) };
        }
        let weights = &weights[..blocks];
        let n = out.len();
        let mut t = 0;
        while t + 4 <= n {
            let mut sums = [_mm256_setzero_ps(); 4];
            for (b, &(nibbles, scale)) in weights.iter().enumerate() {
                for (k, sum) in sums.iter_mut().enumerate() {
                    *sum = accumulate(*sum, nibbles, scale, &tokens[(t + k) * blocks + b]);
                }
            }
            for (k, sum) in sums.iter().enumerate() {
                out[t + k] = horizontal_sum(*sum);
            }
            t += 4;
        }
        for (t, o) in out.iter_mut().enumerate().skip(t) {
            let mut sum = _mm256_setzero_ps();
            for (b, &(nibbles, scale)) in weights.iter().enumerate() {
                sum = accumulate(sum, nibbles, scale, &tokens[t * blocks + b]);
            }
            *o = horizontal_sum(sum);
        }
    }

    /// The portable attention compiled for AVX2 and FMA.
    ///
    /// # Safety
    /// AVX2 and FMA present.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn attend(
        queries: &[f32],
        keys: &[f32],
        values: &[f32],
        width: usize,
        scale: f32,
        out: &mut [f32],
    ) {
        super::attend(queries, keys, values, width, scale, out)
    }

    /// The integer sum of one block and its scale (for the tests against the portable path).
    ///
    /// # Safety
    /// AVX2, FMA and F16C present; `block` is 18 bytes.
    #[cfg(test)]
    #[target_feature(enable = "avx2,fma,f16c")]
    pub(super) unsafe fn block_sum(block: &[u8], x: &Q8) -> (i32, f32) {
        assert_eq!(block.len(), Q4_BYTES);
        // SAFETY: 18 bytes, checked above.
        let (nibbles, scale) = unsafe { unpack(block.as_ptr()) };
        let sums = block_sums(nibbles, x);
        let mut lanes = [0i32; 8];
        // SAFETY: `lanes` is 32 writable bytes.
        unsafe { _mm256_storeu_si256(lanes.as_mut_ptr() as *mut __m256i, sums) };
        (lanes.iter().sum(), _mm256_cvtss_f32(scale))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic generator (xorshift), so that failures reproduce.
    struct Random(u64);

    impl Random {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn float(&mut self) -> f32 {
            (self.next() % 2_000_001) as f32 / 1_000_000.0 - 1.0
        }

        fn q4_block(&mut self) -> Vec<u8> {
            let scale = half::f16::from_f32(self.float() * 0.1)
                .to_bits()
                .to_le_bytes();
            let mut block = scale.to_vec();
            block.extend((0..16).map(|_| self.next() as u8));
            block
        }

        fn q8(&mut self, extreme: bool) -> Q8 {
            let mut values = [0i8; BLOCK];
            for v in &mut values {
                *v = if extreme {
                    [127i8, -127][(self.next() % 2) as usize]
                } else {
                    ((self.next() % 255) as i16 - 127) as i8
                };
            }
            Q8 {
                scale: self.float(),
                sum: values.iter().map(|&v| i32::from(v)).sum(),
                values,
            }
        }
    }

    fn dequantized(block: &[u8]) -> Vec<f32> {
        let d = half_to_f32([block[0], block[1]]);
        let mut w = vec![0f32; BLOCK];
        for (j, &byte) in block[2..].iter().enumerate() {
            w[j] = (f32::from(byte & 0x0f) - 8.0) * d;
            w[j + 16] = (f32::from(byte >> 4) - 8.0) * d;
        }
        w
    }

    #[test]
    fn the_portable_block_sum_is_the_definition() {
        let mut random = Random(7);
        for _ in 0..1_000 {
            let block = random.q4_block();
            let x = random.q8(false);
            let d = half_to_f32([block[0], block[1]]);
            let expected: f64 = dequantized(&block)
                .iter()
                .zip(x.values)
                .map(|(w, q)| f64::from(*w / d) * f64::from(q))
                .sum();
            if d != 0.0 {
                assert_eq!(portable::block_sum(&block, &x) as f64, expected);
            }
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn avx2_block_sums_equal_the_portable_ones_exactly() {
        if Kernel::detect() == Kernel::portable() {
            eprintln!("no AVX2 here: only the portable path is tested");
            return;
        }
        let mut random = Random(11);
        for i in 0..20_000 {
            let block = random.q4_block();
            let x = random.q8(i % 4 == 0);
            // SAFETY: detect() found AVX2, FMA and F16C; the block is 18 bytes.
            let (sum, scale) = unsafe { avx2::block_sum(&block, &x) };
            assert_eq!(sum, portable::block_sum(&block, &x), "block {i}");
            assert_eq!(scale, half_to_f32([block[0], block[1]]));
        }
    }

    #[test]
    fn every_path_gives_the_same_row_dots() {
        let mut random = Random(3);
        for (blocks, n) in [(1, 1), (12, 3), (12, 4), (12, 9), (48, 20), (48, 70)] {
            let matrix: Vec<u8> = (0..5 * blocks).flat_map(|_| random.q4_block()).collect();
            let tokens: Vec<Q8> = (0..n * blocks).map(|_| random.q8(false)).collect();
            let mut expected = vec![0f32; 5 * n];
            Kernel::portable().rows_dots(&matrix, &tokens, n, &mut expected);
            let mut got = vec![0f32; 5 * n];
            Kernel::detect().rows_dots(&matrix, &tokens, n, &mut got);
            for (g, e) in got.iter().zip(&expected) {
                assert!((g - e).abs() <= 1e-4 * e.abs().max(1.0), "{g} vs {e}");
            }
        }
    }

    #[test]
    fn rows_dots_is_each_row_times_each_token() {
        let mut random = Random(5);
        let (blocks, rows, n) = (3, 4, 70);
        let matrix: Vec<u8> = (0..rows * blocks).flat_map(|_| random.q4_block()).collect();
        let tokens: Vec<Q8> = (0..n * blocks).map(|_| random.q8(false)).collect();
        let mut out = vec![0f32; rows * n];
        Kernel::detect().rows_dots(&matrix, &tokens, n, &mut out);
        for r in 0..rows {
            let w: Vec<f32> = matrix[r * blocks * Q4_BYTES..(r + 1) * blocks * Q4_BYTES]
                .chunks(Q4_BYTES)
                .flat_map(dequantized)
                .collect();
            for t in 0..n {
                let x: Vec<f32> = tokens[t * blocks..(t + 1) * blocks]
                    .iter()
                    .flat_map(|q| q.values.map(|v| f32::from(v) * q.scale))
                    .collect();
                let expected: f32 = w.iter().zip(&x).map(|(a, b)| a * b).sum();
                let got = out[r * n + t];
                assert!((got - expected).abs() <= 1e-3 * expected.abs().max(1.0));
            }
        }
    }

    #[test]
    fn every_path_attends_alike_and_as_defined() {
        let mut random = Random(13);
        let (n, width) = (37, 32);
        let [q, k, v] = [(); 3].map(|_| (0..n * width).map(|_| random.float()).collect::<Vec<_>>());
        let mut keys = vec![0f32; n * width];
        for t in 0..n {
            for d in 0..width {
                keys[d * n + t] = k[t * width + d];
            }
        }
        let mut portable = vec![0f32; n * width];
        Kernel::portable().attend(&q, &keys, &v, width, 0.2, &mut portable);
        let mut fast = vec![0f32; n * width];
        Kernel::detect().attend(&q, &keys, &v, width, 0.2, &mut fast);
        for i in [0, 17, n - 1] {
            let scores: Vec<f64> = (0..n)
                .map(|j| {
                    let s: f32 = (0..width)
                        .map(|d| q[i * width + d] * k[j * width + d])
                        .sum();
                    f64::from(s * 0.2).exp()
                })
                .collect();
            let total: f64 = scores.iter().sum();
            for d in 0..width {
                let expected: f64 = (0..n)
                    .map(|j| scores[j] / total * f64::from(v[j * width + d]))
                    .sum();
                for got in [portable[i * width + d], fast[i * width + d]] {
                    assert!(
                        (f64::from(got) - expected).abs() < 1e-5,
                        "{got} vs {expected}"
                    );
                }
            }
        }
    }

    #[test]
    fn quantize_keeps_each_value_within_half_a_step() {
        let mut random = Random(9);
        let x: Vec<f32> = (0..4 * BLOCK).map(|_| random.float() * 3.0).collect();
        let mut q = Vec::new();
        quantize(&x, &mut q);
        assert_eq!(q.len(), 4);
        for (block, values) in q.iter().zip(x.chunks(BLOCK)) {
            assert!(block.values.iter().any(|v| v.abs() == 127));
            for (v, &x) in block.values.iter().zip(values) {
                assert!((f32::from(*v) * block.scale - x).abs() <= block.scale / 2.0 + 1e-6);
            }
        }
        let mut zeros = Vec::new();
        quantize(&[0.0; BLOCK], &mut zeros);
        assert_eq!(zeros[0].values, [0; BLOCK]);
    }
}
