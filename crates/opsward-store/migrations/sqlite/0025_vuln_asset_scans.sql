-- When each asset was last scanned for vulnerable packages, per scope (`applications`: a
-- lockfile or SBOM; `os_packages`: the patch agent's inventory), so the practice can tell
-- which assets have not been scanned for longer than the settings' scan interval. Written
-- in the scan's own transaction.
CREATE TABLE vuln_asset_scans (
    asset_id INTEGER NOT NULL REFERENCES assets(id) ON DELETE CASCADE,
    scope TEXT NOT NULL CHECK (scope IN ('applications', 'os_packages')),
    scanned_at TEXT NOT NULL,
    PRIMARY KEY (asset_id, scope)
);
CREATE INDEX vuln_asset_scans_at ON vuln_asset_scans (scanned_at);
-- The conditions and hygiene count open findings per asset, severity and due date.
CREATE INDEX vuln_findings_open_due ON vuln_findings (state, asset_id, severity, due_date);
