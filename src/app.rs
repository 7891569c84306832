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
