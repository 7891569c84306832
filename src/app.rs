//! Running the service: the bot and its HTTP endpoint over one engine, the index kept current
//! while it runs, and shutdown on SIGINT or SIGTERM. `main` and the tests run it the same way.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use teloxide::Bot;
use tokio::net::TcpListener;

use crate::engine::Engine;
use crate::ops::{Metrics, Ops};
use crate::telegram::{self, Settings, TransportError};

/// Binds the HTTP endpoint (`/healthz`, `/readyz`, `/metrics`, the webhook) on `listen`.
pub async fn bind(listen: SocketAddr) -> Result<TcpListener, TransportError> {
    TcpListener::bind(listen).await.map_err(|e| {
        TransportError::Http(format!(
            "cannot listen on {listen}: {e} (set http.listen or SUMMIT_QA_HTTP__LISTEN)"
        ))
    })
}

/// Runs the bot over `engine` until `shutdown` completes, serving HTTP on `http` and swapping
/// in a new index generation when `summit-qa index` commits one (or on SIGHUP); then finishes
/// the answers in flight and returns.
pub async fn run(
    bot: Bot,
    engine: Arc<Engine>,
    settings: Settings,
    ops: Ops,
    http: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), TransportError> {
    ops.metrics.index_loaded(engine.articles().len());
    let watcher = tokio::spawn(watch_index(engine.clone(), ops.metrics.clone()));
    let result = telegram::run(bot, engine, settings, ops, http, shutdown).await;
    watcher.abort();
    result
}

/// How often `serve` looks for a new commit of the index (after `summit-qa index`).
const INDEX_POLL: std::time::Duration = std::time::Duration::from_secs(5);

/// Swaps in the index's latest generation on SIGHUP, and when `summit-qa index` committed a
/// new one; answers in flight finish on the old one.
async fn watch_index(engine: Arc<Engine>, metrics: Arc<Metrics>) {
    #[cfg(unix)]
    let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
    let mut poll = tokio::time::interval(INDEX_POLL);
    poll.tick().await;
    loop {
        #[cfg(unix)]
        let forced = async {
            match hangup.as_mut() {
                Some(s) => s.recv().await.is_some(),
                None => std::future::pending().await,
            }
        };
        #[cfg(not(unix))]
        let forced = std::future::pending::<bool>();
        let force = tokio::select! {
            f = forced => f,
            _ = poll.tick() => false,
        };
        let worker = engine.clone();
        let result = tokio::task::spawn_blocking(move || {
            if force {
                worker.reload().map(Some)
            } else {
                worker.refresh()
            }
        })
        .await;
        match result {
            Ok(Ok(Some(fingerprint))) => {
                metrics.index_reload(true);
                metrics.index_loaded(engine.articles().len());
                tracing::info!(corpus = %fingerprint, signal = force, "index reloaded")
            }
            Ok(Ok(None)) => {}
            Ok(Err(e)) => {
                metrics.index_reload(false);
                tracing::warn!(error = %e, "index not reloaded; still answering from the previous one")
            }
            Err(e) => {
                metrics.index_reload(false);
                tracing::warn!(error = %e, "index reload failed")
            }
        }
    }
}

/// Polls the configured feeds every `ingest.feed_poll_seconds` (the first poll at once); when
/// a poll added articles, brings the index up to date and answers from it. Runs until aborted.
pub async fn follow_feeds(config: crate::config::Config, engine: Arc<Engine>) {
    let urls: Vec<String> = config.feed.iter().map(|f| f.url.clone()).collect();
    let mut feeds = crate::add::feeds::Feeds::new(
        crate::add::Fetcher::of(&config),
        &config.corpus_dir,
        &config.index_dir,
    );
    let mut every = tokio::time::interval(std::time::Duration::from_secs_f64(
        config.ingest.feed_poll_seconds,
    ));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        let polls = feeds.poll_all(&urls).await;
        for p in &polls {
            if p.errors.is_empty() {
                tracing::info!(feed = %p.feed, changed = p.changed, added = p.added.len(), "feed polled");
            } else {
                tracing::warn!(feed = %p.feed, added = p.added.len(), errors = ?p.errors, "feed polled with errors");
            }
        }
        if polls.iter().all(|p| p.added.is_empty()) {
            continue;
        }
        let (config, engine) = (config.clone(), engine.clone());
        let indexed = tokio::task::spawn_blocking(move || {
            crate::engine::build(&config, &mut |_: &str, _: usize, _: usize| {})?;
            engine.refresh()
        })
        .await;
        match indexed {
            Ok(Ok(fingerprint)) => tracing::info!(corpus = ?fingerprint, "feed entries indexed"),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "feed entries added to the corpus but not indexed; the next `index` or poll retries")
            }
            Err(e) => tracing::warn!(error = %e, "feed indexing failed"),
        }
    }
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM (`docker stop`).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
