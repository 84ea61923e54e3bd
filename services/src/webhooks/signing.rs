//! Standard Webhooks signatures: `v1,` and the base64 HMAC-SHA256 of
//! `id.timestamp.body` under the endpoint's `whsec_` secret (the base64 after
//! the prefix is the key). During a rotation both secrets sign, separated by
//! a space, so a receiver holding either verifies.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

use crate::{Error, Result};

/// The prefix of every signing secret.
pub const PREFIX: &str = "whsec_";

/// A new secret: 32 random bytes.
pub fn new_secret() -> String {
    let mut key = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut key);
    format!("{PREFIX}{}", STANDARD.encode(key))
}

/// The key a `whsec_` secret stands for.
fn key_of(secret: &str) -> Result<Vec<u8>> {
    let b64 = secret.strip_prefix(PREFIX).unwrap_or(secret);
    STANDARD
        .decode(b64)
        .map_err(|_| Error::Internal("a webhook secret is not base64".into()))
}

/// One `v1,…` signature of `body` sent as message `id` at `timestamp`.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &str) -> Result<String> {
    let mut mac = Hmac::<Sha256>::new_from_slice(&key_of(secret)?)
        .map_err(|_| Error::Internal("a webhook secret has no key".into()))?;
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    Ok(format!(
        "v1,{}",
        STANDARD.encode(mac.finalize().into_bytes())
    ))
}

/// The `webhook-signature` header: a signature per secret in `secrets`
/// (the current one first).
pub fn header(secrets: &[&str], id: &str, timestamp: i64, body: &str) -> Result<String> {
    let sigs = secrets
        .iter()
        .map(|s| sign(s, id, timestamp, body))
        .collect::<Result<Vec<_>>>()?;
    Ok(sigs.join(" "))
}

/// The last characters of a secret, to tell secrets apart on a page that
/// does not show them.
pub fn hint(secret: &str) -> String {
    let tail: String = secret.chars().rev().take(4).collect();
    format!("{PREFIX}…{}", tail.chars().rev().collect::<String>())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The test vector published with the Standard Webhooks libraries.
    #[test]
    fn signs_the_published_test_vector() {
        let sig = sign(
            "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
            "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk",
            1649367553,
            r#"{"email":"test@example.com","username":"test_user"}"#,
        )
        .unwrap();
        assert_eq!(sig, "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=");
    }

    #[test]
    fn both_secrets_sign_during_a_rotation() {
        let (old, new) = (new_secret(), new_secret());
        let h = header(&[&new, &old], "msg_1", 10, "{}").unwrap();
        let parts: Vec<_> = h.split(' ').collect();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0], sign(&new, "msg_1", 10, "{}").unwrap());
        assert_eq!(parts[1], sign(&old, "msg_1", 10, "{}").unwrap());
        assert_ne!(parts[0], parts[1]);
    }

    #[test]
    fn secrets_are_fresh_and_hinted_by_their_end() {
        let s = new_secret();
        assert!(s.starts_with(PREFIX));
        assert_eq!(key_of(&s).unwrap().len(), 32);
        assert_ne!(s, new_secret());
        assert!(hint(&s).ends_with(&s[s.len() - 4..]));
        assert!(!hint(&s).contains(&s[PREFIX.len()..PREFIX.len() + 8]));
    }
}
