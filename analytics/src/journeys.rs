//! Journeys: where each attendee went and for how long (their visits per
//! area), a page of attendees at a time, for reports that must not hold a
//! whole event in memory.

use chrono::{DateTime, Utc};
use protocol::ids::{AttendeeId, EventId};
use sqlx::PgPool;

use crate::visits::{visits_sql, GRACE, TIMEOUT};
use crate::Result;

/// One attendee's time in one area.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AttendeeArea {
    /// Who.
    pub attendee_id: AttendeeId,
    /// The area (`reception`, `stage:<id>`, …).
    pub area: String,
    /// Their visits there.
    pub visits: i64,
    /// Their time there, in whole seconds.
    pub seconds: i64,
    /// When they first came.
    pub first_at: DateTime<Utc>,
    /// When they were last there (`now` if they still are).
    pub last_at: DateTime<Utc>,
}

/// How many attendees entered `event`'s live areas by `now`.
pub async fn count(pool: &PgPool, event: EventId, now: DateTime<Utc>) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT count(DISTINCT attendee_id) FROM analytics.stays
         WHERE event_id = $1 AND entered_at <= $2",
    )
    .bind(event)
    .bind(now)
    .fetch_one(pool)
    .await?)
}

/// The next `limit` attendees (by id, after `after`) who entered `event` by
/// `now`. The cursor is a plain bound (the nil id for the first page), so
/// each page starts where the index says, not from the event's start.
pub async fn page(
    pool: &PgPool,
    event: EventId,
    now: DateTime<Utc>,
    after: Option<AttendeeId>,
    limit: i64,
) -> Result<Vec<AttendeeId>> {
    Ok(sqlx::query_scalar(
        "SELECT DISTINCT attendee_id FROM analytics.stays
         WHERE event_id = $1 AND entered_at <= $2 AND attendee_id > $3
         ORDER BY attendee_id LIMIT $4",
    )
    .bind(event)
    .bind(now)
    .bind(after.unwrap_or(AttendeeId(sqlx::types::Uuid::nil())))
    .bind(limit)
    .fetch_all(pool)
    .await?)
}

/// The journeys of `attendees` at `now`: a row per attendee and area, by
/// attendee (in the order of `attendees`' ids) and then most time first.
pub async fn of(
    pool: &PgPool,
    event: EventId,
    now: DateTime<Utc>,
    attendees: &[AttendeeId],
) -> Result<Vec<AttendeeArea>> {
    Ok(sqlx::query_as(&format!(
        "WITH visits AS ({})
         SELECT attendee_id, area, count(*) AS visits,
                floor(extract(epoch FROM sum(spent)))::bigint AS seconds,
                min(a) AS first_at, max(b) AS last_at
         FROM visits GROUP BY attendee_id, area
         ORDER BY attendee_id, sum(spent) DESC, area",
        visits_sql("AND attendee_id = ANY($5)")
    ))
    .bind(event)
    .bind(now)
    .bind(TIMEOUT)
    .bind(GRACE)
    .bind(attendees)
    .fetch_all(pool)
    .await?)
}
