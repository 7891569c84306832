//! Running the bot: long polling (with a real timeout) or the webhook, the HTTP endpoint
//! (`/healthz`, `/readyz`, `/metrics`, the webhook route) on a listener the caller bound, and
//! shutdown: stop taking updates, finish the answers in flight, return.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use teloxide::error_handlers::ErrorHandler;
use teloxide::prelude::*;
use teloxide::types::AllowedUpdate;
use teloxide::update_listeners::{webhooks, Polling, UpdateListener};
use teloxide::utils::command::BotCommands;
use tokio::net::TcpListener;

use super::handlers::{schema, Shared};
use super::send;
use super::{Command, Settings, TransportError, Webhook};
use crate::engine::Engine;
use crate::ops::{self, Metrics, Ops};

/// Largest webhook request accepted (an update is a few KB); larger ones get 413.
const WEBHOOK_BODY_LIMIT: usize = 256 * 1024;
/// How often a quiet bot checks that Telegram still answers (a metric and a log line).
const TELEGRAM_PROBE: Duration = Duration::from_secs(30);

/// Runs the bot until `shutdown` completes, then stops taking updates, finishes the answers
/// in flight and returns. Serves `/healthz`, `/readyz`, `/metrics` (and the webhook) on
/// `http`, a listener the caller bound, at once; registers the commands (and the webhook) with
/// Telegram meanwhile, retrying with backoff while Telegram is unreachable. Returns an error
/// when Telegram rejects the token (401/404) or another deployment owns the updates.
pub async fn run(
    bot: Bot,
    engine: Arc<Engine>,
    settings: Settings,
    ops: Ops,
    http: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), TransportError> {
    ops.readiness.engine_loaded();
    let shared = Arc::new(Shared::new(engine, &settings, ops.clone(), bot.token())?);
    let stop = Stop::after(shutdown);
    let probe = tokio::spawn(probe_telegram(bot.clone(), ops.clone()));
    let routes = ops::router(ops.clone());
    let result = match &settings.webhook {
        None => poll(bot, shared, &settings, ops.clone(), http, routes, stop).await,
        Some(webhook) => {
            let (mut listener, stopped, router) = webhook_listener(webhook, &http)?;
            // The update stream ends only when the webhook route is dropped, so the HTTP
            // endpoint stops as soon as the listener does; answers in flight still finish.
            let server = serve_http(http, routes.merge(router), stopped);
            let registered = tokio::select! {
                r = register_webhook(&bot, webhook, &ops.metrics, &settings.telegram.admins) => r.map(|()| true),
                _ = stop.stopped() => Ok(false),
            };
            let dispatched = if let Ok(true) = registered {
                let errors = LoggingErrorHandler::with_custom_text("webhook listener error");
                ops.readiness.listening(true);
                let dispatched =
                    dispatch(bot, shared.clone(), listener, errors, stop.stopped()).await;
                shared.finish().await;
                ops.readiness.listening(false);
                dispatched
            } else {
                listener.stop_token().stop();
                drop(listener);
                Ok(())
            };
            let served = finish(server).await;
            registered.and(dispatched).and(served)
        }
    };
    probe.abort();
    result
}

/// Long polling: registers the commands (retrying), refuses to take another deployment's
/// webhook, then polls until `stop`; the HTTP endpoint is up from the start.
async fn poll(
    bot: Bot,
    shared: Arc<Shared>,
    settings: &Settings,
    ops: Ops,
    http: TcpListener,
    routes: axum::Router,
    stop: Stop,
) -> Result<(), TransportError> {
    // The HTTP endpoint outlives the answers in flight, then stops.
    let (http_stop, http_stopped) = tokio::sync::oneshot::channel::<()>();
    let server = serve_http(http, routes, async {
        let _ = http_stopped.await;
    });
    let metrics = &ops.metrics;
    let started = async {
        register_commands(&bot, metrics, &settings.telegram.admins).await?;
        refuse_to_take_a_webhook(&bot, settings.telegram.replace_webhook, metrics).await
    };
    let started = tokio::select! {
        r = started => r.map(|()| true),
        _ = stop.stopped() => Ok(false),
    };
    let mut dispatched = Ok(());
    if let Ok(true) = started {
        let listener = Polling::builder(bot.clone())
            .timeout(settings.poll_timeout())
            .delete_webhook()
            .await
            .build();
        let errors = Arc::new(PollingErrors(ops.clone()));
        ops.readiness.listening(true);
        dispatched = dispatch(bot, shared.clone(), listener, errors, stop.stopped()).await;
        shared.finish().await;
        ops.readiness.listening(false);
    }
    let _ = http_stop.send(());
    let served = finish(server).await;
    started.and(dispatched).and(served).map(|_| ())
}

/// The shutdown request, shared by the parts of a running bot (also raised by a fatal
/// registration error).
#[derive(Clone)]
struct Stop(Arc<tokio::sync::watch::Sender<bool>>);

impl Stop {
    /// A stop raised when `shutdown` completes.
    fn after(shutdown: impl Future<Output = ()> + Send + 'static) -> Stop {
        let stop = Stop(Arc::new(tokio::sync::watch::channel(false).0));
        let raise = stop.clone();
        tokio::spawn(async move {
            shutdown.await;
            raise.stop();
        });
        stop
    }

    fn stop(&self) {
        self.0.send_replace(true);
    }

    /// Completes once the stop is raised.
    fn stopped(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut watch = self.0.subscribe();
        async move {
            let _ = watch.wait_for(|stopped| *stopped).await;
        }
    }
}

/// First wait before repeating a start-up call to Telegram; doubled up to [`MAX_RETRY`].
const FIRST_RETRY: Duration = Duration::from_millis(500);
/// A start-up call not answered within this is tried again (they are all idempotent).
const STARTUP_CALL_DEADLINE: Duration = Duration::from_secs(20);
/// Longest wait between two start-up calls while Telegram is unreachable.
const MAX_RETRY: Duration = Duration::from_secs(60);

/// Makes a start-up call (idempotent: setMyCommands, setWebhook, getWebhookInfo) until it
/// succeeds, waiting longer after each failure; gives up only when Telegram rejects the token.
async fn until_accepted<T, F, Fut>(
    method: &'static str,
    metrics: &Metrics,
    mut call: F,
) -> Result<T, TransportError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, teloxide::RequestError>>,
{
    let mut wait = FIRST_RETRY;
    loop {
        let error = match tokio::time::timeout(STARTUP_CALL_DEADLINE, call()).await {
            Ok(Ok(value)) => {
                metrics.telegram_reachable(true);
                return Ok(value);
            }
            Ok(Err(error)) => error,
            Err(_) => send::hung(),
        };
        let code = send::code(&error);
        metrics.api_error(method, code);
        if send::rejects_token(&error) {
            return Err(TransportError::Telegram(format!(
                "{method}: Telegram rejected the token ({code}): set TELOXIDE_TOKEN to the token BotFather gave this bot (and TELOXIDE_API_URL only for a self-hosted Bot API server)"
            )));
        }
        metrics.telegram_reachable(false);
        tracing::warn!(method, code, error = %error, retry_in = ?wait, "Telegram did not accept a start-up call; retrying");
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(MAX_RETRY);
    }
}

/// Checks that Telegram knows the bot (the dispatcher asks getMe again) and registers its
/// commands (shown by Telegram's command menu).
async fn register_commands(
    bot: &Bot,
    metrics: &Metrics,
    admins: &[u64],
) -> Result<(), TransportError> {
    until_accepted("getMe", metrics, || bot.get_me().send()).await?;
    until_accepted("setMyCommands", metrics, || {
        bot.set_my_commands(Command::bot_commands()).send()
    })
    .await?;
    // An admin's private chat also lists the admin commands; nobody else sees them.
    let mut theirs = Command::bot_commands();
    theirs.extend(super::AdminCommand::bot_commands());
    for admin in admins {
        let scope = teloxide::types::BotCommandScope::Chat {
            chat_id: teloxide::types::Recipient::Id(teloxide::types::ChatId(*admin as i64)),
        };
        let commands = theirs.clone();
        until_accepted("setMyCommands", metrics, || {
            bot.set_my_commands(commands.clone())
                .scope(scope.clone())
                .send()
        })
        .await?;
    }
    Ok(())
}

/// In polling mode, refuses to start when a webhook is registered for this token (another
/// deployment runs in webhook mode: polling would delete it and take its updates), unless
/// the operator asked to replace it.
async fn refuse_to_take_a_webhook(
    bot: &Bot,
    replace: bool,
    metrics: &Metrics,
) -> Result<(), TransportError> {
    let info = until_accepted("getWebhookInfo", metrics, || bot.get_webhook_info().send()).await?;
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

/// The webhook's update listener, its stop signal and its route (no call to Telegram yet).
/// The webhook is left in place at shutdown: with several replicas behind a load balancer,
/// one stopping must not unregister the others.
fn webhook_listener(
    webhook: &Webhook,
    http: &TcpListener,
) -> Result<
    (
        impl UpdateListener<Err = std::convert::Infallible>,
        impl Future<Output = ()> + Send + 'static,
        axum::Router,
    ),
    TransportError,
> {
    let secret = webhook_secret(webhook)?;
    let local = http
        .local_addr()
        .map_err(|e| TransportError::Http(e.to_string()))?;
    let options = webhooks::Options::new(local, webhook.url.clone()).secret_token(secret);
    let (listener, stopped, router) = webhooks::axum_no_setup(options);
    let router = router.layer(axum::extract::DefaultBodyLimit::max(WEBHOOK_BODY_LIMIT));
    Ok((listener, stopped, router))
}

fn webhook_secret(webhook: &Webhook) -> Result<String, TransportError> {
    webhook
        .secret
        .expose()
        .filter(|s| crate::config::valid_webhook_secret(s))
        .map(str::to_string)
        .ok_or_else(|| {
            TransportError::Config(
                "webhook mode needs telegram.webhook_secret: 1–256 characters of A–Z, a–z, 0–9, _ and -, the same on every replica".into(),
            )
        })
}

/// Registers the commands, then the webhook (with its secret and the update kinds we
/// handle), each retried while Telegram is unreachable.
async fn register_webhook(
    bot: &Bot,
    webhook: &Webhook,
    metrics: &Metrics,
    admins: &[u64],
) -> Result<(), TransportError> {
    register_commands(bot, metrics, admins).await?;
    let secret = webhook_secret(webhook)?;
    until_accepted("setWebhook", metrics, || {
        bot.set_webhook(webhook.url.clone())
            .secret_token(secret.clone())
            .allowed_updates(vec![
                AllowedUpdate::Message,
                AllowedUpdate::InlineQuery,
                AllowedUpdate::CallbackQuery,
            ])
            .send()
    })
    .await?;
    tracing::info!(path = webhook.url.path(), "webhook registered");
    Ok(())
}

/// Handles updates from `listener` until `shutdown`, then waits for the answers in flight.
async fn dispatch<L, E>(
    bot: Bot,
    shared: Arc<Shared>,
    mut listener: L,
    errors: Arc<E>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), TransportError>
where
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
        .error_handler(Arc::new(AlreadyLogged))
        .build()
        .try_dispatch_with_listener(listener, errors)
        .await
        .map_err(|e| {
            TransportError::Telegram(format!(
                "getMe failed as the dispatcher started ({}): start again",
                send::code(&e)
            ))
        })
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

/// A reply that failed was logged once by [`send`](send::send), with its method and code:
/// the dispatcher does not log it again.
struct AlreadyLogged;

impl ErrorHandler<teloxide::RequestError> for AlreadyLogged {
    fn handle_error(
        self: Arc<Self>,
        error: teloxide::RequestError,
    ) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>> {
        tracing::debug!(
            code = send::code(&error),
            "an update's reply failed (logged above)"
        );
        Box::pin(async {})
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
async fn probe_telegram(bot: Bot, ops: Ops) {
    loop {
        tokio::time::sleep(TELEGRAM_PROBE).await;
        let ok = bot.get_me().await.is_ok();
        ops.metrics.telegram_reachable(ok);
    }
}
