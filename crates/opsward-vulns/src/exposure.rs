//! Port exposure: a TCP connect scan of a host's ports (bounded concurrency, a timeout on
//! every connect) judged against an allowed-ports policy. An open port the policy does not
//! allow is an exposure.

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// A set of TCP ports written as `22,443,8000-8080`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PortSet(BTreeSet<u16>);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ExposureError {
    #[error("ports: {0:?} is not a port (1-65535) or a range of them (low-high)")]
    BadPorts(String),
    #[error("host {host}: {reason}")]
    Resolve { host: String, reason: String },
}

impl std::str::FromStr for PortSet {
    type Err = ExposureError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut ports = BTreeSet::new();
        let bad = |part: &str| ExposureError::BadPorts(part.to_owned());
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let port = |s: &str| match s.trim().parse::<u16>() {
                Ok(p) if p > 0 => Ok(p),
                _ => Err(bad(part)),
            };
            match part.split_once('-') {
                Some((low, high)) => {
                    let (low, high) = (port(low)?, port(high)?);
                    if low > high {
                        return Err(bad(part));
                    }
                    ports.extend(low..=high);
                }
                None => {
                    ports.insert(port(part)?);
                }
            }
        }
        Ok(PortSet(ports))
    }
}

impl PortSet {
    pub fn contains(&self, port: u16) -> bool {
        self.0.contains(&port)
    }
    pub fn ports(&self) -> impl Iterator<Item = u16> + '_ {
        self.0.iter().copied()
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// The ports in either set.
    pub fn union(&self, other: &PortSet) -> PortSet {
        PortSet(self.0.union(&other.0).copied().collect())
    }
}

opsward_core::text_enum! {
    /// What a connect to a port found.
    PortState {
        /// The connect succeeded.
        Open => "open",
        /// Refused: nothing listens.
        Closed => "closed",
        /// No answer within the timeout (dropped by a firewall or an overloaded listener).
        Filtered => "filtered",
    }
}

/// One scanned port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PortResult {
    pub port: u16,
    pub state: PortState,
}

/// How a scan runs.
#[derive(Debug, Clone, Copy)]
pub struct ScanLimits {
    /// Connects in flight at once.
    pub concurrency: usize,
    /// For each connect, and for resolving the host.
    pub timeout: Duration,
}

impl Default for ScanLimits {
    fn default() -> Self {
        ScanLimits {
            concurrency: 64,
            timeout: Duration::from_secs(2),
        }
    }
}

/// Resolves `host` (a name or an address) to one address, within the timeout.
pub async fn resolve(host: &str, timeout: Duration) -> Result<IpAddr, ExposureError> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(ip);
    }
    let error = |reason: String| ExposureError::Resolve {
        host: host.to_owned(),
        reason,
    };
    match tokio::time::timeout(timeout, tokio::net::lookup_host((host, 0))).await {
        Err(_) => Err(error(format!("no answer within {timeout:?}"))),
        Ok(Err(e)) => Err(error(e.to_string())),
        Ok(Ok(mut addrs)) => addrs
            .next()
            .map(|a| a.ip())
            .ok_or_else(|| error("no address".into())),
    }
}

/// Connects to every port of `ports` on `ip`, at most `limits.concurrency` at once, each
/// given `limits.timeout`. Results are in port order.
pub async fn scan(ip: IpAddr, ports: &PortSet, limits: ScanLimits) -> Vec<PortResult> {
    let permits = Arc::new(Semaphore::new(limits.concurrency.max(1)));
    let mut tasks = JoinSet::new();
    for port in ports.ports() {
        let permits = Arc::clone(&permits);
        let timeout = limits.timeout;
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await;
            let state =
                match tokio::time::timeout(timeout, TcpStream::connect(SocketAddr::new(ip, port)))
                    .await
                {
                    Ok(Ok(_stream)) => PortState::Open,
                    Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                        PortState::Closed
                    }
                    // Unreachable networks and the like: nothing answered on that port.
                    Ok(Err(_)) | Err(_) => PortState::Filtered,
                };
            PortResult { port, state }
        });
    }
    let mut results = Vec::with_capacity(ports.len());
    while let Some(done) = tasks.join_next().await {
        if let Ok(result) = done {
            results.push(result);
        }
    }
    results.sort_by_key(|r| r.port);
    results
}

/// The open ports `allowed` does not contain: the exposures.
pub fn exposures(results: &[PortResult], allowed: &PortSet) -> Vec<u16> {
    results
        .iter()
        .filter(|r| r.state == PortState::Open && !allowed.contains(r.port))
        .map(|r| r.port)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_sets_parse_lists_and_ranges() {
        let set: PortSet = "22, 443,8000-8002,22".parse().unwrap();
        assert_eq!(
            set.ports().collect::<Vec<_>>(),
            vec![22, 443, 8000, 8001, 8002]
        );
        assert_eq!("1-1024".parse::<PortSet>().unwrap().len(), 1024);
        assert!("".parse::<PortSet>().unwrap().is_empty());
        for bad in ["0", "65536", "10-5", "ssh", "1-", "-3"] {
            assert_eq!(
                bad.parse::<PortSet>(),
                Err(ExposureError::BadPorts(bad.into())),
                "{bad}"
            );
        }
    }

    #[test]
    fn only_open_ports_outside_the_policy_are_exposures() {
        let results = [
            PortResult {
                port: 22,
                state: PortState::Open,
            },
            PortResult {
                port: 23,
                state: PortState::Open,
            },
            PortResult {
                port: 80,
                state: PortState::Closed,
            },
            PortResult {
                port: 3306,
                state: PortState::Filtered,
            },
            PortResult {
                port: 8080,
                state: PortState::Open,
            },
        ];
        let allowed: PortSet = "22,443".parse().unwrap();
        assert_eq!(exposures(&results, &allowed), vec![23, 8080]);
    }
}
