use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub use opsward_core::host_inventory::{InstalledPackage, PackageManager};

/// The operating system as `/etc/os-release` names it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OsRelease {
    /// `ID`: `debian`, `ubuntu`, `alpine`, `rhel`, ...
    pub id: String,
    /// `ID_LIKE`, split on spaces.
    pub id_like: Vec<String>,
    pub version_id: Option<String>,
    pub version_codename: Option<String>,
    pub pretty_name: String,
}

/// The running kernel.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Kernel {
    /// `uname -s`.
    pub name: String,
    /// `uname -r`.
    pub release: String,
    /// `uname -v`.
    pub version: String,
    /// `uname -m`.
    pub machine: String,
}

/// Whether the host waits for a reboot, and which packages asked for it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RebootRequired {
    pub required: bool,
    pub packages: Vec<String>,
}

/// An installed package whose candidate version is newer.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
pub struct PendingUpdate {
    pub name: String,
    pub arch: String,
    pub installed_version: String,
    pub candidate_version: String,
    /// The source package of the candidate (what advisories name).
    pub source: String,
    /// The suites (`Suite`, else `Codename`) the candidate is published in.
    pub suites: Vec<String>,
    /// The candidate comes from a `*-security` suite.
    pub security: bool,
}
