//! Who the client of a request is, for the per-client limits: its address (the peer's,
//! or the one a trusted proxy names in `X-Forwarded-For`), and the key the limits count
//! it under (an IPv4 address, or the /64 network of an IPv6 address).

use std::fmt;
use std::net::{IpAddr, Ipv6Addr};

use actix_web::HttpRequest;

/// Bits of an IPv6 address that name the client's network: one customer line or host
/// usually holds a whole /64 and can rotate through it at will.
const IPV6_CLIENT_PREFIX_BITS: u32 = 64;

/// The client's address: the peer, or — when the peer is a trusted proxy — the last
/// address in `X-Forwarded-For` that is not itself a trusted proxy. IPv4 addresses that
/// arrive mapped into IPv6 (`::ffff:a.b.c.d`) are read as IPv4.
pub fn client_addr(req: &HttpRequest, trusted: &[IpAddr]) -> Option<IpAddr> {
    let peer = req.peer_addr()?.ip().to_canonical();
    if !trusted.contains(&peer) {
        return Some(peer);
    }
    let forwarded: Vec<IpAddr> = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|a| a.trim().parse::<IpAddr>().ok())
        .map(|a| a.to_canonical())
        .collect();
    Some(
        forwarded
            .into_iter()
            .rev()
            .find(|a| !trusted.contains(a))
            .unwrap_or(peer),
    )
}

/// The key a client is counted under by the per-client limits. Two addresses of one
/// IPv6 /64 are one client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientKey(IpAddr);

impl ClientKey {
    /// The key of `addr`, or `None` for a loopback address: the operator's own tools, or a
    /// proxy on the same host that is not declared trusted (which would make every user
    /// one address), are not limited.
    pub fn of(addr: IpAddr) -> Option<ClientKey> {
        let addr = addr.to_canonical();
        if addr.is_loopback() {
            return None;
        }
        Some(ClientKey(match addr {
            IpAddr::V4(v4) => IpAddr::V4(v4),
            IpAddr::V6(v6) => {
                let mask = u128::MAX << (128 - IPV6_CLIENT_PREFIX_BITS);
                IpAddr::V6(Ipv6Addr::from(u128::from(v6) & mask))
            }
        }))
    }

    /// The key of the client of `req` (see [`client_addr`] and [`ClientKey::of`]).
    pub fn of_request(req: &HttpRequest, trusted: &[IpAddr]) -> Option<ClientKey> {
        client_addr(req, trusted).and_then(ClientKey::of)
    }
}

impl fmt::Display for ClientKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            IpAddr::V4(v4) => write!(f, "{v4}"),
            IpAddr::V6(v6) => write!(f, "{v6}/{IPV6_CLIENT_PREFIX_BITS}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("an IP address")
    }

    fn key(s: &str) -> Option<ClientKey> {
        ClientKey::of(ip(s))
    }

    fn req(peer: &str, xff: &str) -> HttpRequest {
        TestRequest::default()
            .peer_addr(format!("{peer}:5000").parse().expect("addr"))
            .insert_header(("x-forwarded-for", xff))
            .to_http_request()
    }

    #[test]
    fn forwarded_for_counts_only_behind_a_trusted_proxy() {
        let trusted = [ip("10.0.0.1")];
        assert_eq!(
            client_addr(&req("10.0.0.1", "198.51.100.1, 203.0.113.9"), &trusted),
            Some(ip("203.0.113.9"))
        );
        assert_eq!(
            client_addr(&req("10.0.0.1", "203.0.113.9, 10.0.0.1"), &trusted),
            Some(ip("203.0.113.9"))
        );
        assert_eq!(
            client_addr(&req("192.0.2.5", "203.0.113.9"), &trusted),
            Some(ip("192.0.2.5"))
        );
        assert_eq!(
            client_addr(&req("10.0.0.1", "junk"), &trusted),
            Some(ip("10.0.0.1"))
        );
    }

    #[test]
    fn a_mapped_ipv4_peer_is_read_as_ipv4() {
        let trusted = [ip("127.0.0.1")];
        let mapped = TestRequest::default()
            .peer_addr("[::ffff:127.0.0.1]:5000".parse().expect("addr"))
            .insert_header(("x-forwarded-for", "::ffff:203.0.113.9"))
            .to_http_request();
        assert_eq!(client_addr(&mapped, &trusted), Some(ip("203.0.113.9")));
    }

    #[test]
    fn ipv6_clients_are_keyed_by_their_64_bit_network() {
        assert_eq!(
            key("2001:db8:1:2::1"),
            key("2001:db8:1:2:ffff:ffff:ffff:ffff")
        );
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
        assert_eq!(
            key("2001:db8:1:2:aaaa::1").map(|k| k.to_string()),
            Some("2001:db8:1:2::/64".to_string())
        );
    }

    #[test]
    fn ipv4_clients_are_keyed_by_their_address() {
        assert_ne!(key("203.0.113.7"), key("203.0.113.8"));
        assert_eq!(key("::ffff:203.0.113.7"), key("203.0.113.7"));
        assert_eq!(
            key("203.0.113.7").map(|k| k.to_string()),
            Some("203.0.113.7".to_string())
        );
    }

    #[test]
    fn loopback_clients_have_no_key() {
        assert_eq!(key("127.0.0.1"), None);
        assert_eq!(key("127.8.9.10"), None);
        assert_eq!(key("::1"), None);
        assert_eq!(key("::ffff:127.0.0.1"), None);
    }

    #[test]
    fn a_loopback_proxy_that_names_no_client_has_no_key() {
        let trusted = [ip("127.0.0.1")];
        let bare = TestRequest::default()
            .peer_addr("127.0.0.1:5000".parse().expect("addr"))
            .to_http_request();
        assert_eq!(ClientKey::of_request(&bare, &trusted), None);
        assert_eq!(
            ClientKey::of_request(&req("127.0.0.1", "203.0.113.9"), &trusted),
            key("203.0.113.9")
        );
    }
}
