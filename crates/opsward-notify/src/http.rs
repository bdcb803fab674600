//! The one HTTP POST shared by the webhook, Slack and Teams channels.

use std::time::Duration;

use reqwest::header::{HeaderName, HeaderValue, CONTENT_TYPE};

use crate::error::{error_chain, is_tls_failure, one_line, DeliveryError};

/// POSTs `body` as JSON and succeeds on any 2xx answer, returning the status line.
///
/// Redirects are not followed: a signed payload or a Slack token should not travel to
/// wherever a receiver points. Connect and total time are both bounded by `timeout_secs`.
pub(crate) async fn post_json(
    url: &str,
    target: &str,
    body: Vec<u8>,
    headers: Vec<(HeaderName, HeaderValue)>,
    timeout_secs: u64,
) -> Result<String, DeliveryError> {
    let timeout = Duration::from_secs(timeout_secs);
    let client = reqwest::Client::builder()
        .use_rustls_tls()
        .connect_timeout(timeout)
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("opsward-notify/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| DeliveryError::Protocol {
            target: target.to_owned(),
            reason: format!("could not set up the HTTP client: {}", describe(e)),
        })?;
    let mut request = client
        .post(url)
        .header(CONTENT_TYPE, "application/json")
        .body(body);
    for (name, value) in headers {
        request = request.header(name, value);
    }
    let exchange = async {
        let response = request.send().await?;
        let status = response.status();
        if status.is_success() {
            return Ok(Ok(status.to_string()));
        }
        // The body is only a hint for the person reading the error; don't fail on it.
        let text = response.text().await.unwrap_or_default();
        Ok(Err((status.as_u16(), one_line(&text, 200))))
    };
    let outcome: Result<Result<String, (u16, String)>, reqwest::Error> =
        match tokio::time::timeout(timeout, exchange).await {
            Ok(outcome) => outcome,
            Err(_) => return Err(timed_out(target, timeout_secs)),
        };
    match outcome {
        Ok(Ok(status)) => Ok(status),
        Ok(Err((status, body))) => Err(DeliveryError::HttpStatus {
            target: target.to_owned(),
            status,
            body,
        }),
        Err(e) if e.is_timeout() => Err(timed_out(target, timeout_secs)),
        Err(e) if is_tls_failure(&e) => Err(DeliveryError::Tls {
            target: target.to_owned(),
            reason: describe(e),
        }),
        Err(e) if e.is_builder() => Err(DeliveryError::Protocol {
            target: target.to_owned(),
            reason: describe(e),
        }),
        Err(e) => Err(DeliveryError::Unreachable {
            target: target.to_owned(),
            reason: describe(e),
        }),
    }
}

fn timed_out(target: &str, secs: u64) -> DeliveryError {
    DeliveryError::Timeout {
        target: target.to_owned(),
        secs,
    }
}

/// reqwest puts the full URL into its messages; a webhook URL is a secret.
fn describe(error: reqwest::Error) -> String {
    error_chain(&error.without_url())
}
