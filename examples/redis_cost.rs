//! What Redis adds to one question: the calls a replica makes for a follow-up question in a
//! private chat (de-duplication, the limit, recalling the context, remembering it for the reply
//! and the chat), timed over 2,000 questions against a running Redis:
//! `redis-server --port 6390 --save '' &` then
//! `cargo run --release --example redis_cost -- redis://127.0.0.1:6390/0`.

use std::sync::Arc;
use std::time::Instant;

use summit_qa::config::TelegramConfig;
use summit_qa::ops::Metrics;
use summit_qa::telegram::context::ContextKey;
use summit_qa::telegram::state::{Kind, SharedState};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "redis://127.0.0.1:6379/0".into());
    let limits = TelegramConfig {
        questions_per_minute: 1_000_000,
        ..TelegramConfig::default()
    };
    let state = SharedState::with_redis(&limits, &url, "cost", Arc::new(Metrics::new()))
        .expect("a Redis URL");
    let mut times = Vec::new();
    for i in 0..2_000u32 {
        let started = Instant::now();
        assert!(state.first_time(i).await, "Redis reachable and empty");
        state.check(Kind::Question, 7).await;
        state.recall(&ContextKey::LastInChat(7)).await;
        let message = ContextKey::Message {
            chat: 7,
            message: i as i32,
        };
        state.remember(message, "日本承诺对美国投资多少？").await;
        state
            .remember(ContextKey::LastInChat(7), "日本承诺对美国投资多少？")
            .await;
        times.push(started.elapsed().as_micros());
    }
    times.sort_unstable();
    let at = |q: f64| times[((times.len() as f64 - 1.0) * q) as usize];
    println!(
        "Redis cost per question (5 calls): median {} µs, p90 {} µs, p99 {} µs over {} questions",
        at(0.5),
        at(0.9),
        at(0.99),
        times.len()
    );
}
