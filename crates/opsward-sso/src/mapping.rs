//! Directory groups to opsward roles: the one mapping that OpenID Connect and LDAP share.
//!
//! A user holds the highest role any of their groups maps to; with no mapped group they get
//! the default role when one is configured, and are refused otherwise.

use opsward_core::Role;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `group -> role`, compared without regard to ASCII case (directories differ in how they
/// spell `CN=Admins`), plus what a user with none of the groups gets.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupMapping {
    /// Group name (or DN, or Azure AD object id) to role.
    #[serde(default)]
    pub groups: BTreeMap<String, Role>,
    /// The role of a user none of whose groups is mapped; unset refuses them.
    #[serde(default)]
    pub default_role: Option<Role>,
}

/// Why a user's groups give them no role.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("none of the groups {groups:?} is mapped to an opsward role, and there is no default role")]
pub struct Unmapped {
    pub groups: Vec<String>,
}

/// A mapping entry that could not be read (`OPSWARD_SSO_GROUPS` or the admin page).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MappingError {
    #[error("entry {0:?} is not group=role")]
    NotAPair(String),
    #[error("entry {0:?} has an empty group name")]
    EmptyGroup(String),
    #[error(transparent)]
    Role(#[from] UnknownRoleText),
}

/// [`opsward_core::role::UnknownRole`] as a comparable error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role {0:?}: expected viewer, operator or admin")]
pub struct UnknownRoleText(pub String);

impl GroupMapping {
    /// The role for a user who holds `groups`.
    pub fn role_for<S: AsRef<str>>(&self, groups: &[S]) -> Result<Role, Unmapped> {
        let mapped = groups
            .iter()
            .filter_map(|group| {
                self.groups
                    .iter()
                    .find(|(name, _)| name.eq_ignore_ascii_case(group.as_ref().trim()))
                    .map(|(_, role)| *role)
            })
            .max();
        mapped.or(self.default_role).ok_or_else(|| Unmapped {
            groups: groups.iter().map(|g| g.as_ref().to_string()).collect(),
        })
    }

    /// Parse `admins=admin, ops=operator` (the environment's form of the mapping). Group
    /// names may contain anything but `,` and `=`; a DN is written in `opsward.toml` instead.
    pub fn parse_pairs(text: &str) -> Result<BTreeMap<String, Role>, MappingError> {
        let mut groups = BTreeMap::new();
        for entry in text.split([',', ';', '\n']).map(str::trim) {
            if entry.is_empty() {
                continue;
            }
            let (group, role) = entry
                .split_once('=')
                .ok_or_else(|| MappingError::NotAPair(entry.to_string()))?;
            let group = group.trim();
            if group.is_empty() {
                return Err(MappingError::EmptyGroup(entry.to_string()));
            }
            let role: Role = role
                .trim()
                .parse()
                .map_err(|_| UnknownRoleText(role.trim().to_string()))?;
            groups.insert(group.to_string(), role);
        }
        Ok(groups)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn mapping(default_role: Option<Role>) -> GroupMapping {
        GroupMapping {
            groups: GroupMapping::parse_pairs("admins=admin, ops=operator,readers=viewer").unwrap(),
            default_role,
        }
    }

    #[test]
    fn the_highest_mapped_role_wins() {
        let m = mapping(None);
        assert_eq!(m.role_for(&["ops", "admins"]), Ok(Role::Admin));
        assert_eq!(m.role_for(&["readers", "OPS"]), Ok(Role::Operator));
        assert_eq!(m.role_for(&["readers"]), Ok(Role::Viewer));
    }

    #[test]
    fn unmapped_groups_get_the_default_role_or_a_refusal() {
        assert_eq!(
            mapping(None).role_for(&["staff"]),
            Err(Unmapped {
                groups: vec!["staff".into()]
            })
        );
        assert!(mapping(None).role_for::<&str>(&[]).is_err());
        assert_eq!(
            mapping(Some(Role::Viewer)).role_for(&["staff"]),
            Ok(Role::Viewer)
        );
        // The default never lowers a mapped role.
        assert_eq!(
            mapping(Some(Role::Viewer)).role_for(&["admins"]),
            Ok(Role::Admin)
        );
    }

    #[test]
    fn bad_pairs_are_named() {
        assert_eq!(
            GroupMapping::parse_pairs("admins"),
            Err(MappingError::NotAPair("admins".into()))
        );
        assert_eq!(
            GroupMapping::parse_pairs("=admin"),
            Err(MappingError::EmptyGroup("=admin".into()))
        );
        assert_eq!(
            GroupMapping::parse_pairs("admins=root"),
            Err(MappingError::Role(UnknownRoleText("root".into())))
        );
        assert_eq!(GroupMapping::parse_pairs(" , ;").unwrap().len(), 0);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Any text either parses into pairs that map back to their roles, or is refused
        /// with an error; it never panics.
        #[test]
        fn parse_pairs_never_panics(text in "[a-zA-Z=,; \\n\u{e9}]{0,60}") {
            if let Ok(groups) = GroupMapping::parse_pairs(&text) {
                let m = GroupMapping { groups: groups.clone(), default_role: None };
                for (group, role) in &groups {
                    prop_assert!(m.role_for(&[group]).unwrap() >= *role);
                }
            }
        }
    }
}
