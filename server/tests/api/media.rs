//! Media join tokens: signed by the web side with the platform's keys,
//! verified by a media node with nothing but the public JWK set.

use media::token::{self, Keys, TokenError};
use protocol::ids::{AttendeeId, EventId};
use protocol::media::{MediaRole, JOIN_TOKEN_TTL_SECS};

use crate::helpers::{client, spawn_web_only};

#[tokio::test]
async fn a_join_token_is_verified_with_the_published_keys_alone() {
    let app = spawn_web_only().await;
    let (event, attendee) = (EventId::new(), AttendeeId::new());
    let jwt = services::signing::media_join_token(
        &app.pool,
        event,
        "session:1",
        attendee,
        MediaRole::Speaker,
        None,
    )
    .await
    .unwrap();
    // What a media node knows: the JWK set the web side publishes.
    let jwks: serde_json::Value = client()
        .get(format!("{}/.well-known/jwks.json", app.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let keys = Keys::from_jwks(&jwks);
    assert_eq!(keys.len(), 1);
    let now = chrono::Utc::now().timestamp();
    let claims = token::verify(&jwt, &keys, "session:1", now).unwrap();
    assert_eq!((claims.sub, claims.event), (attendee, event));
    assert!(claims.role.publishes());
    assert_eq!(claims.exp - claims.iat, JOIN_TOKEN_TTL_SECS);
    // Not for another room, not after it expires, not with other keys.
    assert_eq!(
        token::verify(&jwt, &keys, "session:2", now),
        Err(TokenError::WrongRoom)
    );
    assert_eq!(
        token::verify(&jwt, &keys, "session:1", now + JOIN_TOKEN_TTL_SECS + 60),
        Err(TokenError::Expired)
    );
    assert_eq!(
        token::verify(&jwt, &Keys::default(), "session:1", now),
        Err(TokenError::UnknownKey)
    );
    // An app's context token, signed with the same keys, opens no room.
    let app_token = services::signing::sign_jwt(
        &app.pool,
        &serde_json::json!({"aud": "some-app", "sub": attendee, "event": event,
            "room": "session:1", "role": "host", "iat": now, "exp": now + 60}),
    )
    .await
    .unwrap();
    assert_eq!(
        token::verify(&app_token, &keys, "session:1", now),
        Err(TokenError::WrongAudience)
    );
}
