//! A tiny SMTP server that offers STARTTLS (RFC 3207) and then speaks TLS with rustls.

use crate::fixtures::Issued;
use rustls::pki_types::{pem::PemObject, CertificateDer, PrivateKeyDer};
use std::sync::Arc;
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::TcpListener,
    task::JoinHandle,
};

pub struct SmtpStarttlsServer {
    pub port: u16,
    task: JoinHandle<()>,
}

impl SmtpStarttlsServer {
    pub async fn start(leaf: &Issued) -> Self {
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
                    let mut tcp = BufReader::new(tcp);
                    let _ = tcp
                        .get_mut()
                        .write_all(b"220 smtp.test ESMTP ready\r\n")
                        .await;
                    let mut line = String::new();
                    loop {
                        line.clear();
                        if tcp.read_line(&mut line).await.unwrap_or(0) == 0 {
                            return;
                        }
                        let command = line.trim_end().to_ascii_uppercase();
                        let reply: &[u8] = if command.starts_with("EHLO") {
                            b"250-smtp.test\r\n250-SIZE 1000000\r\n250 STARTTLS\r\n"
                        } else if command == "STARTTLS" {
                            b"220 Ready to start TLS\r\n"
                        } else {
                            b"502 not implemented\r\n"
                        };
                        if tcp.get_mut().write_all(reply).await.is_err() {
                            return;
                        }
                        if command == "STARTTLS" {
                            let _ = acceptor.accept(tcp.into_inner()).await;
                            return;
                        }
                    }
                });
            }
        });
        SmtpStarttlsServer { port, task }
    }
}

impl Drop for SmtpStarttlsServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}
