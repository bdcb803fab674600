-- Operations calendar: recurring activities, the evidence that occurrences happened, and
-- iCal feed tokens.

CREATE TABLE activities (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    title TEXT NOT NULL,
    practice TEXT NOT NULL,
    template TEXT,
    description TEXT NOT NULL DEFAULT '',
    -- RFC 5545 RRULE value (FREQ=...;...), empty for a one-off activity.
    rrule TEXT NOT NULL DEFAULT '',
    -- Wall-clock start in `timezone`, ISO 8601 without offset: 2026-01-05T09:00:00.
    starts_local TEXT NOT NULL,
    timezone TEXT NOT NULL,
    duration_minutes INTEGER NOT NULL,
    owner_team_id INTEGER REFERENCES teams(id) ON DELETE SET NULL,
    owner_person_id INTEGER REFERENCES people(id) ON DELETE SET NULL,
    asset_id INTEGER REFERENCES assets(id) ON DELETE SET NULL,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX activities_practice ON activities(practice);

CREATE TABLE evidence (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    activity_id INTEGER REFERENCES activities(id) ON DELETE SET NULL,
    practice TEXT NOT NULL,
    title TEXT NOT NULL,
    -- The occurrence this completes (UTC), when it completes one.
    occurrence_at TEXT,
    recorded_at TEXT NOT NULL,
    recorded_by TEXT NOT NULL,
    result TEXT NOT NULL CHECK (result IN ('passed', 'failed', 'partial')),
    notes TEXT NOT NULL DEFAULT '',
    links TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX evidence_activity ON evidence(activity_id, occurrence_at);
CREATE INDEX evidence_recorded ON evidence(recorded_at);

CREATE TABLE evidence_attachments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    evidence_id INTEGER NOT NULL REFERENCES evidence(id) ON DELETE CASCADE,
    filename TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX evidence_attachments_evidence ON evidence_attachments(evidence_id);

CREATE TABLE ical_feeds (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    team_id INTEGER REFERENCES teams(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
