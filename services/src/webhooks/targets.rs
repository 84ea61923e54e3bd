//! Where webhooks may be sent. A target must be an `http(s)` URL without
//! credentials (https only when the platform itself is served over https),
//! and no address it names or resolves to may be this machine or its
//! network: loopback, private, shared (CGNAT), link-local (which holds the
//! cloud metadata service), multicast or unspecified. The check runs when an
//! endpoint is saved and again on every connection, through the resolver of
//! the dispatcher's client, so a name that later resolves inward (DNS
//! rebinding) is refused too. Development and tests may allow private
//! targets by configuration.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use crate::{Error, Result};

/// Where webhooks may go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Targets {
    /// Only `https://` URLs (the platform is served over https).
    pub require_https: bool,
    /// Addresses of this machine and private networks are allowed
    /// (development and tests only; refused by configuration elsewhere).
    pub allow_private: bool,
}

impl Targets {
    /// The safe policy of a production site.
    pub const STRICT: Targets = Targets {
        require_https: true,
        allow_private: false,
    };

    /// Parses `raw` as a target URL, or says what is wrong with it.
    pub fn check_url(&self, raw: &str) -> Result<url::Url> {
        let raw = raw.trim();
        if raw.len() > 2000 {
            return Err(Error::invalid("the URL is longer than 2000 characters"));
        }
        let url = url::Url::parse(raw)
            .map_err(|_| Error::invalid("the URL is not a valid address (https://…)"))?;
        match url.scheme() {
            "https" => {}
            "http" if !self.require_https => {}
            "http" => return Err(Error::invalid("webhook URLs must use https")),
            _ => return Err(Error::invalid("webhook URLs must be https:// addresses")),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(Error::invalid(
                "the URL must not hold a user name or password; check the signature instead",
            ));
        }
        match url.host() {
            None => return Err(Error::invalid("the URL has no host")),
            Some(url::Host::Ipv4(ip)) => self.check_ip(IpAddr::V4(ip))?,
            Some(url::Host::Ipv6(ip)) => self.check_ip(IpAddr::V6(ip))?,
            Some(url::Host::Domain(d)) => {
                if !self.allow_private
                    && (d.eq_ignore_ascii_case("localhost") || d.ends_with(".localhost"))
                {
                    return Err(refused());
                }
            }
        }
        Ok(url)
    }

    /// Refuses an address of this machine or a private network.
    pub fn check_ip(&self, ip: IpAddr) -> Result<()> {
        if !self.allow_private && inward(ip) {
            return Err(refused());
        }
        Ok(())
    }

    /// A resolver for the dispatcher's HTTP client that drops inward
    /// addresses (and fails when nothing else is left).
    pub fn resolver(&self) -> Arc<GuardedResolver> {
        Arc::new(GuardedResolver { targets: *self })
    }
}

fn refused() -> Error {
    Error::invalid(
        "webhooks cannot be sent to this machine or a private network \
         (loopback, private, link-local or metadata addresses)",
    )
}

/// Whether `ip` is this machine or a network behind it.
pub fn inward(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => inward_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return inward_v4(v4);
            }
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00 // unique local fc00::/7
                || (first & 0xffc0) == 0xfe80 // link-local fe80::/10
                || nat64_inward(v6)
        }
    }
}

/// A NAT64 address (64:ff9b::/96) of an inward IPv4 address, or the
/// local-use NAT64 prefix (64:ff9b:1::/48).
fn nat64_inward(v6: Ipv6Addr) -> bool {
    let s = v6.segments();
    if s[0] == 0x64 && s[1] == 0xff9b && s[2] == 1 {
        return true;
    }
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        let [.., a, b, c, d] = v6.octets();
        return inward_v4(Ipv4Addr::new(a, b, c, d));
    }
    false
}

fn inward_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
        || (a == 192 && b == 0 && ip.octets()[2] == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240 // reserved
}

/// Resolves names for the dispatcher, keeping only addresses the policy allows.
#[derive(Debug)]
pub struct GuardedResolver {
    targets: Targets,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let targets = self.targets;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let all: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = all
                .into_iter()
                .filter(|a| targets.check_ip(a.ip()).is_ok())
                .collect();
            if allowed.is_empty() {
                return Err(format!("{host} resolves only to refused addresses").into());
            }
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEV: Targets = Targets {
        require_https: false,
        allow_private: true,
    };

    #[test]
    fn inward_addresses_are_refused() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "::1",
            "::",
            "fe80::1",
            "fd00:ec2::254",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b:1::1",
        ] {
            assert!(inward(ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "93.184.216.34",
            "8.8.8.8",
            "2606:4700::1111",
            "100.128.0.1",
            "64:ff9b::808:808",
        ] {
            assert!(!inward(ip.parse().unwrap()), "{ip}");
        }
    }

    /// A name that resolves inward is refused where the connection is made
    /// (the check a saved name cannot pass by changing its DNS later).
    #[tokio::test]
    async fn the_resolver_drops_inward_addresses() {
        use reqwest::dns::Resolve;
        let name = || "localhost".parse::<reqwest::dns::Name>().unwrap();
        let refused = Targets::STRICT.resolver().resolve(name()).await;
        assert!(refused.is_err());
        let allowed: Vec<SocketAddr> = DEV.resolver().resolve(name()).await.unwrap().collect();
        assert!(!allowed.is_empty());
        assert!(allowed.iter().all(|a| a.ip().is_loopback()), "{allowed:?}");
    }

    #[test]
    fn urls_are_checked_before_saving() {
        let t = Targets::STRICT;
        assert!(t.check_url("https://hooks.example.com/in").is_ok());
        for bad in [
            "http://hooks.example.com/in",
            "ftp://hooks.example.com/",
            "https://user:pw@hooks.example.com/",
            "https://127.0.0.1/",
            "https://[::1]:8443/",
            "https://169.254.169.254/latest/meta-data",
            "https://localhost/",
            "https://api.localhost/",
            "not a url",
        ] {
            assert!(t.check_url(bad).is_err(), "{bad}");
        }
        assert!(DEV.check_url("http://127.0.0.1:9000/hook").is_ok());
    }
}
