//! Attendee activity: each fact commits with its outbox message in one transaction.

use chrono::Utc;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::bus::relay::OUTBOX_CHANNEL;
use crate::bus::{ActivityEnvelope, ACTIVITY_SCHEMA_VERSION, ACTIVITY_TOPIC};
use crate::Result;

/// Where in the event the activity happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Area {
    /// The registration form.
    Registration,
    /// The Reception (event info).
    Reception,
}

/// What the attendee did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Registered for the event.
    Registered,
    /// Entered an area.
    Enter,
    /// Left an area.
    Leave,
}

impl Area {
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Area::Registration => "registration",
            Area::Reception => "reception",
        }
    }
}

impl Action {
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Registered => "registered",
            Action::Enter => "enter",
            Action::Leave => "leave",
        }
    }
}

/// Writes the fact and its outbox row on `conn` (call inside a transaction).
pub async fn record(
    conn: &mut PgConnection,
    event_id: Uuid,
    attendee_id: Uuid,
    area: Area,
    action: Action,
) -> Result<ActivityEnvelope> {
    let envelope = ActivityEnvelope {
        message_id: Uuid::new_v4(),
        schema_version: ACTIVITY_SCHEMA_VERSION,
        event_id,
        attendee_id,
        area: area.as_str().to_owned(),
        action: action.as_str().to_owned(),
        occurred_at: Utc::now(),
    };
    sqlx::query(
        "INSERT INTO activity (message_id, event_id, attendee_id, area, action, occurred_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(envelope.message_id)
    .bind(event_id)
    .bind(attendee_id)
    .bind(&envelope.area)
    .bind(&envelope.action)
    .bind(envelope.occurred_at)
    .execute(&mut *conn)
    .await?;
    sqlx::query("INSERT INTO outbox (message_id, topic, key, payload) VALUES ($1, $2, $3, $4)")
        .bind(envelope.message_id)
        .bind(ACTIVITY_TOPIC)
        .bind(event_id.to_string())
        .bind(serde_json::to_value(&envelope)?)
        .execute(&mut *conn)
        .await?;
    sqlx::query("SELECT pg_notify($1, '')")
        .bind(OUTBOX_CHANNEL)
        .execute(&mut *conn)
        .await?;
    Ok(envelope)
}

/// Records one fact in its own transaction.
pub async fn record_now(
    pool: &PgPool,
    event_id: Uuid,
    attendee_id: Uuid,
    area: Area,
    action: Action,
) -> Result<ActivityEnvelope> {
    let mut tx = pool.begin().await?;
    let env = record(&mut tx, event_id, attendee_id, area, action).await?;
    tx.commit().await?;
    Ok(env)
}
