//! Running the bot: long polling (with a real timeout) or the webhook, the HTTP endpoint
//! (`/healthz`, `/readyz`, `/metrics`, the webhook route) on a listener the caller bound, and
//! shutdown: stop taking updates, finish the answers in flight, return.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use teloxide::adaptors::throttle::Limits;
use teloxide::error_handlers::ErrorHandler;
use teloxide::prelude::*;
use teloxide::types::AllowedUpdate;
use teloxide::update_listeners::{webhooks, Polling, UpdateListener};
use teloxide::utils::command::BotCommands;
use tokio::net::TcpListener;

use super::handlers::{schema, Shared};
use super::send::{self, send};
use super::{Command, Settings, Throttled, TransportError, Webhook};
use crate::engine::Engine;
use crate::ops::{self, Metrics, Ops};

/// Largest webhook request accepted (an update is a few KB); larger ones get 413.
const WEBHOOK_BODY_LIMIT: usize = 256 * 1024;
/// How often a quiet bot checks that Telegram still answers (a metric and a log line).
const TELEGRAM_PROBE: Duration = Duration::from_secs(30);

/// Runs the bot until `shutdown` completes, then stops taking updates, finishes the answers
/// in flight and returns. Serves `/healthz`, `/readyz`, `/metrics` (and the webhook) on
/// `http`, a listener the caller bound; registers the commands with setMyCommands first.
pub async fn run(
    bot: Bot,
    engine: Arc<Engine>,
    settings: Settings,
    ops: Ops,
    http: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), TransportError> {
    let bot: Throttled = bot.throttle(Limits::default());
    ops.readiness.engine_loaded();
    let metrics = &ops.metrics;
    let commands = bot.set_my_commands(Command::bot_commands());
    send(commands, "setMyCommands", metrics)
        .await
        .map_err(|e| {
            TransportError::Telegram(format!(
                "setMyCommands failed: {e} (check the token and TELOXIDE_API_URL)"
            ))
        })?;
    let bot_id = bot
        .inner()
        .token()
        .split(':')
        .next()
        .unwrap_or("bot")
        .to_string();
    let shared = Arc::new(Shared::new(engine, &settings, ops.clone(), &bot_id)?);
    let probe = tokio::spawn(probe_telegram(bot.clone(), ops.clone()));
    let routes = ops::router(ops.clone());
    let result = match &settings.webhook {
        None => {
            refuse_to_take_a_webhook(&bot, settings.replace_webhook, metrics).await?;
            let listener = Polling::builder(bot.clone())
                .timeout(settings.poll_timeout)
                .delete_webhook()
                .await
                .build();
            // The HTTP endpoint outlives the answers in flight, then stops.
            let (http_stop, http_stopped) = tokio::sync::oneshot::channel::<()>();
            let server = serve_http(http, routes, async {
                let _ = http_stopped.await;
            });
            let errors = Arc::new(PollingErrors(ops.clone()));
            ops.readiness.listening(true);
            dispatch(bot, shared, listener, errors, shutdown).await;
            ops.readiness.listening(false);
            let _ = http_stop.send(());
            finish(server).await
        }
        Some(webhook) => {
            let (listener, stopped, router) = set_webhook(&bot, webhook, &http, metrics).await?;
            // The update stream ends only when the webhook route is dropped, so the HTTP
            // endpoint stops as soon as the listener does; answers in flight still finish.
            let server = serve_http(http, routes.merge(router), stopped);
            let errors = LoggingErrorHandler::with_custom_text("webhook listener error");
            ops.readiness.listening(true);
            dispatch(bot, shared, listener, errors, shutdown).await;
            ops.readiness.listening(false);
            finish(server).await
        }
    };
    probe.abort();
    result
}

/// In polling mode, refuses to start when a webhook is registered for this token (another
/// deployment runs in webhook mode: polling would delete it and take its updates), unless
/// the operator asked to replace it.
async fn refuse_to_take_a_webhook(
    bot: &Throttled,
    replace: bool,
    metrics: &Metrics,
) -> Result<(), TransportError> {
    let info = send(bot.get_webhook_info(), "getWebhookInfo", metrics)
        .await
        .map_err(|e| TransportError::Telegram(format!("getWebhookInfo failed: {e}")))?;
    let Some(url) = info.url else {
        return Ok(());
    };
    if !replace {
        return Err(TransportError::Config(format!(
            "a webhook is registered for this bot ({}): starting in polling mode would delete it and take the updates of that deployment. Run in webhook mode (telegram.webhook_url), or set telegram.replace_webhook = true (SUMMIT_QA_TELEGRAM__REPLACE_WEBHOOK=true) to delete it and poll",
            redact(&url)
        )));
    }
    tracing::warn!(webhook = %redact(&url), "deleting the registered webhook to poll (telegram.replace_webhook)");
    Ok(())
}

/// A webhook URL for messages: scheme, host and path, never a query (which may hold a secret).
fn redact(url: &url::Url) -> String {
    format!(
        "{}://{}{}",
        url.scheme(),
        url.host_str().unwrap_or(""),
        url.path()
    )
}

/// Registers the webhook (with its secret and the update kinds we handle) and returns the
/// update listener and its route. The webhook is left in place at shutdown: with several
/// replicas behind a load balancer, one stopping must not unregister the others.
async fn set_webhook(
    bot: &Throttled,
    webhook: &Webhook,
    http: &TcpListener,
    metrics: &Metrics,
) -> Result<
    (
        impl UpdateListener<Err = std::convert::Infallible>,
        impl Future<Output = ()> + Send + 'static,
        axum::Router,
    ),
    TransportError,
> {
    let secret = webhook
        .secret
        .expose()
        .filter(|s| crate::config::valid_webhook_secret(s))
        .ok_or_else(|| {
            TransportError::Config(
                "webhook mode needs telegram.webhook_secret: 1–256 characters of A–Z, a–z, 0–9, _ and -, the same on every replica".into(),
            )
        })?
        .to_string();
    let local = http
        .local_addr()
        .map_err(|e| TransportError::Http(e.to_string()))?;
    let options = webhooks::Options::new(local, webhook.url.clone()).secret_token(secret.clone());
    let request = bot
        .set_webhook(webhook.url.clone())
        .secret_token(secret)
        .allowed_updates(vec![
            AllowedUpdate::Message,
            AllowedUpdate::InlineQuery,
            AllowedUpdate::CallbackQuery,
        ]);
    send(request, "setWebhook", metrics).await.map_err(|e| {
        TransportError::Telegram(format!(
            "setWebhook failed: {e} (telegram.webhook_url must be a public HTTPS URL)"
        ))
    })?;
    tracing::info!(path = webhook.url.path(), "webhook registered");
    let (listener, stopped, router) = webhooks::axum_no_setup(options);
    let router = router.layer(axum::extract::DefaultBodyLimit::max(WEBHOOK_BODY_LIMIT));
    Ok((listener, stopped, router))
}

/// Handles updates from `listener` until `shutdown`, then waits for the answers in flight.
async fn dispatch<L, E>(
    bot: Throttled,
    shared: Arc<Shared>,
    mut listener: L,
    errors: Arc<E>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) where
    L: UpdateListener + Send,
    L::Err: std::fmt::Debug,
    E: ErrorHandler<L::Err> + Send + Sync + 'static,
{
    // Stopping the listener (rather than the dispatcher's ShutdownToken, whose wake-up is lost
    // when it arrives while an update is being handed to a worker) ends the update stream; the
    // dispatcher then waits for the answers in flight and returns.
    let stop = listener.stop_token();
    tokio::spawn(async move {
        shutdown.await;
        tracing::info!("shutting down: no new updates, finishing answers in flight");
        stop.stop();
    });
    Dispatcher::builder(bot, schema())
        .dependencies(dptree::deps![shared])
        .default_handler(|_| async {})
        .error_handler(LoggingErrorHandler::with_custom_text(
            "error handling an update",
        ))
        .build()
        .dispatch_with_listener(listener, errors)
        .await;
}

fn serve_http(
    tcp: TcpListener,
    routes: axum::Router,
    stopped: impl Future<Output = ()> + Send + 'static,
) -> tokio::task::JoinHandle<std::io::Result<()>> {
    if let Ok(addr) = tcp.local_addr() {
        tracing::info!(%addr, "serving /healthz, /readyz, /metrics");
    }
    tokio::spawn(async move {
        axum::serve(tcp, routes)
            .with_graceful_shutdown(stopped)
            .await
    })
}

async fn finish(http: tokio::task::JoinHandle<std::io::Result<()>>) -> Result<(), TransportError> {
    match http.await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(TransportError::Http(e.to_string())),
        Err(e) => Err(TransportError::Http(format!("task failed: {e}"))),
    }
}

/// Counts failed getUpdates calls, records that Telegram is unreachable, and explains a 409.
struct PollingErrors(Ops);

impl ErrorHandler<teloxide::RequestError> for PollingErrors {
    fn handle_error(
        self: Arc<Self>,
        error: teloxide::RequestError,
    ) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>> {
        let code = send::code(&error);
        self.0.metrics.api_error("getUpdates", code);
        self.0.metrics.telegram_reachable(false);
        if code == "409" {
            tracing::error!("another instance is polling with this token (409 Conflict): run only one polling instance, or use webhook mode for several replicas");
        } else {
            tracing::warn!(code, error = %error, "getUpdates failed; polling again");
        }
        Box::pin(async {})
    }
}

/// Re-checks every [`TELEGRAM_PROBE`] that Telegram answers getMe (metric and log only).
async fn probe_telegram(bot: Throttled, ops: Ops) {
    loop {
        tokio::time::sleep(TELEGRAM_PROBE).await;
        let ok = bot.get_me().await.is_ok();
        ops.metrics.telegram_reachable(ok);
    }
}
