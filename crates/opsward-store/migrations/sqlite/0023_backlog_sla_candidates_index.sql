-- The backlog practice checks the SLA of a bounded number of open items every half minute,
-- most urgent priority (impact + urgency) first, then oldest. This partial index holds only
-- open items in that order, so SQLite reads the first rows of it instead of sorting every
-- open item. (Items linked to one asset are found by reading their JSON list; SQLite has
-- no index for that.)
CREATE INDEX backlog_items_open_by_priority ON backlog_items ((impact + urgency), created_at, id)
    WHERE state NOT IN ('resolved', 'closed');
