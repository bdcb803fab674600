-- The day a finding's due date counts from: its first sighting, or the day it came back after
-- a fix. Kept so that a change of the due-date policy can reschedule findings without
-- guessing. Existing findings count from the last time a scan reopened them after a fix
-- (the audit log says when), else from their first sighting.
ALTER TABLE vuln_findings ADD COLUMN due_from TEXT NOT NULL DEFAULT '1970-01-01';
UPDATE vuln_findings SET due_from = COALESCE(
    (SELECT date(max(a.at)) FROM audit_log a
      WHERE a.entity_type = 'vuln_finding' AND a.entity_id = vuln_findings.id
        AND a.action = 'reopen' AND json_extract(a.before, '$.state') = 'fixed'),
    date(first_seen));
