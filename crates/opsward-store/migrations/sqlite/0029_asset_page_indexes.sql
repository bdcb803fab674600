-- The asset page reads what every practice knows about one asset (issue 18 item 7). These
-- make each of its reads start from the asset instead of scanning a whole table.

-- Certificates set on an asset, and the places (endpoints, files) of an asset.
CREATE INDEX certificates_asset ON certificates (asset_id);
CREATE INDEX cert_sources_asset ON cert_sources (asset_id);

-- The calendar activities of an asset (the calendar's and the resilience practice's sections).
CREATE INDEX activities_asset ON activities (asset_id);

-- The open backlog items linked to one asset. SQLite has no index into the JSON list
-- `backlog_items.asset_ids` (PostgreSQL's GIN index `backlog_items_asset_ids` serves the same
-- query there), so this table, kept by the triggers below, is that index: one row per
-- (asset, item) link. Backups leave it out, like the full-text index, because the triggers
-- fill it again as a restore inserts the items.
CREATE TABLE backlog_item_assets (
    asset_id INTEGER NOT NULL,
    item_id INTEGER NOT NULL,
    PRIMARY KEY (asset_id, item_id)
) WITHOUT ROWID;
CREATE INDEX backlog_item_assets_item ON backlog_item_assets (item_id);
-- What the asset page scanned before (0024); nothing reads it now.
DROP INDEX backlog_items_open_assets;

INSERT OR IGNORE INTO backlog_item_assets (asset_id, item_id)
    SELECT j.value, i.id FROM backlog_items i, json_each(i.asset_ids) j WHERE j.type = 'integer';

CREATE TRIGGER backlog_item_assets_insert AFTER INSERT ON backlog_items BEGIN
    INSERT OR IGNORE INTO backlog_item_assets (asset_id, item_id)
        SELECT value, new.id FROM json_each(new.asset_ids) WHERE type = 'integer';
END;
CREATE TRIGGER backlog_item_assets_update AFTER UPDATE OF asset_ids ON backlog_items BEGIN
    DELETE FROM backlog_item_assets WHERE item_id = old.id;
    INSERT OR IGNORE INTO backlog_item_assets (asset_id, item_id)
        SELECT value, new.id FROM json_each(new.asset_ids) WHERE type = 'integer';
END;
CREATE TRIGGER backlog_item_assets_delete AFTER DELETE ON backlog_items BEGIN
    DELETE FROM backlog_item_assets WHERE item_id = old.id;
END;
