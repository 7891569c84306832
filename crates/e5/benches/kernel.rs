//! Speed of one layer-sized product (20 tokens × 1536 rows × 384 columns, the feed-forward's
//! first) on each path this CPU has.
//! Run: cargo bench -p summit-e5 --bench kernel

use criterion::{criterion_group, criterion_main, Criterion};
use summit_e5::kernel::{quantize, Kernel, Q4_BYTES, Q8};

fn product(c: &mut Criterion) {
    let (rows, cols, n) = (1536, 384, 20);
    let mut state = 1u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let matrix: Vec<u8> = (0..rows * cols / 32)
        .flat_map(|_| {
            let mut block = half::f16::from_f32(0.01).to_bits().to_le_bytes().to_vec();
            block.extend((0..Q4_BYTES - 2).map(|_| next() as u8));
            block
        })
        .collect();
    let x: Vec<f32> = (0..n * cols)
        .map(|_| (next() % 1000) as f32 / 500.0 - 1.0)
        .collect();
    let mut tokens: Vec<Q8> = Vec::new();
    quantize(&x, &mut tokens);
    let mut out = vec![0f32; rows * n];
    for kernel in [Kernel::portable(), Kernel::detect()] {
        c.bench_function(
            &format!("kernel/20 tokens x 1536x384 ({})", kernel.name()),
            |b| b.iter(|| kernel.rows_dots(&matrix, &tokens, n, &mut out)),
        );
    }
    c.bench_function("kernel/quantize 20 x 1536", |b| {
        let x: Vec<f32> = (0..n * 1536).map(|i| (i % 97) as f32 - 48.0).collect();
        let mut q = Vec::new();
        b.iter(|| {
            q.clear();
            quantize(&x, &mut q)
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = product
}
criterion_main!(benches);
