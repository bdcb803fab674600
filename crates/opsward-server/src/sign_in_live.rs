//! The sign-in settings in force, shared by every request: the file's `[sso]` with what an
//! administrator saved in the database laid over it. Every sign-in (and the admin page)
//! reads the saved row again, one small query, so a change saved on any server sharing the
//! database takes effect at the next sign-in everywhere, without a restart. The clients
//! (OpenID Connect discovery cache, LDAP TLS settings) are rebuilt only when the row changed.

use opsward_sso::{ldap::LdapClient, oidc::OidcClient, SsoSettings, SsoStore, StoredOverrides};
use std::sync::{Arc, RwLock};

/// One version of the settings and the clients built from them.
pub struct Effective {
    pub settings: SsoSettings,
    /// What was saved in the database, if anything.
    pub saved: Option<StoredOverrides>,
    pub oidc: Option<Arc<OidcClient>>,
    pub ldap: Option<Arc<LdapClient>>,
}

impl Effective {
    fn build(settings: SsoSettings, saved: Option<StoredOverrides>) -> Self {
        let oidc = settings.oidc.clone().and_then(|s| {
            OidcClient::new(s)
                .map_err(|e| tracing::error!(error = %e, "OpenID Connect is not available"))
                .ok()
                .map(Arc::new)
        });
        let ldap = settings.ldap.clone().and_then(|s| {
            LdapClient::new(s)
                .map_err(|e| tracing::error!(error = %e, "LDAP sign-in is not available"))
                .ok()
                .map(Arc::new)
        });
        Effective {
            settings,
            saved,
            oidc,
            ldap,
        }
    }
}

pub struct LiveSignIn {
    /// `[sso]` from the file and the environment, secrets resolved.
    pub base: SsoSettings,
    pub public_url: Option<String>,
    store: SsoStore,
    current: RwLock<Arc<Effective>>,
}

impl LiveSignIn {
    pub fn new(base: SsoSettings, public_url: Option<String>, store: SsoStore) -> Self {
        let current = RwLock::new(Arc::new(Effective::build(base.clone(), None)));
        LiveSignIn {
            base,
            public_url,
            store,
            current,
        }
    }

    /// The settings last seen, without asking the database (for the login page's button
    /// and the `Content-Security-Policy` of every response).
    pub fn cached(&self) -> Arc<Effective> {
        match self.current.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The settings in force now: the saved row read again; the clients rebuilt when it
    /// changed. When the database cannot be read, the settings last seen.
    pub async fn current(&self) -> Arc<Effective> {
        let cached = self.cached();
        let saved = match self.store.load_overrides().await {
            Ok(saved) => saved,
            Err(e) => {
                tracing::error!(error = %e, "could not read the saved sign-in settings");
                return cached;
            }
        };
        if saved == cached.saved {
            return cached;
        }
        let settings = match &saved {
            None => self.base.clone(),
            Some(s) => s
                .overrides
                .apply(&self.base, self.public_url.as_deref())
                .unwrap_or_else(|e| {
                    tracing::error!(error = %e, "the saved sign-in settings are not usable; using the file's");
                    self.base.clone()
                }),
        };
        let fresh = Arc::new(Effective::build(settings, saved));
        match self.current.write() {
            Ok(mut guard) => *guard = fresh.clone(),
            Err(poisoned) => *poisoned.into_inner() = fresh.clone(),
        }
        fresh
    }
}
