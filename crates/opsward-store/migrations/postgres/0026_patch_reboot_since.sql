-- Since when a host has needed a reboot, so that "reboot required for longer than the
-- policy" is a condition; hosts that need one now are taken to have needed it since their
-- last report (the earliest the server can vouch for).
ALTER TABLE patch_hosts ADD COLUMN reboot_required_since TIMESTAMPTZ;
UPDATE patch_hosts SET reboot_required_since = last_report_at WHERE reboot_required;
ALTER TABLE patch_policy ADD COLUMN reboot_within_days BIGINT NOT NULL DEFAULT 7;
