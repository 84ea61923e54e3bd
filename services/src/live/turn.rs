//! TURN credentials for browsers, by the TURN REST scheme (coturn's
//! `use-auth-secret`): the username is `<expiry>:<attendee>` and the password
//! the base64 HMAC-SHA1 of the username under a secret shared with the TURN
//! server, so each attendee gets short-lived credentials of their own and the
//! TURN server checks them without asking anyone.

use base64::Engine;
use hmac::{Hmac, Mac};
use protocol::ids::AttendeeId;
use protocol::media::IceServer;

/// The deployment's TURN servers.
#[derive(Clone)]
pub struct Turn {
    /// `turn:` URLs, e.g. `turn:turn.example.org:3478?transport=udp`.
    pub urls: Vec<String>,
    /// The secret shared with the TURN server.
    pub secret: String,
    /// How long credentials last, seconds.
    pub ttl_secs: i64,
}

impl std::fmt::Debug for Turn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Turn")
            .field("urls", &self.urls)
            .field("secret", &"***")
            .field("ttl_secs", &self.ttl_secs)
            .finish()
    }
}

impl Turn {
    /// Credentials for `attendee`, good until `now + ttl_secs` (Unix seconds).
    pub fn credentials(&self, attendee: AttendeeId, now: i64) -> IceServer {
        let username = format!("{}:{attendee}", now + self.ttl_secs);
        IceServer {
            urls: self.urls.clone(),
            credential: password(&self.secret, &username),
            username,
        }
    }
}

/// The TURN REST password of `username`.
pub fn password(secret: &str, username: &str) -> String {
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(secret.as_bytes())
        .expect("HMAC takes a key of any length");
    mac.update(username.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_follow_the_turn_rest_scheme() {
        // Checked against `echo -n 1700003600:<id> | openssl dgst -sha1 -hmac s3cret -binary | base64`.
        let id: AttendeeId = "67e55044-10b1-426f-9247-bb680e5fe0c8".parse().unwrap();
        let turn = Turn {
            urls: vec!["turn:127.0.0.1:3478?transport=udp".into()],
            secret: "s3cret".into(),
            ttl_secs: 3600,
        };
        let c = turn.credentials(id, 1_700_000_000);
        assert_eq!(c.username, format!("1700003600:{id}"));
        assert_eq!(c.credential, "o1ct2iffJn2NWLRIxkLcQdob2Ik=");
        assert_ne!(c.credential, password("other", &c.username));
    }
}
