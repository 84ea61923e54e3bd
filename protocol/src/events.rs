//! Domain events: the one vocabulary in which a component tells the others
//! what happened (orders, registrations, attendees moving between areas,
//! moderation). Each is written to the outbox in the transaction that caused
//! it, published on the topic of its domain keyed by event id (so one event's
//! facts stay in order), and consumed by analytics, webhooks and onsite.
//!
//! `docs/EVENTS.md` documents every type with an example payload; the test at
//! the bottom of this file keeps the two in step.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{
    AssetId, AttendeeId, ConnectionId, DomainEventId, EventId, MeetingId, MessageId, OrderId,
    OrgId, OrganiserId, PaymentId, PollId, PromoCodeId, QaQuestionId, QuestionId, StageId,
    TicketTypeId,
};
use crate::places::{Area, Channel};
use crate::states::{AttendeeRole, CancelReason, OrderStatus, SanctionKind};

/// A logical topic: one per domain. Deployments prefix them (`kafka.topic_prefix`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Topic {
    /// Orders and registrations.
    Registrations,
    /// Attendees entering and leaving areas of the live event.
    Activity,
    /// Moderators' and organisers' actions on attendees and messages.
    Moderation,
    /// Recordings and other media.
    Media,
}

impl Topic {
    /// Every topic (created at start: brokers do not auto-create).
    pub const ALL: [Topic; 4] = [
        Topic::Registrations,
        Topic::Activity,
        Topic::Moderation,
        Topic::Media,
    ];

    /// The topic's name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Topic::Registrations => "registrations",
            Topic::Activity => "activity",
            Topic::Moderation => "moderation",
            Topic::Media => "media",
        }
    }
}

/// One domain event as it travels: who it concerns, when, and what happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    /// Unique id; consumers are idempotent on it.
    pub id: DomainEventId,
    /// Version of the fact's `data` schema (see [`Fact::version`]).
    pub version: u32,
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
    /// The organisation whose event it is (webhooks are per organisation).
    pub org_id: OrgId,
    /// The event it happened in; also the partitioning key.
    pub event_id: EventId,
    /// What happened: `"type"` and `"data"`.
    #[serde(flatten)]
    pub fact: Fact,
}

impl Envelope {
    /// The topic this envelope goes on.
    pub fn topic(&self) -> Topic {
        self.fact.topic()
    }
}

/// What happened, tagged by its type name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum Fact {
    /// Someone registered: an attendee exists with an order.
    #[serde(rename = "attendee.registered")]
    AttendeeRegistered(AttendeeRegistered),
    /// An order was placed (seats taken).
    #[serde(rename = "order.placed")]
    OrderPlaced(OrderPlaced),
    /// The organiser approved an order that awaited approval.
    #[serde(rename = "order.approved")]
    OrderApproved(OrderApproved),
    /// A pending order was paid and is confirmed.
    #[serde(rename = "order.paid")]
    OrderPaid(OrderPaid),
    /// An order was cancelled; its seats are free again.
    #[serde(rename = "order.cancelled")]
    OrderCancelled(OrderCancelled),
    /// A cancelled order's payments were given back.
    #[serde(rename = "order.refunded")]
    OrderRefunded(OrderRefunded),
    /// An attendee entered an area of the live event.
    #[serde(rename = "attendee.entered_area")]
    AttendeeEnteredArea(AreaVisit),
    /// An attendee left an area of the live event.
    #[serde(rename = "attendee.left_area")]
    AttendeeLeftArea(AreaVisit),
    /// An attendee's connection is still open in an area (a heartbeat, every
    /// [`AreaVisit::STILL_THERE_EVERY`]): a visit whose heartbeats stop
    /// without a leave (a node that died) ends where they stopped.
    #[serde(rename = "attendee.still_in_area")]
    AttendeeStillInArea(AreaVisit),
    /// An attendee played a stretch of a replay.
    #[serde(rename = "replay.watched")]
    ReplayWatched(ReplayWatched),
    /// An attendee posted in a chat channel.
    #[serde(rename = "chat.message_posted")]
    MessagePosted(MessagePosted),
    /// An attendee voted in a poll (again: changed their vote).
    #[serde(rename = "poll.voted")]
    PollVoted(PollVoted),
    /// An attendee asked a question in a Q&A.
    #[serde(rename = "qa.question_asked")]
    QuestionAsked(QuestionAsked),
    /// Networking paired two attendees for a call.
    #[serde(rename = "networking.met")]
    Met(Meeting),
    /// Two attendees who met both pressed Connect and exchanged cards.
    #[serde(rename = "networking.connected")]
    Connected(Meeting),
    /// What an attendee's page saw of an area since its previous report:
    /// video playing, the tab hidden, the picture's quality.
    #[serde(rename = "attendee.data_points")]
    DataPoints(DataPoints),
    /// A moderator removed a chat message.
    #[serde(rename = "moderation.message_deleted")]
    MessageDeleted(MessageDeleted),
    /// A moderator muted or banned an attendee.
    #[serde(rename = "moderation.attendee_sanctioned")]
    AttendeeSanctioned(AttendeeSanctioned),
    /// An organiser made an attendee a moderator, or took it back.
    #[serde(rename = "moderation.role_changed")]
    RoleChanged(RoleChanged),
    /// A stage's recording was processed and plays.
    #[serde(rename = "recording.ready")]
    RecordingReady(RecordingReady),
}

impl Fact {
    /// The type name, e.g. `order.paid`.
    pub fn type_name(&self) -> &'static str {
        match self {
            Fact::AttendeeRegistered(_) => "attendee.registered",
            Fact::OrderPlaced(_) => "order.placed",
            Fact::OrderApproved(_) => "order.approved",
            Fact::OrderPaid(_) => "order.paid",
            Fact::OrderCancelled(_) => "order.cancelled",
            Fact::OrderRefunded(_) => "order.refunded",
            Fact::AttendeeEnteredArea(_) => "attendee.entered_area",
            Fact::AttendeeLeftArea(_) => "attendee.left_area",
            Fact::AttendeeStillInArea(_) => "attendee.still_in_area",
            Fact::ReplayWatched(_) => "replay.watched",
            Fact::MessagePosted(_) => "chat.message_posted",
            Fact::PollVoted(_) => "poll.voted",
            Fact::QuestionAsked(_) => "qa.question_asked",
            Fact::Met(_) => "networking.met",
            Fact::Connected(_) => "networking.connected",
            Fact::DataPoints(_) => "attendee.data_points",
            Fact::MessageDeleted(_) => "moderation.message_deleted",
            Fact::AttendeeSanctioned(_) => "moderation.attendee_sanctioned",
            Fact::RoleChanged(_) => "moderation.role_changed",
            Fact::RecordingReady(_) => "recording.ready",
        }
    }

    /// The version of this type's `data` schema. Raise it when a field changes
    /// meaning or disappears (adding an optional field is compatible).
    pub fn version(&self) -> u32 {
        1
    }

    /// The topic of this fact's domain.
    pub fn topic(&self) -> Topic {
        match self {
            Fact::AttendeeRegistered(_)
            | Fact::OrderPlaced(_)
            | Fact::OrderApproved(_)
            | Fact::OrderPaid(_)
            | Fact::OrderCancelled(_)
            | Fact::OrderRefunded(_) => Topic::Registrations,
            Fact::AttendeeEnteredArea(_)
            | Fact::AttendeeLeftArea(_)
            | Fact::AttendeeStillInArea(_)
            | Fact::ReplayWatched(_)
            | Fact::MessagePosted(_)
            | Fact::PollVoted(_)
            | Fact::QuestionAsked(_)
            | Fact::Met(_)
            | Fact::Connected(_)
            | Fact::DataPoints(_) => Topic::Activity,
            Fact::MessageDeleted(_) | Fact::AttendeeSanctioned(_) | Fact::RoleChanged(_) => {
                Topic::Moderation
            }
            Fact::RecordingReady(_) => Topic::Media,
        }
    }
}

/// `attendee.registered`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttendeeRegistered {
    /// The new attendee.
    pub attendee_id: AttendeeId,
    /// The order that registered them.
    pub order_id: OrderId,
    /// Their name.
    pub name: String,
    /// Their email address.
    pub email: String,
    /// Their answers to the event's registration questions, as asked then
    /// (unanswered optional questions are left out). Absent when none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub answers: Vec<RegistrationAnswer>,
}

/// An answer to a registration question, with the question as it was asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistrationAnswer {
    /// The question.
    pub question_id: QuestionId,
    /// Its label when answered.
    pub question: String,
    /// Its place in the form (smaller first).
    pub position: i32,
    /// The answer: text, the chosen option, or `yes` for a ticked checkbox.
    pub value: String,
}

/// `order.placed`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderPlaced {
    /// The order.
    pub order_id: OrderId,
    /// Its code (shown to the buyer).
    pub order_code: String,
    /// The buyer.
    pub attendee_id: AttendeeId,
    /// What was bought.
    pub ticket_type_id: TicketTypeId,
    /// How many tickets.
    pub quantity: i32,
    /// Where the order starts: confirmed, pending or awaiting approval.
    pub status: OrderStatus,
    /// Total after discount, in minor units.
    pub total_minor: i64,
    /// ISO currency.
    pub currency: String,
    /// Discount in minor units.
    pub discount_minor: i64,
    /// The promo code used, if any.
    pub promo_code_id: Option<PromoCodeId>,
}

/// `order.approved`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderApproved {
    /// The order.
    pub order_id: OrderId,
    /// Where it went: confirmed (free) or pending (waits for payment).
    pub status: OrderStatus,
}

/// `order.paid`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderPaid {
    /// The order.
    pub order_id: OrderId,
    /// The payment that paid it.
    pub payment_id: PaymentId,
    /// Amount in minor units.
    pub amount_minor: i64,
    /// ISO currency.
    pub currency: String,
    /// The platform's fee in minor units.
    pub platform_fee_minor: i64,
}

/// `order.cancelled`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderCancelled {
    /// The order.
    pub order_id: OrderId,
    /// Why.
    pub reason: CancelReason,
}

/// `order.refunded`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderRefunded {
    /// The order.
    pub order_id: OrderId,
    /// Amount given back, in minor units.
    pub amount_minor: i64,
    /// ISO currency.
    pub currency: String,
}

/// `attendee.entered_area`, `attendee.left_area` and
/// `attendee.still_in_area`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AreaVisit {
    /// Who.
    pub attendee_id: AttendeeId,
    /// Where.
    pub area: Area,
    /// Their connection (a tab); pairs an enter with its leave.
    pub connection_id: ConnectionId,
}

impl AreaVisit {
    /// How often an open connection says it is still in its area.
    pub const STILL_THERE_EVERY: std::time::Duration = std::time::Duration::from_secs(60);
}

/// `replay.watched`: what the attendee's player reported of a stretch it
/// played (at most [`ReplayWatched::MAX_MS`] per report).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplayWatched {
    /// Who watched.
    pub attendee_id: AttendeeId,
    /// The recording or video.
    pub asset_id: AssetId,
    /// Time spent playing since the player's previous report.
    pub watched_ms: i64,
    /// Where playback stood at the report.
    pub position_ms: i64,
}

/// `recording.ready`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordingReady {
    /// The recording, a media asset of the event.
    pub asset_id: AssetId,
    /// The stage it was broadcast on.
    pub stage_id: Option<StageId>,
    /// The session it recorded (a session's recording, not a stage's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<crate::ids::VideoSessionId>,
    /// Its title.
    pub title: String,
    /// When the broadcast went live (the session's recording started).
    pub live_at: Option<DateTime<Utc>>,
    /// How long it plays.
    pub duration_ms: i64,
}

impl ReplayWatched {
    /// The most one report may claim: players report every 15 s, and a
    /// report that claims more than a minute is cut to a minute.
    pub const MAX_MS: i64 = 60_000;
}

/// `chat.message_posted` (what was said stays in the chat; analytics counts).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessagePosted {
    /// The message.
    pub message_id: MessageId,
    /// Its channel.
    pub channel: Channel,
    /// Who posted it.
    pub author_id: AttendeeId,
}

/// `poll.voted`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PollVoted {
    /// The poll.
    pub poll_id: PollId,
    /// Its channel.
    pub channel: Channel,
    /// The voter (choices are the poll's business).
    pub attendee_id: AttendeeId,
}

/// `qa.question_asked`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuestionAsked {
    /// The question.
    pub question_id: QaQuestionId,
    /// Its channel.
    pub channel: Channel,
    /// Who asked.
    pub attendee_id: AttendeeId,
}

/// `networking.met` and `networking.connected`: a networking meeting's pair
/// (the smaller id first).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meeting {
    /// The meeting.
    pub meeting_id: MeetingId,
    /// One of the two.
    pub first_id: AttendeeId,
    /// The other.
    pub second_id: AttendeeId,
}

/// `attendee.data_points`: a page's observations in one area since its
/// previous report, as the live socket accepted them (times no longer than
/// the time since that report).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataPoints {
    /// Whose page.
    pub attendee_id: AttendeeId,
    /// The area it showed.
    pub area: Area,
    /// The page's live connection.
    pub connection_id: ConnectionId,
    /// Time a video of the area actually played (advancing) in a visible tab.
    pub watched_ms: i64,
    /// Time the tab was hidden.
    pub hidden_ms: i64,
    /// The picture's height after each change of quality, in order
    /// (empty: no change).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub heights: Vec<u16>,
}

impl DataPoints {
    /// The most one report may claim of either time: pages report every 30 s.
    pub const MAX_MS: i64 = 60_000;
    /// The most quality changes one report may carry.
    pub const MAX_HEIGHTS: usize = 32;
    /// The tallest picture height accepted (8K).
    pub const MAX_HEIGHT: u16 = 4320;
}

/// `moderation.message_deleted`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageDeleted {
    /// The message.
    pub message_id: MessageId,
    /// Its channel.
    pub channel: Channel,
    /// The moderator.
    pub by: AttendeeId,
}

/// `moderation.attendee_sanctioned`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttendeeSanctioned {
    /// Who.
    pub attendee_id: AttendeeId,
    /// Mute or ban.
    pub sanction: SanctionKind,
    /// Until when (none: until lifted).
    pub until: Option<DateTime<Utc>>,
    /// The moderator.
    pub by: AttendeeId,
}

/// `moderation.role_changed`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleChanged {
    /// Who.
    pub attendee_id: AttendeeId,
    /// Their new role.
    pub role: AttendeeRole,
    /// The organiser who changed it.
    pub by: OrganiserId,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes_flatten_type_and_data() {
        let id = |n: u8| format!("00000000-0000-0000-0000-0000000000{n:02}");
        let env = Envelope {
            id: id(1).parse().unwrap(),
            version: 1,
            occurred_at: "2027-05-01T09:00:00Z".parse().unwrap(),
            org_id: id(2).parse().unwrap(),
            event_id: id(3).parse().unwrap(),
            fact: Fact::OrderCancelled(OrderCancelled {
                order_id: id(4).parse().unwrap(),
                reason: CancelReason::Unpaid,
            }),
        };
        let json = serde_json::to_value(&env).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "id": id(1), "version": 1, "occurred_at": "2027-05-01T09:00:00Z",
                "org_id": id(2), "event_id": id(3), "type": "order.cancelled",
                "data": { "order_id": id(4), "reason": "unpaid" }
            })
        );
        assert_eq!(serde_json::from_value::<Envelope>(json).unwrap(), env);
        assert_eq!(env.topic(), Topic::Registrations);
    }

    /// Every type named in `docs/EVENTS.md` parses from its example, and every
    /// type has an example there.
    #[test]
    fn the_documented_examples_parse() {
        let doc = include_str!("../../docs/EVENTS.md");
        let examples: Vec<&str> = doc
            .split("```json")
            .skip(1)
            .filter_map(|rest| rest.split("```").next())
            .collect();
        let mut seen = Vec::new();
        for ex in &examples {
            let env: Envelope = serde_json::from_str(ex)
                .unwrap_or_else(|e| panic!("docs/EVENTS.md example does not parse: {e}\n{ex}"));
            assert_eq!(env.version, env.fact.version());
            seen.push(env.fact.type_name());
        }
        for name in [
            "attendee.registered",
            "order.placed",
            "order.approved",
            "order.paid",
            "order.cancelled",
            "order.refunded",
            "attendee.entered_area",
            "attendee.left_area",
            "attendee.still_in_area",
            "replay.watched",
            "chat.message_posted",
            "poll.voted",
            "qa.question_asked",
            "networking.met",
            "networking.connected",
            "attendee.data_points",
            "moderation.message_deleted",
            "moderation.attendee_sanctioned",
            "moderation.role_changed",
            "recording.ready",
        ] {
            assert!(
                seen.contains(&name),
                "docs/EVENTS.md lacks an example of {name}"
            );
        }
    }
}
