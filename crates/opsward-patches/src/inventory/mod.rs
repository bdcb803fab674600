//! A host's inventory: installed packages from each package database, the OS, the kernel,
//! whether a reboot is pending and the uptime.

pub mod apk;
pub mod dpkg;
pub mod host;
pub mod rpm;
