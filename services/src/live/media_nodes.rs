//! Which media node holds which room, in Redis, so every web node routes a
//! room's signalling to the one node that forwards its media.
//!
//! A node announces itself (`media:node:<id>` → its signalling URL) with a
//! short expiry and renews it while it runs; it renews the rooms it holds
//! (`media:room:<room>` → node id) the same way. A node that dies stops
//! renewing: its rooms lapse within [`LEASE_SECS`] and the next join places
//! them on a live node (clients rejoin when their connection to the dead node
//! drops). Two web nodes placing a new room at once is the race the
//! [`PLACE`] script prevents: it keeps an owner that is alive and only
//! otherwise takes the caller's choice, in one step.

use redis::aio::ConnectionManager;

use crate::Result;

/// Seconds a node's or room's entry lasts without renewal.
pub const LEASE_SECS: u64 = 15;

/// How often a node renews its entries.
pub const RENEW_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

fn node_key(ns: &str, node: &str) -> String {
    format!("{ns}media:node:{node}")
}

fn room_key(ns: &str, room: &str) -> String {
    format!("{ns}media:room:{room}")
}

fn nodes_key(ns: &str) -> String {
    format!("{ns}media:nodes")
}

/// A media node as the registry knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// Its id (fresh at every start).
    pub id: String,
    /// Where web nodes reach its signalling endpoint (`http://host:port`).
    pub url: String,
}

/// Announces (or renews) node `node` and the rooms it holds.
pub async fn renew(
    redis: &mut ConnectionManager,
    ns: &str,
    node: &Node,
    rooms: &[String],
) -> Result<()> {
    let mut pipe = redis::pipe();
    pipe.cmd("SET")
        .arg(node_key(ns, &node.id))
        .arg(&node.url)
        .arg("EX")
        .arg(LEASE_SECS)
        .ignore()
        .cmd("SADD")
        .arg(nodes_key(ns))
        .arg(&node.id)
        .ignore();
    for room in rooms {
        pipe.cmd("SET")
            .arg(room_key(ns, room))
            .arg(&node.id)
            .arg("EX")
            .arg(LEASE_SECS)
            .ignore();
    }
    let () = pipe.query_async(redis).await?;
    Ok(())
}

/// Takes node `id` out of the registry (it stops, or it cannot be reached).
pub async fn forget(redis: &mut ConnectionManager, ns: &str, id: &str) -> Result<()> {
    let () = redis::pipe()
        .cmd("DEL")
        .arg(node_key(ns, id))
        .ignore()
        .cmd("SREM")
        .arg(nodes_key(ns))
        .arg(id)
        .ignore()
        .query_async(redis)
        .await?;
    Ok(())
}

/// Keeps the room's owner if that node is alive, else makes the caller's
/// choice the owner. KEYS[1] the room; ARGV: node key prefix, choice, lease.
/// Returns the owner's id.
const PLACE: &str = r"
local cur = redis.call('GET', KEYS[1])
if cur and redis.call('EXISTS', ARGV[1] .. cur) == 1 then
  return cur
end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
return ARGV[2]
";

/// The node that holds `room`, placing it on a live node if none does; None
/// when no media node is running.
pub async fn locate(redis: &mut ConnectionManager, ns: &str, room: &str) -> Result<Option<Node>> {
    let live = live_nodes(redis, ns).await?;
    if live.is_empty() {
        return Ok(None);
    }
    let choice = &live[rand::random::<usize>() % live.len()];
    let owner: String = redis::Script::new(PLACE)
        .key(room_key(ns, room))
        .arg(node_key(ns, ""))
        .arg(&choice.id)
        .arg(LEASE_SECS)
        .invoke_async(redis)
        .await?;
    if let Some(node) = live.into_iter().find(|n| n.id == owner) {
        return Ok(Some(node));
    }
    // The owner was announced after the list was read.
    let url: Option<String> = redis::cmd("GET")
        .arg(node_key(ns, &owner))
        .query_async(redis)
        .await?;
    Ok(url.map(|url| Node { id: owner, url }))
}

/// Every node whose entry has not lapsed (lapsed ones leave the set).
pub async fn live_nodes(redis: &mut ConnectionManager, ns: &str) -> Result<Vec<Node>> {
    let ids: Vec<String> = redis::cmd("SMEMBERS")
        .arg(nodes_key(ns))
        .query_async(redis)
        .await?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let keys: Vec<String> = ids.iter().map(|id| node_key(ns, id)).collect();
    let urls: Vec<Option<String>> = redis::cmd("MGET").arg(&keys).query_async(redis).await?;
    let mut live = Vec::new();
    for (id, url) in ids.into_iter().zip(urls) {
        match url {
            Some(url) => live.push(Node { id, url }),
            None => {
                let () = redis::cmd("SREM")
                    .arg(nodes_key(ns))
                    .arg(&id)
                    .query_async(redis)
                    .await?;
            }
        }
    }
    live.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(live)
}
