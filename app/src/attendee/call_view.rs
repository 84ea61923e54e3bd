//! A video call's grant (token and TURN servers) and its state as pages
//! show it (signals the browser's call updates; see `call.rs`).

use leptos::prelude::*;

/// Where the page's media connection stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallStatus {
    /// Not started.
    Idle,
    /// Joining.
    Connecting,
    /// Media flows.
    Connected,
    /// Dropped; joining again shortly.
    Rejoin(String),
    /// Ended for good (refused, removed, ended).
    Lost(String),
}

/// The call's state as the page shows it.
#[derive(Clone, Copy)]
pub struct CallView {
    /// Publishers this page receives (attendee ids).
    pub tiles: RwSignal<Vec<String>>,
    /// Connection state.
    pub status: RwSignal<CallStatus>,
}

/// A join token for a media room, and the TURN servers to reach it through.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct JoinGrant {
    /// The room.
    pub room: String,
    /// The signed token (good for a minute).
    pub token: String,
    /// TURN servers with this attendee's credentials (empty: none configured).
    pub ice_servers: Vec<protocol::media::IceServer>,
}

impl JoinGrant {
    /// The grant of `g` for `me`, with TURN credentials when TURN is configured.
    #[cfg(feature = "ssr")]
    pub fn of(
        platform: &services::Platform,
        me: &services::live::participants::Actor,
        g: services::live::sessions::Grant,
    ) -> JoinGrant {
        let now = chrono::Utc::now().timestamp();
        JoinGrant {
            room: g.room,
            token: g.token,
            ice_servers: platform
                .turn
                .iter()
                .map(|t| t.credentials(me.id, now))
                .collect(),
        }
    }
}
