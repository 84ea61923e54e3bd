//! Signing keys (owner of `signing_keys`): Ed25519 keys that sign the
//! short-lived tokens Convene hands to others (third-party apps' context
//! tokens; media join tokens). The newest key signs; the public halves
//! are served as a JWK set at `/.well-known/jwks.json`.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use ed25519_dalek::{Signer, SigningKey};
use rand::RngCore;
use sqlx::PgPool;
use uuid::Uuid;

use crate::{Error, Result};

/// The current signing key's secret, for keys derived from it (media
/// tokens' HMAC key).
pub(crate) async fn secret(pool: &PgPool) -> Result<[u8; 32]> {
    Ok(signing_key(pool).await?.1.to_bytes())
}

/// The current signing key, created on first use.
async fn signing_key(pool: &PgPool) -> Result<(String, SigningKey)> {
    let row: Option<(String, Vec<u8>)> =
        sqlx::query_as("SELECT kid, secret FROM signing_keys ORDER BY created_at DESC LIMIT 1")
            .fetch_optional(pool)
            .await?;
    let (kid, secret) = match row {
        Some(r) => r,
        None => {
            let mut secret = vec![0u8; 32];
            rand::rngs::OsRng.fill_bytes(&mut secret);
            let kid = format!("k{}", &Uuid::new_v4().simple().to_string()[..12]);
            // Two nodes racing here: the first insert wins, both then read it.
            sqlx::query("INSERT INTO signing_keys (kid, secret) SELECT $1, $2 WHERE NOT EXISTS (SELECT 1 FROM signing_keys)")
                .bind(&kid)
                .bind(&secret)
                .execute(pool)
                .await?;
            sqlx::query_as("SELECT kid, secret FROM signing_keys ORDER BY created_at DESC LIMIT 1")
                .fetch_one(pool)
                .await?
        }
    };
    let bytes: [u8; 32] = secret
        .try_into()
        .map_err(|_| Error::Internal("signing key has the wrong length".into()))?;
    Ok((kid, SigningKey::from_bytes(&bytes)))
}

/// The public keys as a JWK set.
pub async fn jwks(pool: &PgPool) -> Result<serde_json::Value> {
    let (kid, key) = signing_key(pool).await?;
    Ok(serde_json::json!({
        "keys": [{
            "kty": "OKP",
            "crv": "Ed25519",
            "alg": "EdDSA",
            "use": "sig",
            "kid": kid,
            "x": URL_SAFE_NO_PAD.encode(key.verifying_key().as_bytes()),
        }]
    }))
}

/// Signs `claims` as a compact JWT (EdDSA) with the current key.
pub async fn sign_jwt(pool: &PgPool, claims: &serde_json::Value) -> Result<String> {
    let (kid, key) = signing_key(pool).await?;
    let header = serde_json::json!({ "alg": "EdDSA", "typ": "JWT", "kid": kid });
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header)?),
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims)?)
    );
    let signature = key.sign(signing_input.as_bytes());
    Ok(format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(signature.to_bytes())
    ))
}

/// A media join token: `attendee` of `event` may join media `room` as
/// `role` for the next [`JOIN_TOKEN_TTL_SECS`] seconds (the caller checked
/// they may), and stay until `until` (Unix seconds; None: until they leave).
/// Media nodes verify it with the JWK set alone.
///
/// [`JOIN_TOKEN_TTL_SECS`]: protocol::media::JOIN_TOKEN_TTL_SECS
pub async fn media_join_token(
    pool: &PgPool,
    event: protocol::ids::EventId,
    room: &str,
    attendee: protocol::ids::AttendeeId,
    role: protocol::media::MediaRole,
    until: Option<i64>,
) -> Result<String> {
    use protocol::media::{JoinClaims, JOIN_TOKEN_TTL_SECS, MEDIA_AUDIENCE};
    let now = chrono::Utc::now().timestamp();
    let claims = JoinClaims {
        aud: MEDIA_AUDIENCE.to_owned(),
        sub: attendee,
        event,
        room: room.to_owned(),
        role,
        iat: now,
        exp: now + JOIN_TOKEN_TTL_SECS,
        until,
    };
    sign_jwt(pool, &serde_json::to_value(&claims)?).await
}
