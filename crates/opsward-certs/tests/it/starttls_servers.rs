//! Test servers that speak the plain-text start of IMAP, POP3, FTP and LDAP as their RFCs
//! describe it, then TLS with rustls: the peers for the STARTTLS preludes.

use crate::fixtures::Issued;
use rustls::pki_types::{pem::PemObject, CertificateDer, PrivateKeyDer};
use std::sync::Arc;
use tokio::{
    io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader},
    net::{TcpListener, TcpStream},
    task::JoinHandle,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Imap,
    Pop3,
    Ftp,
    Ldap,
}

pub struct StarttlsServer {
    pub port: u16,
    task: JoinHandle<()>,
}

impl StarttlsServer {
    /// A server for `protocol`; with `refuse`, it answers the STARTTLS request with a
    /// failure instead.
    pub async fn start(protocol: Protocol, leaf: &Issued, refuse: bool) -> Self {
        let certs = vec![CertificateDer::from_pem_slice(leaf.cert_pem.as_bytes()).unwrap()];
        let key = PrivateKeyDer::from_pem_slice(leaf.key_pem.as_bytes()).unwrap();
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let task = tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let ready = match protocol {
                        Protocol::Ldap => ldap(tcp, refuse).await,
                        _ => line_protocol(protocol, tcp, refuse).await,
                    };
                    if let Some(tcp) = ready {
                        let _ = acceptor.accept(tcp).await;
                    }
                });
            }
        });
        StarttlsServer { port, task }
    }
}

impl Drop for StarttlsServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Greet, answer commands until the STARTTLS one; the socket when TLS should follow.
async fn line_protocol(protocol: Protocol, tcp: TcpStream, refuse: bool) -> Option<TcpStream> {
    let mut tcp = BufReader::new(tcp);
    let greeting: &[u8] = match protocol {
        Protocol::Imap => b"* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] imap.test ready\r\n",
        Protocol::Pop3 => b"+OK pop3.test ready\r\n",
        _ => b"220-ftp.test FTP server\r\n220-Authorised use only\r\n220 Ready\r\n",
    };
    tcp.get_mut().write_all(greeting).await.ok()?;
    let mut line = String::new();
    loop {
        line.clear();
        if tcp.read_line(&mut line).await.ok()? == 0 {
            return None;
        }
        let command = line.trim_end().to_ascii_uppercase();
        let (reply, go): (Vec<u8>, bool) = match protocol {
            Protocol::Imap => {
                // Tags are case-sensitive: answer with the one sent.
                let (tag, rest) = line
                    .trim_end()
                    .split_once(' ')
                    .unwrap_or((line.trim_end(), ""));
                if rest.eq_ignore_ascii_case("STARTTLS") && !refuse {
                    (
                        format!("* NOTE untagged first\r\n{tag} OK Begin TLS negotiation now\r\n")
                            .into_bytes(),
                        true,
                    )
                } else {
                    (format!("{tag} BAD not now\r\n").into_bytes(), false)
                }
            }
            Protocol::Pop3 if command == "STLS" && !refuse => {
                (b"+OK Begin TLS negotiation\r\n".to_vec(), true)
            }
            Protocol::Pop3 => (b"-ERR not now\r\n".to_vec(), false),
            _ if command == "AUTH TLS" && !refuse => {
                (b"234 AUTH TLS successful\r\n".to_vec(), true)
            }
            _ => (b"530 Please login with USER and PASS\r\n".to_vec(), false),
        };
        tcp.get_mut().write_all(&reply).await.ok()?;
        if go {
            return Some(tcp.into_inner());
        }
    }
}

/// Read one LDAPMessage; answer a StartTLS extended request with success (or
/// `unavailable`, 52, when refusing) under the request's message id.
async fn ldap(mut tcp: TcpStream, refuse: bool) -> Option<TcpStream> {
    let tag = tcp.read_u8().await.ok()?;
    let len = tcp.read_u8().await.ok()?;
    if tag != 0x30 || len >= 0x80 {
        return None;
    }
    let mut msg = vec![0; usize::from(len)];
    tcp.read_exact(&mut msg).await.ok()?;
    // 02 01 <id> 77 <len> 80 <len> <oid>
    let (id, op) = (msg.get(2).copied()?, msg.get(3).copied()?);
    let oid = msg.get(7..)?;
    let is_starttls =
        msg.get(..2) == Some(&[0x02, 0x01]) && op == 0x77 && oid == b"1.3.6.1.4.1.1466.20037";
    let code = if is_starttls && !refuse { 0 } else { 52 };
    let reply = [
        0x30, 0x0c, 0x02, 0x01, id, 0x78, 0x07, 0x0a, 0x01, code, 0x04, 0x00, 0x04, 0x00,
    ];
    tcp.write_all(&reply).await.ok()?;
    (code == 0).then_some(tcp)
}
