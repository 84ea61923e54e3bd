//! Fixed-window rate limits kept in Redis, shared by every node, and the
//! table of every limit on a public write.
//!
//! A limit counts hits per *subject*: a client address ([`ClientAddr`]), an
//! email, an order, or a pair such as "this address on this event" (so a
//! busy sale does not use up a client's allowance elsewhere). Keys live under
//! the deployment's Redis namespace.
//!
//! Most limits count every attempt ([`hit`]). Log-in counts every attempt per
//! email before checking the password and [`forgive`]s the successful ones,
//! so only failures use up the allowance (the owner is not locked out by their
//! own log-ins) and someone guessing passwords is stopped whatever address
//! they come from, however many guesses they send at once.
//!
//! When Redis does not answer, limits are counted in this process instead
//! ([`local`]): each node then enforces them on its own, which is looser by
//! the number of nodes but never open, and registration keeps working.

use std::net::{IpAddr, Ipv6Addr};

use redis::aio::ConnectionManager;

use crate::{Error, Result};

/// At most `max` hits per `window_secs` per subject, under the name `name`.
#[derive(Debug, Clone, Copy)]
pub struct Limit {
    /// Part of the Redis key; one per rule.
    pub name: &'static str,
    /// Hits allowed per window.
    pub max: u64,
    /// Window length in seconds (fixed windows, started by the first hit).
    pub window_secs: u64,
}

/// Sign-ups per client address.
pub const SIGNUP_PER_CLIENT: Limit = Limit {
    name: "signup:client",
    max: 60,
    window_secs: 300,
};
/// Log-in attempts per client address (successful or not).
pub const LOGIN_PER_CLIENT: Limit = Limit {
    name: "login:client",
    max: 60,
    window_secs: 300,
};
/// Failed log-ins per email before log-in is refused for the rest of the window.
pub const LOGIN_FAILURES_PER_EMAIL: Limit = Limit {
    name: "login:failed",
    max: 10,
    window_secs: 900,
};
/// Registrations per client address per event. An office behind one NAT
/// registering together stays well under it; a script holding seats does not.
pub const REGISTER_PER_CLIENT_EVENT: Limit = Limit {
    name: "register:client-event",
    max: 30,
    window_secs: 600,
};
/// Registrations per client address across all events.
pub const REGISTER_PER_CLIENT: Limit = Limit {
    name: "register:client",
    max: 120,
    window_secs: 600,
};
/// Waiting-list sign-ups per client address per event.
pub const WAITLIST_PER_CLIENT_EVENT: Limit = Limit {
    name: "waitlist:client-event",
    max: 10,
    window_secs: 600,
};
/// "Send me my sign-in link" requests per client address per event (each
/// recipient's own email budget caps what one address receives).
pub const SIGN_IN_LINK_PER_CLIENT_EVENT: Limit = Limit {
    name: "sign-in-link:client-event",
    max: 10,
    window_secs: 600,
};
/// "Forgot your password?" requests per client address.
pub const PASSWORD_RESET_PER_CLIENT: Limit = Limit {
    name: "password-reset:client",
    max: 10,
    window_secs: 600,
};
/// New passwords set with reset links, per client address (each is a hash).
pub const PASSWORD_SET_PER_CLIENT: Limit = Limit {
    name: "password-set:client",
    max: 20,
    window_secs: 600,
};
/// Promo and unlock code lookups per client address per event (enumeration).
pub const PROMO_PER_CLIENT_EVENT: Limit = Limit {
    name: "promo:client-event",
    max: 20,
    window_secs: 600,
};
/// Card payment attempts per client address (card testing).
pub const PAY_PER_CLIENT: Limit = Limit {
    name: "pay:client",
    max: 20,
    window_secs: 600,
};
/// Card payment attempts per order.
pub const PAY_PER_ORDER: Limit = Limit {
    name: "pay:order",
    max: 10,
    window_secs: 600,
};
/// Plan purchase attempts per organisation.
pub const BUY_PLAN_PER_ORG: Limit = Limit {
    name: "plan:org",
    max: 10,
    window_secs: 600,
};

/// Questions a person may ask on the live socket.
pub const QUESTIONS_PER_SENDER: Limit = Limit {
    name: "qa:ask",
    max: 5,
    window_secs: 60,
};
/// "Meet someone" calls an attendee may make (the waiting page repeats one every 15 s).
pub const MEETS_PER_ATTENDEE: Limit = Limit {
    name: "networking:meet",
    max: 20,
    window_secs: 60,
};
/// Reports of other attendees a person may send.
pub const REPORTS_PER_ATTENDEE: Limit = Limit {
    name: "networking:report",
    max: 10,
    window_secs: 3600,
};
/// Requests to go on screen a person may send.
pub const SCREEN_REQUESTS_PER_ATTENDEE: Limit = Limit {
    name: "sessions:request",
    max: 5,
    window_secs: 60,
};
/// Poll votes (or changes of vote) a person may cast.
pub const VOTES_PER_SENDER: Limit = Limit {
    name: "polls:vote",
    max: 10,
    window_secs: 60,
};
/// Order pages looked up by code per client address: enough for a buyer
/// reloading and a page polling while a bank confirms, far too few to guess
/// codes.
pub const ORDER_LOOKUPS_PER_CLIENT: Limit = Limit {
    name: "order:lookup",
    max: 300,
    window_secs: 600,
};
/// New photos an attendee may upload (each is decoded and re-encoded).
pub const PHOTOS_PER_ATTENDEE: Limit = Limit {
    name: "photos:attendee",
    max: 10,
    window_secs: 600,
};
/// Replay progress reports an attendee's players may send (one every 15 s
/// per playing tab, and one on each pause).
pub const REPLAY_REPORTS_PER_ATTENDEE: Limit = Limit {
    name: "replay:report",
    max: 60,
    window_secs: 60,
};
/// Data-point beacons an attendee's pages may send (`POST /e/{slug}/seen`):
/// one per page as it closes, and one every 30 s from a page whose socket
/// is down, for the few tabs an attendee may have open. Each connection's
/// report clock also refuses two within a second.
pub const BEACONS_PER_ATTENDEE: Limit = Limit {
    name: "seen:beacon",
    max: 10,
    window_secs: 60,
};
/// Question upvotes a person may give.
pub const UPVOTES_PER_SENDER: Limit = Limit {
    name: "qa:upvote",
    max: 30,
    window_secs: 60,
};

/// The address a request came from, as the edge determined it (the peer, or
/// the client named by a trusted proxy). Handlers take it from the request;
/// there is no request without one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

impl ClientAddr {
    /// The subject a limit counts under: the IPv4 address, or the /64 of an
    /// IPv6 address (one subscriber usually holds a whole /64, so keying by
    /// full address would give them 2^64 buckets). An IPv4-mapped IPv6
    /// address counts as its IPv4 address.
    pub fn subject(&self) -> String {
        match self.0 {
            IpAddr::V4(v4) => v4.to_string(),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => v4.to_string(),
                None => {
                    let s = v6.segments();
                    let net = Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0);
                    format!("{net}/64")
                }
            },
        }
    }
}

fn key(ns: &str, limit: &Limit, subject: &str) -> String {
    format!("{ns}rl:{}:{subject}", limit.name)
}

fn refusal(limit: &Limit) -> Error {
    Error::RateLimited(format!(
        "too many attempts; try again in {} seconds",
        limit.window_secs
    ))
}

/// Counts one hit of `subject` and returns the window's count so far.
pub async fn record(
    redis: &mut ConnectionManager,
    ns: &str,
    limit: &Limit,
    subject: &str,
) -> Result<u64> {
    let full = key(ns, limit, subject);
    let (count,): (u64,) = redis::pipe()
        .atomic()
        .incr(&full, 1u64)
        // NX: the first hit of a window sets its expiry; later hits do not extend it.
        .cmd("EXPIRE")
        .arg(&full)
        .arg(limit.window_secs)
        .arg("NX")
        .ignore()
        .query_async(redis)
        .await?;
    Ok(count)
}

/// Counts one hit of `subject`; errors with `RateLimited` past the limit.
/// Counted in this process while Redis does not answer.
pub async fn hit(
    redis: &mut ConnectionManager,
    ns: &str,
    limit: &Limit,
    subject: &str,
) -> Result<()> {
    let count = match record(redis, ns, limit, subject).await {
        Ok(count) => count,
        Err(e) => {
            tracing::warn!(error = %e, limit = limit.name, "rate limit counted locally: Redis unavailable");
            local::record(
                &key(ns, limit, subject),
                limit.window_secs,
                std::time::Instant::now(),
            )
        }
    };
    if count > limit.max {
        return Err(refusal(limit));
    }
    Ok(())
}

/// Fixed windows counted in this process: the fallback while Redis is away.
pub mod local {
    use std::collections::HashMap;
    use std::sync::Mutex;
    use std::time::{Duration, Instant};

    /// Windows kept before expired ones are swept.
    const SWEEP_ABOVE: usize = 10_000;

    static WINDOWS: Mutex<Option<HashMap<String, (Instant, u64)>>> = Mutex::new(None);

    /// Counts one hit of `key` at `now` in a window of `window_secs`; returns
    /// the window's count so far.
    pub fn record(key: &str, window_secs: u64, now: Instant) -> u64 {
        let window = Duration::from_secs(window_secs);
        let mut guard = WINDOWS.lock().unwrap_or_else(|e| e.into_inner());
        let windows = guard.get_or_insert_with(HashMap::new);
        if windows.len() > SWEEP_ABOVE {
            windows.retain(|_, (started, _)| now.duration_since(*started) < window);
        }
        let entry = windows.entry(key.to_owned()).or_insert((now, 0));
        if now.duration_since(entry.0) >= window {
            *entry = (now, 0);
        }
        entry.1 += 1;
        entry.1
    }
}

/// Takes back one hit of `subject` (an attempt that turned out not to count,
/// such as a successful log-in).
pub async fn forgive(
    redis: &mut ConnectionManager,
    ns: &str,
    limit: &Limit,
    subject: &str,
) -> Result<()> {
    let full = key(ns, limit, subject);
    // Never below zero, and never creating a key without an expiry.
    let script = redis::Script::new(
        "if tonumber(redis.call('GET', KEYS[1]) or '0') > 0 then return redis.call('DECR', KEYS[1]) end return 0",
    );
    if let Err(e) = script.key(full).invoke_async::<i64>(redis).await {
        // A hit counted locally stays counted: stricter, never looser.
        tracing::warn!(error = %e, limit = limit.name, "could not take back a hit");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subject(s: &str) -> String {
        ClientAddr(s.parse().unwrap()).subject()
    }

    #[test]
    fn ipv4_counts_per_address() {
        assert_eq!(subject("203.0.113.7"), "203.0.113.7");
        assert_ne!(subject("203.0.113.7"), subject("203.0.113.8"));
    }

    #[test]
    fn ipv6_counts_per_slash_64() {
        assert_eq!(subject("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
        assert_eq!(
            subject("2001:db8:1:2:ffff:1:2:3"),
            subject("2001:db8:1:2::9")
        );
        assert_ne!(subject("2001:db8:1:2::1"), subject("2001:db8:1:3::1"));
    }

    #[test]
    fn ipv4_mapped_ipv6_counts_as_ipv4() {
        assert_eq!(subject("::ffff:198.51.100.4"), "198.51.100.4");
    }

    #[test]
    fn local_windows_count_and_restart() {
        let t0 = std::time::Instant::now();
        let key = format!("test:{}", uuid::Uuid::new_v4());
        assert_eq!(local::record(&key, 60, t0), 1);
        assert_eq!(local::record(&key, 60, t0), 2);
        let later = t0 + std::time::Duration::from_secs(61);
        assert_eq!(local::record(&key, 60, later), 1, "a new window");
        assert_eq!(local::record(&format!("{key}:other"), 60, t0), 1);
    }

    #[test]
    fn keys_separate_rules_and_deployments() {
        assert_ne!(
            key("a:", &PAY_PER_CLIENT, "x"),
            key("a:", &PAY_PER_ORDER, "x")
        );
        assert_ne!(
            key("a:", &PAY_PER_CLIENT, "x"),
            key("b:", &PAY_PER_CLIENT, "x")
        );
    }
}
