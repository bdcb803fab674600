//! What a TLS scan is pointed at, beyond `host:port`: address ranges (CIDR) times ports, and
//! registered assets (their address or host name, with the host name as SNI, on their own
//! ports or a default list). Everything expands to `host:port` targets before scanning.

use crate::error::EndpointError;
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use thiserror::Error;

/// Most endpoints (addresses times ports) one scan may expand to: a /20 on one port, or a
/// /24 on 16. A larger sweep is a port scanner's job, and would run for hours here.
pub const MAX_EXPANDED_ENDPOINTS: usize = 4096;

/// Ports tried on an asset that names none: implicit-TLS ports in common use.
pub const DEFAULT_ASSET_PORTS: [u16; 6] = [443, 8443, 465, 636, 993, 995];

#[derive(Debug, Error, PartialEq, Eq)]
pub enum TargetError {
    #[error("invalid address range {0:?}: expected 10.0.0.0/24, 10.0.0.0/24:443,8443 or [2001:db8::/120]:443")]
    BadRange(String),
    #[error("invalid port list {0:?}: expected ports 1-65535 separated by commas")]
    BadPorts(String),
    #[error("{what} expands to {count} endpoints; at most {MAX_EXPANDED_ENDPOINTS} per scan (use a longer prefix or fewer ports)")]
    TooLarge { what: String, count: u128 },
    #[error("no asset named {0:?}")]
    UnknownAsset(String),
    #[error("asset {0:?} has no TLS address or host name set (`opsward cert asset set {0} --hostname ...`)")]
    AssetWithoutAddress(String),
}

/// `443,8443` as ports; empty, zero or out-of-range ports are refused.
pub fn parse_ports(text: &str) -> Result<Vec<u16>, TargetError> {
    let mut ports = Vec::new();
    for part in text.split(',') {
        let port: u16 = part
            .trim()
            .parse()
            .map_err(|_| TargetError::BadPorts(text.to_owned()))?;
        if port == 0 {
            return Err(TargetError::BadPorts(text.to_owned()));
        }
        if !ports.contains(&port) {
            ports.push(port);
        }
    }
    Ok(ports)
}

/// Whether `text` names an address range (it has a `/prefix`) rather than one endpoint.
pub fn is_range(text: &str) -> bool {
    text.contains('/')
}

/// An address range with the ports to try on each address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RangeTarget {
    pub network: IpAddr,
    pub prefix: u8,
    pub ports: Vec<u16>,
}

impl RangeTarget {
    /// `10.0.0.0/30`, `10.0.0.0/30:443,8443`, `2001:db8::/126`, `2001:db8::/126:443` or
    /// `[2001:db8::/126]:443`. Without ports, `default_ports`.
    pub fn parse(text: &str, default_ports: &[u16]) -> Result<RangeTarget, TargetError> {
        let bad = || TargetError::BadRange(text.to_owned());
        let trimmed = text.trim();
        let (cidr, ports) = if let Some(rest) = trimmed.strip_prefix('[') {
            let (cidr, after) = rest.split_once(']').ok_or_else(bad)?;
            match after.strip_prefix(':') {
                Some(ports) => (cidr, Some(ports)),
                None if after.is_empty() => (cidr, None),
                None => return Err(bad()),
            }
        } else {
            let (address, tail) = trimmed.split_once('/').ok_or_else(bad)?;
            match tail.split_once(':') {
                Some((prefix, ports)) => {
                    (&trimmed[..address.len() + 1 + prefix.len()], Some(ports))
                }
                None => (trimmed, None),
            }
        };
        let (address, prefix) = cidr.split_once('/').ok_or_else(bad)?;
        let address: IpAddr = address.parse().map_err(|_| bad())?;
        let prefix: u8 = prefix.parse().map_err(|_| bad())?;
        let max = if address.is_ipv4() { 32 } else { 128 };
        if prefix > max {
            return Err(bad());
        }
        let ports = match ports {
            Some(p) => parse_ports(p)?,
            None => default_ports.to_vec(),
        };
        if ports.is_empty() {
            return Err(TargetError::BadPorts(String::new()));
        }
        let range = RangeTarget {
            network: mask(address, prefix),
            prefix,
            ports,
        };
        let count = range
            .addresses_len()
            .saturating_mul(range.ports.len() as u128);
        if count > MAX_EXPANDED_ENDPOINTS as u128 {
            return Err(TargetError::TooLarge {
                what: text.to_owned(),
                count,
            });
        }
        Ok(range)
    }

    fn addresses_len(&self) -> u128 {
        let bits = if self.network.is_ipv4() { 32 } else { 128 };
        1u128
            .checked_shl(bits - u32::from(self.prefix))
            .unwrap_or(u128::MAX)
    }

    /// Every address of the range (all of them: a sweep of `/30` tries four), each with
    /// every port, as `host:port` targets.
    pub fn endpoints(&self) -> Vec<String> {
        let mut out = Vec::new();
        for i in 0..self.addresses_len() {
            let address = match self.network {
                IpAddr::V4(v4) => IpAddr::V4(Ipv4Addr::from(u32::from(v4).wrapping_add(i as u32))),
                IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from(u128::from(v6).wrapping_add(i))),
            };
            for port in &self.ports {
                out.push(endpoint(&address.to_string(), *port));
            }
        }
        out
    }
}

fn mask(address: IpAddr, prefix: u8) -> IpAddr {
    match address {
        IpAddr::V4(v4) => {
            let keep = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V4(Ipv4Addr::from(u32::from(v4) & keep))
        }
        IpAddr::V6(v6) => {
            let keep = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V6(Ipv6Addr::from(u128::from(v6) & keep))
        }
    }
}

/// `host:port`, with IPv6 addresses in brackets.
pub fn endpoint(host: &str, port: u16) -> String {
    if host.parse::<Ipv6Addr>().is_ok() {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// Where an asset's TLS endpoints are: set per asset for the certificates practice.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssetEndpoints {
    pub asset_id: i64,
    pub asset_name: String,
    /// The name clients use: sent as SNI and checked against the certificate.
    pub hostname: Option<String>,
    /// Where to connect when it differs from `hostname` (IP addresses or other names,
    /// separated by commas): each address is its own place.
    pub address: Option<String>,
    /// Empty: [`DEFAULT_ASSET_PORTS`].
    pub ports: Vec<u16>,
}

/// One endpoint of an asset: where to connect, and the name the certificate must carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssetTarget {
    pub asset_id: i64,
    /// `host:port` connected to.
    pub location: String,
    /// SNI, when the asset has a host name and it is not what is connected to.
    pub sni: Option<String>,
}

impl AssetEndpoints {
    /// The asset's endpoints. The host name is the SNI; the connection goes to the address
    /// when one is set, else to the host name.
    /// With several addresses, each address on each port, the host name sent to all.
    pub fn targets(&self, override_ports: &[u16]) -> Result<Vec<AssetTarget>, TargetError> {
        let connect: Vec<&str> = match self.address.as_deref() {
            Some(addresses) => split_addresses(addresses).collect(),
            None => self.hostname.as_deref().into_iter().collect(),
        };
        let connect: Vec<&str> = connect.into_iter().filter(|a| !a.is_empty()).collect();
        if connect.is_empty() {
            return Err(TargetError::AssetWithoutAddress(self.asset_name.clone()));
        }
        let ports: &[u16] = if !override_ports.is_empty() {
            override_ports
        } else if !self.ports.is_empty() {
            &self.ports
        } else {
            &DEFAULT_ASSET_PORTS
        };
        let mut out = Vec::with_capacity(connect.len() * ports.len());
        for address in connect {
            let sni = self
                .hostname
                .clone()
                .filter(|h| h.parse::<IpAddr>().is_err() && h != address);
            out.extend(ports.iter().map(|p| AssetTarget {
                asset_id: self.asset_id,
                location: endpoint(address, *p),
                sni: sni.clone(),
            }));
        }
        Ok(out)
    }
}

/// The addresses of an asset's address field: separated by commas (or spaces), in brackets
/// or not.
pub fn split_addresses(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| c == ',' || c.is_whitespace())
        .map(|a| a.trim().trim_start_matches('[').trim_end_matches(']'))
        .filter(|a| !a.is_empty())
}

/// Whether an endpoint error means only that nothing listens there. A sweep of a range or
/// of an asset's default ports reports these as absent rather than as failures.
pub fn nothing_listens(error: &EndpointError) -> bool {
    match error {
        EndpointError::Connect(e) => matches!(
            e.kind(),
            std::io::ErrorKind::ConnectionRefused
                | std::io::ErrorKind::HostUnreachable
                | std::io::ErrorKind::NetworkUnreachable
                | std::io::ErrorKind::AddrNotAvailable
        ),
        EndpointError::ConnectTimeout(_) => true,
        _ => false,
    }
}

/// Refuse a scan whose targets add up to more than [`MAX_EXPANDED_ENDPOINTS`].
pub fn check_total(count: usize) -> Result<(), TargetError> {
    if count > MAX_EXPANDED_ENDPOINTS {
        return Err(TargetError::TooLarge {
            what: "this scan".into(),
            count: count as u128,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_ranges_expand_to_every_address_and_port() {
        let r = RangeTarget::parse("10.0.0.1/30:443,8443", &[443]).unwrap();
        assert_eq!(r.network.to_string(), "10.0.0.0");
        assert_eq!(
            r.endpoints(),
            [
                "10.0.0.0:443",
                "10.0.0.0:8443",
                "10.0.0.1:443",
                "10.0.0.1:8443",
                "10.0.0.2:443",
                "10.0.0.2:8443",
                "10.0.0.3:443",
                "10.0.0.3:8443"
            ]
        );
        let one = RangeTarget::parse("192.0.2.7/32", &[636]).unwrap();
        assert_eq!(one.endpoints(), ["192.0.2.7:636"]);
    }

    #[test]
    fn ipv6_ranges_with_or_without_brackets() {
        let a = RangeTarget::parse("[2001:db8::/127]:443", &[]).unwrap();
        let b = RangeTarget::parse("2001:db8::1/127:443", &[]).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.endpoints(), ["[2001:db8::]:443", "[2001:db8::1]:443"]);
        let c = RangeTarget::parse("::1/128", &[8443, 443]).unwrap();
        assert_eq!(c.endpoints(), ["[::1]:8443", "[::1]:443"]);
    }

    #[test]
    fn oversized_and_malformed_ranges_are_refused_with_the_reason() {
        let e = RangeTarget::parse("10.0.0.0/8:443", &[]).unwrap_err();
        assert!(matches!(
            e,
            TargetError::TooLarge {
                count: 16_777_216,
                ..
            }
        ));
        assert!(e.to_string().contains("at most 4096"), "{e}");
        assert!(matches!(
            RangeTarget::parse("2001:db8::/64", &[443]),
            Err(TargetError::TooLarge { .. })
        ));
        assert!(RangeTarget::parse("10.0.0.0/20", &[443]).is_ok());
        assert!(RangeTarget::parse(
            "10.0.0.0/24",
            &[443, 8443, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]
        )
        .is_err());
        for bad in [
            "10.0.0.0/33",
            "10.0.0.0/x",
            "host/24",
            "[::/120",
            "10.0.0.0/24:0",
            "10.0.0.0/24:",
        ] {
            assert!(RangeTarget::parse(bad, &[443]).is_err(), "{bad}");
        }
        assert!(parse_ports("443,x").is_err());
        assert_eq!(parse_ports("443, 8443,443").unwrap(), [443, 8443]);
    }

    #[test]
    fn asset_targets_connect_to_the_address_and_send_the_host_name() {
        let mut asset = AssetEndpoints {
            asset_id: 7,
            asset_name: "web".into(),
            hostname: Some("www.example.test".into()),
            address: Some("192.0.2.10".into()),
            ports: vec![],
        };
        let t = asset.targets(&[]).unwrap();
        assert_eq!(t.len(), DEFAULT_ASSET_PORTS.len());
        assert_eq!(t[0].location, "192.0.2.10:443");
        assert_eq!(t[0].sni.as_deref(), Some("www.example.test"));
        asset.address = None;
        asset.ports = vec![8443];
        let t = asset.targets(&[]).unwrap();
        assert_eq!(
            (t[0].location.as_str(), t[0].sni.as_deref()),
            ("www.example.test:8443", None)
        );
        assert_eq!(
            asset.targets(&[9443]).unwrap()[0].location,
            "www.example.test:9443"
        );
        asset.hostname = None;
        assert_eq!(
            asset.targets(&[]).unwrap_err(),
            TargetError::AssetWithoutAddress("web".into())
        );
    }
}
