-- Backlog items opened automatically from other practices (an expiring certificate nobody
-- owns, an overdue KEV finding, a failed resilience test, a badly scored supplier). One row
-- per source object: the unique (source, source_key) makes a rerun, or a second server
-- running the same job at the same moment, find the item instead of filing a duplicate.
-- `active` is whether the condition held at the last run; `impact`/`urgency` are the
-- severity last applied to the item, so a person's change of priority stands until the
-- source's severity changes.
CREATE TABLE backlog_auto_items (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    source TEXT NOT NULL,
    source_key TEXT NOT NULL,
    item_id INTEGER NOT NULL REFERENCES backlog_items(id) ON DELETE CASCADE,
    link TEXT NOT NULL,
    label TEXT NOT NULL,
    impact INTEGER NOT NULL,
    urgency INTEGER NOT NULL,
    active INTEGER NOT NULL,
    opened_at TEXT NOT NULL,
    changed_at TEXT NOT NULL,
    cleared_at TEXT,
    UNIQUE (source, source_key)
);
CREATE INDEX backlog_auto_items_item ON backlog_auto_items (item_id);
