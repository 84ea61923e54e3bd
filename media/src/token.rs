//! Verifies media join tokens (EdDSA JWTs, claims in `protocol::media`) with
//! the public keys of `/.well-known/jwks.json` only: a media node never
//! touches the database. A token must carry a known key id, a valid
//! signature, the media audience, the room asked for, and must not have
//! expired (a few seconds of clock skew allowed).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ed25519_dalek::{Signature, Verifier, VerifyingKey};
use protocol::media::{JoinClaims, MEDIA_AUDIENCE};

/// Seconds of clock difference between nodes tolerated on `exp`.
pub const LEEWAY_SECS: i64 = 5;

/// Why a join token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not three base64url parts of JSON, or not EdDSA.
    #[error("the join token is malformed")]
    Malformed,
    /// Signed with a key this node does not know.
    #[error("the join token's key is unknown")]
    UnknownKey,
    /// The signature does not match.
    #[error("the join token's signature is wrong")]
    BadSignature,
    /// Past its expiry.
    #[error("the join token has expired")]
    Expired,
    /// Made for something other than media.
    #[error("the join token is not for media")]
    WrongAudience,
    /// Made for another room.
    #[error("the join token is for another room")]
    WrongRoom,
}

/// The public keys a node verifies with, by key id.
#[derive(Debug, Clone, Default)]
pub struct Keys(Vec<(String, VerifyingKey)>);

impl Keys {
    /// The Ed25519 keys of a JWK set (others are skipped).
    pub fn from_jwks(jwks: &serde_json::Value) -> Keys {
        let keys = jwks["keys"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|k| k["kty"] == "OKP" && k["crv"] == "Ed25519")
            .filter_map(|k| {
                let kid = k["kid"].as_str()?.to_owned();
                let x = URL_SAFE_NO_PAD.decode(k["x"].as_str()?).ok()?;
                let key = VerifyingKey::from_bytes(&x.try_into().ok()?).ok()?;
                Some((kid, key))
            })
            .collect();
        Keys(keys)
    }

    /// How many keys there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn get(&self, kid: &str) -> Option<&VerifyingKey> {
        self.0.iter().find(|(k, _)| k == kid).map(|(_, key)| key)
    }
}

/// The claims of `token` if it admits its holder to `room` at `now` (Unix seconds).
pub fn verify(token: &str, keys: &Keys, room: &str, now: i64) -> Result<JoinClaims, TokenError> {
    let mut parts = token.split('.');
    let (Some(header), Some(claims), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError::Malformed);
    };
    let json = |part: &str| -> Result<serde_json::Value, TokenError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(part)
            .map_err(|_| TokenError::Malformed)?;
        serde_json::from_slice(&bytes).map_err(|_| TokenError::Malformed)
    };
    let head = json(header)?;
    if head["alg"] != "EdDSA" {
        return Err(TokenError::Malformed);
    }
    let kid = head["kid"].as_str().ok_or(TokenError::Malformed)?;
    let key = keys.get(kid).ok_or(TokenError::UnknownKey)?;
    let signature: [u8; 64] = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| TokenError::Malformed)?
        .try_into()
        .map_err(|_| TokenError::Malformed)?;
    key.verify(
        format!("{header}.{claims}").as_bytes(),
        &Signature::from_bytes(&signature),
    )
    .map_err(|_| TokenError::BadSignature)?;
    let claims: JoinClaims =
        serde_json::from_value(json(claims)?).map_err(|_| TokenError::Malformed)?;
    if claims.aud != MEDIA_AUDIENCE {
        return Err(TokenError::WrongAudience);
    }
    if claims.exp + LEEWAY_SECS < now {
        return Err(TokenError::Expired);
    }
    if claims.room != room {
        return Err(TokenError::WrongRoom);
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::{Signer, SigningKey};
    use protocol::media::MediaRole;

    fn token(key: &SigningKey, kid: &str, claims: &serde_json::Value) -> String {
        let head = serde_json::json!({"alg": "EdDSA", "typ": "JWT", "kid": kid});
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&head).unwrap()),
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap())
        );
        let sig = key.sign(input.as_bytes());
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.to_bytes()))
    }

    fn claims(room: &str, exp: i64) -> serde_json::Value {
        serde_json::json!({
            "aud": MEDIA_AUDIENCE,
            "sub": "2b0b9c38-4a0e-4a5e-9d3c-6a1f8a2b7c11",
            "event": "7f9e2b6a-1c3d-4e5f-8a9b-0c1d2e3f4a5b",
            "room": room,
            "role": "speaker",
            "iat": 1_000,
            "exp": exp,
        })
    }

    fn keys(key: &SigningKey) -> Keys {
        Keys::from_jwks(&serde_json::json!({"keys": [{
            "kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig", "kid": "k1",
            "x": URL_SAFE_NO_PAD.encode(key.verifying_key().as_bytes()),
        }]}))
    }

    #[test]
    fn a_good_token_admits_to_its_room_only_until_it_expires() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let keys = keys(&key);
        let t = token(&key, "k1", &claims("session:1", 1_060));
        let c = verify(&t, &keys, "session:1", 1_030).unwrap();
        assert_eq!((c.room.as_str(), c.role), ("session:1", MediaRole::Speaker));
        assert_eq!(
            verify(&t, &keys, "session:2", 1_030),
            Err(TokenError::WrongRoom)
        );
        assert!(verify(&t, &keys, "session:1", 1_060 + LEEWAY_SECS).is_ok());
        assert_eq!(
            verify(&t, &keys, "session:1", 1_061 + LEEWAY_SECS),
            Err(TokenError::Expired)
        );
    }

    #[test]
    fn forged_foreign_and_broken_tokens_are_refused() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let keys = keys(&key);
        let other = SigningKey::from_bytes(&[8; 32]);
        let good = claims("r", 2_000);
        assert_eq!(
            verify(&token(&other, "k1", &good), &keys, "r", 1_000),
            Err(TokenError::BadSignature)
        );
        assert_eq!(
            verify(&token(&key, "k2", &good), &keys, "r", 1_000),
            Err(TokenError::UnknownKey)
        );
        let mut app = good.clone();
        app["aud"] = "some-app".into();
        assert_eq!(
            verify(&token(&key, "k1", &app), &keys, "r", 1_000),
            Err(TokenError::WrongAudience)
        );
        // Claims swapped after signing.
        let t = token(&key, "k1", &good);
        let forged = token(&key, "k1", &claims("other", 2_000));
        let mut parts: Vec<&str> = t.split('.').collect();
        parts[1] = forged.split('.').nth(1).unwrap();
        assert_eq!(
            verify(&parts.join("."), &keys, "other", 1_000),
            Err(TokenError::BadSignature)
        );
        for junk in ["", "a.b", "a.b.c.d", "!!.!!.!!"] {
            assert_eq!(
                verify(junk, &keys, "r", 1_000),
                Err(TokenError::Malformed),
                "{junk}"
            );
        }
        assert!(Keys::from_jwks(&serde_json::json!({"keys": [{"kty": "RSA"}]})).is_empty());
    }
}
