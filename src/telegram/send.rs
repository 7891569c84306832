//! Calling the Bot API at most once per reply: a call is repeated only when Telegram surely
//! did not act on it (the connection never carried it; 429 is retried by the Throttle
//! adaptor). A 5xx, a timeout, a hung call or an unreadable answer may come after Telegram
//! delivered the message, so it is logged, counted as unconfirmed and not repeated. Every
//! failure is counted by method and code.

use std::sync::Arc;
use std::time::Duration;

use teloxide::errors::{ApiError, RequestError};
use teloxide::requests::{Output, Request};

use super::outbox::Outbox;
use crate::ops::Metrics;

/// Attempts per call, the first included (only calls that surely failed are repeated).
const ATTEMPTS: u32 = 4;
/// Times one call may be sent again after Telegram's flood control (429) asked to wait.
const MAX_FLOOD_WAITS: u32 = 8;
/// Wait before the first retry; doubled for each further one.
const FIRST_BACKOFF: Duration = Duration::from_millis(500);

/// What a failed call tells about its effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Telegram cannot have acted (the connection failed before carrying the request):
    /// sending again is safe.
    None,
    /// Telegram answered with a refusal (4xx): it did not act, and the same request would be
    /// refused again.
    Refused,
    /// Telegram may have acted (5xx, timeout, hung, unreadable answer): not sent again.
    Unknown,
}

/// Sends `request`, repeating it only when Telegram cannot have acted on it; a call not
/// answered within `deadline` is abandoned (it may still take effect). A 429 also holds every
/// slot of `outbox` for Telegram's `retry_after`.
pub async fn send<R>(
    request: R,
    method: &'static str,
    metrics: &Metrics,
    deadline: Duration,
    outbox: Option<&Outbox>,
) -> Result<Output<R>, RequestError>
where
    R: Request<Err = RequestError>,
{
    let mut backoff = FIRST_BACKOFF;
    let mut attempt = 1;
    loop {
        let error = match tokio::time::timeout(deadline, request.send_ref()).await {
            Ok(Ok(output)) => {
                metrics.telegram_reachable(true);
                return Ok(output);
            }
            Ok(Err(error)) => error,
            Err(_) => hung(),
        };
        let code = code(&error);
        metrics.api_error(method, code);
        if let RequestError::RetryAfter(wait) = &error {
            // Flood control: Telegram did not act; the same request goes after the wait.
            if attempt < MAX_FLOOD_WAITS {
                tracing::info!(
                    method,
                    retry_after = wait.seconds(),
                    "Telegram asked to wait (429); sending after the wait"
                );
                if let Some(outbox) = outbox {
                    outbox.pause(wait.duration());
                }
                tokio::time::sleep(wait.duration()).await;
                attempt += 1;
                continue;
            }
        }
        let effect = effect(&error);
        if effect != Effect::Refused {
            metrics.telegram_reachable(false);
        }
        match effect {
            Effect::None if attempt < ATTEMPTS => {
                tracing::info!(
                    method,
                    code,
                    attempt,
                    ?backoff,
                    "Telegram call did not go through; retrying"
                );
                tokio::time::sleep(backoff).await;
                backoff *= 2;
                attempt += 1;
            }
            Effect::Unknown => {
                metrics.unconfirmed(method, code);
                tracing::warn!(method, code, error = %error, "Telegram call may have taken effect; not repeated (at most once)");
                return Err(error);
            }
            _ => {
                tracing::warn!(method, code, attempt, error = %error, "Telegram call failed");
                return Err(error);
            }
        }
    }
}

/// The error of a call abandoned after its deadline.
pub fn hung() -> RequestError {
    RequestError::Io(Arc::new(std::io::Error::new(
        std::io::ErrorKind::TimedOut,
        "no answer from Telegram within the call deadline",
    )))
}

/// What `error` tells about whether Telegram acted on the request.
pub fn effect(error: &RequestError) -> Effect {
    match error {
        RequestError::Network(e) if e.is_connect() => Effect::None,
        RequestError::Network(_) | RequestError::InvalidJson { .. } | RequestError::Io(_) => {
            Effect::Unknown
        }
        RequestError::Api(ApiError::Unknown(description)) if is_server_error(description) => {
            Effect::Unknown
        }
        _ => Effect::Refused,
    }
}

/// True when Telegram refused the bot's token: 401 Unauthorized, or 404 Not Found (the Bot
/// API answers so for a token of no bot).
pub fn rejects_token(error: &RequestError) -> bool {
    match error {
        RequestError::Api(ApiError::InvalidToken) => true,
        RequestError::Api(ApiError::Unknown(description)) => description.starts_with("Not Found"),
        _ => false,
    }
}

/// True for a 400 "can't parse entities": the HTML was refused, the same text as plain text
/// would not be.
pub fn is_bad_markup(error: &RequestError) -> bool {
    matches!(error, RequestError::Api(ApiError::CantParseEntities(_)))
}

/// A short code for a failure, used as a metrics label (never user content).
pub fn code(error: &RequestError) -> &'static str {
    match error {
        RequestError::RetryAfter(_) => "429",
        RequestError::MigrateToChatId(_) => "400",
        RequestError::Api(api) => api_code(api),
        RequestError::Network(e) if e.is_timeout() => "timeout",
        RequestError::Network(_) => "network",
        RequestError::InvalidJson { .. } => "bad_response",
        RequestError::Io(e) if e.kind() == std::io::ErrorKind::TimedOut => "hung",
        RequestError::Io(_) => "io",
    }
}

fn api_code(error: &ApiError) -> &'static str {
    use ApiError::*;
    match error {
        InvalidToken => "401",
        BotBlocked
        | BotKicked
        | BotKickedFromSupergroup
        | BotKickedFromChannel
        | UserDeactivated
        | CantInitiateConversation
        | CantTalkWithBots => "403",
        TerminatedByOtherGetUpdates => "409",
        RequestEntityTooLarge => "413",
        Unknown(description) if is_server_error(description) => "5xx",
        _ => "400",
    }
}

/// teloxide keeps only the description of an error answer; these are the 5xx ones.
fn is_server_error(description: &str) -> bool {
    const SERVER: [&str; 4] = [
        "Internal Server Error",
        "Bad Gateway",
        "Service Unavailable",
        "Gateway Timeout",
    ];
    SERVER.iter().any(|s| description.starts_with(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_calls_telegram_cannot_have_seen_are_repeated() {
        let bad_gateway = RequestError::Api(ApiError::Unknown("Bad Gateway".into()));
        assert_eq!(effect(&bad_gateway), Effect::Unknown);
        assert_eq!(code(&bad_gateway), "5xx");
        assert_eq!(effect(&hung()), Effect::Unknown);
        assert_eq!(code(&hung()), "hung");
        assert_eq!(
            effect(&RequestError::Api(ApiError::BotBlocked)),
            Effect::Refused
        );
        assert_eq!(code(&RequestError::Api(ApiError::BotBlocked)), "403");
        let parse = RequestError::Api(ApiError::CantParseEntities("x".into()));
        assert_eq!(effect(&parse), Effect::Refused);
        assert!(is_bad_markup(&parse));
        assert_eq!(code(&parse), "400");
        assert_eq!(
            code(&RequestError::Api(ApiError::TerminatedByOtherGetUpdates)),
            "409"
        );
    }
}
