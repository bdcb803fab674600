//! Generic webhook: the notification as JSON, signed so the receiver can trust it.
//!
//! The receiver recomputes `HMAC-SHA256(secret, raw request body)` and compares it, in
//! constant time, with the hex digest in `X-Opsward-Signature: sha256=<hex>`.

use hmac::{Hmac, Mac};
use reqwest::header::{HeaderName, HeaderValue};
use sha2::Sha256;

use crate::config::WebhookConfig;
use crate::error::{ConfigError, DeliveryError};
use crate::Notification;

/// Header carrying `sha256=<lowercase hex HMAC-SHA256 of the body>`.
pub const SIGNATURE_HEADER: &str = "x-opsward-signature";
/// Header carrying [`Notification::event`], so receivers can route without parsing.
pub const EVENT_HEADER: &str = "x-opsward-event";

/// The `X-Opsward-Signature` value for `body` signed with `secret`.
pub fn signature(secret: &[u8], body: &[u8]) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

pub(crate) async fn send(
    config: &WebhookConfig,
    target: &str,
    n: &Notification,
) -> Result<String, DeliveryError> {
    let body = serde_json::to_vec(n).map_err(|e| DeliveryError::Protocol {
        target: target.to_owned(),
        reason: format!("could not encode the notification: {e}"),
    })?;
    let headers = vec![
        (
            HeaderName::from_static(SIGNATURE_HEADER),
            header_value("signature", signature(config.secret.as_bytes(), &body))?,
        ),
        (
            HeaderName::from_static(EVENT_HEADER),
            header_value("event", n.event.clone())?,
        ),
    ];
    crate::http::post_json(&config.url, target, body, headers, config.timeout_secs).await
}

pub(crate) fn header_value(
    field: &'static str,
    text: String,
) -> Result<HeaderValue, DeliveryError> {
    HeaderValue::try_from(text).map_err(|_| {
        ConfigError::new(
            field,
            "cannot be sent as an HTTP header (control characters)",
        )
        .into()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_a_known_hmac_vector() {
        // RFC 4231 test case 2.
        assert_eq!(
            signature(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
