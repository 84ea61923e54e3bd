//! The live log of an event: everything that happens live (chat, deletions,
//! direct messages, polls, questions, captions, sanctions) is appended to a
//! Redis Stream per event and announced on Redis pub/sub, so every node pushes
//! it to its sockets. The stream id is the client's *cursor*: a client that
//! reconnects with its last cursor gets every entry it missed, in order.
//!
//! Entries carry an [`Audience`] so that private ones (direct messages,
//! questions awaiting moderation, sanctions) only reach the people they are
//! for. Each node parses an announced entry once and renders its `live` frame
//! once; sockets share it.

use std::sync::Arc;

use futures::StreamExt;
use protocol::ids::{AttendeeId, EventId};
use protocol::live::{LiveItem, ServerMsg};
use redis::aio::ConnectionManager;

use super::fanout::Fanout;
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Entries kept per event for resuming (older cursors get a "gap").
pub const LOG_LEN: usize = 5_000;

/// Who may see a live entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "to", rename_all = "snake_case")]
pub enum Audience {
    /// Everyone in the event.
    All,
    /// These attendees only.
    Only {
        /// Attendee ids.
        ids: Vec<AttendeeId>,
    },
    /// Moderators, and these attendees.
    Moderators {
        /// Attendee ids besides the moderators.
        ids: Vec<AttendeeId>,
    },
}

impl Audience {
    /// Whether a viewer sees the entry.
    pub fn includes(&self, viewer: AttendeeId, moderator: bool) -> bool {
        match self {
            Audience::All => true,
            Audience::Only { ids } => ids.contains(&viewer),
            Audience::Moderators { ids } => moderator || ids.contains(&viewer),
        }
    }
}

/// One entry of an event's live log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The event.
    pub event: EventId,
    /// Stream id: the position to resume after.
    pub cursor: String,
    /// Who may see it.
    pub audience: Audience,
    /// What happened.
    pub item: LiveItem,
    /// The `live` message as sent on a socket, rendered once.
    pub frame: String,
}

impl Entry {
    fn new(event: EventId, cursor: String, stored: Stored) -> Result<Self> {
        let msg = ServerMsg::Live {
            cursor,
            item: stored.m,
        };
        let frame = serde_json::to_string(&msg)?;
        let ServerMsg::Live { cursor, item } = msg else {
            unreachable!("built as a live message above")
        };
        Ok(Entry {
            event,
            cursor,
            audience: stored.a,
            item,
            frame,
        })
    }

    /// Whether this entry bans `viewer` (sanctions go to their target only).
    pub fn bans(&self, viewer: AttendeeId) -> bool {
        matches!(&self.audience, Audience::Only { ids } if ids.contains(&viewer))
            && self.item.is_ban()
    }
}

/// An entry as the stream and the channel carry it.
#[derive(Serialize, Deserialize)]
struct Stored {
    a: Audience,
    m: LiveItem,
}

fn stream_key(event: EventId) -> String {
    format!("live:{event}")
}

const CHANNEL_PREFIX: &str = "live-entry:";

/// Appends to the stream and publishes the entry in one atomic step, so that
/// every node hears entries in cursor order (two separate commands from
/// concurrent publishers could be announced out of order, and a socket that
/// already moved past the later cursor would skip the earlier entry).
const APPEND_AND_ANNOUNCE: &str = r"
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'e', ARGV[2])
redis.call('PUBLISH', ARGV[3], id .. ' ' .. ARGV[2])
return id
";

/// Appends `item` to the event's log and announces it to every node; returns its cursor.
pub async fn publish(
    redis: &mut ConnectionManager,
    event: EventId,
    audience: Audience,
    item: LiveItem,
) -> Result<String> {
    let stored = serde_json::to_string(&Stored {
        a: audience,
        m: item,
    })?;
    let cursor: String = redis::Script::new(APPEND_AND_ANNOUNCE)
        .key(stream_key(event))
        .arg(LOG_LEN)
        .arg(&stored)
        .arg(format!("{CHANNEL_PREFIX}{event}"))
        .invoke_async(redis)
        .await?;
    Ok(cursor)
}

/// The newest cursor of the event's log ("0-0" when empty).
pub async fn head(redis: &mut ConnectionManager, event: EventId) -> Result<String> {
    let last: Vec<(String, Vec<(String, String)>)> = redis::cmd("XREVRANGE")
        .arg(stream_key(event))
        .arg("+")
        .arg("-")
        .arg("COUNT")
        .arg(1)
        .query_async(redis)
        .await?;
    Ok(last
        .into_iter()
        .next()
        .map(|(id, _)| id)
        .unwrap_or_else(|| "0-0".into()))
}

/// A cursor is `<ms>-<n>`.
pub fn valid_cursor(c: &str) -> bool {
    let mut parts = c.split('-');
    matches!(
        (parts.next(), parts.next(), parts.next()),
        (Some(a), Some(b), None) if !a.is_empty() && !b.is_empty()
            && a.chars().all(|c| c.is_ascii_digit()) && b.chars().all(|c| c.is_ascii_digit())
    )
}

/// Entries after `since` (exclusive), oldest first, and whether some were
/// already trimmed from the log (the client must reload history then).
pub async fn replay(
    redis: &mut ConnectionManager,
    event: EventId,
    since: &str,
) -> Result<(Vec<Entry>, bool)> {
    if !valid_cursor(since) {
        return Err(Error::invalid(
            "since must be a cursor like 1700000000000-0",
        ));
    }
    let key = stream_key(event);
    let first: Vec<(String, Vec<(String, String)>)> = redis::cmd("XRANGE")
        .arg(&key)
        .arg("-")
        .arg("+")
        .arg("COUNT")
        .arg(1)
        .query_async(redis)
        .await?;
    let rows: Vec<(String, Vec<(String, String)>)> = redis::cmd("XRANGE")
        .arg(&key)
        .arg(format!("({since}"))
        .arg("+")
        .arg("COUNT")
        .arg(LOG_LEN)
        .query_async(redis)
        .await?;
    // A gap (conservatively): the client's cursor is older than the oldest kept
    // entry, so entries in between may have been trimmed.
    let gap = since != "0-0"
        && first
            .first()
            .is_some_and(|(oldest, _)| cursor_lt(since, oldest));
    let mut entries = Vec::with_capacity(rows.len());
    for (cursor, fields) in rows {
        let Some((_, raw)) = fields.into_iter().find(|(k, _)| k == "e") else {
            continue;
        };
        match serde_json::from_str::<Stored>(&raw) {
            Ok(stored) => entries.push(Entry::new(event, cursor, stored)?),
            Err(e) => {
                tracing::warn!(%event, cursor, error = %e, "skipping an unreadable live entry")
            }
        }
    }
    Ok((entries, gap))
}

/// Whether stream id `a` is before `b`.
pub fn cursor_lt(a: &str, b: &str) -> bool {
    let parse = |c: &str| {
        let (ms, n) = c.split_once('-').unwrap_or((c, "0"));
        (
            ms.parse::<u64>().unwrap_or(0),
            n.parse::<u64>().unwrap_or(0),
        )
    };
    parse(a) < parse(b)
}

/// Subscribes to every event's entries and hands each to the sockets of its
/// event on this node. Returns when the Redis connection drops (the caller
/// restarts it).
pub async fn run_hub(client: redis::Client, fanout: Arc<Fanout<Arc<Entry>>>) -> Result<()> {
    let mut pubsub = client.get_async_pubsub().await?;
    pubsub.psubscribe(format!("{CHANNEL_PREFIX}*")).await?;
    let mut stream = pubsub.on_message();
    while let Some(msg) = stream.next().await {
        let name = msg.get_channel_name().to_owned();
        let Some(event) = name
            .strip_prefix(CHANNEL_PREFIX)
            .and_then(|s| s.parse::<EventId>().ok())
        else {
            continue;
        };
        let Ok(payload) = msg.get_payload::<String>() else {
            continue;
        };
        let Some((cursor, raw)) = payload.split_once(' ') else {
            continue;
        };
        match serde_json::from_str::<Stored>(raw) {
            Ok(stored) => {
                fanout.send(
                    event,
                    Arc::new(Entry::new(event, cursor.to_owned(), stored)?),
                );
            }
            Err(e) => tracing::warn!(%event, error = %e, "skipping an unreadable live entry"),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::ids::MessageId;

    #[test]
    fn cursors_compare_numerically() {
        assert!(cursor_lt("9-0", "10-0"));
        assert!(cursor_lt("10-1", "10-2"));
        assert!(!cursor_lt("10-2", "10-2"));
        assert!(valid_cursor("1700000000000-0"));
        assert!(!valid_cursor("abc"));
        assert!(!valid_cursor("1-2-3"));
        assert!(!valid_cursor("-1"));
    }

    #[test]
    fn audiences_filter_viewers() {
        let (a, b) = (AttendeeId::new(), AttendeeId::new());
        assert!(Audience::All.includes(a, false));
        let only = Audience::Only { ids: vec![a] };
        assert!(only.includes(a, false) && !only.includes(b, true));
        let mods = Audience::Moderators { ids: vec![a] };
        assert!(mods.includes(a, false) && mods.includes(b, true) && !mods.includes(b, false));
    }

    #[test]
    fn entries_carry_their_frame_as_the_protocol_message() {
        let item = LiveItem::ChatDeleted {
            id: MessageId::new(),
        };
        let stored = Stored {
            a: Audience::All,
            m: item.clone(),
        };
        let entry = Entry::new(EventId::new(), "1700000000000-3".into(), stored).unwrap();
        let parsed: ServerMsg = serde_json::from_str(&entry.frame).unwrap();
        assert_eq!(
            parsed,
            ServerMsg::Live {
                cursor: "1700000000000-3".into(),
                item
            }
        );
        assert!(!entry.bans(AttendeeId::new()));
    }
}
