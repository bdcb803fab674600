//! A host's inventory: installed packages from each package database, the OS, the kernel,
//! whether a reboot is pending and the uptime; where asked, pip and npm global packages.

pub mod apk;
pub mod collect;
pub mod dpkg;
pub mod host;
pub mod language;
pub mod posture;
pub mod rpm;
