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
    /// May also mute and remove others, and say who is on air.
    Host,
    /// Watches a stage: receives only the publishers on air.
    Audience,
    /// A host who only watches: receives everyone, publishes nothing, and
    /// runs the room as a host does (records it).
    WatchingHost,
}

impl MediaRole {
    /// Whether the role may publish.
    pub fn publishes(self) -> bool {
        !matches!(
            self,
            MediaRole::Viewer | MediaRole::Audience | MediaRole::WatchingHost
        )
    }

    /// Whether the role runs the room: says who is on air, and records.
    pub fn hosts(self) -> bool {
        matches!(self, MediaRole::Host | MediaRole::WatchingHost)
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
    /// When the node ends this participant's connection (Unix seconds): a
    /// networking call's end. Absent: they stay until they leave.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<i64>,
}

/// The media room of an attendee's pre-event check (they publish; the node
/// reports back what it receives, through the browser's statistics).
pub fn check_room(attendee: AttendeeId) -> String {
    format!("check:{attendee}")
}

/// The media room of a networking meeting.
pub fn meeting_room(id: crate::ids::MeetingId) -> String {
    format!("meet:{id}")
}

/// The media room of a video session.
pub fn session_room(id: crate::ids::VideoSessionId) -> String {
    format!("session:{id}")
}

/// A STUN or TURN server as browsers take it (`RTCIceServer`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IceServer {
    /// Its URLs.
    pub urls: Vec<String>,
    /// TURN username (`<expiry>:<attendee>`).
    pub username: String,
    /// TURN password for that username.
    pub credential: String,
}

/// An ICE candidate as browsers give and take it (`RTCIceCandidateInit`'s JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IceCandidate {
    /// The `candidate:` attribute line (empty: end of candidates).
    pub candidate: String,
    /// Media stream id it belongs to.
    #[serde(default)]
    pub sdp_mid: Option<String>,
    /// Index of its media description.
    #[serde(default, rename = "sdpMLineIndex")]
    pub sdp_mline_index: Option<u16>,
    /// ICE username fragment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username_fragment: Option<String>,
}

/// Which of a participant's two connections to a media room a signalling
/// message is about. Someone on screen has both: what they send goes on a
/// connection negotiated once (renegotiating it would make `webrtc` 0.21
/// forget the SSRCs of their simulcast layers), what they receive on one
/// renegotiated as others' tracks come and go. A viewer has only the second.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Leg {
    /// What they receive.
    #[default]
    Subscribe,
    /// What they send: microphone, camera and screen, in this order.
    Publish,
}

/// Longest session description accepted from a browser (bytes); Chromium's
/// answers for a full room are a few kilobytes per track.
pub const MAX_SDP_BYTES: usize = 64 * 1024;

/// What a web node sends a media node on a participant's signalling
/// connection (`GET /media/v1/join?room=&token=` upgraded to a WebSocket, one
/// per participant and room; closing it leaves the room).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ToNode {
    /// The browser's answer to the node's latest offer on `leg`.
    Answer {
        /// The connection.
        #[serde(default)]
        leg: Leg,
        /// SDP.
        sdp: String,
    },
    /// One of the browser's ICE candidates on `leg`.
    Candidate {
        /// The connection.
        #[serde(default)]
        leg: Leg,
        /// The candidate.
        candidate: IceCandidate,
    },
    /// How high the browser shows a publisher's camera (picks the layer).
    View {
        /// The publisher (their participant id).
        publisher: String,
        /// Device pixels.
        height: u16,
    },
    /// Start or stop sharing the screen.
    Screen {
        /// Share (true) or stop.
        on: bool,
    },
    /// Who the room's audience sees, in the layout's order, and whether to
    /// record them: the web node of a host on screen in a backstage sends
    /// it from the stage's stored state (when they join, and after every
    /// change of the broadcast); the node takes it only from a host.
    OnAir {
        /// The publishers on air (empty: nobody).
        participants: Vec<String>,
        /// Record what is on air, handing the recording over with this
        /// token (None: stop recording).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        record: Option<String>,
        /// How viewers see them, which the live mix follows (None: one
        /// speaker).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        layout: Option<crate::states::StageLayout>,
    },
    /// Record everyone who publishes in the room (a session, not a
    /// backstage): a picture that follows the active speaker, and every
    /// track on its own. The web node of a session's host sends it from the
    /// session's stored state (when they join, and after the recording
    /// starts or stops); the node takes it only from a host.
    Record {
        /// The session's recording (None: it does not record). A recording
        /// under way with another id stops, and this one starts.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        recording: Option<String>,
        /// The token to hand this recording over with (with `recording`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        token: Option<String>,
    },
}

/// What a media node sends back on a participant's signalling connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FromNode {
    /// An offer on `leg` for the browser to answer (the node always offers).
    Offer {
        /// The connection.
        #[serde(default)]
        leg: Leg,
        /// SDP.
        sdp: String,
    },
    /// One of the node's ICE candidates on `leg`.
    Candidate {
        /// The connection.
        #[serde(default)]
        leg: Leg,
        /// The candidate.
        candidate: IceCandidate,
    },
    /// The node ended this participant's connection for good (their time
    /// in the room is up); joining again will not help.
    Closed {
        /// Why, for people.
        reason: String,
    },
    /// Who speaks in the room now (a participant id; None: nobody).
    Speaker {
        /// The speaker.
        participant: Option<String>,
    },
    /// A request was refused; the participant stays in the room.
    Error {
        /// Why.
        message: String,
    },
    /// An audience seat was refused: the node has as many viewers over
    /// WebRTC as it takes (they watch the HLS stream of the live mix).
    Full,
}
