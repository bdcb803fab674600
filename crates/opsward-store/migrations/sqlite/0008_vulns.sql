-- Vulnerabilities: OSV advisories stored once per id (re-written only when their `modified`
-- changes), the import runs that brought them (and KEV and EPSS), CISA KEV and EPSS
-- snapshots, and findings: a package on an asset affected by a vulnerability, with its
-- lifecycle. Dates without a time of day are ISO `YYYY-MM-DD` text.

CREATE TABLE vuln_advisories (
    id TEXT PRIMARY KEY,
    modified TEXT NOT NULL,
    -- The OSV record as JSON (the merged vulnerability is rebuilt from these).
    record TEXT NOT NULL,
    source TEXT NOT NULL,
    imported_at TEXT NOT NULL
);

CREATE TABLE vuln_import_runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL CHECK (kind IN ('osv', 'kev', 'epss')),
    source TEXT NOT NULL,
    at TEXT NOT NULL,
    outcome TEXT NOT NULL CHECK (outcome IN ('imported', 'rejected')),
    records_read INTEGER NOT NULL,
    created INTEGER NOT NULL DEFAULT 0,
    updated INTEGER NOT NULL DEFAULT 0,
    unchanged INTEGER NOT NULL DEFAULT 0,
    removed INTEGER NOT NULL DEFAULT 0,
    -- JSON list of {file, line, reason}; a rejected run wrote nothing else.
    problems TEXT NOT NULL DEFAULT '[]'
);

CREATE TABLE vuln_kev (
    cve TEXT PRIMARY KEY,
    vendor TEXT NOT NULL,
    product TEXT NOT NULL,
    name TEXT NOT NULL,
    date_added TEXT NOT NULL,
    due_date TEXT NOT NULL,
    ransomware TEXT NOT NULL DEFAULT ''
);

CREATE TABLE vuln_epss (
    cve TEXT PRIMARY KEY,
    score REAL NOT NULL,
    percentile REAL NOT NULL
);

CREATE TABLE vuln_findings (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    asset_id INTEGER NOT NULL REFERENCES assets(id) ON DELETE CASCADE,
    ecosystem TEXT NOT NULL,
    package TEXT NOT NULL,
    installed_version TEXT NOT NULL,
    vulnerability_id TEXT NOT NULL,
    -- JSON list of every id and alias.
    ids TEXT NOT NULL,
    summary TEXT NOT NULL DEFAULT '',
    severity TEXT NOT NULL CHECK (severity IN ('unknown', 'low', 'medium', 'high', 'critical')),
    cvss REAL,
    fixed_version TEXT,
    kev INTEGER NOT NULL DEFAULT 0,
    kev_due_date TEXT,
    epss_score REAL,
    epss_percentile REAL,
    state TEXT NOT NULL CHECK (state IN ('open', 'acknowledged', 'fixed', 'accepted_risk', 'false_positive')),
    reason TEXT NOT NULL DEFAULT '',
    approver TEXT,
    accepted_until TEXT,
    due_date TEXT NOT NULL,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    fixed_at TEXT,
    UNIQUE (asset_id, ecosystem, package, vulnerability_id)
);
CREATE INDEX vuln_findings_state ON vuln_findings (state, due_date);
CREATE INDEX vuln_findings_vulnerability ON vuln_findings (vulnerability_id);
