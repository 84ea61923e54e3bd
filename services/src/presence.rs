//! Live presence ("who is here right now") in Redis with expiry, fanned out to
//! every node through Redis pub/sub.
//!
//! Each open connection is a member `attendee:connection` of the sorted set
//! `presence:{event}` scored by its expiry time; connections heartbeat to stay.
//! The count is the number of distinct attendees with a live connection.

use std::collections::HashSet;

use futures::StreamExt;
use redis::aio::ConnectionManager;
use tokio::sync::broadcast;
use uuid::Uuid;

use crate::Result;

/// Seconds a connection stays present without a heartbeat.
pub const TTL_SECS: u64 = 30;
/// Seconds between heartbeats of a connection.
pub const HEARTBEAT_SECS: u64 = 10;

fn set_key(event: Uuid) -> String {
    format!("presence:{event}")
}

fn channel(event: Uuid) -> String {
    format!("presence-changed:{event}")
}

fn now_secs() -> f64 {
    chrono::Utc::now().timestamp_millis() as f64 / 1000.0
}

/// Marks the connection present (join or heartbeat); returns the live count.
pub async fn touch(
    redis: &mut ConnectionManager,
    event: Uuid,
    attendee: Uuid,
    conn: Uuid,
) -> Result<u64> {
    let key = set_key(event);
    let member = format!("{attendee}:{conn}");
    let _: () = redis::pipe()
        .atomic()
        .zadd(&key, &member, now_secs() + TTL_SECS as f64)
        .ignore()
        .expire(&key, (TTL_SECS * 2) as i64)
        .ignore()
        .query_async(redis)
        .await?;
    count(redis, event).await
}

/// Removes the connection; returns the live count.
pub async fn leave(
    redis: &mut ConnectionManager,
    event: Uuid,
    attendee: Uuid,
    conn: Uuid,
) -> Result<u64> {
    let _: () = redis::cmd("ZREM")
        .arg(set_key(event))
        .arg(format!("{attendee}:{conn}"))
        .query_async(redis)
        .await?;
    count(redis, event).await
}

/// Distinct attendees with a live connection in the event (expired members are pruned).
pub async fn count(redis: &mut ConnectionManager, event: Uuid) -> Result<u64> {
    let key = set_key(event);
    let (members,): (Vec<String>,) = redis::pipe()
        .atomic()
        .cmd("ZREMRANGEBYSCORE")
        .arg(&key)
        .arg("-inf")
        .arg(now_secs())
        .ignore()
        .cmd("ZRANGE")
        .arg(&key)
        .arg(0)
        .arg(-1)
        .query_async(redis)
        .await?;
    let people: HashSet<&str> = members.iter().filter_map(|m| m.split(':').next()).collect();
    Ok(people.len() as u64)
}

/// Tells every node that the event's count changed.
pub async fn announce(redis: &mut ConnectionManager, event: Uuid, count: u64) -> Result<()> {
    let _: () = redis::cmd("PUBLISH")
        .arg(channel(event))
        .arg(count)
        .query_async(redis)
        .await?;
    Ok(())
}

/// A presence change: event id and its new count.
pub type Change = (Uuid, u64);

/// Subscribes to every event's changes and forwards them to local sockets via `tx`.
/// Returns when the Redis connection drops (the caller restarts it).
pub async fn run_hub(client: redis::Client, tx: broadcast::Sender<Change>) -> Result<()> {
    let mut pubsub = client.get_async_pubsub().await?;
    pubsub.psubscribe("presence-changed:*").await?;
    let mut stream = pubsub.on_message();
    while let Some(msg) = stream.next().await {
        let name = msg.get_channel_name().to_owned();
        let Some(id) = name
            .strip_prefix("presence-changed:")
            .and_then(|s| s.parse::<Uuid>().ok())
        else {
            continue;
        };
        if let Ok(count) = msg.get_payload::<u64>() {
            let _ = tx.send((id, count));
        }
    }
    Ok(())
}
