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
    /// A stage's audience seat was refused: its media server has as many
    /// viewers over WebRTC as it takes (watch the HLS stream instead).
    Full,
}

/// The call's state as the page shows it.
#[derive(Clone, Copy)]
pub struct CallView {
    /// Streams this page receives: publishers (attendee ids) and their
    /// screens (`<id>~screen`, see [`screen_owner`]).
    pub tiles: RwSignal<Vec<String>>,
    /// Connection state.
    pub status: RwSignal<CallStatus>,
    /// Who speaks now (an attendee id), as the media node hears it.
    pub speaker: RwSignal<Option<String>>,
}

impl CallView {
    /// A call in `status`, with no tiles and nobody speaking.
    pub fn new(status: CallStatus) -> CallView {
        CallView {
            tiles: RwSignal::new(Vec::new()),
            status: RwSignal::new(status),
            speaker: RwSignal::new(None),
        }
    }
}

/// The publisher whose screen tile `id` is (None: a person's tile). The
/// media node names a screen's stream `<publisher>~screen`.
pub fn screen_owner(id: &str) -> Option<&str> {
    id.strip_suffix("~screen")
}

/// The tile id of `publisher`'s screen.
pub fn screen_tile(publisher: &str) -> String {
    format!("{publisher}~screen")
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
