-- Reboots are never automatic unless the policy says so: a ring's policy (default never),
-- an approval's own for its ring (NULL: the ring's), and what the agent decided after each
-- run ({"policy", "decision", "command"}; NULL from agents without reboot policies).
ALTER TABLE patch_rings ADD COLUMN reboot_policy TEXT NOT NULL DEFAULT 'never'
    CHECK (reboot_policy IN ('never', 'if-required'));
ALTER TABLE patch_approvals ADD COLUMN reboot_policy TEXT
    CHECK (reboot_policy IN ('never', 'if-required'));
ALTER TABLE patch_runs ADD COLUMN reboot JSONB;
