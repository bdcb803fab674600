//! Integration tests of opsward-vulns against the real advisory data in `../shared/data`.

mod due_policy;
mod exposure;
mod exposure_findings;
mod feeds;
mod loading;
mod overdue;
mod practice;
mod real_data;
mod store;
