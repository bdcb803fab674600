-- Backlog: work items, their comments and change history, and full-text search.

CREATE TABLE backlog_items (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    item_type TEXT NOT NULL,
    title TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL,
    impact INTEGER NOT NULL,
    urgency INTEGER NOT NULL,
    wsjf TEXT,
    team_id INTEGER REFERENCES teams(id) ON DELETE SET NULL,
    assignee_person_id INTEGER REFERENCES people(id) ON DELETE SET NULL,
    tags TEXT NOT NULL DEFAULT '[]',
    asset_ids TEXT NOT NULL DEFAULT '[]',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX backlog_items_state ON backlog_items (state);
CREATE INDEX backlog_items_team ON backlog_items (team_id);
CREATE INDEX backlog_items_assignee ON backlog_items (assignee_person_id);

CREATE TABLE backlog_comments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    item_id INTEGER NOT NULL REFERENCES backlog_items(id) ON DELETE CASCADE,
    author TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX backlog_comments_item ON backlog_comments (item_id);

CREATE TABLE backlog_history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    item_id INTEGER NOT NULL REFERENCES backlog_items(id) ON DELETE CASCADE,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    changes TEXT NOT NULL
);
CREATE INDEX backlog_history_item ON backlog_history (item_id);

-- External-content FTS5 index over title and description. The triggers keep it in step with
-- every write, inside the writing transaction. Porter stemming matches PostgreSQL's
-- `english` configuration closely enough that both backends find the same items.
CREATE VIRTUAL TABLE backlog_items_fts USING fts5(
    title, description,
    content = 'backlog_items', content_rowid = 'id',
    tokenize = 'porter unicode61'
);
CREATE TRIGGER backlog_items_fts_insert AFTER INSERT ON backlog_items BEGIN
    INSERT INTO backlog_items_fts (rowid, title, description) VALUES (new.id, new.title, new.description);
END;
CREATE TRIGGER backlog_items_fts_delete AFTER DELETE ON backlog_items BEGIN
    INSERT INTO backlog_items_fts (backlog_items_fts, rowid, title, description)
        VALUES ('delete', old.id, old.title, old.description);
END;
CREATE TRIGGER backlog_items_fts_update AFTER UPDATE OF title, description ON backlog_items BEGIN
    INSERT INTO backlog_items_fts (backlog_items_fts, rowid, title, description)
        VALUES ('delete', old.id, old.title, old.description);
    INSERT INTO backlog_items_fts (rowid, title, description) VALUES (new.id, new.title, new.description);
END;
