//! The periodic re-check of LDAP users (issue 22, item 4): every `recheck_minutes` the
//! directory is asked again for each linked account's groups (service bind and a search on
//! the entry's DN). A user whose groups no longer map, or whose entry is gone or no longer
//! matches the user filter, loses their sessions and API tokens at once; a changed role is
//! applied. OpenID Connect users cannot be asked without a refresh token, which opsward does
//! not keep: they are re-checked at their next sign-in.

use crate::{
    ldap::{LdapClient, LdapError},
    store::SsoStore,
    Method, SsoSettings,
};
use opsward_core::job::{Job, JobError, JobHandler};

/// The job kind in the scheduler.
pub const JOB_KIND: &str = "sso.ldap_recheck";

/// What one run did, for the log and the tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecheckReport {
    pub checked: usize,
    pub revoked: usize,
    pub role_changed: usize,
}

/// Re-reads LDAP group membership with the settings in force at each run (the file's,
/// with what an administrator saved laid over them).
pub struct LdapRecheck {
    pub store: SsoStore,
    pub base: SsoSettings,
    pub public_url: Option<String>,
}

impl LdapRecheck {
    pub async fn run_once(&self) -> Result<RecheckReport, JobError> {
        let settings =
            crate::effective_settings(&self.store, &self.base, self.public_url.as_deref())
                .await?
                .0;
        let Some(ldap_settings) = settings.ldap.clone() else {
            return Ok(RecheckReport::default());
        };
        let client = LdapClient::new(ldap_settings)?;
        let mut report = RecheckReport::default();
        for linked in self.store.linked_identities(Method::Ldap).await? {
            // Identities of another directory (the URL changed) are left to their next
            // sign-in: this directory cannot speak for them.
            if linked.identity.issuer != client.settings().url {
                continue;
            }
            report.checked += 1;
            let who = &linked.identity;
            let found = match client.groups_of(&who.subject, &who.username).await {
                Ok(found) => found,
                // The directory being down is no reason to lock everyone out: retry later.
                Err(e @ (LdapError::Unavailable(_) | LdapError::Setting(_))) => {
                    return Err(e.into())
                }
                Err(LdapError::Rejected) => None,
            };
            let verdict = match &found {
                None => Err(
                    "the directory entry is gone or no longer matches the user filter".to_string(),
                ),
                Some(groups) => settings.mapping.role_for(groups).map_err(|e| e.to_string()),
            };
            match verdict {
                Ok(role) => {
                    let groups = found.unwrap_or_default();
                    if linked.mapped_role.as_deref() != Some(role.as_str()) || linked.role != role {
                        self.store
                            .apply_rechecked_role(&linked, &groups, role)
                            .await?;
                        report.role_changed += 1;
                    }
                }
                // Already refused and nothing left to end: no audit row every run.
                Err(_) if linked.mapped_role.is_none() => {}
                Err(reason) => {
                    let mut who = who.clone();
                    who.groups = found.unwrap_or_default();
                    self.store
                        .revoke_after_recheck(&who, &format!("periodic re-check: {reason}"))
                        .await?;
                    report.revoked += 1;
                }
            }
        }
        Ok(report)
    }
}

#[async_trait::async_trait]
impl JobHandler for LdapRecheck {
    async fn run(&self, _job: &Job) -> Result<(), JobError> {
        let report = self.run_once().await?;
        tracing::info!(
            checked = report.checked,
            revoked = report.revoked,
            role_changed = report.role_changed,
            "LDAP group re-check done"
        );
        Ok(())
    }
}
