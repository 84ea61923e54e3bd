//! Live presence ("who is here right now") in Redis with expiry, fanned out to
//! every node through Redis pub/sub.
//!
//! Each open connection is a member `attendee:connection` of the sorted set
//! `presence:{event}` scored by its expiry time; connections heartbeat to stay.
//! The hash `presence-area:{event}` says which area each connection is in.
//! The count is the number of distinct attendees with a live connection; a
//! [`Snapshot`] adds who they are (the green dots) and how many are in each area.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use futures::StreamExt;
use protocol::ids::{AttendeeId, ConnectionId, EventId};
use protocol::live::AreaCount;
use protocol::Area;
use redis::aio::ConnectionManager;

use super::fanout::Fanout;

use crate::Result;

/// Seconds a connection stays present without a heartbeat.
pub const TTL_SECS: u64 = 30;
/// Seconds between heartbeats of a connection.
pub const HEARTBEAT_SECS: u64 = 10;

fn set_key(event: EventId) -> String {
    format!("presence:{event}")
}

/// The attendee's own connections in the event, scored by expiry like the set.
fn conns_key(event: EventId, attendee: AttendeeId) -> String {
    format!("presence-conns:{event}:{attendee}")
}

fn area_key(event: EventId) -> String {
    format!("presence-area:{event}")
}

fn channel(event: EventId) -> String {
    format!("presence-changed:{event}")
}

fn now_secs() -> f64 {
    chrono::Utc::now().timestamp_millis() as f64 / 1000.0
}

/// Marks the connection present (join or heartbeat), in `area` when given
/// (otherwise it keeps its area); returns the live count.
pub async fn touch(
    redis: &mut ConnectionManager,
    event: EventId,
    attendee: AttendeeId,
    conn: ConnectionId,
    area: Option<Area>,
) -> Result<u64> {
    let key = set_key(event);
    let mine = conns_key(event, attendee);
    let member = format!("{attendee}:{conn}");
    let expiry = now_secs() + TTL_SECS as f64;
    let mut pipe = redis::pipe();
    pipe.atomic()
        .zadd(&key, &member, expiry)
        .ignore()
        .expire(&key, (TTL_SECS * 2) as i64)
        .ignore()
        .zadd(&mine, conn.to_string(), expiry)
        .ignore()
        .expire(&mine, (TTL_SECS * 2) as i64)
        .ignore();
    if let Some(area) = area {
        pipe.hset(area_key(event), &member, area.to_string())
            .ignore()
            .expire(area_key(event), (TTL_SECS * 2) as i64)
            .ignore();
    } else {
        pipe.expire(area_key(event), (TTL_SECS * 2) as i64).ignore();
    }
    let _: () = pipe.query_async(redis).await?;
    count(redis, event).await
}

/// Removes the connection; returns the live count.
pub async fn leave(
    redis: &mut ConnectionManager,
    event: EventId,
    attendee: AttendeeId,
    conn: ConnectionId,
) -> Result<u64> {
    let member = format!("{attendee}:{conn}");
    let _: () = redis::pipe()
        .atomic()
        .zrem(set_key(event), &member)
        .ignore()
        .zrem(conns_key(event, attendee), conn.to_string())
        .ignore()
        .hdel(area_key(event), &member)
        .ignore()
        .query_async(redis)
        .await?;
    count(redis, event).await
}

/// Prunes the attendee's expired connections, then adds `conn` unless `max`
/// live ones remain. One script, so upgrades racing in parallel cannot all
/// pass a count taken before any of them was added.
const RESERVE: &str = r"
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  return 0
end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return 1
";

/// Claims a place for the attendee's connection `conn` (it then counts until
/// it expires or leaves); false when they already hold `max` live ones.
pub async fn reserve(
    redis: &mut ConnectionManager,
    event: EventId,
    attendee: AttendeeId,
    conn: ConnectionId,
    max: u64,
) -> Result<bool> {
    let now = now_secs();
    let claimed: i64 = redis::Script::new(RESERVE)
        .key(conns_key(event, attendee))
        .arg(now)
        .arg(max)
        .arg(now + TTL_SECS as f64)
        .arg(conn.to_string())
        .arg(TTL_SECS * 2)
        .invoke_async(redis)
        .await?;
    Ok(claimed == 1)
}

/// A transaction that prunes the event's expired connections and then lists
/// the live ones (`attendee:connection` members); callers may add commands.
fn live_members(event: EventId) -> redis::Pipeline {
    let key = set_key(event);
    let mut pipe = redis::pipe();
    pipe.atomic()
        .cmd("ZREMRANGEBYSCORE")
        .arg(&key)
        .arg("-inf")
        .arg(now_secs())
        .ignore()
        .cmd("ZRANGE")
        .arg(&key)
        .arg(0)
        .arg(-1);
    pipe
}

/// Distinct attendees with a live connection in the event (expired members are pruned).
pub async fn count(redis: &mut ConnectionManager, event: EventId) -> Result<u64> {
    let (members,): (Vec<String>,) = live_members(event).query_async(redis).await?;
    let people: HashSet<&str> = members.iter().filter_map(|m| m.split(':').next()).collect();
    Ok(people.len() as u64)
}

/// Who is in the event right now.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Snapshot {
    /// Distinct attendees online.
    pub online: u64,
    /// Who they are.
    pub people: Vec<AttendeeId>,
    /// Distinct attendees per area.
    pub areas: Vec<AreaCount>,
}

/// The live connections (`attendee:connection`, expired ones pruned) and
/// the area of each.
async fn members_and_areas(
    redis: &mut ConnectionManager,
    event: EventId,
) -> Result<(Vec<String>, HashMap<String, String>)> {
    Ok(live_members(event)
        .hgetall(area_key(event))
        .query_async(redis)
        .await?)
}

/// The event's presence: who is online and where (expired connections pruned).
pub async fn snapshot(redis: &mut ConnectionManager, event: EventId) -> Result<Snapshot> {
    let (members, areas) = members_and_areas(redis, event).await?;
    let mut people: Vec<AttendeeId> = members
        .iter()
        .filter_map(|m| m.split(':').next()?.parse().ok())
        .collect();
    people.sort();
    people.dedup();
    let mut per_area: BTreeMap<Area, HashSet<&str>> = Default::default();
    for m in &members {
        let area = areas.get(m).and_then(|a| a.parse::<Area>().ok());
        if let (Some(area), Some(person)) = (area, m.split(':').next()) {
            per_area.entry(area).or_default().insert(person);
        }
    }
    Ok(Snapshot {
        online: people.len() as u64,
        people,
        areas: per_area
            .into_iter()
            .map(|(area, p)| AreaCount {
                area,
                people: p.len() as u64,
            })
            .collect(),
    })
}

/// The attendees with a live connection in `area` now (several tabs of one
/// person count once), in id order.
pub async fn people_in(
    redis: &mut ConnectionManager,
    event: EventId,
    area: Area,
) -> Result<Vec<AttendeeId>> {
    let (members, areas) = members_and_areas(redis, event).await?;
    let mut people: Vec<AttendeeId> = members
        .iter()
        .filter(|m| areas.get(*m).and_then(|a| a.parse::<Area>().ok()) == Some(area))
        .filter_map(|m| m.split(':').next()?.parse().ok())
        .collect();
    people.sort();
    people.dedup();
    Ok(people)
}

/// Tells every node that the event's presence changed, with the new snapshot.
pub async fn announce(
    redis: &mut ConnectionManager,
    event: EventId,
    snapshot: &Snapshot,
) -> Result<()> {
    let _: () = redis::cmd("PUBLISH")
        .arg(channel(event))
        .arg(serde_json::to_string(snapshot)?)
        .query_async(redis)
        .await?;
    Ok(())
}

/// How often an event's presence is announced at most, across all nodes.
pub const ANNOUNCE_EVERY: std::time::Duration = std::time::Duration::from_millis(500);

/// Says that the event's presence changed (a join, a move, a leave, an
/// expiry). The first change of an interval, on any node, claims the
/// interval (`SET NX PX` in Redis) and announces one snapshot when it ends,
/// covering every change made meanwhile (each was written before its claim
/// was tried): a crowd arriving at once costs one O(N) snapshot and one
/// pub/sub message per event per [`ANNOUNCE_EVERY`], not one per arrival.
pub async fn changed(redis: &ConnectionManager, event: EventId) -> Result<()> {
    let mut redis = redis.clone();
    let claimed: Option<String> = redis::cmd("SET")
        .arg(format!("presence-announce:{event}"))
        .arg(1)
        .arg("NX")
        .arg("PX")
        .arg(ANNOUNCE_EVERY.as_millis() as u64)
        .query_async(&mut redis)
        .await?;
    if claimed.is_some() {
        tokio::spawn(async move {
            tokio::time::sleep(ANNOUNCE_EVERY).await;
            if let Err(e) = refresh(&mut redis, event).await {
                tracing::warn!(%event, error = %e, "announcing presence failed");
            }
        });
    }
    Ok(())
}

/// Takes a snapshot and announces it; returns it.
pub async fn refresh(redis: &mut ConnectionManager, event: EventId) -> Result<Snapshot> {
    let snap = snapshot(redis, event).await?;
    announce(redis, event, &snap).await?;
    Ok(snap)
}

/// Subscribes to every event's changes and hands each to the sockets of its
/// event on this node. Returns when the Redis connection drops (the caller
/// restarts it).
pub async fn run_hub(client: redis::Client, fanout: Arc<Fanout<Arc<Snapshot>>>) -> Result<()> {
    let mut pubsub = client.get_async_pubsub().await?;
    pubsub.psubscribe("presence-changed:*").await?;
    let mut stream = pubsub.on_message();
    while let Some(msg) = stream.next().await {
        let name = msg.get_channel_name().to_owned();
        let Some(id) = name
            .strip_prefix("presence-changed:")
            .and_then(|s| s.parse::<EventId>().ok())
        else {
            continue;
        };
        if let Ok(snap) = msg
            .get_payload::<String>()
            .map_err(crate::Error::from)
            .and_then(|p| serde_json::from_str::<Snapshot>(&p).map_err(crate::Error::from))
        {
            fanout.send(id, Arc::new(snap));
        }
    }
    Ok(())
}
