//! Where peer connections listen and what browsers are told: a UDP port
//! range, and the public address behind a 1:1 NAT.

use std::net::IpAddr;

/// An inclusive range of UDP ports (`40000-40999`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortRange {
    first: u16,
    last: u16,
}

impl PortRange {
    /// The range `first..=last` (None when empty or starting at 0).
    pub fn new(first: u16, last: u16) -> Option<PortRange> {
        (first > 0 && first <= last).then_some(PortRange { first, last })
    }

    /// How many ports it holds.
    pub fn len(&self) -> usize {
        usize::from(self.last - self.first) + 1
    }

    /// Never: a range holds one port at least.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The `n`th port, wrapping around.
    pub fn nth(&self, n: usize) -> u16 {
        self.first + (n % self.len()) as u16
    }

    /// Whether `port` is in it.
    pub fn contains(&self, port: u16) -> bool {
        (self.first..=self.last).contains(&port)
    }
}

impl std::str::FromStr for PortRange {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("`{s}` is not a port range like 40000-40999");
        let (a, b) = s.trim().split_once('-').ok_or_else(bad)?;
        let (a, b) = (
            a.trim().parse().map_err(|_| bad())?,
            b.trim().parse().map_err(|_| bad())?,
        );
        PortRange::new(a, b).ok_or_else(bad)
    }
}

/// Rewrites an ICE candidate (`candidate:… <address> <port> typ host …`)
/// or an SDP's `a=candidate:` lines to name `public` instead of `bound`;
/// anything else is left as it is.
pub fn announce(text: &str, bound: IpAddr, public: IpAddr) -> String {
    let (bound, public) = (bound.to_string(), public.to_string());
    text.split_inclusive('\n')
        .map(|line| {
            let body = line.strip_prefix("a=").unwrap_or(line);
            if !body.starts_with("candidate:") {
                return line.to_owned();
            }
            let mut fields: Vec<&str> = line.split(' ').collect();
            if fields.get(4).is_some_and(|a| a.trim_end() == bound) {
                fields[4] = &public;
            }
            fields.join(" ")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_ranges_parse_and_wrap() {
        let r: PortRange = "40000-40002".parse().unwrap();
        assert_eq!(
            (r.len(), r.nth(0), r.nth(2), r.nth(3)),
            (3, 40000, 40002, 40000)
        );
        assert!(r.contains(40001) && !r.contains(40003));
        for bad in ["", "40000", "5-4", "0-10", "a-b", "1-70000"] {
            assert!(bad.parse::<PortRange>().is_err(), "{bad}");
        }
    }

    #[test]
    fn announced_candidates_name_the_public_address() {
        let (bound, public): (IpAddr, IpAddr) =
            ("10.0.0.5".parse().unwrap(), "203.0.113.7".parse().unwrap());
        let c = "candidate:1 1 udp 2130706431 10.0.0.5 40001 typ host";
        assert_eq!(
            announce(c, bound, public),
            "candidate:1 1 udp 2130706431 203.0.113.7 40001 typ host"
        );
        let sdp = "v=0\r\nc=IN IP4 10.0.0.5\r\na=candidate:1 1 udp 2130706431 10.0.0.5 40001 typ host\r\na=candidate:2 1 udp 1 192.0.2.1 9 typ relay\r\n";
        assert_eq!(
            announce(sdp, bound, public),
            "v=0\r\nc=IN IP4 10.0.0.5\r\na=candidate:1 1 udp 2130706431 203.0.113.7 40001 typ host\r\na=candidate:2 1 udp 1 192.0.2.1 9 typ relay\r\n"
        );
    }
}
