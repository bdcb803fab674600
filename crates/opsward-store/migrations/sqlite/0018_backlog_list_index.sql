-- The backlog list filters by state and team and pages by id. A SQLite index ends with the
-- rowid (`id` here), so `(state, team_id)` already hands out a state and team's items in id
-- order, and a page stops after its rows instead of reading every item of the team.
CREATE INDEX backlog_items_state_team_id ON backlog_items (state, team_id);
