-- Findings beyond vulnerable packages: an exposed TCP port, a weak TLS certificate at an
-- endpoint, a failed posture requirement, a host that stopped reporting. Their kind is
-- `package` for the findings of lockfile and inventory scans.
ALTER TABLE vuln_findings ADD COLUMN kind TEXT NOT NULL DEFAULT 'package'
    CHECK (kind IN ('package', 'exposure', 'tls', 'posture', 'stale_host'));
CREATE INDEX vuln_findings_asset_kind ON vuln_findings (asset_id, kind);

-- Allowed TCP ports of one asset, or of every asset with a tag. An asset's own policy wins
-- over its tags' (which add up); without either the settings' default applies.
CREATE TABLE vuln_port_policies (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    asset_id INTEGER UNIQUE REFERENCES assets(id) ON DELETE CASCADE,
    tag TEXT UNIQUE,
    -- Port lists as `22,443,8000-8080`.
    allowed TEXT NOT NULL,
    -- What to scan; NULL: the settings' list.
    scan_ports TEXT,
    -- Asset policies only: the host name or address to scan; NULL: the asset's name.
    address TEXT,
    updated_at TEXT NOT NULL,
    CHECK ((asset_id IS NULL) <> (tag IS NULL))
);

-- One row: the practice's settings as JSON (exposure scans, posture policy, feeds).
CREATE TABLE vuln_settings (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    settings TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
INSERT INTO vuln_settings (id, settings, updated_at) VALUES (1, '{}', '1970-01-01T00:00:00Z');

-- Runs of the practice's scheduled checks (exposure scans, TLS/posture/stale-host checks).
CREATE TABLE vuln_check_runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    job TEXT NOT NULL CHECK (job IN ('exposure', 'checks')),
    started_at TEXT NOT NULL,
    finished_at TEXT NOT NULL,
    assets INTEGER NOT NULL,
    errors INTEGER NOT NULL,
    -- JSON: what changed and what failed.
    detail TEXT NOT NULL
);
CREATE INDEX vuln_check_runs_job ON vuln_check_runs (job, started_at);

-- A scheduled re-import whose fetch failed is recorded as `failed` (and changed nothing).
CREATE TABLE vuln_import_runs_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL CHECK (kind IN ('osv', 'kev', 'epss')),
    source TEXT NOT NULL,
    at TEXT NOT NULL,
    outcome TEXT NOT NULL CHECK (outcome IN ('imported', 'rejected', 'failed')),
    records_read INTEGER NOT NULL,
    created INTEGER NOT NULL DEFAULT 0,
    updated INTEGER NOT NULL DEFAULT 0,
    unchanged INTEGER NOT NULL DEFAULT 0,
    removed INTEGER NOT NULL DEFAULT 0,
    problems TEXT NOT NULL DEFAULT '[]'
);
INSERT INTO vuln_import_runs_new SELECT id, kind, source, at, outcome, records_read, created, updated, unchanged, removed, problems FROM vuln_import_runs;
DROP TABLE vuln_import_runs;
ALTER TABLE vuln_import_runs_new RENAME TO vuln_import_runs;
