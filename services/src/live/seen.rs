//! Each live connection's report clock: when its page last reported what it
//! saw ([`participants::data_points`]). A page reports on its live socket,
//! and, when the socket is already down as the page closes or between
//! reconnects, with a beacon (`POST /e/{slug}/seen`, naming the connection
//! its socket's `hello` gave). Both ways claim time from this one clock in
//! Redis, so a report never claims more than the time since the previous one,
//! whichever way that one came.
//!
//! `seen-clock:{conn}` holds `attendee area at_ms`, times read from Redis's
//! own clock (`TIME`), so web nodes whose clocks differ judge alike. The socket
//! sets it when it opens and whenever it enters an area, and keeps it alive
//! ([`KEEP_SECS`]) with its heartbeat. A report is judged against it
//! ([`participants::data_points`]) and then moves it on with a
//! compare-and-set ([`MOVE_ON`]). The race it prevents: a beacon and a socket
//! report (or two beacons) judged against the same clock value would both
//! claim the same interval; the second compare-and-set fails and that report
//! is refused. When the socket closes, the clock is kept [`CLOSED_SECS`]
//! more, and beacons do not extend that: a closed connection can be claimed
//! only for the minutes after it closed, not for ever.

use protocol::events::DataPoints;
use protocol::ids::{AttendeeId, ConnectionId};
use protocol::Area;
use redis::aio::ConnectionManager;

use super::participants::{self, Actor, Seen};
use crate::{Error, Result};

/// Seconds an open connection's clock is kept after its last report, area
/// change or heartbeat (a heartbeat comes every minute).
pub const KEEP_SECS: u64 = 3600;

/// Seconds a clock is kept after its socket closed: the time its page has
/// to send what it saw by beacon.
pub const CLOSED_SECS: u64 = 300;

/// Which way a report came.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// On the open socket: the clock is kept [`KEEP_SECS`] more.
    Socket,
    /// By beacon: the clock keeps the time it had left.
    Beacon,
}

fn key(ns: &str, conn: ConnectionId) -> String {
    format!("{ns}seen-clock:{conn}")
}

/// The stored form of a clock.
fn value(attendee: AttendeeId, area: Area, at_ms: i64) -> String {
    format!("{attendee} {area} {at_ms}")
}

/// Redis's clock in ms since the epoch (`TIME` in a script).
const NOW_MS: &str =
    "local t = redis.call('TIME') local now = t[1] * 1000 + math.floor(t[2] / 1000)";

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
/// against (ARGV[1]), to ARGV[2], kept ARGV[3] seconds (0: the time it had
/// left); 0 when another report moved it on first.
static MOVE_ON: std::sync::LazyLock<redis::Script> = std::sync::LazyLock::new(|| {
    redis::Script::new(
        r"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
if ARGV[3] == '0' then
  redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
else
  redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
end
return 1
",
    )
});

/// Starts a clock (ARGV[1]: `attendee area`) at Redis's now, kept ARGV[2] seconds.
static START: std::sync::LazyLock<redis::Script> = std::sync::LazyLock::new(|| {
    redis::Script::new(&format!(
        "{NOW_MS} redis.call('SET', KEYS[1], ARGV[1] .. ' ' .. now, 'EX', ARGV[2]) return now"
    ))
});

/// The stored clock and Redis's now.
static READ: std::sync::LazyLock<redis::Script> = std::sync::LazyLock::new(|| {
    redis::Script::new(&format!(
        "{NOW_MS} return {{redis.call('GET', KEYS[1]) or '', now}}"
    ))
});

/// Starts the clock of `conn` in `area` now (the socket opened, or entered
/// the area): its first report claims the time since.
pub async fn start(
    redis: &mut ConnectionManager,
    ns: &str,
    attendee: AttendeeId,
    conn: ConnectionId,
    area: Area,
) -> Result<()> {
    let _: i64 = START
        .key(key(ns, conn))
        .arg(format!("{attendee} {area}"))
        .arg(KEEP_SECS)
        .invoke_async(redis)
        .await?;
    Ok(())
}

/// Keeps an open connection's clock [`KEEP_SECS`] more (its heartbeat).
pub async fn keep(redis: &mut ConnectionManager, ns: &str, conn: ConnectionId) -> Result<()> {
    expire(redis, ns, conn, KEEP_SECS).await
}

/// The connection's socket closed: its clock is kept [`CLOSED_SECS`] more,
/// for its page's beacon.
pub async fn close(redis: &mut ConnectionManager, ns: &str, conn: ConnectionId) -> Result<()> {
    expire(redis, ns, conn, CLOSED_SECS).await
}

async fn expire(
    redis: &mut ConnectionManager,
    ns: &str,
    conn: ConnectionId,
    secs: u64,
) -> Result<()> {
    let _: i64 = redis::cmd("EXPIRE")
        .arg(key(ns, conn))
        .arg(secs)
        .query_async(redis)
        .await?;
    Ok(())
}

/// Judges the actor's report on their connection `conn` against its clock and
/// moves the clock on; the data points to record, if the report saw anything.
/// Not found: no clock of theirs by that id (another attendee's connection,
/// or one whose socket closed more than [`CLOSED_SECS`] ago).
pub async fn claim(
    redis: &mut ConnectionManager,
    ns: &str,
    by: &Actor,
    conn: ConnectionId,
    seen: Seen,
    via: Via,
) -> Result<Option<DataPoints>> {
    let key = key(ns, conn);
    let (raw, now): (String, i64) = READ.key(&key).invoke_async(redis).await?;
    let Some((attendee, area, at)) = parse(&raw) else {
        return Err(gone());
    };
    if attendee != by.id {
        return Err(gone());
    }
    let since = std::time::Duration::from_millis(now.saturating_sub(at).max(0) as u64);
    let points = participants::data_points(by, conn, area, seen, since)?;
    let keep = match via {
        Via::Socket => KEEP_SECS,
        Via::Beacon => 0,
    };
    let moved: i64 = MOVE_ON
        .key(&key)
        .arg(&raw)
        .arg(value(attendee, area, now))
        .arg(keep)
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
    Error::not_found(
        "no live connection of yours by that id (its socket may have closed over five minutes ago)",
    )
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
