-- Notifications: channels, rules (global or a user's own), what was last notified per
-- subject (for deduplication and snooze), and the transactional outbox.

CREATE TABLE notification_channels (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    config TEXT NOT NULL,
    enabled BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE notification_rules (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    channel_id INTEGER NOT NULL REFERENCES notification_channels(id) ON DELETE CASCADE,
    user_id INTEGER REFERENCES users(id) ON DELETE CASCADE,
    events TEXT NOT NULL DEFAULT '[]',
    practice TEXT,
    min_severity TEXT NOT NULL DEFAULT 'info',
    owner_team_id INTEGER REFERENCES teams(id) ON DELETE CASCADE,
    owner_person_id INTEGER REFERENCES people(id) ON DELETE CASCADE,
    digest BOOLEAN NOT NULL DEFAULT FALSE,
    quiet_start TEXT,
    quiet_end TEXT,
    timezone TEXT NOT NULL DEFAULT 'UTC',
    enabled BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE notification_state (
    dedupe_key TEXT NOT NULL,
    rule_id INTEGER NOT NULL REFERENCES notification_rules(id) ON DELETE CASCADE,
    state TEXT NOT NULL,
    notified_at TEXT NOT NULL,
    snoozed_until TEXT,
    PRIMARY KEY (dedupe_key, rule_id)
);

CREATE TABLE notification_outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    rule_id INTEGER REFERENCES notification_rules(id) ON DELETE SET NULL,
    channel_id INTEGER NOT NULL REFERENCES notification_channels(id) ON DELETE CASCADE,
    dedupe_key TEXT NOT NULL,
    event TEXT NOT NULL,
    payload TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'digest', 'digested', 'delivered', 'dead')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    last_error TEXT,
    lease_owner TEXT,
    lease_until TEXT,
    created_at TEXT NOT NULL,
    delivered_at TEXT
);
CREATE INDEX notification_outbox_due ON notification_outbox(state, next_attempt_at);
