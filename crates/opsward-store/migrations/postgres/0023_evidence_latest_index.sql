-- The practice contract reads the newest evidence of each resilience activity (a measure's
-- last test, or what a host agent last reported) every assessment. Agents report every few
-- minutes, so an activity can hold thousands of evidence rows; with this index the newest
-- one is a single index seek instead of a sort of all of them.
CREATE INDEX evidence_activity_recorded ON evidence (activity_id, recorded_at, id);
