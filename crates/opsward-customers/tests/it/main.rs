//! Customer engagement on SQLite and PostgreSQL: surveys (sampling, throttling, links,
//! follow-ups, delivery through a real SMTP server) and service reviews.

mod reviews;
mod support;
mod surveys;
