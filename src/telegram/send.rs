//! Calling the Bot API reliably: 5xx answers and failed connections are retried with
//! backoff (429 is retried by the Throttle adaptor), and every failure is counted by method
//! and code.

use std::time::Duration;

use teloxide::errors::{ApiError, RequestError};
use teloxide::requests::{Output, Request};

use crate::ops::Metrics;

/// Attempts per call, the first included.
const ATTEMPTS: u32 = 4;
/// Wait before the first retry; doubled for each further one.
const FIRST_BACKOFF: Duration = Duration::from_millis(500);

/// Sends `request`, retrying only when Telegram cannot have acted on it: the connection
/// failed, or the server answered 5xx / not with JSON. A timeout is not retried (the message
/// may have been delivered, and a retry would send it twice).
pub async fn send<R>(
    request: R,
    method: &'static str,
    metrics: &Metrics,
) -> Result<Output<R>, RequestError>
where
    R: Request<Err = RequestError>,
{
    let mut backoff = FIRST_BACKOFF;
    let mut attempt = 1;
    loop {
        let error = match request.send_ref().await {
            Ok(output) => return Ok(output),
            Err(error) => error,
        };
        let code = code(&error);
        metrics.api_error(method, code);
        if attempt == ATTEMPTS || !retryable(&error) {
            tracing::warn!(method, code, attempt, error = %error, "Telegram call failed");
            return Err(error);
        }
        tracing::info!(
            method,
            code,
            attempt,
            ?backoff,
            "Telegram call failed; retrying"
        );
        tokio::time::sleep(backoff).await;
        backoff *= 2;
        attempt += 1;
    }
}

/// True when the request certainly did not take effect and may be sent again.
pub fn retryable(error: &RequestError) -> bool {
    match error {
        RequestError::Network(e) => e.is_connect(),
        RequestError::InvalidJson { .. } => true,
        RequestError::Api(ApiError::Unknown(description)) => is_server_error(description),
        _ => false,
    }
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
    fn server_errors_are_retried_and_client_errors_are_not() {
        let bad_gateway = RequestError::Api(ApiError::Unknown("Bad Gateway".into()));
        assert!(retryable(&bad_gateway));
        assert_eq!(code(&bad_gateway), "5xx");
        assert!(!retryable(&RequestError::Api(ApiError::BotBlocked)));
        assert_eq!(code(&RequestError::Api(ApiError::BotBlocked)), "403");
        let parse = RequestError::Api(ApiError::CantParseEntities("x".into()));
        assert!(!retryable(&parse));
        assert_eq!(code(&parse), "400");
        assert_eq!(
            code(&RequestError::Api(ApiError::TerminatedByOtherGetUpdates)),
            "409"
        );
    }
}
