-- Host package inventories matched against OSV advisories. A host's OS version (os-release
-- VERSION_ID) names its OSV ecosystem (Debian:12, Ubuntu:22.04:LTS, Alpine:v3.20, ...).
-- Each host's last match: which asset its findings are recorded on, which report and which
-- threat-intelligence import it reflects (a newer report or import makes it due again).

ALTER TABLE patch_hosts ADD COLUMN os_version_id TEXT NOT NULL DEFAULT '';

CREATE TABLE vuln_host_scans (
    host_id BIGINT PRIMARY KEY REFERENCES patch_hosts(id) ON DELETE CASCADE,
    asset_id BIGINT REFERENCES assets(id) ON DELETE SET NULL,
    -- The OSV ecosystem matched against; '' when the OS has none (then `note` says why).
    ecosystem TEXT NOT NULL,
    report_sequence BIGINT,
    -- The newest imported vuln_import_runs id when matched.
    feed_run_id BIGINT NOT NULL,
    scanned_at TIMESTAMPTZ NOT NULL,
    packages BIGINT NOT NULL,
    matched BIGINT NOT NULL,
    undecided BIGINT NOT NULL,
    note TEXT NOT NULL DEFAULT ''
);
