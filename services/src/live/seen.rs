//! Each live connection's report clock: when its page last reported what it
//! saw ([`participants::data_points`]). A page reports on its live socket,
//! and, when the socket is already down as the page closes or between
//! reconnects, with a beacon (`POST /e/{slug}/seen`, naming the connection
//! its socket's `hello` gave). Both ways claim time from this one clock in
//! Redis, so a report never claims more than the time since the previous one,
//! whichever way that one came.
//!
//! `seen-clock:{conn}` holds `attendee area at_ms`. The socket sets it when it
//! opens and whenever it enters an area. A report is judged against it
//! ([`participants::data_points`]) and then moves it on with a compare-and-set
//! ([`MOVE_ON`]). The race it prevents: a beacon and a socket report (or two
//! beacons) judged against the same clock value would both claim the same
//! interval; the second compare-and-set fails and that report is refused. The
//! key outlives its socket by [`KEEP_SECS`], the time a beacon may still come.

use protocol::events::DataPoints;
use protocol::ids::{AttendeeId, ConnectionId};
use protocol::Area;
use redis::aio::ConnectionManager;

use super::participants::{self, Actor, Seen};
use crate::{Error, Result};

/// Seconds a connection's clock is kept after its last report or area change.
pub const KEEP_SECS: u64 = 3600;

fn key(ns: &str, conn: ConnectionId) -> String {
    format!("{ns}seen-clock:{conn}")
}

/// The stored form of a clock.
fn value(attendee: AttendeeId, area: Area, at_ms: i64) -> String {
    format!("{attendee} {area} {at_ms}")
}

/// A stored clock: whose connection, the area it is in, and when it last
/// reported (or entered that area), in ms since the epoch.
fn parse(raw: &str) -> Option<(AttendeeId, Area, i64)> {
    let mut parts = raw.split(' ');
    let attendee = parts.next()?.parse().ok()?;
    let area = parts.next()?.parse().ok()?;
    let at = parts.next()?.parse().ok()?;
    parts.next().is_none().then_some((attendee, area, at))
}

/// Sets the clock only while it still holds the value the report was judged
/// against; 0 when another report moved it on first.
const MOVE_ON: &str = r"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
return 1
";

/// Starts the clock of `conn` in `area` now (the socket opened, or entered
/// the area): its first report claims the time since.
pub async fn start(
    redis: &mut ConnectionManager,
    ns: &str,
    attendee: AttendeeId,
    conn: ConnectionId,
    area: Area,
) -> Result<()> {
    let now = chrono::Utc::now().timestamp_millis();
    let _: () = redis::cmd("SET")
        .arg(key(ns, conn))
        .arg(value(attendee, area, now))
        .arg("EX")
        .arg(KEEP_SECS)
        .query_async(redis)
        .await?;
    Ok(())
}

/// Judges the actor's report on their connection `conn` against its clock and
/// moves the clock on; the data points to record, if the report saw anything.
/// Not found: no clock of theirs by that id (another attendee's connection,
/// or one closed more than [`KEEP_SECS`] ago).
pub async fn claim(
    redis: &mut ConnectionManager,
    ns: &str,
    by: &Actor,
    conn: ConnectionId,
    seen: Seen,
) -> Result<Option<DataPoints>> {
    let key = key(ns, conn);
    let raw: Option<String> = redis::cmd("GET").arg(&key).query_async(redis).await?;
    let Some((attendee, area, at)) = raw.as_deref().and_then(parse) else {
        return Err(gone());
    };
    if attendee != by.id {
        return Err(gone());
    }
    let now = chrono::Utc::now().timestamp_millis();
    let since = std::time::Duration::from_millis(now.saturating_sub(at).max(0) as u64);
    let points = participants::data_points(by, conn, area, seen, since)?;
    let moved: i64 = redis::Script::new(MOVE_ON)
        .key(&key)
        .arg(raw.unwrap_or_default())
        .arg(value(attendee, area, now))
        .arg(KEEP_SECS)
        .invoke_async(redis)
        .await?;
    if moved == 0 {
        return Err(Error::RateLimited(
            "another report of this connection came at the same moment".into(),
        ));
    }
    Ok(points)
}

fn gone() -> Error {
    Error::not_found("no live connection of yours by that id (it may have closed over an hour ago)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clock_reads_back_what_was_stored_and_nothing_else() {
        let (who, area) = (AttendeeId::new(), Area::Networking);
        let stored = value(who, area, 1_764_000_000_123);
        assert_eq!(parse(&stored), Some((who, area, 1_764_000_000_123)));
        assert_eq!(parse(""), None);
        assert_eq!(parse(&format!("{stored} extra")), None);
        assert_eq!(parse(&format!("{who} nowhere 1")), None);
        assert_eq!(parse(&format!("{who} reception soon")), None);
    }
}
