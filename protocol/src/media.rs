//! Media join tokens: what a short-lived token (an EdDSA JWT signed with the
//! keys of `/.well-known/jwks.json`) says about who may join which media room.
//! The web side signs it after its checks; a media node verifies it with the
//! public keys alone, never touching the database.

use serde::{Deserialize, Serialize};

use crate::ids::{AttendeeId, EventId};

/// The audience of every join token (`aud`), so no other token of ours
/// (an app's context token, say) opens a room.
pub const MEDIA_AUDIENCE: &str = "convene-media";

/// How long a join token is good for, in seconds: enough to connect.
pub const JOIN_TOKEN_TTL_SECS: i64 = 60;

/// What a participant may do in a room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaRole {
    /// Watches and listens.
    Viewer,
    /// May also publish a camera, a microphone and a screen.
    Speaker,
    /// May also mute and remove others.
    Host,
}

impl MediaRole {
    /// Whether the role may publish.
    pub fn publishes(self) -> bool {
        !matches!(self, MediaRole::Viewer)
    }
}

/// The claims of a join token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinClaims {
    /// Always [`MEDIA_AUDIENCE`].
    pub aud: String,
    /// The attendee.
    pub sub: AttendeeId,
    /// Their event.
    pub event: EventId,
    /// The room (`session:<id>`, ...).
    pub room: String,
    /// What they may do there.
    pub role: MediaRole,
    /// Issued at (Unix seconds).
    pub iat: i64,
    /// Expires at (Unix seconds).
    pub exp: i64,
}
