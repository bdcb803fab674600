-- The aging counts and report at 1,000,000 items (issue 23): partial indexes of the open
-- items only, so each count is a range of one index (the recent buckets, the recently
-- updated, the unowned) and each id list reads its first entries in order, instead of
-- evaluating the buckets on every open row. The predicate is written exactly as the queries
-- write it (crates/opsward-backlog/src/aging_sql.rs), which SQLite needs to use them.
CREATE INDEX backlog_items_open_created ON backlog_items (created_at, id) WHERE state NOT IN ('resolved', 'closed');
CREATE INDEX backlog_items_open_updated ON backlog_items (updated_at, id) WHERE state NOT IN ('resolved', 'closed');
CREATE INDEX backlog_items_open_unowned ON backlog_items (created_at, id) WHERE state NOT IN ('resolved', 'closed') AND assignee_person_id IS NULL;
-- Superseded by the three above: it served only the aging counts (migration 0022).
DROP INDEX backlog_items_aging;
