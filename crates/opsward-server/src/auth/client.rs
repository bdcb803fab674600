//! Who is on the other end of a connection: the TCP peer, or, when that peer is one of the
//! configured `trusted_proxies`, what its `X-Forwarded-For` / `X-Forwarded-Proto` say.
//! Anyone else's forwarding headers are ignored: a client could otherwise pick the address
//! the login rate limit counts against, or have cookies marked as if it came over TLS.

use axum::http::HeaderMap;
use ipnet::IpNet;
use std::net::IpAddr;

fn trusted(proxies: &[IpNet], peer: IpAddr) -> bool {
    let peer = match peer {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(peer, IpAddr::V4),
        v4 => v4,
    };
    proxies.iter().any(|net| net.contains(&peer))
}

/// The client's address: the peer, or the right-most untrusted address of
/// `X-Forwarded-For` when the peer is a trusted proxy (each proxy appends the address it saw,
/// so the entries left of the last untrusted one could have been written by the client).
pub fn client_ip(proxies: &[IpNet], peer: IpAddr, headers: &HeaderMap) -> IpAddr {
    if !trusted(proxies, peer) {
        return peer;
    }
    let hops: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .map(|hop| hop.parse::<IpAddr>().ok())
        .collect::<Option<Vec<_>>>()
        .unwrap_or_default();
    hops.iter()
        .rev()
        .find(|hop| !trusted(proxies, **hop))
        .or(hops.first())
        .copied()
        .unwrap_or(peer)
}

/// Whether the browser reached us over HTTPS according to a trusted proxy.
pub fn forwarded_https(proxies: &[IpNet], peer: IpAddr, headers: &HeaderMap) -> bool {
    trusted(proxies, peer)
        && headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn only_trusted_proxies_are_believed() {
        let proxies: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let h = headers(&[
            ("x-forwarded-for", "198.51.100.7, 203.0.113.9"),
            ("x-forwarded-proto", "https"),
        ]);
        let stranger: IpAddr = "192.0.2.1".parse().unwrap();
        assert_eq!(client_ip(&proxies, stranger, &h), stranger);
        assert!(!forwarded_https(&proxies, stranger, &h));
        assert!(!forwarded_https(&[], stranger, &h), "default: trust nobody");
        let proxy: IpAddr = "10.1.2.3".parse().unwrap();
        assert_eq!(
            client_ip(&proxies, proxy, &h),
            "203.0.113.9".parse::<IpAddr>().unwrap()
        );
        assert!(forwarded_https(&proxies, proxy, &h));
        let mapped: IpAddr = "::ffff:10.1.2.3".parse().unwrap();
        assert!(forwarded_https(&proxies, mapped, &h));
        let garbage = headers(&[("x-forwarded-for", "not an address")]);
        assert_eq!(client_ip(&proxies, proxy, &garbage), proxy);
    }
}
