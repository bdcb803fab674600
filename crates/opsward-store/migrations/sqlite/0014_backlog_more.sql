-- Backlog: watchers, attachments and saved list filters.

-- Users following an item: told about state changes and new comments.
CREATE TABLE backlog_watchers (
    item_id INTEGER NOT NULL REFERENCES backlog_items(id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    PRIMARY KEY (item_id, user_id)
);
CREATE INDEX backlog_watchers_user ON backlog_watchers (user_id);

-- Files on an item, kept by SHA-256 in the attachment store shared with evidence.
CREATE TABLE backlog_attachments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    item_id INTEGER NOT NULL REFERENCES backlog_items(id) ON DELETE CASCADE,
    filename TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    uploaded_by TEXT NOT NULL,
    uploaded_at TEXT NOT NULL
);
CREATE INDEX backlog_attachments_item ON backlog_attachments (item_id);

-- A list filter kept under a name: private to its owner, or shared with everyone.
-- `owner_user_id` is NULL for filters saved from the CLI (always shared).
CREATE TABLE backlog_saved_filters (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    owner_user_id INTEGER REFERENCES users(id) ON DELETE CASCADE,
    shared BOOLEAN NOT NULL,
    filter TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE UNIQUE INDEX backlog_saved_filters_name ON backlog_saved_filters (COALESCE(owner_user_id, 0), name);
