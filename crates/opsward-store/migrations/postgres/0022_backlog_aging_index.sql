-- The aging counts (the backlog list page's line and the aging report) read the state, the
-- creation and update times and the assignee of every open item. With every one of those
-- columns in this index PostgreSQL can count with an index-only scan instead of reading
-- the wide rows with their descriptions.
CREATE INDEX backlog_items_aging ON backlog_items (state, created_at, updated_at, assignee_person_id);
