-- Sign-in through an identity provider (issue 22): which provider identity is which account,
-- the OpenID Connect sign-ins under way, and the ID token a session's logout hands back.

CREATE TABLE sso_identities (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    -- 'oidc' or 'ldap'
    method TEXT NOT NULL CHECK (method IN ('oidc', 'ldap')),
    -- The OIDC issuer or the LDAP server URL.
    issuer TEXT NOT NULL,
    -- The OIDC `sub` claim or the LDAP entry's DN.
    subject TEXT NOT NULL,
    -- JSON list of the groups last seen, and the role they mapped to.
    groups TEXT NOT NULL DEFAULT '[]',
    mapped_role TEXT,
    first_seen_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    UNIQUE (method, issuer, subject)
);
CREATE INDEX sso_identities_user ON sso_identities(user_id);

-- One row per sign-in started and not yet finished; taken (deleted) by its callback, so a
-- state or code can be used once.
CREATE TABLE sso_pending_logins (
    state_hash TEXT PRIMARY KEY,
    nonce TEXT NOT NULL,
    pkce_verifier TEXT NOT NULL,
    next_path TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX sso_pending_logins_expires ON sso_pending_logins(expires_at);

CREATE TABLE sso_sessions (
    token_hash TEXT PRIMARY KEY REFERENCES sessions(token_hash) ON DELETE CASCADE,
    method TEXT NOT NULL,
    id_token TEXT
);
