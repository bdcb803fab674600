//! The plain-text prelude of SMTP STARTTLS (RFC 3207): banner, EHLO, STARTTLS, 220.

use crate::error::EndpointError;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

/// A reply longer than this is not SMTP; stop reading rather than buffer a firehose.
const MAX_REPLY_BYTES: usize = 64 * 1024;
/// RFC 5321 limits a reply line to 512 bytes; allow some slack for odd servers.
const MAX_LINE_BYTES: usize = 1000;

/// Bring `tcp` to the point where the server expects a TLS ClientHello.
pub async fn starttls(tcp: &mut TcpStream) -> Result<(), EndpointError> {
    let banner = read_reply(tcp).await?;
    expect_code(&banner, "220", "banner")?;
    send(tcp, b"EHLO opsward.invalid\r\n").await?;
    let ehlo = read_reply(tcp).await?;
    expect_code(&ehlo, "250", "EHLO")?;
    let offers_starttls = ehlo.iter().any(|line| {
        line.get(4..)
            .is_some_and(|kw| kw.trim().eq_ignore_ascii_case("STARTTLS"))
    });
    if !offers_starttls {
        return Err(EndpointError::StartTls(
            "the server does not offer STARTTLS".into(),
        ));
    }
    send(tcp, b"STARTTLS\r\n").await?;
    let ready = read_reply(tcp).await?;
    expect_code(&ready, "220", "STARTTLS")
}

async fn send(tcp: &mut TcpStream, line: &[u8]) -> Result<(), EndpointError> {
    tcp.write_all(line)
        .await
        .map_err(|e| EndpointError::StartTls(format!("SMTP: cannot send: {e}")))
}

fn expect_code(reply: &[String], code: &str, step: &str) -> Result<(), EndpointError> {
    match reply.last() {
        Some(last) if last.starts_with(code) => Ok(()),
        Some(last) => Err(EndpointError::StartTls(format!(
            "SMTP: unexpected reply to {step}: {:?}",
            last.chars().take(120).collect::<String>()
        ))),
        None => Err(EndpointError::StartTls(format!("SMTP: no reply to {step}"))),
    }
}

/// Read one (possibly multi-line) reply. Byte by byte so nothing after it is consumed: the
/// TLS handshake starts on the same socket right after the last line.
async fn read_reply(tcp: &mut TcpStream) -> Result<Vec<String>, EndpointError> {
    let mut lines = Vec::new();
    let mut line = Vec::new();
    let mut total = 0;
    loop {
        let byte = tcp
            .read_u8()
            .await
            .map_err(|e| EndpointError::StartTls(format!("SMTP: connection ended: {e}")))?;
        total += 1;
        if total > MAX_REPLY_BYTES {
            return Err(EndpointError::StartTls("SMTP: reply too long".into()));
        }
        if byte != b'\n' {
            line.push(byte);
            // Judge a peer by its first bytes: one that sends no reply code is not SMTP,
            // whether or not it ever sends a newline.
            if (line.len() <= 3 && !byte.is_ascii_digit()) || line.len() > MAX_LINE_BYTES {
                return Err(not_smtp(&line));
            }
            continue;
        }
        let text = String::from_utf8_lossy(&line)
            .trim_end_matches('\r')
            .to_owned();
        line.clear();
        // "250-..." continues a reply, "250 ..." (or a bare code) ends it.
        let last = text.len() <= 3 || text.as_bytes()[3] != b'-';
        if text.len() < 3 {
            return Err(not_smtp(text.as_bytes()));
        }
        lines.push(text);
        if last {
            return Ok(lines);
        }
    }
}

fn not_smtp(start: &[u8]) -> EndpointError {
    let shown: String = String::from_utf8_lossy(start).chars().take(120).collect();
    EndpointError::StartTls(format!("SMTP: not an SMTP reply: {shown:?}"))
}
