//! The IMAP side of inbound email: connect (implicit TLS, STARTTLS, or plain to
//! localhost), log in, select the mailbox, list unseen messages, fetch one without marking
//! it read (`BODY.PEEK[]`), and flag or move it once it is filed.
//!
//! Every step is bounded: connecting and the TLS handshake by the connect timeout, each
//! command's answer by the read timeout. After a timeout the session is in an unknown
//! state, so the caller stops the poll; unhandled messages stay unseen for the next one.

use crate::inbound::{InboundSettings, Secret, TlsMode};
use async_imap::{Client, Session};
use futures_util::TryStreamExt;
use std::{fmt, future::Future, sync::Arc, time::Duration};
use tokio::{
    io::{AsyncRead, AsyncWrite},
    net::TcpStream,
};

/// Why the mailbox could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ImapError {
    #[error("cannot connect to the IMAP server {server}: {detail}")]
    Connect { server: String, detail: String },
    #[error("{step} timed out after {seconds} s (IMAP server {server})")]
    Timeout {
        step: &'static str,
        seconds: u64,
        server: String,
    },
    #[error("TLS with the IMAP server {server} failed: {detail}")]
    Tls { server: String, detail: String },
    #[error("the IMAP server {server} refused the login of {username:?} (check username and password): {detail}")]
    Login {
        server: String,
        username: String,
        detail: String,
    },
    #[error("IMAP {step} failed on {server}: {detail}")]
    Command {
        step: &'static str,
        server: String,
        detail: String,
    },
}

/// The byte stream under the IMAP session: plain TCP or TLS over it.
trait Io: AsyncRead + AsyncWrite + Unpin + Send + fmt::Debug {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + fmt::Debug> Io for T {}
type Stream = Box<dyn Io>;

/// An open, logged-in session on the polled mailbox.
pub struct Mailbox {
    session: Session<Stream>,
    server: String,
    read_timeout: Duration,
    can_move: bool,
    can_uid_expunge: bool,
}

/// Run one IMAP step within `limit`.
async fn bounded<T, E: fmt::Display>(
    server: &str,
    step: &'static str,
    limit: Duration,
    work: impl Future<Output = Result<T, E>>,
) -> Result<T, ImapError> {
    match tokio::time::timeout(limit, work).await {
        Err(_) => Err(ImapError::Timeout {
            step,
            seconds: limit.as_secs(),
            server: server.to_string(),
        }),
        Ok(Err(e)) => Err(ImapError::Command {
            step,
            server: server.to_string(),
            detail: e.to_string(),
        }),
        Ok(Ok(v)) => Ok(v),
    }
}

fn tls_config(settings: &InboundSettings, server: &str) -> Result<rustls::ClientConfig, ImapError> {
    let tls_err = |detail: String| ImapError::Tls {
        server: server.to_string(),
        detail,
    };
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = &settings.ca_file {
        use rustls::pki_types::{pem::PemObject, CertificateDer};
        let certs = CertificateDer::pem_file_iter(path)
            .and_then(|i| i.collect::<Result<Vec<_>, _>>())
            .map_err(|e| tls_err(format!("cannot read ca_file {}: {e}", path.display())))?;
        for cert in certs {
            roots
                .add(cert)
                .map_err(|e| tls_err(format!("ca_file {}: {e}", path.display())))?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_err(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// TLS over `plain`: the TCP stream (implicit TLS) or the boxed one after STARTTLS.
async fn start_tls<S: Io + 'static>(
    settings: &InboundSettings,
    server: &str,
    plain: S,
    limit: Duration,
) -> Result<Stream, ImapError> {
    let config = tls_config(settings, server)?;
    let name =
        rustls::pki_types::ServerName::try_from(settings.host().to_string()).map_err(|e| {
            ImapError::Tls {
                server: server.to_string(),
                detail: format!("{e}"),
            }
        })?;
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    match tokio::time::timeout(limit, connector.connect(name, plain)).await {
        Err(_) => Err(ImapError::Timeout {
            step: "TLS handshake",
            seconds: limit.as_secs(),
            server: server.to_string(),
        }),
        Ok(Err(e)) => Err(ImapError::Tls {
            server: server.to_string(),
            detail: e.to_string(),
        }),
        Ok(Ok(tls)) => Ok(Box::new(tls)),
    }
}

/// Read the server's greeting: a server that accepts the connection but never speaks is
/// caught here by the read timeout.
async fn greeting(
    client: &mut Client<Stream>,
    server: &str,
    limit: Duration,
) -> Result<(), ImapError> {
    let first = bounded(server, "greeting", limit, client.read_response()).await?;
    if first.is_none() {
        return Err(ImapError::Connect {
            server: server.to_string(),
            detail: "the server closed the connection before greeting".into(),
        });
    }
    Ok(())
}

impl Mailbox {
    /// Connect, log in and select the configured mailbox.
    pub async fn open(settings: &InboundSettings, password: &Secret) -> Result<Mailbox, ImapError> {
        let server = format!("{}:{}", settings.host(), settings.port());
        let connect_limit = Duration::from_secs(settings.connect_timeout_seconds.into());
        let read_limit = Duration::from_secs(settings.read_timeout_seconds.into());
        let tcp = match tokio::time::timeout(
            connect_limit,
            TcpStream::connect((settings.host(), settings.port())),
        )
        .await
        {
            Err(_) => {
                return Err(ImapError::Timeout {
                    step: "connect",
                    seconds: connect_limit.as_secs(),
                    server,
                })
            }
            Ok(Err(e)) => {
                return Err(ImapError::Connect {
                    server,
                    detail: e.to_string(),
                })
            }
            Ok(Ok(tcp)) => tcp,
        };
        let client = match settings.tls {
            TlsMode::Implicit => {
                let mut client =
                    Client::new(start_tls(settings, &server, tcp, connect_limit).await?);
                greeting(&mut client, &server, read_limit).await?;
                client
            }
            TlsMode::Starttls => {
                let mut client = Client::new(Box::new(tcp) as Stream);
                greeting(&mut client, &server, read_limit).await?;
                bounded(
                    &server,
                    "STARTTLS",
                    read_limit,
                    client.run_command_and_check_ok("STARTTLS", None),
                )
                .await?;
                // No greeting follows STARTTLS: the session goes on over TLS.
                let plain = client.into_inner();
                Client::new(start_tls(settings, &server, plain, connect_limit).await?)
            }
            TlsMode::None => {
                let mut client = Client::new(Box::new(tcp) as Stream);
                greeting(&mut client, &server, read_limit).await?;
                client
            }
        };
        let session = match tokio::time::timeout(
            read_limit,
            client.login(&settings.username, password.expose()),
        )
        .await
        {
            Err(_) => {
                return Err(ImapError::Timeout {
                    step: "login",
                    seconds: read_limit.as_secs(),
                    server,
                })
            }
            Ok(Err((e, _))) => {
                return Err(ImapError::Login {
                    server,
                    username: settings.username.clone(),
                    detail: e.to_string(),
                })
            }
            Ok(Ok(session)) => session,
        };
        let mut mailbox = Mailbox {
            session,
            server,
            read_timeout: read_limit,
            can_move: false,
            can_uid_expunge: false,
        };
        let caps = bounded(
            &mailbox.server,
            "CAPABILITY",
            read_limit,
            mailbox.session.capabilities(),
        )
        .await?;
        mailbox.can_move = caps.has_str("MOVE");
        mailbox.can_uid_expunge = caps.has_str("UIDPLUS");
        if let Some(target) = &settings.processed_mailbox {
            // Make sure the folder for handled messages exists; "already exists" is the
            // usual answer and is ignored, a real problem shows when moving.
            let _ = tokio::time::timeout(read_limit, mailbox.session.create(target)).await;
        }
        bounded(
            &mailbox.server,
            "SELECT",
            read_limit,
            mailbox.session.select(&settings.mailbox),
        )
        .await?;
        Ok(mailbox)
    }

    /// UIDs of the unseen messages, oldest first.
    pub async fn unseen(&mut self) -> Result<Vec<u32>, ImapError> {
        let uids = bounded(
            &self.server,
            "SEARCH UNSEEN",
            self.read_timeout,
            self.session.uid_search("UNSEEN"),
        )
        .await?;
        let mut uids: Vec<u32> = uids.into_iter().collect();
        uids.sort_unstable();
        Ok(uids)
    }

    /// `UID FETCH set items`, every answer collected within the read timeout.
    async fn uid_fetch(
        &mut self,
        step: &'static str,
        set: String,
        items: &'static str,
    ) -> Result<Vec<async_imap::types::Fetch>, ImapError> {
        let session = &mut self.session;
        bounded(&self.server, step, self.read_timeout, async {
            session
                .uid_fetch(set, items)
                .await?
                .try_collect::<Vec<_>>()
                .await
        })
        .await
    }

    /// The size in bytes of each of `uids`, as the server reports it.
    pub async fn sizes(&mut self, uids: &[u32]) -> Result<Vec<(u32, u32)>, ImapError> {
        if uids.is_empty() {
            return Ok(Vec::new());
        }
        let set = uids
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(",");
        let fetched = self
            .uid_fetch("FETCH RFC822.SIZE", set, "(UID RFC822.SIZE)")
            .await?;
        Ok(fetched
            .iter()
            .filter_map(|f| Some((f.uid?, f.size?)))
            .collect())
    }

    /// The raw message, without setting `\Seen`. `None` when it vanished meanwhile.
    pub async fn fetch(&mut self, uid: u32) -> Result<Option<Vec<u8>>, ImapError> {
        let fetched = self
            .uid_fetch("FETCH BODY.PEEK[]", uid.to_string(), "(UID BODY.PEEK[])")
            .await?;
        Ok(fetched
            .iter()
            .find(|f| f.uid == Some(uid))
            .and_then(|f| f.body())
            .map(<[u8]>::to_vec))
    }

    /// Mark a filed message done: flag it `\Seen`, then move it to `to` when given.
    pub async fn done(&mut self, uid: u32, to: Option<&str>) -> Result<(), ImapError> {
        let (server, limit) = (self.server.clone(), self.read_timeout);
        let session = &mut self.session;
        let uid = uid.to_string();
        // Seen first, so a moved message arrives read (MOVE keeps flags).
        bounded(&server, "STORE", limit, async {
            session
                .uid_store(&uid, "+FLAGS.SILENT (\\Seen)")
                .await?
                .try_collect::<Vec<_>>()
                .await
        })
        .await?;
        let Some(target) = to else {
            return Ok(());
        };
        if self.can_move {
            return bounded(&server, "MOVE", limit, session.uid_mv(&uid, target)).await;
        }
        // Without MOVE: copy, then flag the original deleted, and expunge just it where
        // UIDPLUS allows (otherwise it stays, seen and flagged deleted).
        bounded(&server, "COPY", limit, session.uid_copy(&uid, target)).await?;
        bounded(&server, "STORE", limit, async {
            session
                .uid_store(&uid, "+FLAGS.SILENT (\\Deleted)")
                .await?
                .try_collect::<Vec<_>>()
                .await
        })
        .await?;
        if self.can_uid_expunge {
            bounded(&server, "UID EXPUNGE", limit, async {
                session
                    .uid_expunge(&uid)
                    .await?
                    .try_collect::<Vec<_>>()
                    .await
            })
            .await?;
        }
        Ok(())
    }

    /// Log out politely; a failure here changes nothing already done.
    pub async fn close(mut self) {
        let _ = tokio::time::timeout(self.read_timeout, self.session.logout()).await;
    }
}
