-- The backlog list filters by state and team and pages by id (`ORDER BY id`, cursor
-- `id > $n`). With this index the first and next pages are a range scan that stops after a
-- page; with the single-column indexes PostgreSQL fetched and sorted every item of the state
-- (150 ms at 1,000,000 items, 16-24 ms with this index).
CREATE INDEX backlog_items_state_team_id ON backlog_items (state, team_id, id);
