-- Certificates, continued: where each asset's TLS endpoints are and its own expiry
-- thresholds, thresholds per asset tag, and the scan targets that rescans expand again
-- (address ranges times ports, assets, asset tags, and directories walked again).

-- Per asset: the host name clients use (sent as SNI and checked against the certificate),
-- the address to connect to when it differs, the ports (empty: a default list), and expiry
-- thresholds in days overriding the practice's (NULL: no override).
CREATE TABLE cert_asset_settings (
    asset_id INTEGER PRIMARY KEY REFERENCES assets(id) ON DELETE CASCADE,
    hostname TEXT,
    address TEXT,
    ports TEXT NOT NULL DEFAULT '[]',
    thresholds TEXT,
    updated_at TEXT NOT NULL
);

-- Expiry thresholds for every asset with this tag (an asset's own override wins).
CREATE TABLE cert_tag_thresholds (
    tag TEXT PRIMARY KEY,
    thresholds TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- What a scan was pointed at, kept so that rescans expand it again: `range` (CIDR; its
-- ports in `ports`), `asset` (the asset's id), `tag` (an asset tag), `directory` (a path
-- walked again: new files are found, removed files' sightings end).
CREATE TABLE cert_scan_targets (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL CHECK (kind IN ('range', 'asset', 'tag', 'directory')),
    value TEXT NOT NULL,
    ports TEXT NOT NULL DEFAULT '[]',
    starttls TEXT NOT NULL DEFAULT 'auto',
    last_scan_at TEXT,
    created_at TEXT NOT NULL,
    UNIQUE (kind, value)
);
