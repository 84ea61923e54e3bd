//! Every stored state and kind as a closed enum, parsed once where it enters
//! (a form, a database row, a message) and compared as a value afterwards.
//!
//! Each is a snake_case string on the wire and in its `text` column (whose
//! `CHECK` constraint lists the same values); with the `sqlx` feature it binds
//! and decodes as that string.

use serde::{Deserialize, Serialize};

/// A string that names no variant of a state enum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownState {
    /// The enum it was parsed as.
    pub kind: &'static str,
    /// What was given.
    pub value: String,
}

impl std::fmt::Display for UnknownState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "'{}' is not a valid {}", self.value, self.kind)
    }
}

impl std::error::Error for UnknownState {}

macro_rules! states {
    ($(
        $(#[$meta:meta])*
        $name:ident { $( $(#[$vmeta:meta])* $variant:ident = $text:literal ),+ $(,)? }
    )+) => {$(
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name {
            $( $(#[$vmeta])* #[serde(rename = $text)] $variant ),+
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stored and wire name.
            pub const fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = UnknownState;
            fn from_str(s: &str) -> Result<Self, UnknownState> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(UnknownState { kind: stringify!($name), value: s.to_owned() }),
                }
            }
        }

        #[cfg(feature = "sqlx")]
        impl sqlx::Type<sqlx::Postgres> for $name {
            fn type_info() -> sqlx::postgres::PgTypeInfo {
                <&str as sqlx::Type<sqlx::Postgres>>::type_info()
            }
            fn compatible(ty: &sqlx::postgres::PgTypeInfo) -> bool {
                <&str as sqlx::Type<sqlx::Postgres>>::compatible(ty)
            }
        }

        #[cfg(feature = "sqlx")]
        impl sqlx::postgres::PgHasArrayType for $name {
            fn array_type_info() -> sqlx::postgres::PgTypeInfo {
                <&str as sqlx::postgres::PgHasArrayType>::array_type_info()
            }
        }

        #[cfg(feature = "sqlx")]
        impl<'q> sqlx::Encode<'q, sqlx::Postgres> for $name {
            fn encode_by_ref(
                &self,
                buf: &mut sqlx::postgres::PgArgumentBuffer,
            ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
                <&str as sqlx::Encode<'q, sqlx::Postgres>>::encode_by_ref(&self.as_str(), buf)
            }
        }

        #[cfg(feature = "sqlx")]
        impl<'r> sqlx::Decode<'r, sqlx::Postgres> for $name {
            fn decode(value: sqlx::postgres::PgValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
                Ok(<&str as sqlx::Decode<'r, sqlx::Postgres>>::decode(value)?.parse()?)
            }
        }
    )+};
}

states! {
    /// Where an order stands. Seats are held in every state but the last two.
    OrderStatus {
        /// Waits for the organiser's approval (nothing charged yet).
        AwaitingApproval = "awaiting_approval",
        /// Waits for payment.
        Pending = "pending",
        /// Free, or paid: its tickets open the event.
        Confirmed = "confirmed",
        /// Cancelled (declined, expired or by the organiser); tickets voided.
        Cancelled = "cancelled",
        /// Cancelled and its payments given back.
        Refunded = "refunded",
    }

    /// A payment attempt's state.
    PaymentStatus {
        /// Recorded, and the provider asked; its answer is not in yet (or was
        /// lost: the reconciliation asks the provider again).
        Processing = "processing",
        /// The buyer must finish a step (3-D Secure); a webhook settles it.
        RequiresAction = "requires_action",
        /// Money taken.
        Succeeded = "succeeded",
        /// Declined or abandoned.
        Failed = "failed",
        /// Money taken that must go back; its refund is under way.
        Refunding = "refunding",
        /// Money taken, then given back.
        Refunded = "refunded",
    }

    /// A refund's state: recorded before the provider is asked, done when it
    /// answered.
    RefundStatus {
        /// The provider has not confirmed it yet (retried with the same key).
        Pending = "pending",
        /// The provider gave the money back.
        Succeeded = "succeeded",
    }

    /// The final outcome a payment provider reports for a payment.
    PaymentOutcome {
        /// Money taken.
        Succeeded = "succeeded",
        /// Not taken.
        Failed = "failed",
    }

    /// A plan purchase's state.
    PlanPurchaseStatus {
        /// Recorded, and the provider asked; its answer is not in yet.
        Processing = "processing",
        /// The buyer must finish a step; a webhook settles it.
        RequiresAction = "requires_action",
        /// Paid; the organisation is on the plan for the period.
        Succeeded = "succeeded",
        /// Not paid (declined, or abandoned for a newer attempt).
        Failed = "failed",
        /// Paid when it no longer could apply; the money is going back.
        Refunding = "refunding",
        /// Paid, then given back.
        Refunded = "refunded",
    }

    /// An organiser's role in their organisation.
    OrganiserRole {
        /// Manages the team and billing.
        Owner = "owner",
        /// Works on every event of the organisation.
        Member = "member",
    }

    /// An attendee's role in their event.
    AttendeeRole {
        /// Takes part.
        Attendee = "attendee",
        /// Also deletes messages, mutes, bans, runs polls and Q&A.
        Moderator = "moderator",
    }

    /// What a moderator did to an attendee.
    SanctionKind {
        /// May not post (for a while, or until lifted).
        Mute = "mute",
        /// May not enter the live event.
        Ban = "ban",
    }

    /// What a promo code does.
    PromoKind {
        /// A percentage off.
        Percent = "percent",
        /// An amount off, in the ticket's currency.
        Fixed = "fixed",
        /// Makes a hidden ticket type visible and purchasable.
        Unlock = "unlock",
    }

    /// Whether a ticket type is listed to buyers.
    Visibility {
        /// Listed and sold.
        Public = "public",
        /// Sold only with an unlock code.
        Hidden = "hidden",
    }

    /// The kind of a custom registration question.
    QuestionKind {
        /// Free text.
        Text = "text",
        /// One of the question's options.
        Choice = "choice",
        /// Yes, or no answer.
        Checkbox = "checkbox",
    }

    /// A waiting-list entry's state.
    WaitlistStatus {
        /// In line.
        Waiting = "waiting",
        /// A freed seat is held for this person until the offer expires.
        Offered = "offered",
        /// Bought the held seat.
        Converted = "converted",
        /// Let the offer pass.
        Expired = "expired",
    }

    /// What a stage plays.
    StageSourceKind {
        /// An HLS stream URL.
        Hls = "hls",
        /// An embeddable player URL (iframe).
        Embed = "embed",
        /// Nothing yet.
        None = "none",
        /// A media asset of the event, started at a scheduled time and at the
        /// same position for every viewer.
        Simulive = "simulive",
        /// Live from the stage's backstage: speakers in a media room, the
        /// hosts choosing who is on air.
        Backstage = "backstage",
    }

    /// Where a stage broadcast from its backstage stands.
    StageLive {
        /// Not started: viewers see "starting soon".
        Off = "off",
        /// On air.
        Live = "live",
        /// A host ended it: viewers see "ended".
        Ended = "ended",
    }

    /// How viewers see the people on air.
    StageLayout {
        /// One speaker fills the picture.
        Solo = "solo",
        /// Everyone on air side by side.
        SideBySide = "side_by_side",
        /// A shared screen large, the speaker small beside it.
        ScreenSpeaker = "screen_speaker",
    }

    /// A poll's state.
    PollStatus {
        /// Takes votes.
        Open = "open",
        /// Results only.
        Closed = "closed",
    }

    /// A Q&A question's state.
    QaStatus {
        /// Waits for a moderator (seen by moderators and its author).
        Pending = "pending",
        /// Visible; takes upvotes.
        Open = "open",
        /// Answered; still visible.
        Answered = "answered",
        /// Removed by a moderator; its text goes to nobody.
        Hidden = "hidden",
    }

    /// A sponsor's tier.
    SponsorTier {
        /// Top tier.
        Gold = "gold",
        /// Second tier.
        Silver = "silver",
        /// Third tier.
        Bronze = "bronze",
        /// Partner.
        Partner = "partner",
    }

    /// Whose session a session cookie opens.
    SessionKind {
        /// An organiser's dashboard session.
        Organiser = "organiser",
        /// An attendee's session in one event.
        Attendee = "attendee",
    }

    /// An app of the App store catalogue.
    AppKind {
        /// Polls with live results.
        Polls = "polls",
        /// Questions from the audience.
        Qa = "qa",
        /// Caption lines per language.
        Translations = "translations",
        /// A third-party web app in a sandboxed frame.
        Embed = "embed",
    }

    /// The kind of an app setting.
    SettingKind {
        /// On or off.
        Bool = "bool",
        /// Text.
        Text = "text",
        /// An https URL.
        Url = "url",
    }

    /// Where an app may appear.
    Placement {
        /// Beside a stage.
        Stage = "stage",
        /// In a session.
        Session = "session",
        /// In an expo booth.
        Booth = "booth",
    }

    /// Why an order was cancelled.
    CancelReason {
        /// The organiser cancelled or declined it.
        Organiser = "organiser",
        /// It was not paid in time.
        Unpaid = "unpaid",
        /// Nobody approved it in time.
        NotApproved = "not_approved",
    }

    /// Who may go on screen in a video session.
    OnScreenPolicy {
        /// Any attendee, up to the session's on-screen limit.
        Anyone = "anyone",
        /// Attendees whom a host approved.
        Request = "request",
        /// The session's hosts only.
        Hosts = "hosts",
    }

    /// Where a media asset is in its life.
    AssetStatus {
        /// Its bytes are arriving (the upload can resume).
        Uploading = "uploading",
        /// All there and a video; its renditions and thumbnail are being made.
        Processing = "processing",
        /// Playable.
        Ready = "ready",
        /// A transform failed (the asset's `error` says why).
        Failed = "failed",
    }

    /// Who may watch a media asset in Replay.
    ReplayAudience {
        /// Not in Replay.
        Unpublished = "unpublished",
        /// The event's admitted attendees.
        Attendees = "attendees",
        /// Anyone with the event's link, signed in or not.
        Public = "public",
    }

    /// How a pre-event check measure (or the whole check) came out.
    CheckVerdict {
        /// Fine for going on screen.
        Good = "good",
        /// Usable; see the advice.
        Fair = "fair",
        /// Likely to freeze or drop; see the advice.
        Poor = "poor",
    }

    /// Whom networking pairs with whom (the organiser's rule).
    MatchRule {
        /// Any two waiting attendees.
        Anyone = "anyone",
        /// Attendees holding the same ticket type (speakers with speakers).
        SameTicketType = "same_ticket_type",
        /// Attendees holding different ticket types (buyers with sellers).
        OtherTicketType = "other_ticket_type",
        /// Attendees who gave the same answer to a registration question
        /// (the interest they chose).
        SameAnswer = "same_answer",
    }

    /// What a session host does to someone in it.
    SessionAction {
        /// Turn their microphone off (they may turn it on again).
        Mute = "mute",
        /// Back to watching: camera and microphone off.
        OffScreen = "off_screen",
        /// Out of the session.
        Remove = "remove",
    }

    /// What a webhook message tells (the domain event's type name; an
    /// endpoint chooses the ones it wants).
    WebhookType {
        /// Someone registered.
        AttendeeRegistered = "attendee.registered",
        /// An order was placed.
        OrderPlaced = "order.placed",
        /// An order was paid.
        OrderPaid = "order.paid",
        /// An order was cancelled.
        OrderCancelled = "order.cancelled",
        /// A cancelled order was refunded.
        OrderRefunded = "order.refunded",
        /// An attendee entered an area of the live event.
        EnteredArea = "attendee.entered_area",
        /// An attendee left an area of the live event.
        LeftArea = "attendee.left_area",
        /// A recording was processed and plays.
        RecordingReady = "recording.ready",
    }

    /// What an analytics report holds.
    ReportKind {
        /// A row per attendee and area: visits, time, first and last seen.
        TimePerArea = "time_per_area",
        /// A row per area: attendees, visits, time, peak, messages, votes,
        /// questions, meetings, watchers and watch time.
        AreaSummary = "area_summary",
        /// A row per registered attendee: their order where it stands and
        /// their answers, a column per question.
        Registrations = "registrations",
    }

    /// Where the making of an analytics report stands.
    ReportStatus {
        /// Asked for; waits for the analytics worker.
        Queued = "queued",
        /// Being written.
        Running = "running",
        /// Can be downloaded (until it expires).
        Ready = "ready",
        /// Its making failed every time it was tried.
        Failed = "failed",
    }

    /// Where one message's delivery to one endpoint stands.
    DeliveryStatus {
        /// Not yet answered with a 2xx; tried again on the schedule.
        Pending = "pending",
        /// A 2xx answered it.
        Delivered = "delivered",
        /// Every attempt of the schedule failed.
        Failed = "failed",
    }

    /// Where a viewer on screen stands when their page renews the place.
    ScreenPlace {
        /// Still on screen.
        Held = "held",
        /// Back to watching: a host took them off screen, or the place
        /// lapsed and the screen filled up, or the session ended.
        Lost = "lost",
        /// A host removed them from the session.
        Removed = "removed",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_round_trip_through_their_names() {
        for s in OrderStatus::ALL {
            assert_eq!(s.as_str().parse::<OrderStatus>().unwrap(), *s);
            assert_eq!(
                serde_json::to_string(s).unwrap(),
                format!("\"{}\"", s.as_str())
            );
        }
        assert_eq!(
            "awaiting_approval".parse::<OrderStatus>().unwrap(),
            OrderStatus::AwaitingApproval
        );
        let err = "shipped".parse::<OrderStatus>().unwrap_err();
        assert_eq!(err.to_string(), "'shipped' is not a valid OrderStatus");
    }
}
