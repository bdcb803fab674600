-- pip and npm global packages that a host's agent was asked to collect, each in its OSV
-- ecosystem so the vulnerability matcher can use them. Every report replaces the host's list.
CREATE TABLE patch_host_language_packages (
    host_id INTEGER NOT NULL REFERENCES patch_hosts(id) ON DELETE CASCADE,
    ecosystem TEXT NOT NULL CHECK (ecosystem IN ('PyPI', 'npm')),
    -- The Python interpreter it was listed for, or npm's global node_modules directory.
    location TEXT NOT NULL,
    name TEXT NOT NULL,
    version TEXT NOT NULL,
    PRIMARY KEY (host_id, ecosystem, location, name)
);

-- What the agent could not collect for its last report (a tool missing, a timeout): a list
-- of sentences.
ALTER TABLE patch_hosts ADD COLUMN collection_notes TEXT NOT NULL DEFAULT '[]';
