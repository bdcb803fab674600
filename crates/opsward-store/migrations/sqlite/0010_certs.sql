-- Certificates: each certificate once (by the SHA-256 of its DER), every place it was seen
-- (a sighting: an endpoint or a file path, with first and last seen), what the checks found
-- there, the scans that saw it, and the renewal task that follows an expiring certificate
-- until its replacement is deployed everywhere it was.

CREATE TABLE certificates (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    fingerprint_sha256 TEXT NOT NULL UNIQUE,
    subject TEXT NOT NULL,
    subject_cn TEXT,
    issuer TEXT NOT NULL,
    issuer_cn TEXT,
    serial TEXT NOT NULL,
    -- JSON arrays of strings.
    san_dns TEXT NOT NULL DEFAULT '[]',
    san_ip TEXT NOT NULL DEFAULT '[]',
    -- The names it is for, lower-case, sorted, comma-separated: a renewal has the same key.
    names_key TEXT NOT NULL,
    not_before TEXT NOT NULL,
    not_after TEXT NOT NULL,
    key_type TEXT NOT NULL,
    signature_algorithm TEXT NOT NULL,
    is_ca BOOLEAN NOT NULL,
    self_signed BOOLEAN NOT NULL,
    der BLOB NOT NULL,
    -- The owner set directly; else the owner of `asset_id`, else of a sighting's asset.
    asset_id INTEGER REFERENCES assets(id) ON DELETE SET NULL,
    owner_team_id INTEGER REFERENCES teams(id) ON DELETE SET NULL,
    owner_person_id INTEGER REFERENCES people(id) ON DELETE SET NULL,
    first_seen_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL
);
CREATE INDEX certificates_not_after ON certificates (not_after);
CREATE INDEX certificates_names ON certificates (names_key);

-- A place certificates are found: a TLS endpoint (`host:port`, with the SNI name sent and
-- the STARTTLS protocol spoken) or a file path.
CREATE TABLE cert_sources (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL CHECK (kind IN ('endpoint', 'file')),
    location TEXT NOT NULL,
    sni TEXT,
    starttls TEXT NOT NULL DEFAULT 'auto',
    asset_id INTEGER REFERENCES assets(id) ON DELETE SET NULL,
    last_scan_at TEXT,
    last_error TEXT,
    created_at TEXT NOT NULL,
    UNIQUE (kind, location)
);

-- A certificate at a source. `current` is true for what the source presented at its last
-- successful scan; older sightings stay as history.
CREATE TABLE cert_sightings (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    certificate_id INTEGER NOT NULL REFERENCES certificates(id) ON DELETE CASCADE,
    source_id INTEGER NOT NULL REFERENCES cert_sources(id) ON DELETE CASCADE,
    chain_position INTEGER NOT NULL,
    first_seen_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    current BOOLEAN NOT NULL,
    UNIQUE (certificate_id, source_id, chain_position)
);
CREATE INDEX cert_sightings_source ON cert_sightings (source_id);

-- What the checks found at a sighting's last scan.
CREATE TABLE cert_problems (
    sighting_id INTEGER NOT NULL REFERENCES cert_sightings(id) ON DELETE CASCADE,
    certificate_id INTEGER NOT NULL REFERENCES certificates(id) ON DELETE CASCADE,
    code TEXT NOT NULL,
    severity TEXT NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
    message TEXT NOT NULL,
    PRIMARY KEY (sighting_id, code)
);
CREATE INDEX cert_problems_certificate ON cert_problems (certificate_id, code);

CREATE TABLE cert_scans (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL CHECK (kind IN ('endpoint', 'file')),
    actor TEXT NOT NULL,
    scanned_at TEXT NOT NULL,
    sources INTEGER NOT NULL,
    errors INTEGER NOT NULL,
    certificates INTEGER NOT NULL,
    new_certificates INTEGER NOT NULL
);

-- What each source gave in each scan: its leaf certificate, or an error.
CREATE TABLE cert_scan_results (
    scan_id INTEGER NOT NULL REFERENCES cert_scans(id) ON DELETE CASCADE,
    source_id INTEGER NOT NULL REFERENCES cert_sources(id) ON DELETE CASCADE,
    leaf_certificate_id INTEGER REFERENCES certificates(id) ON DELETE SET NULL,
    error TEXT,
    PRIMARY KEY (scan_id, source_id)
);
CREATE INDEX cert_scan_results_leaf ON cert_scan_results (leaf_certificate_id);

-- Renewing one certificate: open -> in_progress -> done. Closed by hand, or automatically
-- once a newer certificate for the same names is what every source of the old one serves.
CREATE TABLE cert_renewals (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    certificate_id INTEGER NOT NULL UNIQUE REFERENCES certificates(id) ON DELETE CASCADE,
    status TEXT NOT NULL CHECK (status IN ('open', 'in_progress', 'done')),
    replacement_certificate_id INTEGER REFERENCES certificates(id) ON DELETE SET NULL,
    note TEXT NOT NULL DEFAULT '',
    opened_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    closed_at TEXT,
    closed_by TEXT
);
CREATE INDEX cert_renewals_status ON cert_renewals (status);

-- One row (id = 1): expiry thresholds in days, and how often stored sources are rescanned.
CREATE TABLE cert_settings (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    thresholds TEXT NOT NULL,
    rescan_interval_minutes INTEGER NOT NULL
);
INSERT INTO cert_settings (id, thresholds, rescan_interval_minutes) VALUES (1, '[30,14,7,1]', 1440);
