-- Customer engagement: customers and their contacts, satisfaction surveys with signed
-- single-use links, and service reviews with their action items.

CREATE TABLE customers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    notes TEXT NOT NULL DEFAULT '',
    owner_team_id INTEGER REFERENCES teams(id) ON DELETE SET NULL,
    owner_person_id INTEGER REFERENCES people(id) ON DELETE SET NULL,
    -- The services/assets the customer uses.
    asset_ids TEXT NOT NULL DEFAULT '[]',
    -- The recurring service review in the calendar.
    review_activity_id INTEGER REFERENCES activities(id) ON DELETE SET NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE customer_contacts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    email TEXT NOT NULL,
    role TEXT NOT NULL DEFAULT '',
    -- Contacts who asked not to be surveyed.
    surveys_opt_out INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);
CREATE INDEX customer_contacts_customer ON customer_contacts (customer_id);

-- Which customer (and contact) raised a backlog item: the item's resolution is what a CSAT
-- survey asks about.
CREATE TABLE customer_items (
    item_id INTEGER PRIMARY KEY REFERENCES backlog_items(id) ON DELETE CASCADE,
    customer_id INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    contact_id INTEGER REFERENCES customer_contacts(id) ON DELETE SET NULL,
    linked_at TEXT NOT NULL
);
CREATE INDEX customer_items_customer ON customer_items (customer_id);

-- One row: how surveys go out. The signing key never leaves the database.
CREATE TABLE survey_settings (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    channel_id INTEGER REFERENCES notification_channels(id) ON DELETE SET NULL,
    base_url TEXT NOT NULL,
    csat_delay_minutes INTEGER NOT NULL,
    sampling_percent INTEGER NOT NULL,
    throttle_days INTEGER NOT NULL,
    link_valid_days INTEGER NOT NULL,
    nps_interval_days INTEGER NOT NULL,
    sampling_seed TEXT NOT NULL,
    signing_key TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- Every survey decision, sent or not, so that an item is considered exactly once.
CREATE TABLE surveys (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL CHECK (kind IN ('csat', 'nps')),
    customer_id INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    contact_id INTEGER REFERENCES customer_contacts(id) ON DELETE SET NULL,
    item_id INTEGER REFERENCES backlog_items(id) ON DELETE SET NULL,
    state TEXT NOT NULL CHECK (state IN ('sent', 'answered', 'skipped')),
    skip_reason TEXT,
    created_at TEXT NOT NULL,
    expires_at TEXT,
    answered_at TEXT,
    score INTEGER,
    comment TEXT,
    followup_item_id INTEGER REFERENCES backlog_items(id) ON DELETE SET NULL
);
CREATE UNIQUE INDEX surveys_one_csat_per_item ON surveys (item_id) WHERE kind = 'csat';
CREATE INDEX surveys_contact ON surveys (contact_id, created_at);
CREATE INDEX surveys_customer ON surveys (customer_id, kind, created_at);

CREATE TABLE service_reviews (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    period_start TEXT NOT NULL,
    period_end TEXT NOT NULL,
    held_on TEXT NOT NULL,
    attendees TEXT NOT NULL DEFAULT '[]',
    notes TEXT NOT NULL DEFAULT '',
    evidence_id INTEGER REFERENCES evidence(id) ON DELETE SET NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX service_reviews_customer ON service_reviews (customer_id, held_on);

CREATE TABLE review_actions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    review_id INTEGER NOT NULL REFERENCES service_reviews(id) ON DELETE CASCADE,
    title TEXT NOT NULL,
    owner_person_id INTEGER REFERENCES people(id) ON DELETE SET NULL,
    due_on TEXT,
    done_at TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX review_actions_review ON review_actions (review_id);
