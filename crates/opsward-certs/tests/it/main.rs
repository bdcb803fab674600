//! Scans against real peers: certificate files made by rcgen and openssl, `openssl s_server`,
//! a STARTTLS SMTP server, and hostile TCP servers.

mod chains;
mod files;
mod fixtures;
mod hostile;
mod keystores;
mod name_at_address;
mod practice;
mod protocols;
mod revocation;
mod rotation;
mod smtp_server;
mod starttls;
mod starttls_servers;
mod store;
mod sweep;
mod tls;
