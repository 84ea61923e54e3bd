//! Id newtypes: one type per kind of thing, so an attendee's id cannot be
//! passed where an event's is expected. Each is a UUID on the wire (a JSON
//! string) and in the database (`uuid` columns, with the `sqlx` feature).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! ids {
    ($( $(#[$meta:meta])* $name:ident ),+ $(,)?) => {$(
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A fresh random id.
            #[cfg(feature = "sqlx")]
            pub fn new() -> Self {
                $name(Uuid::new_v4())
            }

            /// The UUID inside.
            pub fn uuid(self) -> Uuid {
                self.0
            }
        }

        #[cfg(feature = "sqlx")]
        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                $name(id)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.trim().parse().map($name)
            }
        }

        #[cfg(feature = "sqlx")]
        impl sqlx::Type<sqlx::Postgres> for $name {
            fn type_info() -> sqlx::postgres::PgTypeInfo {
                <Uuid as sqlx::Type<sqlx::Postgres>>::type_info()
            }
        }

        #[cfg(feature = "sqlx")]
        impl sqlx::postgres::PgHasArrayType for $name {
            fn array_type_info() -> sqlx::postgres::PgTypeInfo {
                <Uuid as sqlx::postgres::PgHasArrayType>::array_type_info()
            }
        }

        #[cfg(feature = "sqlx")]
        impl<'q> sqlx::Encode<'q, sqlx::Postgres> for $name {
            fn encode_by_ref(
                &self,
                buf: &mut sqlx::postgres::PgArgumentBuffer,
            ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
                <Uuid as sqlx::Encode<'q, sqlx::Postgres>>::encode_by_ref(&self.0, buf)
            }
        }

        #[cfg(feature = "sqlx")]
        impl<'r> sqlx::Decode<'r, sqlx::Postgres> for $name {
            fn decode(value: sqlx::postgres::PgValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
                <Uuid as sqlx::Decode<'r, sqlx::Postgres>>::decode(value).map($name)
            }
        }
    )+};
}

ids! {
    /// An organisation (a customer account: team, plan, events).
    OrgId,
    /// An organiser: a person who signs in to the dashboard.
    OrganiserId,
    /// An event (`/e/{slug}`).
    EventId,
    /// An attendee: one person's registration for one event.
    AttendeeId,
    /// A ticket type of an event.
    TicketTypeId,
    /// A quota of seats that ticket types draw from.
    QuotaId,
    /// An order of tickets.
    OrderId,
    /// One ticket (one seat, one QR code).
    TicketId,
    /// A payment attempt of an order.
    PaymentId,
    /// Money given back for a payment.
    RefundId,
    /// A promo code of an event.
    PromoCodeId,
    /// A custom question of an event's registration form.
    QuestionId,
    /// A person on a ticket type's waiting list.
    WaitlistEntryId,
    /// An invitation to join an organisation's team.
    InviteId,
    /// A purchase of a plan by an organisation.
    PlanPurchaseId,
    /// A stage of an event.
    StageId,
    /// A chat message in a channel.
    MessageId,
    /// A direct message between two attendees.
    DmId,
    /// A poll of the Polls app.
    PollId,
    /// A question of the Q&A app.
    QaQuestionId,
    /// An app installed in an event.
    InstallId,
    /// A speaker of an event.
    SpeakerId,
    /// A session of an event's agenda.
    AgendaSessionId,
    /// A sponsor of an event.
    SponsorId,
    /// One domain event on the bus; consumers deduplicate on it.
    DomainEventId,
    /// An organisation's webhook endpoint (Longwave).
    WebhookEndpointId,
    /// One live WebSocket connection (one browser tab).
    ConnectionId,
    /// A video session (a room of the SFU where attendees choose to be on screen).
    VideoSessionId,
    /// A 1:1 networking meeting (a pair's call).
    MeetingId,
    /// A media asset (an uploaded video, later a recording).
    AssetId,
    /// A report an organiser asked analytics for (a CSV).
    ReportId,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_plain_uuid_strings_on_the_wire() {
        let raw = "67e55044-10b1-426f-9247-bb680e5fe0c8";
        let id: EventId = raw.parse().unwrap();
        assert_eq!(id.to_string(), raw);
        assert_eq!(serde_json::to_string(&id).unwrap(), format!("\"{raw}\""));
        let back: EventId = serde_json::from_str(&format!("\"{raw}\"")).unwrap();
        assert_eq!(back, id);
        assert!("nope".parse::<EventId>().is_err());
    }
}
