-- Patch management: hosts enrolled by an agent, what each reports (OS, kernel, packages,
-- pending updates, reboot flag, uptime, posture facts), the updates it has since installed,
-- and the policy that gives every pending update a due date.

-- Operators mint enrollment tokens; an agent trades one for its own host credential.
-- Only SHA-256 hashes of either secret are stored, like API tokens.
CREATE TABLE patch_enrollment_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    revoked_at TEXT,
    uses INTEGER NOT NULL DEFAULT 0
);

-- Rings (canary, pilot, broad): hosts install an approved patch set in their ring's
-- maintenance window; the next ring gets it after this one succeeded and the soak passed.
CREATE TABLE patch_rings (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    position INTEGER NOT NULL UNIQUE,
    soak_hours INTEGER NOT NULL,
    window_rrule TEXT NOT NULL,
    -- Local start of the first window, ISO `YYYY-MM-DDTHH:MM:SS` in window_timezone.
    window_start TEXT NOT NULL,
    window_timezone TEXT NOT NULL,
    window_minutes INTEGER NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE patch_hosts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    hostname TEXT NOT NULL UNIQUE,
    credential_hash TEXT NOT NULL UNIQUE,
    enrollment_token_id INTEGER REFERENCES patch_enrollment_tokens(id) ON DELETE SET NULL,
    ring_id INTEGER REFERENCES patch_rings(id) ON DELETE SET NULL,
    enrolled_at TEXT NOT NULL,
    -- The agent's report counter: a report at or below it was applied already (a retry),
    -- a delta must name it as its base.
    last_sequence INTEGER,
    last_report_at TEXT,
    os_id TEXT NOT NULL DEFAULT '',
    os_name TEXT NOT NULL DEFAULT '',
    kernel TEXT NOT NULL DEFAULT '',
    package_manager TEXT,
    reboot_required BOOLEAN NOT NULL DEFAULT FALSE,
    reboot_packages TEXT NOT NULL DEFAULT '[]',
    uptime_seconds INTEGER,
    firewall_active BOOLEAN,
    av_edr_running BOOLEAN,
    unattended_upgrades BOOLEAN
);

CREATE TABLE patch_host_packages (
    host_id INTEGER NOT NULL REFERENCES patch_hosts(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    arch TEXT NOT NULL,
    version TEXT NOT NULL,
    source TEXT NOT NULL,
    source_version TEXT NOT NULL,
    PRIMARY KEY (host_id, name, arch)
);

-- Updates a host reports as pending now. `first_seen_at` survives newer candidates: the host
-- has been behind since then. `due_at` is fixed by the policy when first seen.
CREATE TABLE patch_pending (
    host_id INTEGER NOT NULL REFERENCES patch_hosts(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    arch TEXT NOT NULL,
    installed_version TEXT NOT NULL,
    candidate_version TEXT NOT NULL,
    source TEXT NOT NULL,
    suites TEXT NOT NULL DEFAULT '[]',
    security BOOLEAN NOT NULL,
    severity TEXT CHECK (severity IN ('critical', 'high', 'medium', 'low')),
    first_seen_at TEXT NOT NULL,
    due_at TEXT NOT NULL,
    PRIMARY KEY (host_id, name, arch)
);
CREATE INDEX patch_pending_due ON patch_pending (due_at);

-- Pending updates that went away (installed): the history and the time to patch.
CREATE TABLE patch_resolved (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    host_id INTEGER NOT NULL REFERENCES patch_hosts(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    arch TEXT NOT NULL,
    from_version TEXT NOT NULL,
    to_version TEXT NOT NULL,
    security BOOLEAN NOT NULL,
    first_seen_at TEXT NOT NULL,
    due_at TEXT NOT NULL,
    resolved_at TEXT NOT NULL
);
CREATE INDEX patch_resolved_host ON patch_resolved (host_id, resolved_at);
CREATE INDEX patch_resolved_at ON patch_resolved (resolved_at);

CREATE TABLE patch_reports (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    host_id INTEGER NOT NULL REFERENCES patch_hosts(id) ON DELETE CASCADE,
    sequence INTEGER NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('full', 'delta')),
    collected_at TEXT NOT NULL,
    received_at TEXT NOT NULL,
    package_count INTEGER NOT NULL,
    pending_count INTEGER NOT NULL,
    security_count INTEGER NOT NULL,
    UNIQUE (host_id, sequence)
);

-- One row: days to install a security update by severity, months for the others.
CREATE TABLE patch_policy (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    critical_days INTEGER NOT NULL,
    high_days INTEGER NOT NULL,
    other_security_days INTEGER NOT NULL,
    non_security_months INTEGER NOT NULL,
    updated_at TEXT NOT NULL
);
INSERT INTO patch_policy (id, critical_days, high_days, other_security_days, non_security_months, updated_at)
VALUES (1, 7, 14, 30, 1, '1970-01-01T00:00:00Z');

-- An operator's approval of a patch set (package names) for a ring, or its promotion.
CREATE TABLE patch_approvals (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ring_id INTEGER NOT NULL REFERENCES patch_rings(id) ON DELETE CASCADE,
    packages TEXT NOT NULL,
    approved_by TEXT NOT NULL,
    approved_at TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('approved', 'succeeded', 'failed')),
    finished_at TEXT,
    promoted_from INTEGER REFERENCES patch_approvals(id) ON DELETE SET NULL
);

-- The evidence of one host installing one approval.
CREATE TABLE patch_runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    approval_id INTEGER NOT NULL REFERENCES patch_approvals(id) ON DELETE CASCADE,
    host_id INTEGER NOT NULL REFERENCES patch_hosts(id) ON DELETE CASCADE,
    started_at TEXT NOT NULL,
    finished_at TEXT NOT NULL,
    command TEXT NOT NULL,
    exit_code INTEGER,
    output TEXT NOT NULL,
    upgraded TEXT NOT NULL,
    reboot_required BOOLEAN NOT NULL,
    succeeded BOOLEAN NOT NULL,
    UNIQUE (approval_id, host_id)
);
