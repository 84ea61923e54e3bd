//! The live WebSocket protocol (v3): one socket per browser tab multiplexes
//! presence, chat, direct messages, polls, Q&A, captions and sanctions.
//! Messages are JSON objects tagged by `type` ([`ServerMsg`], [`ClientMsg`]);
//! what happens live travels as a [`LiveItem`] tagged by `kind`.

use serde::{Deserialize, Serialize};

use crate::error::ErrorKind;
use crate::ids::{
    AttendeeId, ConnectionId, DmId, MeetingId, MessageId, PollId, QaQuestionId, StageId,
    VideoSessionId,
};
use crate::media::{IceCandidate, Leg};
use crate::places::{Area, Channel};
use crate::states::{PollStatus, QaStatus, SanctionKind, SessionAction};

/// Version of the live WebSocket protocol; the client sends it as `?v=`.
/// v2: one multiplexed socket for presence, chat, direct messages and apps,
/// with cursors for resuming. v3: error codes from [`ErrorKind`], presence
/// areas as `{area, people}` objects.
pub const PROTOCOL_VERSION: u32 = 3;

/// The longest a page waits before opening its dropped socket again (it
/// backs off from half a second up to this).
pub const RECONNECT_AT_MOST: std::time::Duration = std::time::Duration::from_secs(10);

/// Someone in the event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    /// Attendee id.
    pub id: AttendeeId,
    /// Display name.
    pub name: String,
    /// Version of their uploaded photo (None: their initials show); the
    /// photo is at `/e/{slug}/avatars/{id}/{version}`. Sent only when set,
    /// so v3 clients that predate it read the same shape.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar: Option<i64>,
}

impl Person {
    /// The address of their photo in event `slug`, if they uploaded one.
    pub fn avatar_url(&self, slug: &str) -> Option<String> {
        self.avatar
            .map(|v| format!("/e/{slug}/avatars/{}/{v}", self.id))
    }
}

/// How many distinct attendees are in one area now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AreaCount {
    /// The area.
    pub area: Area,
    /// Distinct attendees in it (several tabs of one person count once).
    pub people: u64,
}

/// A chat message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatView {
    /// Message id.
    pub id: MessageId,
    /// Order of messages (for paging back).
    pub seq: i64,
    /// Where it was posted.
    pub channel: Channel,
    /// Who wrote it.
    pub author: Person,
    /// Plain text (shown as text, never as HTML).
    pub body: String,
    /// Attendees mentioned with `@Name`.
    pub mentions: Vec<AttendeeId>,
    /// RFC 3339 time.
    pub at: String,
}

/// A direct message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DmView {
    /// Message id.
    pub id: DmId,
    /// Order.
    pub seq: i64,
    /// Sender.
    pub from: Person,
    /// Recipient.
    pub to: AttendeeId,
    /// Plain text.
    pub body: String,
    /// RFC 3339 time.
    pub at: String,
}

/// A poll with its live results.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PollView {
    /// Poll id.
    pub id: PollId,
    /// Channel it runs in.
    pub channel: Channel,
    /// Question.
    pub question: String,
    /// Options.
    pub options: Vec<String>,
    /// Several choices allowed.
    pub multi: bool,
    /// Open or closed.
    pub status: PollStatus,
    /// Votes per option.
    pub counts: Vec<i64>,
    /// People who voted.
    pub voters: i64,
}

/// A question of the Q&A app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuestionView {
    /// Question id.
    pub id: QaQuestionId,
    /// Channel.
    pub channel: Channel,
    /// Text (empty once hidden).
    pub body: String,
    /// Author's name (empty once hidden).
    pub author: String,
    /// Where it stands.
    pub status: QaStatus,
    /// Upvotes.
    pub votes: i64,
}

/// What someone shares with the people they connect with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Card {
    /// Who.
    pub person: Person,
    /// One line about them.
    pub headline: String,
    /// Their email, if they share it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Links they share (one per line).
    pub links: Vec<String>,
}

/// Something that happened live, as carried in the event's live log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LiveItem {
    /// A new chat message.
    Chat {
        /// The message.
        msg: ChatView,
    },
    /// A chat message was removed by a moderator.
    ChatDeleted {
        /// Its id.
        id: MessageId,
    },
    /// A direct message (only to its two people).
    Dm {
        /// The message.
        msg: DmView,
    },
    /// A poll was created or its results changed.
    Poll {
        /// The poll.
        poll: PollView,
    },
    /// A question was asked, voted on or moderated.
    Question {
        /// The question.
        question: QuestionView,
    },
    /// A caption line of the Translations app.
    Caption {
        /// Channel.
        channel: Channel,
        /// Language code.
        language: String,
        /// Text.
        body: String,
    },
    /// The organiser changed what a stage plays (its source, or a video's
    /// simulive schedule): pages showing the stage load it again.
    StageChanged {
        /// The stage.
        stage: StageId,
    },
    /// A host of a video session acted on the receiver (mute, take off
    /// screen, remove); their page obeys, and the media node enforces removal.
    SessionControl {
        /// The session.
        session: VideoSessionId,
        /// What the host did.
        action: SessionAction,
    },
    /// A host ended a video session: everyone in it leaves.
    SessionEnded {
        /// The session.
        session: VideoSessionId,
    },
    /// A host started or stopped recording a video session: everyone in it
    /// sees that it records.
    SessionRecording {
        /// The session.
        session: VideoSessionId,
        /// It records from now (false: it stopped).
        recording: bool,
    },
    /// Someone asked to go on screen in a session that approves requests
    /// (to its hosts), or a host answered (to the asker).
    ScreenRequest {
        /// The session.
        session: VideoSessionId,
        /// Who asked.
        attendee: Person,
        /// None while waiting; then whether a host approved.
        approved: Option<bool>,
    },
    /// Networking paired the receiver with someone: their call has begun.
    Matched {
        /// The meeting.
        meeting: MeetingId,
        /// Whom they meet.
        with: Person,
        /// When the call ends (RFC 3339).
        ends_at: String,
    },
    /// Both people of a meeting pressed Connect: here is the other's card.
    Connected {
        /// The meeting.
        meeting: MeetingId,
        /// The other person's card.
        card: Card,
    },
    /// A moderator muted or banned the receiver.
    Sanction {
        /// Mute or ban.
        sanction: SanctionKind,
        /// RFC 3339 end, if any.
        until: Option<String>,
    },
}

impl LiveItem {
    /// Whether this item bans whoever receives it (sanctions go to their target only).
    pub fn is_ban(&self) -> bool {
        matches!(
            self,
            LiveItem::Sanction {
                sanction: SanctionKind::Ban,
                ..
            }
        )
    }
}

/// A message from the server on the live WebSocket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMsg {
    /// First message after connecting.
    Hello {
        /// Protocol version the server speaks.
        v: u32,
        /// People in the event right now.
        online: u64,
        /// The connected attendee.
        me: Person,
        /// Whether they moderate this event.
        moderator: bool,
        /// Position in the live log; send it back as `since` when reconnecting.
        cursor: String,
        /// Entries replayed after this message (missed while disconnected).
        resumed: u32,
        /// Some missed entries are gone: reload history.
        gap: bool,
        /// This socket's connection: the page names it in the beacon that
        /// carries its data points when the socket is down
        /// (`POST /e/{slug}/seen`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        connection: Option<ConnectionId>,
    },
    /// Who is in the event right now.
    Presence {
        /// People in the event right now.
        online: u64,
        /// The attendees online (the green dots).
        people: Vec<AttendeeId>,
        /// People per area (only areas with someone in them).
        areas: Vec<AreaCount>,
    },
    /// An entry of the live log.
    Live {
        /// Its position; the newest one seen is the resume point.
        cursor: String,
        /// What happened.
        item: LiveItem,
    },
    /// The media node's offer for a room this client joined (`media_join`):
    /// set it as the remote description and answer with `media_answer`.
    MediaOffer {
        /// The room.
        room: String,
        /// Which of the two connections.
        #[serde(default)]
        leg: Leg,
        /// SDP.
        sdp: String,
    },
    /// One of the media node's ICE candidates for a room.
    MediaCandidate {
        /// The room.
        room: String,
        /// Which of the two connections.
        #[serde(default)]
        leg: Leg,
        /// The candidate.
        candidate: IceCandidate,
    },
    /// Who speaks in a media room now, as the media node hears it (None:
    /// nobody); sent when it changes.
    MediaSpeaker {
        /// The room.
        room: String,
        /// The speaker.
        speaker: Option<AttendeeId>,
    },
    /// This client's media connection to a room ended (refused token, a
    /// host removed them, the node went away); join again with a new token
    /// if `rejoin`.
    MediaClosed {
        /// The room.
        room: String,
        /// Why, for people.
        reason: String,
        /// Whether joining again may work (the node went away, not a refusal).
        rejoin: bool,
        /// The node holding a stage's room has as many viewers over WebRTC
        /// as it takes: watch the stage's HLS stream instead.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        full: bool,
    },
    /// A request of this client was refused.
    Error {
        /// Why, as a snake_case code: `invalid`, `forbidden`, `rate_limited`, ...
        code: ErrorKind,
        /// Human-readable reason.
        message: String,
    },
}

/// A page's data points sent as a beacon when its socket is down
/// (`POST /e/{slug}/seen`): the `seen` report plus the connection its last
/// socket's `hello` named, whose report clock it claims time from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Beacon {
    /// The connection of the page's last socket.
    pub connection: ConnectionId,
    /// The area reported on: the one that connection is in.
    pub area: Area,
    /// As in [`ClientMsg::Seen`].
    pub watched_ms: u32,
    /// As in [`ClientMsg::Seen`].
    pub hidden_ms: u32,
    /// As in [`ClientMsg::Seen`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub heights: Vec<u16>,
}

/// A message from the browser on the live WebSocket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMsg {
    /// I am now in this area.
    Enter {
        /// Area.
        area: Area,
    },
    /// What this page saw of its area since its previous report (analytics'
    /// data points): every 30 s, when the tab is hidden, and before entering
    /// another area. The server cuts the times to the time since the
    /// connection's previous report; see `attendee.data_points`.
    Seen {
        /// The area reported on: the one this connection is in.
        area: Area,
        /// Time a video of the area played (its picture advancing) in the
        /// visible tab, in milliseconds.
        watched_ms: u32,
        /// Time the tab was hidden, in milliseconds.
        hidden_ms: u32,
        /// The picture's height after each change of quality, in order.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        heights: Vec<u16>,
    },
    /// Post to a chat channel.
    Chat {
        /// Channel.
        channel: Channel,
        /// Text.
        body: String,
    },
    /// Remove a chat message (moderators).
    DeleteChat {
        /// Message id.
        id: MessageId,
    },
    /// Mute (for `minutes`) or ban an attendee (moderators).
    Sanction {
        /// Who.
        attendee: AttendeeId,
        /// Mute or ban.
        sanction: SanctionKind,
        /// Mute length; none = until lifted.
        minutes: Option<u32>,
    },
    /// Send a direct message.
    Dm {
        /// Recipient.
        to: AttendeeId,
        /// Text.
        body: String,
    },
    /// Start a poll (moderators).
    CreatePoll {
        /// Channel.
        channel: Channel,
        /// Question.
        question: String,
        /// Options.
        options: Vec<String>,
        /// Several choices allowed.
        multi: bool,
    },
    /// Vote in a poll (option indexes).
    Vote {
        /// Poll id.
        poll: PollId,
        /// Chosen option indexes.
        choices: Vec<u32>,
    },
    /// Close a poll (moderators).
    ClosePoll {
        /// Poll id.
        poll: PollId,
    },
    /// Ask a question.
    Ask {
        /// Channel.
        channel: Channel,
        /// Text.
        body: String,
    },
    /// Upvote a question (once per person).
    Upvote {
        /// Question id.
        question: QaQuestionId,
    },
    /// Join a media room with a join token from the page's server function
    /// (the room's media node verifies it); offers follow as `media_offer`.
    MediaJoin {
        /// The room (`session:<id>`).
        room: String,
        /// Signed join token.
        token: String,
    },
    /// The browser's answer to the latest `media_offer` of a room's leg.
    MediaAnswer {
        /// The room.
        room: String,
        /// Which of the two connections.
        #[serde(default)]
        leg: Leg,
        /// SDP.
        sdp: String,
    },
    /// One of the browser's ICE candidates for a room.
    MediaCandidate {
        /// The room.
        room: String,
        /// Which of the two connections.
        #[serde(default)]
        leg: Leg,
        /// The candidate.
        candidate: IceCandidate,
    },
    /// Leave a media room.
    MediaLeave {
        /// The room.
        room: String,
    },
    /// How high (device pixels) this page shows a publisher's camera in a
    /// media room: the node sends the smallest simulcast layer that fills it.
    MediaView {
        /// The room.
        room: String,
        /// The publisher.
        publisher: AttendeeId,
        /// The tile's height.
        height: u16,
    },
    /// Start (`on`) or stop sharing the screen in a media room one is on
    /// screen in. Starting is answered by an offer whose answer carries the
    /// screen on the third transceiver (after microphone and camera).
    MediaScreen {
        /// The room.
        room: String,
        /// Share (true) or stop.
        on: bool,
    },
    /// Ask to go on screen in a session that approves requests.
    RequestScreen {
        /// The session.
        session: VideoSessionId,
    },
    /// Approve or refuse someone's request to go on screen (session hosts).
    AnswerScreen {
        /// The session.
        session: VideoSessionId,
        /// Who asked.
        attendee: AttendeeId,
        /// Approved or not.
        approve: bool,
    },
    /// Mute, take off screen or remove someone (session hosts).
    ControlSession {
        /// The session.
        session: VideoSessionId,
        /// Whom.
        attendee: AttendeeId,
        /// What.
        action: SessionAction,
    },
    /// End a session for everyone (session hosts).
    EndSession {
        /// The session.
        session: VideoSessionId,
    },
    /// Start (`on`) or stop recording a session (session hosts).
    RecordSession {
        /// The session.
        session: VideoSessionId,
        /// Record (true) or stop.
        on: bool,
    },
    /// Approve (`open`), answer or hide a question (moderators).
    ModerateQuestion {
        /// Question id.
        question: QaQuestionId,
        /// New status.
        status: QaStatus,
    },
}

impl ClientMsg {
    /// Whether this is media signalling (relayed to a media node, not run
    /// by a domain service).
    pub fn is_media(&self) -> bool {
        matches!(
            self,
            ClientMsg::MediaJoin { .. }
                | ClientMsg::MediaAnswer { .. }
                | ClientMsg::MediaCandidate { .. }
                | ClientMsg::MediaLeave { .. }
                | ClientMsg::MediaScreen { .. }
                | ClientMsg::MediaView { .. }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_tagged_json() {
        let someone: AttendeeId = "67e55044-10b1-426f-9247-bb680e5fe0c8".parse().unwrap();
        let m = ServerMsg::Presence {
            online: 2,
            people: vec![someone],
            areas: vec![AreaCount {
                area: Area::Reception,
                people: 2,
            }],
        };
        let s = serde_json::to_string(&m).unwrap();
        assert_eq!(
            s,
            r#"{"type":"presence","online":2,"people":["67e55044-10b1-426f-9247-bb680e5fe0c8"],"areas":[{"area":"reception","people":2}]}"#
        );
        assert_eq!(serde_json::from_str::<ServerMsg>(&s).unwrap(), m);
        let gone: MessageId = "00000000-0000-0000-0000-000000000001".parse().unwrap();
        let live = ServerMsg::Live {
            cursor: "1-0".into(),
            item: LiveItem::ChatDeleted { id: gone },
        };
        assert_eq!(
            serde_json::to_string(&live).unwrap(),
            r#"{"type":"live","cursor":"1-0","item":{"kind":"chat_deleted","id":"00000000-0000-0000-0000-000000000001"}}"#
        );
        let err = ServerMsg::Error {
            code: ErrorKind::RateLimited,
            message: "slow down".into(),
        };
        assert_eq!(
            serde_json::to_string(&err).unwrap(),
            r#"{"type":"error","code":"rate_limited","message":"slow down"}"#
        );
        let c: ClientMsg =
            serde_json::from_str(r#"{"type":"chat","channel":"reception","body":"hi"}"#).unwrap();
        assert_eq!(
            c,
            ClientMsg::Chat {
                channel: Channel::Reception,
                body: "hi".into()
            }
        );
        let ban = r#"{"type":"sanction","attendee":"67e55044-10b1-426f-9247-bb680e5fe0c8","sanction":"ban","minutes":null}"#;
        assert!(matches!(
            serde_json::from_str::<ClientMsg>(ban).unwrap(),
            ClientMsg::Sanction {
                sanction: SanctionKind::Ban,
                ..
            }
        ));
        assert!(serde_json::from_str::<ClientMsg>(r#"{"type":"nope"}"#).is_err());
        let cand = r#"{"type":"media_candidate","room":"session:1","leg":"publish","candidate":{"candidate":"candidate:1 1 udp 1 127.0.0.1 5000 typ host","sdpMid":"0","sdpMLineIndex":0}}"#;
        let m: ClientMsg = serde_json::from_str(cand).unwrap();
        assert!(m.is_media());
        assert_eq!(serde_json::to_string(&m).unwrap(), cand);
        let offer = ServerMsg::MediaOffer {
            room: "session:1".into(),
            leg: Leg::Subscribe,
            sdp: "v=0".into(),
        };
        assert_eq!(
            serde_json::to_string(&offer).unwrap(),
            r#"{"type":"media_offer","room":"session:1","leg":"subscribe","sdp":"v=0"}"#
        );
        let speaker = ServerMsg::MediaSpeaker {
            room: "session:1".into(),
            speaker: None,
        };
        assert_eq!(
            serde_json::to_string(&speaker).unwrap(),
            r#"{"type":"media_speaker","room":"session:1","speaker":null}"#
        );
        let view = r#"{"type":"media_view","room":"session:1","publisher":"67e55044-10b1-426f-9247-bb680e5fe0c8","height":360}"#;
        let m: ClientMsg = serde_json::from_str(view).unwrap();
        assert!(m.is_media());
        assert_eq!(serde_json::to_string(&m).unwrap(), view);
        let share = r#"{"type":"media_screen","room":"session:1","on":true}"#;
        let m: ClientMsg = serde_json::from_str(share).unwrap();
        assert!(m.is_media());
        assert_eq!(serde_json::to_string(&m).unwrap(), share);
        let control = r#"{"type":"control_session","session":"67e55044-10b1-426f-9247-bb680e5fe0c8","attendee":"67e55044-10b1-426f-9247-bb680e5fe0c8","action":"off_screen"}"#;
        let m: ClientMsg = serde_json::from_str(control).unwrap();
        assert!(!m.is_media());
        assert_eq!(serde_json::to_string(&m).unwrap(), control);
        assert!(
            serde_json::from_str::<ClientMsg>(r#"{"type":"enter","area":"lobby"}"#).is_err(),
            "areas are parsed where they arrive"
        );
    }
}
