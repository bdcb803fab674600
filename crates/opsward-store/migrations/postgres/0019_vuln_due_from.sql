-- The day a finding's due date counts from: its first sighting, or the day it came back after
-- a fix. Kept so that a change of the due-date policy can reschedule findings without
-- guessing. Existing findings count from the last time a scan reopened them after a fix
-- (the audit log says when), else from their first sighting (days in UTC, as the code counts).
ALTER TABLE vuln_findings ADD COLUMN due_from DATE;
UPDATE vuln_findings f SET due_from = COALESCE(
    (SELECT (max(a.at) AT TIME ZONE 'UTC')::date FROM audit_log a
      WHERE a.entity_type = 'vuln_finding' AND a.entity_id = f.id
        AND a.action = 'reopen' AND a.before ->> 'state' = 'fixed'),
    (f.first_seen AT TIME ZONE 'UTC')::date);
ALTER TABLE vuln_findings ALTER COLUMN due_from SET NOT NULL;
