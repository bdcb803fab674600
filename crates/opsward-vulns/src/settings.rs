//! The practice's settings, kept in the database so every server uses the same: how and when
//! exposure scans run and what they allow by default, the posture policy (with per-tag
//! overrides) and when a host counts as stale, and where scheduled re-imports fetch the
//! threat-intelligence feeds. Also the allowed-ports policies of assets and tags.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::exposure::PortSet;
use crate::policy::DuePolicy;

/// Ports scanned when neither the asset's policy nor a tag's names its own list: the well-known
/// range and the usual database, remote-desktop and admin ports above it.
pub const DEFAULT_SCAN_PORTS: &str =
    "1-1024,1433,1521,2049,2375-2376,3306,3389,5432,5900,5985-5986,6379,8000-8100,8443,9200,11211,27017";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = VulnExposureSettings)]
#[serde(default, deny_unknown_fields)]
pub struct ExposureSettings {
    /// Minutes between scheduled scans; 0 turns them off.
    pub interval_minutes: i64,
    /// Scan every asset, not only those with a policy (of their own or of a tag).
    pub scan_all_assets: bool,
    /// Ports allowed where no policy applies (`22,443`).
    pub default_allowed: String,
    /// Ports to scan where the policy names none.
    pub scan_ports: String,
    /// Connects in flight at once, per host.
    pub concurrency: usize,
    /// Milliseconds per connect (and for resolving the host, at least 2 s).
    pub timeout_ms: u64,
}

impl Default for ExposureSettings {
    fn default() -> Self {
        ExposureSettings {
            interval_minutes: 1440,
            scan_all_assets: false,
            default_allowed: "22,443".into(),
            scan_ports: DEFAULT_SCAN_PORTS.into(),
            concurrency: 64,
            timeout_ms: 1000,
        }
    }
}

/// Which posture facts a host must report; `None` in a tag override keeps the base value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = VulnPostureRequirements)]
#[serde(default, deny_unknown_fields)]
pub struct PostureRequirements {
    pub firewall: bool,
    pub av_edr: bool,
    pub auto_updates: bool,
}

impl Default for PostureRequirements {
    fn default() -> Self {
        PostureRequirements {
            firewall: true,
            av_edr: true,
            auto_updates: true,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = VulnPostureOverride)]
#[serde(default, deny_unknown_fields)]
pub struct PostureOverride {
    pub firewall: Option<bool>,
    pub av_edr: Option<bool>,
    pub auto_updates: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = VulnPostureSettings)]
#[serde(default, deny_unknown_fields)]
pub struct PostureSettings {
    pub required: PostureRequirements,
    /// Overrides for assets with a tag (applied in tag order).
    pub tags: BTreeMap<String, PostureOverride>,
    /// A host that has not reported for this many hours is a `stale_host` finding.
    pub stale_hours: i64,
}

impl Default for PostureSettings {
    fn default() -> Self {
        PostureSettings {
            required: PostureRequirements::default(),
            tags: BTreeMap::new(),
            stale_hours: 24,
        }
    }
}

impl PostureSettings {
    /// The requirements for an asset with these tags.
    pub fn for_tags(&self, tags: &[String]) -> PostureRequirements {
        let mut required = self.required.clone();
        for tag in tags {
            if let Some(o) = self.tags.get(tag) {
                required.firewall = o.firewall.unwrap_or(required.firewall);
                required.av_edr = o.av_edr.unwrap_or(required.av_edr);
                required.auto_updates = o.auto_updates.unwrap_or(required.auto_updates);
            }
        }
        required
    }
}

/// Where scheduled re-imports fetch each feed: a path or an `http(s)://` URL (unset: none).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = VulnFeedSettings)]
#[serde(default, deny_unknown_fields)]
pub struct FeedSettings {
    /// OSV: a directory, zip or record file, or the URL of a zip (`all.zip`) or a record.
    pub osv: Option<String>,
    pub kev: Option<String>,
    pub epss: Option<String>,
    /// Minutes between re-imports of each configured feed; 0 turns them off.
    pub interval_minutes: i64,
    /// Seconds a download may take, connecting included.
    pub timeout_secs: u64,
}

impl Default for FeedSettings {
    fn default() -> Self {
        FeedSettings {
            osv: None,
            kev: None,
            epss: None,
            interval_minutes: 1440,
            timeout_secs: 120,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = VulnSettings)]
#[serde(default, deny_unknown_fields)]
pub struct VulnSettings {
    pub exposure: ExposureSettings,
    pub posture: PostureSettings,
    pub feeds: FeedSettings,
    /// Due dates of findings; changing it reschedules every finding not fixed.
    pub due: DuePolicy,
    /// Days after which an asset that was scanned (lockfile, SBOM or host inventory) and not
    /// scanned again counts as not scanned; 0 turns the check off.
    #[serde(default = "default_scan_interval_days")]
    pub scan_interval_days: i64,
}

fn default_scan_interval_days() -> i64 {
    7
}

impl Default for VulnSettings {
    fn default() -> Self {
        VulnSettings {
            exposure: ExposureSettings::default(),
            posture: PostureSettings::default(),
            feeds: FeedSettings::default(),
            due: DuePolicy::default(),
            scan_interval_days: default_scan_interval_days(),
        }
    }
}

impl VulnSettings {
    /// What is wrong with these settings, as (field, message).
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut problems = vec![];
        if !(0..=3650).contains(&self.scan_interval_days) {
            problems.push((
                "scan_interval_days".to_string(),
                "must be 0-3650 (0: off)".to_string(),
            ));
        }
        let e = &self.exposure;
        for (field, text) in [
            ("exposure.default_allowed", &e.default_allowed),
            ("exposure.scan_ports", &e.scan_ports),
        ] {
            if let Err(err) = text.parse::<PortSet>() {
                problems.push((field.to_string(), err.to_string()));
            }
        }
        if e.interval_minutes < 0 {
            problems.push((
                "exposure.interval_minutes".into(),
                "must be 0 (off) or more".into(),
            ));
        }
        if !(1..=1024).contains(&e.concurrency) {
            problems.push(("exposure.concurrency".into(), "must be 1 to 1024".into()));
        }
        if !(1..=60_000).contains(&e.timeout_ms) {
            problems.push(("exposure.timeout_ms".into(), "must be 1 to 60000".into()));
        }
        if self.posture.stale_hours < 1 {
            problems.push(("posture.stale_hours".into(), "must be at least 1".into()));
        }
        let f = &self.feeds;
        if f.interval_minutes < 0 {
            problems.push((
                "feeds.interval_minutes".into(),
                "must be 0 (off) or more".into(),
            ));
        }
        if !(1..=3600).contains(&f.timeout_secs) {
            problems.push(("feeds.timeout_secs".into(), "must be 1 to 3600".into()));
        }
        problems.extend(self.due.problems("due."));
        problems
    }
}

/// Allowed ports of one asset or of every asset with a tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = VulnPortPolicy)]
pub struct PortPolicy {
    pub id: i64,
    pub asset_id: Option<i64>,
    pub tag: Option<String>,
    /// `22,443,8000-8080`.
    pub allowed: String,
    /// Ports to scan; unset: the settings' list.
    pub scan_ports: Option<String>,
    /// Asset policies: the host name or address scanned; unset: the asset's name.
    pub address: Option<String>,
    pub updated_at: DateTime<Utc>,
}

/// What a caller gives to set a policy (for an asset, or for a tag).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = VulnPortPolicyInput)]
#[serde(deny_unknown_fields)]
pub struct PortPolicyInput {
    pub asset_id: Option<i64>,
    pub tag: Option<String>,
    pub allowed: String,
    #[serde(default)]
    pub scan_ports: Option<String>,
    #[serde(default)]
    pub address: Option<String>,
}

impl PortPolicyInput {
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut problems = vec![];
        match (&self.asset_id, self.tag.as_deref().map(str::trim)) {
            (Some(_), None) | (None, Some(_)) => {}
            _ => problems.push(("asset_id".into(), "give either an asset or a tag".into())),
        }
        if self.tag.as_deref().is_some_and(|t| t.trim().is_empty()) {
            problems.push(("tag".into(), "must not be empty".into()));
        }
        if self.tag.is_some() && self.address.is_some() {
            problems.push((
                "address".into(),
                "only an asset's policy names an address".into(),
            ));
        }
        if let Err(e) = self.allowed.parse::<PortSet>() {
            problems.push(("allowed".into(), e.to_string()));
        }
        if let Some(ports) = &self.scan_ports {
            match ports.parse::<PortSet>() {
                Err(e) => problems.push(("scan_ports".into(), e.to_string())),
                Ok(set) if set.is_empty() => {
                    problems.push(("scan_ports".into(), "names no port".into()))
                }
                Ok(_) => {}
            }
        }
        if self.address.as_deref().is_some_and(|a| a.trim().is_empty()) {
            problems.push(("address".into(), "must not be empty".into()));
        }
        problems
    }
}

/// An asset's effective exposure policy: what to scan and what is allowed open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EffectivePolicy {
    pub address: String,
    pub scan_ports: PortSet,
    pub allowed: PortSet,
    /// Whether a policy of the asset or of one of its tags applies (else the default).
    pub has_policy: bool,
}

/// The asset's own policy wins; else the union of its tags' policies; else the default.
/// Invalid stored port lists were rejected on input, so parsing here cannot fail; an
/// unparsable one counts as empty.
pub fn effective_policy(
    settings: &ExposureSettings,
    asset_name: &str,
    asset_tags: &[String],
    policies: &[PortPolicy],
    asset_id: i64,
) -> EffectivePolicy {
    let parse = |s: &str| s.parse::<PortSet>().unwrap_or_default();
    let default_scan = parse(&settings.scan_ports);
    if let Some(own) = policies.iter().find(|p| p.asset_id == Some(asset_id)) {
        return EffectivePolicy {
            address: own.address.clone().unwrap_or_else(|| asset_name.to_owned()),
            scan_ports: own.scan_ports.as_deref().map(parse).unwrap_or(default_scan),
            allowed: parse(&own.allowed),
            has_policy: true,
        };
    }
    let tagged: Vec<&PortPolicy> = policies
        .iter()
        .filter(|p| p.tag.as_ref().is_some_and(|t| asset_tags.contains(t)))
        .collect();
    if tagged.is_empty() {
        return EffectivePolicy {
            address: asset_name.to_owned(),
            scan_ports: default_scan,
            allowed: parse(&settings.default_allowed),
            has_policy: false,
        };
    }
    let mut allowed = PortSet::default();
    let mut scan = PortSet::default();
    for p in &tagged {
        allowed = allowed.union(&parse(&p.allowed));
        scan = scan.union(
            &p.scan_ports
                .as_deref()
                .map(parse)
                .unwrap_or(default_scan.clone()),
        );
    }
    EffectivePolicy {
        address: asset_name.to_owned(),
        scan_ports: scan,
        allowed,
        has_policy: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(asset_id: Option<i64>, tag: Option<&str>, allowed: &str) -> PortPolicy {
        PortPolicy {
            id: 0,
            asset_id,
            tag: tag.map(Into::into),
            allowed: allowed.into(),
            scan_ports: None,
            address: None,
            updated_at: Utc::now(),
        }
    }

    #[test]
    fn the_assets_policy_wins_then_its_tags_add_up_then_the_default() {
        let settings = ExposureSettings::default();
        let policies = vec![
            policy(Some(1), None, "22"),
            policy(None, Some("web"), "80,443"),
            policy(None, Some("ssh"), "22"),
        ];
        let tags = vec!["web".to_string(), "ssh".to_string()];
        let own = effective_policy(&settings, "a", &tags, &policies, 1);
        assert_eq!(own.allowed.ports().collect::<Vec<_>>(), vec![22]);
        let tagged = effective_policy(&settings, "b", &tags, &policies, 2);
        assert_eq!(
            tagged.allowed.ports().collect::<Vec<_>>(),
            vec![22, 80, 443]
        );
        assert!(tagged.has_policy);
        let none = effective_policy(&settings, "c", &[], &policies, 3);
        assert!(!none.has_policy);
        assert_eq!(none.allowed.ports().collect::<Vec<_>>(), vec![22, 443]);
        assert!(none.scan_ports.contains(3306));
    }

    #[test]
    fn posture_overrides_apply_per_tag() {
        let mut posture = PostureSettings::default();
        posture.tags.insert(
            "appliance".into(),
            PostureOverride {
                av_edr: Some(false),
                ..Default::default()
            },
        );
        let r = posture.for_tags(&["appliance".into()]);
        assert!(r.firewall && !r.av_edr && r.auto_updates);
        assert_eq!(posture.for_tags(&[]), PostureRequirements::default());
    }

    #[test]
    fn bad_settings_and_policies_are_named() {
        let mut s = VulnSettings::default();
        assert!(s.problems().is_empty());
        s.exposure.default_allowed = "ssh".into();
        s.posture.stale_hours = 0;
        s.due.epss_threshold = Some(0.0);
        let fields: Vec<_> = s.problems().into_iter().map(|p| p.0).collect();
        assert_eq!(
            fields,
            vec![
                "exposure.default_allowed",
                "posture.stale_hours",
                "due.epss_threshold"
            ]
        );
        let input = PortPolicyInput {
            asset_id: Some(1),
            tag: Some("web".into()),
            allowed: "70000".into(),
            scan_ports: None,
            address: None,
        };
        let fields: Vec<_> = input.problems().into_iter().map(|p| p.0).collect();
        assert_eq!(fields, vec!["asset_id", "allowed"]);
    }
}
