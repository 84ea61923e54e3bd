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
use sqlx::{PgConnection, PgPool};

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

/// What an activity fact does to a connection's stays in an area.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Move {
    Enters,
    StaysIn,
    Leaves,
}

fn move_of(fact: &Fact) -> Option<(Move, &AreaVisit)> {
    match fact {
        Fact::AttendeeEnteredArea(v) => Some((Move::Enters, v)),
        Fact::AttendeeStillInArea(v) => Some((Move::StaysIn, v)),
        Fact::AttendeeLeftArea(v) => Some((Move::Leaves, v)),
        _ => None,
    }
}

/// Whether the fact changes stays (an entry, a heartbeat or a leave).
pub fn is_move(fact: &Fact) -> bool {
    move_of(fact).is_some()
}

/// The statement of each move, over arrays of (event, attendee, area,
/// connection, at) rows of distinct (connection, area).
fn statement(m: Move) -> &'static str {
    match m {
        // The key (connection, area, entered_at) makes a redelivered entry a no-op.
        Move::Enters => {
            "INSERT INTO analytics.stays
                (event_id, attendee_id, area, connection_id, entered_at, last_seen_at)
             SELECT e, a, ar, c, t, t FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::uuid[], $5::timestamptz[])
                AS x(e, a, ar, c, t)
             ON CONFLICT DO NOTHING"
        }
        // Closes the connection's open stay in the area, if one began by then.
        Move::Leaves => {
            "UPDATE analytics.stays s
             SET left_at = x.t, last_seen_at = greatest(s.last_seen_at, x.t)
             FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::uuid[], $5::timestamptz[]) AS x(e, a, ar, c, t)
             WHERE s.connection_id = x.c AND s.area = x.ar AND s.left_at IS NULL AND s.entered_at <= x.t
               AND s.event_id = x.e AND s.attendee_id = x.a"
        }
        // Moves the last sign of life of the stay it falls in; with none (a
        // resumed socket's first word), opens one.
        Move::StaysIn => {
            "WITH x AS (
                SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::uuid[], $5::timestamptz[])
                    AS x(e, a, ar, c, t)
             ), seen AS (
                UPDATE analytics.stays s SET last_seen_at = greatest(s.last_seen_at, x.t)
                FROM x
                WHERE s.connection_id = x.c AND s.area = x.ar AND s.entered_at <= x.t
                  AND (s.left_at IS NULL OR s.left_at >= x.t)
                  AND s.event_id = x.e AND s.attendee_id = x.a
                RETURNING s.connection_id, s.area
             )
             INSERT INTO analytics.stays
                (event_id, attendee_id, area, connection_id, entered_at, last_seen_at)
             SELECT x.e, x.a, x.ar, x.c, x.t, x.t FROM x
             WHERE NOT EXISTS (SELECT 1 FROM seen WHERE seen.connection_id = x.c AND seen.area = x.ar)
             ON CONFLICT DO NOTHING"
        }
    }
}

/// Splits moves, in order, into rounds: round r holds the r-th move of each
/// (connection, area). Every statement touches only the stays of its own
/// (connection, area), so the moves of one round are independent of each
/// other and can go in one statement per kind, while each (connection,
/// area) still sees its moves in order, one round after another.
fn rounds<T>(moves: Vec<(String, T)>) -> Vec<Vec<T>> {
    let mut next: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut out: Vec<Vec<T>> = Vec::new();
    for (key, m) in moves {
        let r = next.entry(key).or_insert(0);
        if out.len() <= *r {
            out.push(Vec::new());
        }
        out[*r].push(m);
        *r += 1;
    }
    out
}

/// A move as applied: what, in which event, whose connection in which area, when.
type Applied<'a> = (Move, EventId, &'a AreaVisit, DateTime<Utc>);

/// Applies activity facts to the stays, in order per connection and area,
/// in a few set-based statements (see [`rounds`]); other facts change nothing.
pub async fn apply_all(conn: &mut PgConnection, envs: &[&Envelope]) -> Result<()> {
    let moves: Vec<(String, Applied)> = envs
        .iter()
        .filter_map(|env| {
            let (m, v) = move_of(&env.fact)?;
            let key = format!("{}|{}", v.connection_id, v.area);
            Some((key, (m, env.event_id, v, env.occurred_at)))
        })
        .collect();
    for round in rounds(moves) {
        for kind in [Move::Enters, Move::StaysIn, Move::Leaves] {
            let of_kind: Vec<_> = round.iter().filter(|(m, ..)| *m == kind).collect();
            if of_kind.is_empty() {
                continue;
            }
            let events: Vec<EventId> = of_kind.iter().map(|(_, e, ..)| *e).collect();
            let attendees: Vec<_> = of_kind.iter().map(|(_, _, v, _)| v.attendee_id).collect();
            let areas: Vec<String> = of_kind
                .iter()
                .map(|(_, _, v, _)| v.area.to_string())
                .collect();
            let conns: Vec<_> = of_kind.iter().map(|(_, _, v, _)| v.connection_id).collect();
            let ats: Vec<DateTime<Utc>> = of_kind.iter().map(|(.., at)| *at).collect();
            sqlx::query(statement(kind))
                .bind(events)
                .bind(attendees)
                .bind(areas)
                .bind(conns)
                .bind(ats)
                .execute(&mut *conn)
                .await?;
        }
    }
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
    fn rounds_keep_each_connections_moves_in_order_and_apart() {
        let moves = vec![("a", 1), ("b", 2), ("a", 3), ("c", 4), ("a", 5), ("b", 6)];
        let got = rounds(moves.into_iter().map(|(k, m)| (k.to_owned(), m)).collect());
        assert_eq!(got, vec![vec![1, 2, 4], vec![3, 6], vec![5]]);
        assert!(rounds::<i32>(Vec::new()).is_empty());
    }

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
