//! Time spent: visits per attendee per area, from the live sockets' facts.
//!
//! The model. Each live connection (a tab) in an area is a *stay*
//! (`analytics.stays`): opened by `attendee.entered_area`, closed by
//! `attendee.left_area`, and kept alive by `attendee.still_in_area`, which
//! an open socket sends every minute. A stay whose heartbeats stopped with no
//! leave (its node died, or the leave was never written) ends at its last
//! sign of life once [`TIMEOUT`] has passed, so a lost connection does not
//! count for hours. A heartbeat of a connection with no stay opens one: a
//! socket that reconnects (the page resuming) says it is still there rather
//! than entering again.
//!
//! A *visit* is an attendee's time in an area: their stays there, joined
//! when one begins within [`GRACE`] of the end of the ones before it (two
//! tabs overlap; a reconnect leaves a gap). Its time is the union of its
//! stays: overlapping tabs count once, and a gap counts nowhere (a move to
//! another area and back is time in that other area only). Visits are
//! computed when read, from the stays, so a
//! fact consumed twice or replayed changes nothing: every write below is
//! idempotent (an entry inserts by its key, a leave closes only an open
//! stay, a heartbeat only moves the last sign of life forward).

use chrono::{DateTime, Utc};
use protocol::events::{AreaVisit, Envelope, Fact};
use protocol::ids::EventId;
use sqlx::PgPool;

use crate::Result;

/// How long after its last heartbeat an unclosed stay is over: two and a
/// half heartbeats, so one heartbeat late (a busy node) ends nothing.
pub const TIMEOUT: chrono::TimeDelta = chrono::TimeDelta::seconds(150);

/// A stay that begins within this of the end of the attendee's earlier
/// stays in the area continues their visit (a reconnect, a reload). A stay
/// whose node died ends at its last heartbeat, up to a heartbeat before the
/// socket dropped, and the page then reconnects with back-off: this covers
/// both.
pub const GRACE: chrono::TimeDelta = chrono::TimeDelta::seconds(90);

/// Applies one activity fact to the stays; other facts change nothing.
pub async fn apply(pool: &PgPool, env: &Envelope) -> Result<()> {
    let (visit, statement) = match &env.fact {
        // The key (connection, area, entered_at) makes a redelivered entry a no-op.
        Fact::AttendeeEnteredArea(v) => (
            v,
            "INSERT INTO analytics.stays
                (event_id, attendee_id, area, connection_id, entered_at, last_seen_at)
             VALUES ($1, $2, $3, $4, $5, $5)
             ON CONFLICT DO NOTHING",
        ),
        // Closes the connection's open stay in the area, if one began by then.
        Fact::AttendeeLeftArea(v) => (
            v,
            "UPDATE analytics.stays
             SET left_at = $5, last_seen_at = greatest(last_seen_at, $5)
             WHERE connection_id = $4 AND area = $3 AND left_at IS NULL AND entered_at <= $5
               AND event_id = $1 AND attendee_id = $2",
        ),
        // Moves the last sign of life of the stay it falls in; with none (a
        // resumed socket's first word), opens one.
        Fact::AttendeeStillInArea(v) => (
            v,
            "WITH seen AS (
                UPDATE analytics.stays SET last_seen_at = greatest(last_seen_at, $5)
                WHERE connection_id = $4 AND area = $3 AND entered_at <= $5
                  AND (left_at IS NULL OR left_at >= $5)
                  AND event_id = $1 AND attendee_id = $2
                RETURNING 1
             )
             INSERT INTO analytics.stays
                (event_id, attendee_id, area, connection_id, entered_at, last_seen_at)
             SELECT $1, $2, $3, $4, $5, $5 WHERE NOT EXISTS (SELECT 1 FROM seen)
             ON CONFLICT DO NOTHING",
        ),
        _ => return Ok(()),
    };
    let AreaVisit {
        attendee_id,
        area,
        connection_id,
    } = visit;
    sqlx::query(statement)
        .bind(env.event_id)
        .bind(attendee_id)
        .bind(area.to_string())
        .bind(connection_id)
        .bind(env.occurred_at)
        .execute(pool)
        .await?;
    Ok(())
}

/// What attendees did in one area of an event, up to a moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AreaFigures {
    /// The area (`reception`, `stage:<id>`, `session:<id>`, …).
    pub area: String,
    /// Distinct attendees who were there.
    pub visitors: i64,
    /// Visits (reconnects and overlapping tabs are one visit).
    pub visits: i64,
    /// Time spent there, all visits together, in whole seconds.
    pub seconds: i64,
    /// The most attendees there at once.
    pub peak: i64,
    /// Attendees there at `now`.
    pub now: i64,
}

/// The visits of event `$1` as they stand at `$2` (with [`TIMEOUT`] as `$3`
/// and [`GRACE`] as `$4`), one row per attendee and visit, of the stays
/// `filter` (SQL after the event's condition) keeps: the shared part of the
/// figures. An unclosed stay lasts until `now`, or until its last heartbeat
/// once that is [`TIMEOUT`] old. `a` and `b` bound the visit; `spent` is
/// the union of its stays (each stay adds what lies past the latest end
/// before it).
pub(crate) fn visits_sql(filter: &str) -> String {
    format!(
        "
    WITH stays AS (
        SELECT attendee_id, area, entered_at AS a,
               greatest(entered_at, CASE
                   WHEN left_at IS NOT NULL THEN least(left_at, $2)
                   WHEN last_seen_at < $2 - $3 THEN last_seen_at
                   ELSE $2 END) AS b,
               left_at IS NULL AND last_seen_at >= $2 - $3 AS open
        FROM analytics.stays WHERE event_id = $1 AND entered_at <= $2 {filter}
    ), ordered AS (
        SELECT *, max(b) OVER (PARTITION BY attendee_id, area ORDER BY a, b
                               ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS before
        FROM stays
    ), numbered AS (
        SELECT *, count(*) FILTER (WHERE before IS NULL OR a > before + $4)
                      OVER (PARTITION BY attendee_id, area ORDER BY a, b) AS visit,
               greatest(interval '0', b - greatest(a, coalesce(before, a))) AS fresh
        FROM ordered
    )
    SELECT attendee_id, area, visit, min(a) AS a, max(b) AS b, sum(fresh) AS spent,
           bool_or(open) AS open
    FROM numbered GROUP BY attendee_id, area, visit"
    )
}

/// Time spent per area of `event`, as it stands at `now`.
pub async fn per_area(
    pool: &PgPool,
    event: EventId,
    now: DateTime<Utc>,
) -> Result<Vec<AreaFigures>> {
    // Concurrency: each visit is +1 at its start and -1 at its end; at one
    // instant a leave counts before an entry (they were not there together).
    let rows: Vec<(String, i64, i64, i64, i64, i64)> = sqlx::query_as(&format!(
        "WITH visits AS ({}),
         steps AS (
            SELECT area, a AS t, 1 AS d FROM visits
            UNION ALL SELECT area, b, -1 FROM visits WHERE NOT open
         ), running AS (
            SELECT area, sum(d) OVER (PARTITION BY area ORDER BY t, d ROWS UNBOUNDED PRECEDING) AS n
            FROM steps
         ), peaks AS (SELECT area, max(n)::bigint AS peak FROM running GROUP BY area)
         SELECT v.area, count(DISTINCT v.attendee_id), count(*),
                floor(extract(epoch FROM sum(v.spent)))::bigint,
                p.peak, count(DISTINCT v.attendee_id) FILTER (WHERE v.open)
         FROM visits v JOIN peaks p USING (area)
         GROUP BY v.area, p.peak
         ORDER BY sum(v.spent) DESC, v.area",
        visits_sql("")
    ))
    .bind(event)
    .bind(now)
    .bind(TIMEOUT)
    .bind(GRACE)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(area, visitors, visits, seconds, peak, now)| AreaFigures {
            area,
            visitors,
            visits,
            seconds,
            peak,
            now,
        })
        .collect())
}

/// Time in stages, sessions and networking that makes an attendee engaged.
pub const ENGAGED: chrono::TimeDelta = chrono::TimeDelta::minutes(5);

/// How far attendees went, as it stands at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Funnel {
    /// Attendees who entered the live event at all.
    pub attended: i64,
    /// Attendees who spent [`ENGAGED`] or more in stages, sessions and
    /// networking together.
    pub engaged: i64,
}

/// The attended and engaged steps of `event`'s funnel at `now`.
pub async fn funnel(pool: &PgPool, event: EventId, now: DateTime<Utc>) -> Result<Funnel> {
    let (attended, engaged): (i64, i64) = sqlx::query_as(&format!(
        "WITH visits AS ({})
         SELECT (SELECT count(DISTINCT attendee_id) FROM visits),
                (SELECT count(*) FROM (
                    SELECT attendee_id FROM visits
                    WHERE area LIKE 'stage:%' OR area LIKE 'session:%' OR area = 'networking'
                    GROUP BY attendee_id HAVING sum(spent) >= $5) engaged)",
        visits_sql("")
    ))
    .bind(event)
    .bind(now)
    .bind(TIMEOUT)
    .bind(GRACE)
    .bind(ENGAGED)
    .fetch_one(pool)
    .await?;
    Ok(Funnel { attended, engaged })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_late_heartbeat_ends_nothing_and_a_reconnect_fits_in_the_grace() {
        let beat = chrono::TimeDelta::from_std(AreaVisit::STILL_THERE_EVERY).unwrap();
        assert!(
            TIMEOUT >= beat * 2,
            "one late heartbeat must not end a visit"
        );
        // A dead node's stay ends up to a heartbeat before its socket
        // dropped; the page then waits at most RECONNECT_AT_MOST.
        let back_off = chrono::TimeDelta::from_std(protocol::live::RECONNECT_AT_MOST).unwrap();
        assert!(
            GRACE >= beat + back_off + chrono::TimeDelta::seconds(10),
            "a reconnect after a dead node fits in the grace"
        );
    }
}
