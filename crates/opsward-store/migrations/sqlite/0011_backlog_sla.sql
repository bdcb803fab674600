-- Backlog service levels and optimistic versioning.
--
-- `version` grows by one on every change; an update names the version it was based on and
-- is refused when the item moved on meanwhile. `owned_at` (first assignee) and
-- `resolved_at` stop the SLA clocks; the pauses are the intervals spent waiting on the
-- customer or a supplier. Items older than this migration get their last update as the
-- moment they were owned, resolved or started waiting: an upper bound, the best known.

ALTER TABLE backlog_items ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE backlog_items ADD COLUMN owned_at TEXT;
ALTER TABLE backlog_items ADD COLUMN resolved_at TEXT;
UPDATE backlog_items SET owned_at = updated_at WHERE assignee_person_id IS NOT NULL;
UPDATE backlog_items SET resolved_at = updated_at WHERE state IN ('resolved', 'closed');

CREATE TABLE backlog_sla_pauses (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    item_id INTEGER NOT NULL REFERENCES backlog_items(id) ON DELETE CASCADE,
    reason TEXT NOT NULL,
    started_at TEXT NOT NULL,
    ended_at TEXT
);
CREATE INDEX backlog_sla_pauses_item ON backlog_sla_pauses (item_id);
INSERT INTO backlog_sla_pauses (item_id, reason, started_at)
    SELECT id, state, updated_at FROM backlog_items WHERE state IN ('waiting_customer', 'waiting_supplier');

-- One row per item and kind (`resolve_breached`, ...) once notified, so each is sent once.
CREATE TABLE backlog_sla_notices (
    item_id INTEGER NOT NULL REFERENCES backlog_items(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    notified_at TEXT NOT NULL,
    PRIMARY KEY (item_id, kind)
);

-- The policy (calendars, targets), one JSON document; absent means the built-in default.
CREATE TABLE backlog_sla_policy (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    policy TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
