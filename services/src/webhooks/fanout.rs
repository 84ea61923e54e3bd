//! The webhooks consumer: domain events from the bus become messages and
//! deliveries, idempotently by the envelope's id.

use protocol::events::{Envelope, Topic};
use protocol::states::WebhookType;
use sqlx::PgPool;
use tokio::sync::watch;

use crate::Result;

/// The consumer group of the webhooks worker.
pub const GROUP: &str = "convene-webhooks";

/// The topics whose facts endpoints may want.
pub const TOPICS: &[Topic] = &[Topic::Registrations, Topic::Activity, Topic::Media];

/// The message type a domain event is, if endpoints may want it.
pub fn type_of(env: &Envelope) -> Option<WebhookType> {
    env.fact.type_name().parse().ok()
}

/// The body of the message a domain event becomes (Standard Webhooks:
/// `type`, `timestamp` and `data`); `data` is the fact's, with the event it
/// happened in (an endpoint may hear about every event of the organisation).
pub fn body_of(env: &Envelope, kind: WebhookType) -> String {
    let fact = serde_json::to_value(&env.fact).unwrap_or_default();
    let mut data = fact.get("data").cloned().unwrap_or_default();
    if let Some(fields) = data.as_object_mut() {
        fields.insert("event_id".into(), serde_json::json!(env.event_id));
    }
    serde_json::json!({
        "type": kind.as_str(),
        "timestamp": env.occurred_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "data": data,
    })
    .to_string()
}

/// Stores the message of one envelope and its deliveries, if its
/// organisation has an endpoint (a message is kept for replays even when
/// none wants it now). An endpoint the platform turned off still gets its
/// deliveries, which wait until its owner turns it on again; one its owner
/// turned off gets none. A redelivered envelope changes nothing: the message
/// exists, and its deliveries were made with it, in one statement.
#[tracing::instrument(skip_all, fields(message = %env.id, kind = env.fact.type_name()))]
pub async fn ingest(pool: &PgPool, env: &Envelope) -> Result<()> {
    let Some(kind) = type_of(env) else {
        return Ok(());
    };
    sqlx::query(
        "WITH msg AS (
            INSERT INTO webhook_messages (id, org_id, event_id, type, body, occurred_at)
            SELECT $1, $2, $3, $4, $5, $6
            WHERE EXISTS (SELECT 1 FROM webhook_endpoints WHERE org_id = $2)
            ON CONFLICT (id) DO NOTHING
            RETURNING id
         )
         INSERT INTO webhook_deliveries (message_id, endpoint_id)
         SELECT msg.id, e.id FROM msg, webhook_endpoints e
         WHERE e.org_id = $2 AND (e.enabled OR e.disabled_reason IS NOT NULL)
           AND (e.event_id IS NULL OR e.event_id = $3)
           AND $4 = ANY(e.types)
         ON CONFLICT DO NOTHING",
    )
    .bind(env.id)
    .bind(env.org_id)
    .bind(env.event_id)
    .bind(kind)
    .bind(body_of(env, kind))
    .bind(env.occurred_at)
    .execute(pool)
    .await?;
    Ok(())
}

/// Runs the consumer until `shutdown` flips.
pub async fn run(pool: PgPool, bus: bus::Bus, shutdown: watch::Receiver<bool>) -> Result<()> {
    let consumer = bus.consumer(&pool, GROUP, TOPICS)?;
    tracing::info!(bus = bus.kind(), "webhooks consumer started");
    consumer
        .run(shutdown, |env| {
            let pool = pool.clone();
            async move { ingest(&pool, &env).await }
        })
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::events::{AreaVisit, Fact};
    use protocol::ids::{AttendeeId, ConnectionId, DomainEventId, EventId, OrgId};

    #[test]
    fn a_visit_becomes_a_standard_webhooks_body() {
        let attendee = AttendeeId::new();
        let env = Envelope {
            id: DomainEventId::new(),
            version: 1,
            occurred_at: "2026-12-01T10:00:00.250Z".parse().unwrap(),
            org_id: OrgId::new(),
            event_id: EventId::new(),
            fact: Fact::AttendeeEnteredArea(AreaVisit {
                attendee_id: attendee,
                area: protocol::Area::Reception,
                connection_id: ConnectionId::new(),
            }),
        };
        let kind = type_of(&env).unwrap();
        assert_eq!(kind, WebhookType::EnteredArea);
        let body: serde_json::Value = serde_json::from_str(&body_of(&env, kind)).unwrap();
        assert_eq!(body["type"], "attendee.entered_area");
        assert_eq!(body["timestamp"], "2026-12-01T10:00:00.250Z");
        assert_eq!(body["data"]["attendee_id"], attendee.to_string());
        assert_eq!(body["data"]["event_id"], env.event_id.to_string());
    }
}
