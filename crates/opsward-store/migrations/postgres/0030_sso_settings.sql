-- Sign-in settings saved on /admin/sign-in (issue 22): one row holding the fields an
-- administrator set, which win over opsward.toml for those fields. Never a secret.
CREATE TABLE sso_settings (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    overrides JSONB NOT NULL DEFAULT '{}',
    updated_at TIMESTAMPTZ NOT NULL,
    updated_by TEXT NOT NULL
);
