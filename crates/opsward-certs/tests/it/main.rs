//! Scans against real peers: certificate files made by rcgen and openssl, `openssl s_server`,
//! a STARTTLS SMTP server, and hostile TCP servers.

mod files;
mod fixtures;
mod hostile;
mod keystores;
mod practice;
mod protocols;
mod revocation;
mod smtp_server;
mod starttls;
mod starttls_servers;
mod store;
mod sweep;
mod tls;
