-- The backlog practice checks the SLA of a bounded number of open items every half minute,
-- most urgent priority (impact + urgency) first, then oldest. This partial index holds only
-- open items in that order, so SQLite reads the first rows of it instead of sorting every
-- open item.
CREATE INDEX backlog_items_open_by_priority ON backlog_items ((impact + urgency), created_at, id)
    WHERE state NOT IN ('resolved', 'closed');
-- The asset page lists the open items linked to one asset. SQLite has no index into the
-- JSON list of assets; this partial index holds every open item's list in the page's order
-- (newest first), so the scan reads it instead of the wide rows with their descriptions.
CREATE INDEX backlog_items_open_assets ON backlog_items (created_at, id, asset_ids)
    WHERE state NOT IN ('resolved', 'closed');
