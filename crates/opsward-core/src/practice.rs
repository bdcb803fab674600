//! The seven operational practices opsward tracks, plus general operations work.

use serde::{Deserialize, Serialize};
use std::{fmt, str::FromStr};
use utoipa::ToSchema;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Practice {
    Certificates,
    Resilience,
    Patches,
    Vulnerabilities,
    Backlog,
    Customers,
    Suppliers,
    /// Operations work that belongs to no single practice.
    General,
}

impl Practice {
    pub const ALL: [Practice; 8] = [
        Practice::Certificates,
        Practice::Resilience,
        Practice::Patches,
        Practice::Vulnerabilities,
        Practice::Backlog,
        Practice::Customers,
        Practice::Suppliers,
        Practice::General,
    ];

    /// What people read in lists, filters and history.
    pub fn label(self) -> &'static str {
        match self {
            Practice::Certificates => "Certificates",
            Practice::Resilience => "Resilience",
            Practice::Patches => "Patches",
            Practice::Vulnerabilities => "Vulnerabilities",
            Practice::Backlog => "Backlog",
            Practice::Customers => "Customers",
            Practice::Suppliers => "Suppliers",
            Practice::General => "General",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Practice::Certificates => "certificates",
            Practice::Resilience => "resilience",
            Practice::Patches => "patches",
            Practice::Vulnerabilities => "vulnerabilities",
            Practice::Backlog => "backlog",
            Practice::Customers => "customers",
            Practice::Suppliers => "suppliers",
            Practice::General => "general",
        }
    }
}

impl fmt::Display for Practice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Practice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let wanted = s.trim().to_ascii_lowercase();
        Practice::ALL
            .iter()
            .copied()
            .find(|p| p.as_str() == wanted)
            .ok_or_else(|| {
                let names: Vec<_> = Practice::ALL.iter().map(|p| p.as_str()).collect();
                format!("{s:?} is not one of {}", names.join(", "))
            })
    }
}
