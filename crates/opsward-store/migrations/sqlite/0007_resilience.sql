-- Resilience register: the measures that keep a service up when a part fails (RAID,
-- multipath, failover, backups, redundant network and power, a DR site), each with its
-- test procedure and the calendar activity that schedules its tests. Results are evidence
-- on that activity, so they are not stored here.

CREATE TABLE resilience_measures (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    -- No cascade: an asset with measures cannot be deleted until its measures are, so
    -- no scheduled test is left pointing at nothing.
    asset_id INTEGER NOT NULL REFERENCES assets(id),
    kind TEXT NOT NULL CHECK (kind IN ('raid', 'multipath', 'cluster_failover', 'backup_restore',
        'redundant_network', 'redundant_power', 'dr_site', 'other')),
    title TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    -- Ordered test steps, a JSON array of strings.
    procedure TEXT NOT NULL DEFAULT '[]',
    owner_team_id INTEGER REFERENCES teams(id) ON DELETE SET NULL,
    owner_person_id INTEGER REFERENCES people(id) ON DELETE SET NULL,
    -- Which `opsward resilience check` verifies it automatically, if one does.
    check_kind TEXT CHECK (check_kind IN ('mdstat', 'multipath', 'backup', 'restore')),
    activity_id INTEGER NOT NULL REFERENCES activities(id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX resilience_measures_asset ON resilience_measures (asset_id);
CREATE INDEX resilience_measures_kind ON resilience_measures (kind);
CREATE UNIQUE INDEX resilience_measures_activity ON resilience_measures (activity_id);
