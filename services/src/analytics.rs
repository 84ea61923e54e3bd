//! Analytics: consumes `attendee.activity` into its own schema, idempotently by message id.

use sqlx::PgPool;
use tokio::sync::watch;
use uuid::Uuid;

use crate::bus::{ActivityEnvelope, Bus, ACTIVITY_TOPIC};
use crate::{Error, Result};

/// Consumer group of the analytics worker.
pub const GROUP: &str = "convene-analytics";

/// Stores one envelope; returns false when its message id was already stored.
pub async fn ingest(pool: &PgPool, env: &ActivityEnvelope) -> Result<bool> {
    let done = sqlx::query(
        "INSERT INTO analytics.activity_facts (message_id, event_id, attendee_id, area, action, occurred_at)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (message_id) DO NOTHING",
    )
    .bind(env.message_id)
    .bind(env.event_id)
    .bind(env.attendee_id)
    .bind(&env.area)
    .bind(&env.action)
    .bind(env.occurred_at)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Handles one raw payload: malformed messages are logged and skipped, not retried forever.
pub async fn handle_payload(pool: &PgPool, payload: &[u8]) -> Result<()> {
    match serde_json::from_slice::<ActivityEnvelope>(payload) {
        Ok(env) => {
            ingest(pool, &env).await?;
            Ok(())
        }
        Err(e) => {
            tracing::warn!(error = %e, "skipping malformed activity message");
            Ok(())
        }
    }
}

/// Runs the analytics consumer until `shutdown` flips; commits offsets on the way out.
pub async fn run(pool: PgPool, bus: Bus, mut shutdown: watch::Receiver<bool>) -> Result<()> {
    let mut sub = bus.subscribe(ACTIVITY_TOPIC, GROUP)?;
    tracing::info!(bus = bus.kind(), "analytics consumer started");
    loop {
        if *shutdown.borrow() {
            break;
        }
        let pool = &pool;
        tokio::select! {
            r = sub.process_next(|p| async move { handle_payload(pool, &p).await }) => {
                if let Err(e) = r {
                    tracing::warn!(error = %e, "analytics consumer error; retrying");
                    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                }
            }
            _ = shutdown.changed() => {}
        }
    }
    sub.commit()?;
    Ok(())
}

/// Event figures for the organiser's event page, read from the analytics schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EventStats {
    /// Registrations seen by analytics.
    pub registrations: i64,
    /// Times attendees entered Reception.
    pub reception_visits: i64,
    /// Distinct attendees who entered Reception.
    pub reception_visitors: i64,
}

/// Reads the figures of one event.
pub async fn event_stats(pool: &PgPool, event_id: Uuid) -> Result<EventStats> {
    let (registrations, reception_visits, reception_visitors): (i64, i64, i64) = sqlx::query_as(
        "SELECT
            count(*) FILTER (WHERE area = 'registration' AND action = 'registered'),
            count(*) FILTER (WHERE area = 'reception' AND action = 'enter'),
            count(DISTINCT attendee_id) FILTER (WHERE area = 'reception' AND action = 'enter')
         FROM analytics.activity_facts WHERE event_id = $1",
    )
    .bind(event_id)
    .fetch_one(pool)
    .await
    .map_err(Error::from)?;
    Ok(EventStats {
        registrations,
        reception_visits,
        reception_visitors,
    })
}
