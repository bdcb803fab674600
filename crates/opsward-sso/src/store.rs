//! Identity-provider sign-ins on either backend: linking a provider identity to an account
//! (creating it just in time), applying the mapped role, ending everything a user holds when
//! their groups stop mapping, and the one-time state of OpenID Connect sign-ins under way.
//! Every change writes its audit row in the same transaction.

use crate::{settings::Provisioning, Method};
use chrono::{DateTime, Utc};
use opsward_core::{user::User, Actor, Role};
use opsward_store::{on_backend, Database, Store, StoreError};
use serde_json::json;

pub use crate::settings_store::{LinkedIdentity, StoredOverrides};

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Who the identity provider says is signing in.
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderIdentity {
    pub method: Method,
    /// The OIDC issuer URL or the LDAP server URL.
    pub issuer: String,
    /// The OIDC `sub` claim or the LDAP entry's DN: stable, unlike the username.
    pub subject: String,
    pub username: String,
    pub display_name: String,
    pub email: Option<String>,
    pub groups: Vec<String>,
}

/// Why an identity the provider vouched for may not sign in here.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("no account {0:?} exists here and accounts are only created by an administrator")]
    NotProvisioned(String),
    #[error("the account {0:?} is disabled")]
    Disabled(String),
    #[error("an account {0:?} already exists and belongs to another sign-in method")]
    UsernameTaken(String),
    #[error("the username {0:?} from the identity provider is not a valid opsward username")]
    BadUsername(String),
}

/// What [`SsoStore::sign_in`] decided.
#[derive(Debug, Clone, PartialEq)]
pub enum SignInOutcome {
    SignedIn { user: User, created: bool },
    Refused(Refusal),
}

/// A pending OpenID Connect sign-in, found by the hash of its `state`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingLogin {
    pub state_hash: String,
    pub nonce: String,
    pub pkce_verifier: String,
    pub next_path: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// The password hash of accounts made by a provider: not a PHC string, so no password ever
/// verifies against it.
pub const NO_PASSWORD: &str = "!sso";

macro_rules! sso_sql {
    ($module:ident, $db:ty, $backend:path, $begin:expr) => {
        pub(crate) mod $module {
            use super::*;
            use $backend as backend;
            use sqlx::{types::Json, Row};

            type Pool = sqlx::Pool<$db>;
            type Conn = <$db as sqlx::Database>::Connection;

            const USER_COLUMNS: &str =
                "id, username, display_name, email, role, disabled, created_at, last_login_at";

            async fn fetch_user(conn: &mut Conn, id: i64) -> Result<User> {
                let row = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"))
                    .bind(id)
                    .fetch_one(&mut *conn)
                    .await?;
                let role: String = row.try_get("role")?;
                Ok(User {
                    id: row.try_get("id")?,
                    username: row.try_get("username")?,
                    display_name: row.try_get("display_name")?,
                    email: row.try_get("email")?,
                    role: role
                        .parse()
                        .map_err(|_| StoreError::Corrupt(format!("role {role:?}")))?,
                    disabled: row.try_get("disabled")?,
                    created_at: row.try_get("created_at")?,
                    last_login_at: row.try_get("last_login_at")?,
                })
            }

            async fn identity_user(conn: &mut Conn, who: &ProviderIdentity) -> Result<Option<i64>> {
                Ok(sqlx::query(
                    "SELECT user_id FROM sso_identities WHERE method = $1 AND issuer = $2 AND subject = $3",
                )
                .bind(who.method.as_str())
                .bind(&who.issuer)
                .bind(&who.subject)
                .fetch_optional(&mut *conn)
                .await?
                .map(|row| row.try_get("user_id"))
                .transpose()?)
            }

            /// The account a first sign-in links to, by username, unless it already belongs
            /// to another identity or is a break-glass account.
            async fn linkable_user(
                conn: &mut Conn,
                username: &str,
            ) -> Result<Option<(i64, bool)>> {
                let row = sqlx::query(
                    "SELECT u.id, EXISTS (SELECT 1 FROM sso_identities i WHERE i.user_id = u.id) AS linked \
                     FROM users u WHERE lower(u.username) = lower($1)",
                )
                .bind(username)
                .fetch_optional(&mut *conn)
                .await?;
                row.map(|r| Ok((r.try_get("id")?, r.try_get("linked")?))).transpose()
            }

            /// Ends the sessions and revokes the API tokens of `user_id`; how many of each.
            async fn end_everything(conn: &mut Conn, user_id: i64, now: DateTime<Utc>) -> Result<(u64, u64)> {
                let sessions = sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                    .bind(user_id)
                    .execute(&mut *conn)
                    .await?
                    .rows_affected();
                let tokens = sqlx::query(
                    "UPDATE api_tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL",
                )
                .bind(now)
                .bind(user_id)
                .execute(&mut *conn)
                .await?
                .rows_affected();
                Ok((sessions, tokens))
            }

            // One decision made in one transaction: find or create the account, link the
            // identity, apply the role, and audit it; split further it would need the
            // transaction passed through helpers that each re-check the same conditions.
            pub async fn sign_in(
                pool: &Pool,
                who: &ProviderIdentity,
                role: Role,
                provisioning: Provisioning,
                protected: &[String],
            ) -> Result<SignInOutcome> {
                let now = Utc::now();
                let mut tx = pool.begin_with($begin).await?;
                let mut created = false;
                let user_id = match identity_user(&mut tx, who).await? {
                    Some(id) => id,
                    None => {
                        let is_protected = protected.iter().any(|p| p.eq_ignore_ascii_case(&who.username));
                        match linkable_user(&mut tx, &who.username).await? {
                            Some((id, false)) if !is_protected => id,
                            Some(_) => {
                                return refuse(tx, who, Refusal::UsernameTaken(who.username.clone())).await;
                            }
                            None if provisioning == Provisioning::PreCreated => {
                                return refuse(tx, who, Refusal::NotProvisioned(who.username.clone())).await;
                            }
                            None => {
                                if opsward_core::user::NewUser::validate_username(&who.username).is_err() {
                                    return refuse(tx, who, Refusal::BadUsername(who.username.clone())).await;
                                }
                                created = true;
                                sqlx::query(
                                    "INSERT INTO users (username, display_name, email, role, password_hash, disabled, created_at) \
                                     VALUES ($1, $2, $3, $4, $5, FALSE, $6) RETURNING id",
                                )
                                .bind(&who.username)
                                .bind(&who.display_name)
                                .bind(&who.email)
                                .bind(role.as_str())
                                .bind(NO_PASSWORD)
                                .bind(now)
                                .fetch_one(&mut *tx)
                                .await?
                                .try_get("id")?
                            }
                        }
                    }
                };
                let before = fetch_user(&mut tx, user_id).await?;
                if before.disabled {
                    return refuse(tx, who, Refusal::Disabled(before.username.clone())).await;
                }
                sqlx::query(
                    "INSERT INTO sso_identities (user_id, method, issuer, subject, groups, mapped_role, first_seen_at, last_seen_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
                     ON CONFLICT (method, issuer, subject) DO UPDATE SET groups = $5, mapped_role = $6, last_seen_at = $7",
                )
                .bind(user_id)
                .bind(who.method.as_str())
                .bind(&who.issuer)
                .bind(&who.subject)
                .bind(Json(&who.groups))
                .bind(role.as_str())
                .bind(now)
                .execute(&mut *tx)
                .await?;
                sqlx::query(
                    "UPDATE users SET role = $1, display_name = $2, email = COALESCE($3, email), last_login_at = $4 WHERE id = $5",
                )
                .bind(role.as_str())
                .bind(&who.display_name)
                .bind(&who.email)
                .bind(now)
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
                let user = fetch_user(&mut tx, user_id).await?;
                let actor = Actor::user(user.id, &user.username);
                backend::audit(
                    &mut tx,
                    &actor,
                    "sign_in",
                    "user",
                    Some(user.id),
                    (!created).then(|| json!({"role": before.role})),
                    Some(json!({
                        "method": who.method.as_str(),
                        "issuer": who.issuer,
                        "role": role,
                        "groups": who.groups,
                        "created": created,
                    })),
                )
                .await?;
                tx.commit().await?;
                Ok(SignInOutcome::SignedIn { user, created })
            }

            async fn refuse(
                mut tx: sqlx::Transaction<'_, $db>,
                who: &ProviderIdentity,
                refusal: Refusal,
            ) -> Result<SignInOutcome> {
                let user_id = identity_user(&mut tx, who).await?;
                audit_refusal(&mut tx, "sign_in_refused", who, user_id, &refusal.to_string(), None).await?;
                tx.commit().await?;
                Ok(SignInOutcome::Refused(refusal))
            }

            async fn audit_refusal(
                conn: &mut Conn,
                action: &str,
                who: &ProviderIdentity,
                user_id: Option<i64>,
                reason: &str,
                ended: Option<(u64, u64)>,
            ) -> Result<()> {
                let actor = Actor {
                    user_id,
                    label: format!("{}:{}", who.method.as_str(), who.username),
                };
                let mut after = json!({
                    "method": who.method.as_str(),
                    "issuer": who.issuer,
                    "username": who.username,
                    "groups": who.groups,
                    "reason": reason,
                });
                if let Some((sessions, tokens)) = ended {
                    after["sessions_ended"] = json!(sessions);
                    after["api_tokens_revoked"] = json!(tokens);
                }
                backend::audit(conn, &actor, action, "user", user_id, None, Some(after)).await
            }

            pub async fn refuse_unmapped(pool: &Pool, who: &ProviderIdentity, reason: &str, action: &str) -> Result<Option<i64>> {
                let mut tx = pool.begin_with($begin).await?;
                let mut user_id = identity_user(&mut tx, who).await?;
                if user_id.is_none() {
                    // A pre-created account never signed in through the provider is still
                    // this person's: its sessions and tokens end too.
                    user_id = linkable_user(&mut tx, &who.username).await?.filter(|(_, linked)| !linked).map(|(id, _)| id);
                }
                let ended = match user_id {
                    Some(id) => {
                        sqlx::query("UPDATE sso_identities SET groups = $1, mapped_role = NULL, last_seen_at = $2 WHERE user_id = $3 AND method = $4")
                            .bind(Json(&who.groups))
                            .bind(Utc::now())
                            .bind(id)
                            .bind(who.method.as_str())
                            .execute(&mut *tx)
                            .await?;
                        Some(end_everything(&mut tx, id, Utc::now()).await?)
                    }
                    None => None,
                };
                audit_refusal(&mut tx, action, who, user_id, reason, ended).await?;
                tx.commit().await?;
                Ok(user_id)
            }

            pub async fn record_password_sign_in(pool: &Pool, user: &User) -> Result<()> {
                let mut tx = pool.begin_with($begin).await?;
                let actor = Actor::user(user.id, &user.username);
                let after = json!({"method": "password", "role": user.role});
                backend::audit(&mut tx, &actor, "sign_in", "user", Some(user.id), None, Some(after)).await?;
                tx.commit().await?;
                Ok(())
            }

            pub async fn put_pending(pool: &Pool, pending: &PendingLogin) -> Result<()> {
                sqlx::query("DELETE FROM sso_pending_logins WHERE expires_at <= $1")
                    .bind(Utc::now())
                    .execute(pool)
                    .await?;
                sqlx::query(
                    "INSERT INTO sso_pending_logins (state_hash, nonce, pkce_verifier, next_path, created_at, expires_at) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(&pending.state_hash)
                .bind(&pending.nonce)
                .bind(&pending.pkce_verifier)
                .bind(&pending.next_path)
                .bind(pending.created_at)
                .bind(pending.expires_at)
                .execute(pool)
                .await?;
                Ok(())
            }

            pub async fn take_pending(pool: &Pool, state_hash: &str, now: DateTime<Utc>) -> Result<Option<PendingLogin>> {
                let row = sqlx::query(
                    "DELETE FROM sso_pending_logins WHERE state_hash = $1 \
                     RETURNING state_hash, nonce, pkce_verifier, next_path, created_at, expires_at",
                )
                .bind(state_hash)
                .fetch_optional(pool)
                .await?;
                let Some(row) = row else { return Ok(None) };
                let pending = PendingLogin {
                    state_hash: row.try_get("state_hash")?,
                    nonce: row.try_get("nonce")?,
                    pkce_verifier: row.try_get("pkce_verifier")?,
                    next_path: row.try_get("next_path")?,
                    created_at: row.try_get("created_at")?,
                    expires_at: row.try_get("expires_at")?,
                };
                Ok((pending.expires_at > now).then_some(pending))
            }

            pub async fn attach_session(pool: &Pool, token_hash: &str, method: Method, id_token: Option<&str>) -> Result<()> {
                sqlx::query("INSERT INTO sso_sessions (token_hash, method, id_token) VALUES ($1, $2, $3)")
                    .bind(token_hash)
                    .bind(method.as_str())
                    .bind(id_token)
                    .execute(pool)
                    .await?;
                Ok(())
            }

            pub async fn session_id_token(pool: &Pool, token_hash: &str) -> Result<Option<String>> {
                Ok(sqlx::query("SELECT id_token FROM sso_sessions WHERE token_hash = $1")
                    .bind(token_hash)
                    .fetch_optional(pool)
                    .await?
                    .map(|row| row.try_get::<Option<String>, _>("id_token"))
                    .transpose()?
                    .flatten())
            }

            pub async fn identity_groups(pool: &Pool, user_id: i64) -> Result<Vec<(String, Vec<String>, Option<String>)>> {
                let rows = sqlx::query("SELECT method, groups, mapped_role FROM sso_identities WHERE user_id = $1 ORDER BY method")
                    .bind(user_id)
                    .fetch_all(pool)
                    .await?;
                rows.iter()
                    .map(|r| {
                        let groups: Json<Vec<String>> = r.try_get("groups")?;
                        Ok((r.try_get("method")?, groups.0, r.try_get("mapped_role")?))
                    })
                    .collect()
            }
        }
    };
}

sso_sql!(
    sqlite,
    sqlx::Sqlite,
    opsward_store::sqlite,
    "BEGIN IMMEDIATE"
);
sso_sql!(postgres, sqlx::Postgres, opsward_store::postgres, "BEGIN");

/// Identity-provider sign-ins, next to the foundation store on the same database.
#[derive(Clone)]
pub struct SsoStore {
    pub(crate) db: Database,
}

impl SsoStore {
    pub fn new(store: &dyn Store) -> Self {
        SsoStore {
            db: store.database(),
        }
    }

    /// Sign `who` in with `role`: find the account linked to the identity, else link one of
    /// the same username (pre-created) or create one (just in time), set its role, and audit
    /// the sign-in with its method and role. Accounts named in `protected` (the break-glass
    /// accounts) are never linked to a provider identity.
    pub async fn sign_in(
        &self,
        who: &ProviderIdentity,
        role: Role,
        provisioning: Provisioning,
        protected: &[String],
    ) -> Result<SignInOutcome> {
        on_backend!(&self.db, sign_in(who, role, provisioning, protected))
    }

    /// `who` signed in at the provider but their groups map to no role: end the sessions
    /// and revoke the API tokens of their account (if they have one), and audit the refusal.
    pub async fn refuse_unmapped(
        &self,
        who: &ProviderIdentity,
        reason: &str,
    ) -> Result<Option<i64>> {
        on_backend!(&self.db, refuse_unmapped(who, reason, "sign_in_refused"))
    }

    /// The periodic re-check found that `who` lost their role (groups unmapped, entry gone):
    /// end their sessions, revoke their API tokens, audit it as `access_revoked`.
    pub async fn revoke_after_recheck(
        &self,
        who: &ProviderIdentity,
        reason: &str,
    ) -> Result<Option<i64>> {
        on_backend!(&self.db, refuse_unmapped(who, reason, "access_revoked"))
    }

    /// Audit a sign-in with a local password (method `password` and the account's role).
    pub async fn record_password_sign_in(&self, user: &User) -> Result<()> {
        on_backend!(&self.db, record_password_sign_in(user))
    }

    pub async fn put_pending(&self, pending: &PendingLogin) -> Result<()> {
        on_backend!(&self.db, put_pending(pending))
    }

    /// Take (and so use up) the pending sign-in of a `state`; `None` when unknown, already
    /// used or expired.
    pub async fn take_pending(
        &self,
        state_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<PendingLogin>> {
        on_backend!(&self.db, take_pending(state_hash, now))
    }

    /// Remember how a session was signed in, and the ID token its logout hands back.
    pub async fn attach_session(
        &self,
        token_hash: &str,
        method: Method,
        id_token: Option<&str>,
    ) -> Result<()> {
        on_backend!(&self.db, attach_session(token_hash, method, id_token))
    }

    pub async fn session_id_token(&self, token_hash: &str) -> Result<Option<String>> {
        on_backend!(&self.db, session_id_token(token_hash))
    }

    /// Each provider identity of a user: method, groups last seen, role they mapped to.
    pub async fn identity_groups(
        &self,
        user_id: i64,
    ) -> Result<Vec<(String, Vec<String>, Option<String>)>> {
        on_backend!(&self.db, identity_groups(user_id))
    }
}
