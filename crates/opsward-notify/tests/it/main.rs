//! One test binary (one link step) whose modules talk to real peers: an aiosmtpd
//! process for SMTP and axum receivers on 127.0.0.1 for the HTTP channels.

mod chat;
mod smtp;
mod support;
mod webhook;
