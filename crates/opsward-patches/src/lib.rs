//! The patches practice: what a host runs and what it should install.
//!
//! `inventory` reads a host's installed packages (dpkg status file, apk `installed` database,
//! `rpm -qa` output), its OS (os-release), kernel, reboot flag and uptime, without running a
//! package manager where a file says the same. `apt` computes the pending updates of a
//! Debian/Ubuntu host from its apt lists the way apt chooses a candidate with default pin
//! priorities, and classifies an update as a security update when its candidate comes from a
//! `*-security` suite. Everything here is pure parsing over files or text the caller names, so
//! tests point it at fixtures or at the machine's own files and compare with the real tools.

pub mod alerts;
pub mod apt;
pub mod control;
pub mod install;
pub mod inventory;
mod model;
pub mod policy;
pub mod practice;
pub mod reboot;
pub mod report;
pub mod store;
pub mod window;

pub use model::*;

/// What went wrong reading a host's package data, in the words of the file that was wrong.
#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Format { path: String, message: String },
}

impl InventoryError {
    pub(crate) fn read(path: &std::path::Path, source: std::io::Error) -> Self {
        InventoryError::Read {
            path: path.display().to_string(),
            source,
        }
    }
    pub(crate) fn format(path: impl std::fmt::Display, message: impl Into<String>) -> Self {
        InventoryError::Format {
            path: path.to_string(),
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod fuzz_tests;
