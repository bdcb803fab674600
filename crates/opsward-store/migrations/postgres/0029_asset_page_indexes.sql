-- The asset page reads what every practice knows about one asset (issue 18 item 7). These
-- make each of its reads start from the asset instead of scanning a whole table. (The open
-- backlog items of an asset already have the GIN index `backlog_items_asset_ids`; SQLite gets
-- a table kept by triggers for the same query in its 0029.)

-- Certificates set on an asset, and the places (endpoints, files) of an asset.
CREATE INDEX certificates_asset ON certificates (asset_id);
CREATE INDEX cert_sources_asset ON cert_sources (asset_id);

-- The calendar activities of an asset (the calendar's and the resilience practice's sections).
CREATE INDEX activities_asset ON activities (asset_id);
