-- Suppliers: the register, their contracts with notice deadlines and renewals, periodic
-- reviews with weighted scorecards and action items, and links to backlog items they
-- caused or that wait on them. Dates without a time of day (contract terms, review dates)
-- are ISO `YYYY-MM-DD` text, which sorts and compares like a date.

CREATE TABLE suppliers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    category TEXT NOT NULL DEFAULT '',
    criticality TEXT NOT NULL CHECK (criticality IN ('critical', 'high', 'medium', 'low')),
    contacts TEXT NOT NULL DEFAULT '[]',
    notes TEXT NOT NULL DEFAULT '',
    asset_ids TEXT NOT NULL DEFAULT '[]',
    owner_team_id INTEGER REFERENCES teams(id) ON DELETE SET NULL,
    owner_person_id INTEGER REFERENCES people(id) ON DELETE SET NULL,
    -- The calendar activity that schedules this supplier's reviews.
    review_activity_id INTEGER REFERENCES activities(id) ON DELETE SET NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX suppliers_criticality ON suppliers (criticality);

CREATE TABLE contracts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    supplier_id INTEGER NOT NULL REFERENCES suppliers(id) ON DELETE CASCADE,
    title TEXT NOT NULL,
    reference TEXT NOT NULL DEFAULT '',
    start_date TEXT NOT NULL,
    -- End of the current term. Tacit renewals move it; `anchor_end_date` is the end of the
    -- first term, from which every later end is counted so month-end clamping never drifts.
    end_date TEXT NOT NULL,
    anchor_end_date TEXT NOT NULL,
    renewal_count INTEGER NOT NULL DEFAULT 0,
    notice_amount INTEGER NOT NULL,
    notice_unit TEXT NOT NULL CHECK (notice_unit IN ('days', 'months')),
    renewal_type TEXT NOT NULL CHECK (renewal_type IN ('automatic', 'express')),
    renewal_term_months INTEGER NOT NULL,
    -- Decimal text (`48000.00`) so money is never rounded through floating point.
    value TEXT,
    currency TEXT,
    owner_team_id INTEGER REFERENCES teams(id) ON DELETE SET NULL,
    owner_person_id INTEGER REFERENCES people(id) ON DELETE SET NULL,
    -- The decision taken for the current term, if any; cleared when a new term starts.
    term_decision TEXT CHECK (term_decision IN ('renew', 'terminate', 'renegotiate')),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX contracts_supplier ON contracts (supplier_id);
CREATE INDEX contracts_end ON contracts (end_date);

CREATE TABLE contract_decisions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    contract_id INTEGER NOT NULL REFERENCES contracts(id) ON DELETE CASCADE,
    decision TEXT NOT NULL CHECK (decision IN ('renew', 'terminate', 'renegotiate')),
    -- The end of the term the decision was about.
    term_end_date TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    decided_by TEXT NOT NULL,
    decided_at TEXT NOT NULL
);
CREATE INDEX contract_decisions_contract ON contract_decisions (contract_id);

-- One row per term change; the unique key makes a roll-forward of one term happen once.
CREATE TABLE contract_renewals (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    contract_id INTEGER NOT NULL REFERENCES contracts(id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('tacit', 'express')),
    from_end_date TEXT NOT NULL,
    to_end_date TEXT NOT NULL,
    renewed_by TEXT NOT NULL,
    renewed_at TEXT NOT NULL,
    UNIQUE (contract_id, from_end_date)
);

CREATE TABLE contract_documents (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    contract_id INTEGER NOT NULL REFERENCES contracts(id) ON DELETE CASCADE,
    filename TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    -- Content address in the attachment store shared with evidence.
    sha256 TEXT NOT NULL,
    uploaded_by TEXT NOT NULL,
    uploaded_at TEXT NOT NULL
);
CREATE INDEX contract_documents_contract ON contract_documents (contract_id);

CREATE TABLE scorecard_criteria (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL UNIQUE,
    label TEXT NOT NULL,
    weight INTEGER NOT NULL CHECK (weight BETWEEN 0 AND 100),
    position INTEGER NOT NULL,
    active BOOLEAN NOT NULL DEFAULT TRUE
);
INSERT INTO scorecard_criteria (key, label, weight, position) VALUES
    ('quality', 'Quality', 25, 1),
    ('delivery', 'Delivery', 20, 2),
    ('responsiveness', 'Responsiveness', 20, 3),
    ('cost', 'Cost', 15, 4),
    ('security', 'Security and compliance', 20, 5);

CREATE TABLE supplier_reviews (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    supplier_id INTEGER NOT NULL REFERENCES suppliers(id) ON DELETE CASCADE,
    review_date TEXT NOT NULL,
    period_start TEXT NOT NULL,
    outcome TEXT NOT NULL CHECK (outcome IN ('satisfactory', 'improvement_required', 'unsatisfactory')),
    notes TEXT NOT NULL DEFAULT '',
    attendees TEXT NOT NULL DEFAULT '[]',
    -- The numbers taken from the data when the review was recorded, kept as they were.
    objective TEXT NOT NULL,
    evidence_id INTEGER REFERENCES evidence(id) ON DELETE SET NULL,
    recorded_by TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX supplier_reviews_supplier ON supplier_reviews (supplier_id, review_date);

-- Criterion label and weight are copied, so later changes to the criteria leave old
-- scorecards as they were scored.
CREATE TABLE supplier_review_scores (
    review_id INTEGER NOT NULL REFERENCES supplier_reviews(id) ON DELETE CASCADE,
    criterion TEXT NOT NULL,
    label TEXT NOT NULL,
    weight INTEGER NOT NULL,
    score INTEGER NOT NULL CHECK (score BETWEEN 1 AND 5),
    PRIMARY KEY (review_id, criterion)
);

CREATE TABLE supplier_review_actions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    review_id INTEGER NOT NULL REFERENCES supplier_reviews(id) ON DELETE CASCADE,
    title TEXT NOT NULL,
    owner_person_id INTEGER REFERENCES people(id) ON DELETE SET NULL,
    due_date TEXT,
    done BOOLEAN NOT NULL DEFAULT FALSE,
    done_at TEXT,
    done_by TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX supplier_review_actions_review ON supplier_review_actions (review_id);

CREATE TABLE supplier_backlog_links (
    supplier_id INTEGER NOT NULL REFERENCES suppliers(id) ON DELETE CASCADE,
    item_id INTEGER NOT NULL REFERENCES backlog_items(id) ON DELETE CASCADE,
    relation TEXT NOT NULL CHECK (relation IN ('caused_by', 'waiting_on')),
    created_at TEXT NOT NULL,
    PRIMARY KEY (supplier_id, item_id, relation)
);
CREATE INDEX supplier_backlog_links_item ON supplier_backlog_links (item_id);
