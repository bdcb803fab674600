//! Integration tests of opsward-vulns against the real advisory data in `../shared/data`.

mod exposure;
mod hosts;
mod loading;
mod real_data;
mod store;
