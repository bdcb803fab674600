//! Plain-text preludes that bring a connection to the point where the server expects a TLS
//! ClientHello: IMAP (RFC 2595 `STARTTLS`), POP3 (RFC 2595 `STLS`), FTP (RFC 4217
//! `AUTH TLS`), LDAP (RFC 4511 StartTLS extended operation) and PostgreSQL (`SSLRequest`).
//! SMTP lives in `smtp`. Every read is bounded in size; the caller bounds it in time.

use crate::error::EndpointError;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

/// A line longer than this is not the protocol we speak.
const MAX_LINE_BYTES: usize = 8 * 1024;
/// Lines read before giving up on a reply (a chatty greeting, untagged IMAP responses).
const MAX_LINES: usize = 64;
/// An LDAP response to StartTLS is a few dozen bytes; allow a long diagnostic message.
const MAX_LDAP_BYTES: usize = 16 * 1024;

fn fail(protocol: &str, what: impl std::fmt::Display) -> EndpointError {
    EndpointError::StartTls(format!("{protocol}: {what}"))
}

async fn send(tcp: &mut TcpStream, protocol: &str, bytes: &[u8]) -> Result<(), EndpointError> {
    tcp.write_all(bytes)
        .await
        .map_err(|e| fail(protocol, format!("cannot send: {e}")))
}

/// One line without its CR LF. Byte by byte, so nothing after it is consumed: the TLS
/// handshake starts on the same socket.
async fn read_line(tcp: &mut TcpStream, protocol: &str) -> Result<String, EndpointError> {
    let mut line = Vec::new();
    loop {
        let byte = tcp
            .read_u8()
            .await
            .map_err(|e| fail(protocol, format!("connection ended: {e}")))?;
        if byte == b'\n' {
            break;
        }
        line.push(byte);
        if line.len() > MAX_LINE_BYTES || (byte < 0x09 && byte != 0) {
            return Err(fail(
                protocol,
                format!("not a {protocol} reply: {}", shown(&line)),
            ));
        }
    }
    Ok(String::from_utf8_lossy(&line)
        .trim_end_matches('\r')
        .to_owned())
}

fn shown(bytes: &[u8]) -> String {
    format!(
        "{:?}",
        String::from_utf8_lossy(bytes)
            .chars()
            .take(120)
            .collect::<String>()
    )
}

/// The plain-text exchange that switches `tcp` to TLS for an endpoint speaking `kind`
/// (nothing for implicit TLS): one dispatch for the certificate scan and the old-protocol
/// probe.
pub async fn prelude(tcp: &mut TcpStream, kind: crate::tls::StartTls) -> Result<(), EndpointError> {
    use crate::tls::StartTls;
    match kind {
        StartTls::Smtp => crate::smtp::starttls(tcp).await,
        StartTls::Imap => imap(tcp).await,
        StartTls::Pop3 => pop3(tcp).await,
        StartTls::Ftp => ftp(tcp).await,
        StartTls::Ldap => ldap(tcp).await,
        StartTls::Postgres => postgres(tcp).await,
        StartTls::Auto | StartTls::None => Ok(()),
    }
}

/// IMAP: greeting `* OK`, then `a1 STARTTLS`, answered (after any untagged lines) `a1 OK`.
pub async fn imap(tcp: &mut TcpStream) -> Result<(), EndpointError> {
    const P: &str = "IMAP";
    let greeting = read_line(tcp, P).await?;
    if !greeting.to_ascii_uppercase().starts_with("* OK") {
        return Err(fail(
            P,
            format!("unexpected greeting {}", shown(greeting.as_bytes())),
        ));
    }
    send(tcp, P, b"a1 STARTTLS\r\n").await?;
    for _ in 0..MAX_LINES {
        let line = read_line(tcp, P).await?;
        if let Some(status) = line.strip_prefix("a1 ") {
            return if status.to_ascii_uppercase().starts_with("OK") {
                Ok(())
            } else {
                Err(fail(
                    P,
                    format!("STARTTLS refused: {}", shown(line.as_bytes())),
                ))
            };
        }
        if !line.starts_with('*') {
            return Err(fail(
                P,
                format!("not an IMAP reply: {}", shown(line.as_bytes())),
            ));
        }
    }
    Err(fail(P, "no answer to STARTTLS"))
}

/// POP3: greeting `+OK`, then `STLS`, answered `+OK`.
pub async fn pop3(tcp: &mut TcpStream) -> Result<(), EndpointError> {
    const P: &str = "POP3";
    let greeting = read_line(tcp, P).await?;
    if !greeting.starts_with("+OK") {
        return Err(fail(
            P,
            format!("unexpected greeting {}", shown(greeting.as_bytes())),
        ));
    }
    send(tcp, P, b"STLS\r\n").await?;
    let answer = read_line(tcp, P).await?;
    if answer.starts_with("+OK") {
        Ok(())
    } else {
        Err(fail(
            P,
            format!("STLS refused: {}", shown(answer.as_bytes())),
        ))
    }
}

/// An FTP reply: its code and last line (`220-...` lines continue until `220 ...`).
async fn ftp_reply(tcp: &mut TcpStream) -> Result<(u16, String), EndpointError> {
    const P: &str = "FTP";
    let first = read_line(tcp, P).await?;
    let code = first
        .get(..3)
        .and_then(|c| c.parse::<u16>().ok())
        .ok_or_else(|| fail(P, format!("not an FTP reply: {}", shown(first.as_bytes()))))?;
    if first.as_bytes().get(3) != Some(&b'-') {
        return Ok((code, first));
    }
    let end = format!("{code} ");
    for _ in 0..MAX_LINES {
        let line = read_line(tcp, P).await?;
        if line.starts_with(&end) || line == code.to_string() {
            return Ok((code, line));
        }
    }
    Err(fail(P, "reply without an end"))
}

/// FTP: greeting 220, then `AUTH TLS`, answered 234.
pub async fn ftp(tcp: &mut TcpStream) -> Result<(), EndpointError> {
    const P: &str = "FTP";
    let (code, line) = ftp_reply(tcp).await?;
    if code != 220 {
        return Err(fail(
            P,
            format!("unexpected greeting {}", shown(line.as_bytes())),
        ));
    }
    send(tcp, P, b"AUTH TLS\r\n").await?;
    let (code, line) = ftp_reply(tcp).await?;
    if code == 234 {
        Ok(())
    } else {
        Err(fail(
            P,
            format!("AUTH TLS refused: {}", shown(line.as_bytes())),
        ))
    }
}

/// The StartTLS extended operation's OID (RFC 4511 section 4.14).
pub const LDAP_STARTTLS_OID: &[u8] = b"1.3.6.1.4.1.1466.20037";

/// `LDAPMessage { messageID 1, extendedReq { requestName StartTLS } }` in BER.
pub fn ldap_starttls_request() -> Vec<u8> {
    let name_len = LDAP_STARTTLS_OID.len() as u8;
    let mut msg = vec![
        0x30,
        3 + 2 + 2 + name_len,
        0x02,
        0x01,
        0x01,
        0x77,
        2 + name_len,
        0x80,
        name_len,
    ];
    msg.extend_from_slice(LDAP_STARTTLS_OID);
    msg
}

/// Read a BER length (short or long form, at most 4 length bytes).
async fn ber_length(tcp: &mut TcpStream) -> Result<usize, EndpointError> {
    let first = tcp
        .read_u8()
        .await
        .map_err(|e| fail("LDAP", format!("connection ended: {e}")))?;
    if first < 0x80 {
        return Ok(usize::from(first));
    }
    let count = usize::from(first & 0x7f);
    if count == 0 || count > 4 {
        return Err(fail("LDAP", "not an LDAP response (bad length)"));
    }
    let mut len = 0usize;
    for _ in 0..count {
        let b = tcp
            .read_u8()
            .await
            .map_err(|e| fail("LDAP", format!("connection ended: {e}")))?;
        len = (len << 8) | usize::from(b);
    }
    Ok(len)
}

/// Split one BER element off `bytes`: (tag, content, rest).
fn ber_element(bytes: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = bytes.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 || rest.len() < count {
            return None;
        }
        let len = rest[..count]
            .iter()
            .fold(0usize, |l, b| (l << 8) | usize::from(*b));
        (len, &rest[count..])
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

/// The result code of an LDAP ExtendedResponse message (the content of the outer SEQUENCE).
pub fn ldap_extended_result(message: &[u8]) -> Result<u32, String> {
    let (tag, _id, rest) = ber_element(message).ok_or("truncated message")?;
    if tag != 0x02 {
        return Err(format!("expected a message id, got tag {tag:#04x}"));
    }
    let (tag, response, _) = ber_element(rest).ok_or("truncated response")?;
    if tag != 0x78 {
        return Err(format!("expected an ExtendedResponse, got tag {tag:#04x}"));
    }
    let (tag, code, _) = ber_element(response).ok_or("truncated result code")?;
    if tag != 0x0a || code.is_empty() || code.len() > 4 {
        return Err("no result code".into());
    }
    Ok(code.iter().fold(0u32, |c, b| (c << 8) | u32::from(*b)))
}

/// LDAP: the StartTLS extended request, answered with result code 0 (success).
pub async fn ldap(tcp: &mut TcpStream) -> Result<(), EndpointError> {
    const P: &str = "LDAP";
    send(tcp, P, &ldap_starttls_request()).await?;
    let tag = tcp
        .read_u8()
        .await
        .map_err(|e| fail(P, format!("connection ended: {e}")))?;
    if tag != 0x30 {
        return Err(fail(
            P,
            format!("not an LDAP response (first byte {tag:#04x})"),
        ));
    }
    let len = ber_length(tcp).await?;
    if len > MAX_LDAP_BYTES {
        return Err(fail(P, format!("response of {len} bytes is too long")));
    }
    let mut message = vec![0; len];
    tcp.read_exact(&mut message)
        .await
        .map_err(|e| fail(P, format!("connection ended: {e}")))?;
    match ldap_extended_result(&message) {
        Ok(0) => Ok(()),
        Ok(code) => Err(fail(P, format!("StartTLS refused with result code {code}"))),
        Err(e) => Err(fail(P, format!("not a StartTLS response: {e}"))),
    }
}

/// PostgreSQL's SSLRequest: length 8, code 80877103.
pub const POSTGRES_SSL_REQUEST: [u8; 8] = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f];

/// PostgreSQL: `SSLRequest`, answered `S` (go ahead) or `N` (no SSL on this server).
pub async fn postgres(tcp: &mut TcpStream) -> Result<(), EndpointError> {
    const P: &str = "PostgreSQL";
    send(tcp, P, &POSTGRES_SSL_REQUEST).await?;
    match tcp.read_u8().await {
        Ok(b'S') => Ok(()),
        Ok(b'N') => Err(fail(P, "the server does not accept SSL (ssl = off)")),
        Ok(other) => Err(fail(
            P,
            format!("not a PostgreSQL server (answered {other:#04x})"),
        )),
        Err(e) => Err(fail(P, format!("connection ended: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ldap_request_is_well_formed_ber() {
        let req = ldap_starttls_request();
        let (tag, content, rest) = ber_element(&req).unwrap();
        assert_eq!((tag, rest.len(), content.len()), (0x30, 0, req.len() - 2));
        let (tag, id, rest) = ber_element(content).unwrap();
        assert_eq!((tag, id), (0x02, &[1u8][..]));
        let (tag, ext, _) = ber_element(rest).unwrap();
        assert_eq!(tag, 0x77);
        let (tag, name, _) = ber_element(ext).unwrap();
        assert_eq!((tag, name), (0x80, LDAP_STARTTLS_OID));
    }

    #[test]
    fn ldap_result_codes_are_read_from_the_response() {
        // messageID 1, ExtendedResponse { resultCode success, matchedDN "", diagnosticMessage "" }
        let ok = [
            0x02, 0x01, 0x01, 0x78, 0x07, 0x0a, 0x01, 0x00, 0x04, 0x00, 0x04, 0x00,
        ];
        assert_eq!(ldap_extended_result(&ok), Ok(0));
        let refused = [
            0x02, 0x01, 0x01, 0x78, 0x07, 0x0a, 0x01, 0x02, 0x04, 0x00, 0x04, 0x00,
        ];
        assert_eq!(ldap_extended_result(&refused), Ok(2));
        assert!(ldap_extended_result(&[0x02, 0x01]).is_err());
        assert!(ldap_extended_result(&[0x02, 0x01, 0x01, 0x65, 0x00]).is_err());
    }
}
