-- The backlog practice checks the SLA of a bounded number of open items every half minute,
-- most urgent priority (impact + urgency) first, then oldest. This partial index holds only
-- open items in that order, so PostgreSQL reads the first rows of it instead of sorting
-- every open item.
CREATE INDEX backlog_items_open_by_priority ON backlog_items ((impact + urgency), created_at, id)
    WHERE state NOT IN ('resolved', 'closed');
-- The asset page lists the open items linked to one asset: `asset_ids @> '[id]'` through
-- this index instead of reading every item's list.
CREATE INDEX backlog_items_asset_ids ON backlog_items USING GIN (asset_ids jsonb_path_ops);
