-- Inbound email: one row per message turned into a backlog item or comment. The unique
-- message key (the Message-ID, or a SHA-256 of the raw message when it has none) is
-- written in the transaction that creates the item or comment: a crash before the message
-- is flagged in the mailbox, a rerun, or a second server polling at the same moment finds
-- the row and files nothing twice.
CREATE TABLE backlog_inbound_messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    message_key TEXT NOT NULL UNIQUE,
    mailbox TEXT NOT NULL,
    sender TEXT NOT NULL,
    subject TEXT NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('created', 'commented')),
    item_id INTEGER REFERENCES backlog_items(id) ON DELETE SET NULL,
    comment_id INTEGER,
    processed_at TEXT NOT NULL
);
CREATE INDEX backlog_inbound_messages_item ON backlog_inbound_messages (item_id);
