//! Blocks and reports (owner of `attendee_blocks` and `attendee_reports`):
//! someone blocked is never paired with the blocker again, either way round;
//! a report goes to the event's organisers with its reason.

use chrono::{DateTime, Utc};
use protocol::ids::{AttendeeId, EventId};
use sqlx::PgPool;
use uuid::Uuid;

use crate::accounts::Organiser;
use crate::live::participants::Actor;
use crate::registrations::attendees;
use crate::{events, Error, Result};

async fn other(pool: &PgPool, by: &Actor, who: AttendeeId) -> Result<attendees::Attendee> {
    if who == by.id {
        return Err(Error::invalid("that is you"));
    }
    attendees::in_event(pool, by.event_id, who)
        .await?
        .ok_or_else(|| Error::not_found("no such attendee"))
}

/// `by` blocks `who`: they are never paired again.
pub async fn block(pool: &PgPool, by: &Actor, who: AttendeeId) -> Result<()> {
    other(pool, by, who).await?;
    sqlx::query(
        "INSERT INTO attendee_blocks (event_id, blocker_id, blocked_id) VALUES ($1, $2, $3)
         ON CONFLICT DO NOTHING",
    )
    .bind(by.event_id)
    .bind(by.id)
    .bind(who)
    .execute(pool)
    .await?;
    Ok(())
}

/// Everyone `who` blocked or was blocked by in `event`.
pub async fn kept_apart(pool: &PgPool, event: EventId, who: AttendeeId) -> Result<Vec<AttendeeId>> {
    Ok(sqlx::query_scalar(
        "SELECT blocked_id FROM attendee_blocks WHERE event_id = $1 AND blocker_id = $2
         UNION SELECT blocker_id FROM attendee_blocks WHERE event_id = $1 AND blocked_id = $2",
    )
    .bind(event)
    .bind(who)
    .fetch_all(pool)
    .await?)
}

/// `by` reports `who` to the organisers.
pub async fn report(pool: &PgPool, by: &Actor, who: AttendeeId, reason: &str) -> Result<()> {
    other(pool, by, who).await?;
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 2000 {
        return Err(Error::invalid(
            "say what happened (at most 2000 characters)",
        ));
    }
    sqlx::query(
        "INSERT INTO attendee_reports (id, event_id, reporter_id, reported_id, reason) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(Uuid::new_v4())
    .bind(by.event_id)
    .bind(by.id)
    .bind(who)
    .bind(reason)
    .execute(pool)
    .await?;
    Ok(())
}

/// A report as organisers read it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Report {
    /// Who reported.
    pub reporter_id: AttendeeId,
    /// Whom.
    pub reported_id: AttendeeId,
    /// Why.
    pub reason: String,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// The reports in one of the organiser's events, newest first.
pub async fn reports(pool: &PgPool, by: &Organiser, slug: &str) -> Result<Vec<Report>> {
    let event = events::get_for_org(pool, by, slug).await?;
    Ok(sqlx::query_as(
        "SELECT reporter_id, reported_id, reason, created_at FROM attendee_reports
         WHERE event_id = $1 ORDER BY created_at DESC LIMIT 500",
    )
    .bind(event.id)
    .fetch_all(pool)
    .await?)
}
