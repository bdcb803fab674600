//! The resilience practice: prove that redundancy works by breaking things on purpose.
//!
//! [`register`] keeps the resilience measures per asset (RAID, multipath, failover, backup and
//! restore, redundant network and power, DR site) with their test procedures and the
//! calendar activities that schedule their tests and hold every result as evidence.
//!
//! [`health`] checks what a host can see of its own redundancy: software RAID
//! (`/proc/mdstat`), multipath (`multipathd show paths`), backup freshness and restore tests.
//!
//! [`experiment`] runs chaos experiments written for Chaos Toolkit and writes their journal.
//!
//! [`monkey`] injects random faults into opted-in targets only, within windows and limits.
//!
//! [`faultproxy`] is a TCP proxy that injects network faults (latency, bandwidth limits,
//! timeouts, resets, slicing, data limits) between a client and a service, driven through
//! an HTTP API compatible with Toxiproxy's, so existing Toxiproxy clients and chaos
//! experiments work against it unchanged.

pub mod experiment;
pub mod faultproxy;
pub mod health;
pub mod monkey;
pub mod practice;
pub mod register;
