//! What keeping records costs: one question appended, and `/stats` over 100,000 kept
//! questions — in the file, and in Redis when `SUMMIT_QA_BENCH_REDIS=redis://…` names a server
//! to use (an empty one: the bench writes 100,000 records there). `cargo bench --bench journal`.

use criterion::{criterion_group, criterion_main, Criterion};
use summit_qa::journal::{now, question_id, report, Journal, Kind, Record};

fn record(i: u64) -> Record {
    let q = format!("日本承诺对美国投资多少？第{i}问");
    Record {
        at: now() - i % (6 * 86_400),
        kind: Kind::Question,
        question_id: question_id(&q),
        question: Some(q),
        reply: Some(["answer", "closest", "refused", "small_talk"][(i % 4) as usize].into()),
        cited: vec![
            "000_128d67810036f820 ¶37".into(),
            "004_8c99b04382caaf45 ¶2".into(),
        ],
        took_ms: Some(20.0 + (i % 30) as f32),
        up: None,
        chat: format!("{:016x}", i % 50),
        chat_type: "supergroup".into(),
        chat_title: Some(format!("Group {}", i % 50)),
        user: format!("{:016x}", i % 2000),
    }
}

fn journal(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = Journal::at(dir.path(), None, 90).unwrap();
    let mut i = 0;
    c.bench_function("journal/record one question (file)", |b| {
        b.iter(|| {
            i += 1;
            rt.block_on(file.record(&record(i))).unwrap()
        })
    });
    if let Ok(url) = std::env::var("SUMMIT_QA_BENCH_REDIS") {
        let redis = Journal::at(dir.path(), Some((&url, "bench")), 90).unwrap();
        c.bench_function("journal/record one question (Redis round trip)", |b| {
            b.iter(|| {
                i += 1;
                rt.block_on(redis.record(&record(i))).unwrap()
            })
        });
    }

    let big = tempfile::tempdir().unwrap();
    let kept = Journal::at(big.path(), None, 90).unwrap();
    for i in 0..100_000 {
        rt.block_on(kept.record(&record(i))).unwrap();
    }
    let size = std::fs::metadata(big.path().join("journal.jsonl"))
        .unwrap()
        .len();
    eprintln!("100,000 questions: {:.1} MB on disk", size as f64 / 1e6);
    let mut group = c.benchmark_group("journal");
    group.sample_size(10);
    group.bench_function("/stats over 100,000 kept questions (file)", |b| {
        b.iter(|| {
            let records = rt.block_on(kept.since(now() - 7 * 86_400)).unwrap();
            report::stats(&records, now(), &[1, 7])
        })
    });
    if let Ok(url) = std::env::var("SUMMIT_QA_BENCH_REDIS") {
        let redis = Journal::at(big.path(), Some((&url, "bench-stats")), 90).unwrap();
        for i in 0..100_000 {
            rt.block_on(redis.record(&record(i))).unwrap();
        }
        group.bench_function("/stats over 100,000 kept questions (Redis)", |b| {
            b.iter(|| {
                let records = rt.block_on(redis.since(now() - 7 * 86_400)).unwrap();
                report::stats(&records, now(), &[1, 7])
            })
        });
    }
    group.finish();
}

criterion_group!(benches, journal);
criterion_main!(benches);
