//! Which address a request came from, for rate limits and logs.
//!
//! Without configuration it is the TCP peer. Behind a load balancer every
//! request's peer is the balancer, so every client would share one bucket;
//! `trusted_proxies` names the balancers (as networks, e.g. `10.0.0.0/8`), and
//! when the peer is one of them the client is read from `X-Forwarded-For`:
//! walking it from the right (the entry the nearest proxy appended), the first
//! address that is not itself a trusted proxy. Entries to its left were written
//! by the client and are never believed. From an untrusted peer the header is
//! ignored, so nobody can choose their own bucket by sending it.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;
use ipnet::IpNet;
use serde::{Deserialize, Deserializer};
use services::ratelimit::ClientAddr;

/// The networks whose `X-Forwarded-For` is believed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(pub Vec<IpNet>);

impl TrustedProxies {
    /// Whether `ip` is one of the trusted proxies.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// Parses `10.0.0.0/8, 192.0.2.1` (a bare address is a one-address network).
    pub fn parse(list: &str) -> Result<Self, String> {
        list.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse::<IpNet>()
                    .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("trusted_proxies: {s:?} is not an address or a network"))
            })
            .collect::<Result<_, _>>()
            .map(TrustedProxies)
    }
}

/// Accepts a comma-separated string (as environment variables give) or a list.
impl<'de> Deserialize<'de> for TrustedProxies {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Form {
            One(String),
            Many(Vec<String>),
        }
        let list = match Form::deserialize(d)? {
            Form::One(s) => s,
            Form::Many(v) => v.join(","),
        };
        TrustedProxies::parse(&list).map_err(serde::de::Error::custom)
    }
}

/// An IPv4-mapped IPv6 address as IPv4 (a dual-stack listener reports them).
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

/// An `X-Forwarded-For` entry: an address, or an address with a port
/// (`192.0.2.1:5678`, `[2001:db8::1]:443`), as some balancers write them.
fn parse_hop(hop: &str) -> Result<IpAddr, std::net::AddrParseError> {
    hop.parse::<IpAddr>()
        .or_else(|_| hop.parse::<SocketAddr>().map(|s| s.ip()))
}

/// The client behind `peer`, given the request's headers.
pub fn client_of(peer: IpAddr, headers: &HeaderMap, trusted: &TrustedProxies) -> IpAddr {
    let peer = canonical(peer);
    if !trusted.contains(peer) {
        return peer;
    }
    // Several X-Forwarded-For headers count as one list, in order.
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        match parse_hop(hop) {
            Ok(ip) => {
                client = canonical(ip);
                if !trusted.contains(client) {
                    return client;
                }
            }
            // Garbage where a proxy should have written an address: stop at
            // the last address a trusted hop vouched for.
            Err(_) => return client,
        }
    }
    client
}

/// Middleware: puts the request's [`ClientAddr`] into its extensions.
pub async fn attach(
    State(trusted): State<std::sync::Arc<TrustedProxies>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    mut req: Request,
    next: Next,
) -> Response {
    let client = client_of(peer.ip(), req.headers(), &trusted);
    req.extensions_mut().insert(ClientAddr(client));
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn xff(values: &[&'static str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("x-forwarded-for", HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn without_trusted_proxies_the_peer_is_the_client_whatever_the_header_says() {
        let none = TrustedProxies::default();
        assert_eq!(
            client_of(ip("198.51.100.9"), &xff(&["203.0.113.1"]), &none),
            ip("198.51.100.9")
        );
    }

    #[test]
    fn behind_a_trusted_proxy_the_rightmost_untrusted_hop_is_the_client() {
        let lb = TrustedProxies::parse("10.0.0.0/8").unwrap();
        // The client wrote a fake first entry; the balancer appended the real one.
        let h = xff(&["6.6.6.6, 203.0.113.1"]);
        assert_eq!(client_of(ip("10.0.0.2"), &h, &lb), ip("203.0.113.1"));
        // Two trusted hops: both skipped.
        let h = xff(&["203.0.113.1", "10.1.1.1"]);
        assert_eq!(client_of(ip("10.0.0.2"), &h, &lb), ip("203.0.113.1"));
    }

    #[test]
    fn a_trusted_proxy_without_the_header_or_with_garbage_is_itself_the_client() {
        let lb = TrustedProxies::parse("10.0.0.2").unwrap();
        assert_eq!(
            client_of(ip("10.0.0.2"), &HeaderMap::new(), &lb),
            ip("10.0.0.2")
        );
        assert_eq!(
            client_of(ip("10.0.0.2"), &xff(&["not-an-ip"]), &lb),
            ip("10.0.0.2")
        );
    }

    #[test]
    fn entries_with_a_port_name_their_address() {
        let lb = TrustedProxies::parse("10.0.0.0/8").unwrap();
        let h = xff(&["203.0.113.1:5678"]);
        assert_eq!(client_of(ip("10.0.0.2"), &h, &lb), ip("203.0.113.1"));
        let h = xff(&["[2001:db8::1]:443"]);
        assert_eq!(client_of(ip("10.0.0.2"), &h, &lb), ip("2001:db8::1"));
    }

    #[test]
    fn mapped_addresses_match_ipv4_networks() {
        let lb = TrustedProxies::parse("127.0.0.1").unwrap();
        assert_eq!(
            client_of(ip("::ffff:127.0.0.1"), &xff(&["2001:db8::1"]), &lb),
            ip("2001:db8::1")
        );
    }

    #[test]
    fn parses_lists_and_names_what_it_cannot_parse() {
        assert_eq!(
            TrustedProxies::parse("").unwrap(),
            TrustedProxies::default()
        );
        assert_eq!(
            TrustedProxies::parse("10.0.0.0/8, 2001:db8::/32,192.0.2.7")
                .unwrap()
                .0
                .len(),
            3
        );
        assert!(TrustedProxies::parse("10.0.0.0/8,nope")
            .unwrap_err()
            .contains("\"nope\""));
    }
}
