//! A live socket's media links: for each room its browser joined, one
//! signalling connection to the media node that holds the room (found in the
//! Redis registry), relaying the browser's answers and candidates one way and
//! the node's offers and candidates the other.
//!
//! Each link has a generation: a rejoin replaces the room's link, and what the
//! replaced one says as it closes is dropped rather than reported.

use std::collections::HashMap;

use futures::{SinkExt, StreamExt};
use protocol::ids::AttendeeId;
use protocol::media::{FromNode, JoinClaims, ToNode};
use redis::aio::ConnectionManager;
use services::live::media_nodes;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite;

/// Rooms one socket may be in at once.
pub const MAX_ROOMS: usize = 4;

/// What a link reports.
#[derive(Debug)]
pub enum LinkEvent {
    /// The node said something.
    Node(FromNode),
    /// The link ended.
    Closed {
        /// Why, for people.
        reason: String,
        /// Whether joining again may work.
        rejoin: bool,
        /// The node refused an audience seat: it has as many WebRTC
        /// viewers as it takes (the page watches the HLS stream instead).
        full: bool,
    },
}

/// The links of one live socket.
pub struct Links {
    redis: ConnectionManager,
    namespace: String,
    next_generation: u64,
    rooms: HashMap<String, (u64, mpsc::UnboundedSender<ToNode>)>,
    /// The rooms whose join token made this page a host.
    hosting: std::collections::HashSet<String>,
    events_tx: mpsc::UnboundedSender<(String, u64, LinkEvent)>,
    events: mpsc::UnboundedReceiver<(String, u64, LinkEvent)>,
}

/// Why a media request of the browser was refused.
pub type Refusal = String;

/// Whether `room` is a room name (`session:`, `check:` or `meet:<uuid>`;
/// nothing that could change the node's URL).
pub fn valid_room(room: &str) -> bool {
    room.len() <= 100
        && room.split_once(':').is_some_and(|(kind, id)| {
            matches!(kind, "session" | "check" | "meet") && id.parse::<uuid::Uuid>().is_ok()
        })
}

/// The claims of a join token, read without checking its signature (the
/// media node checks it): only to refuse someone else's token early.
fn peek(token: &str) -> Option<JoinClaims> {
    use base64::Engine;
    let claims = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(claims)
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

impl Links {
    /// No links yet.
    pub fn new(redis: ConnectionManager, namespace: String) -> Self {
        let (events_tx, events) = mpsc::unbounded_channel();
        Links {
            redis,
            namespace,
            next_generation: 0,
            rooms: HashMap::new(),
            hosting: Default::default(),
            events_tx,
            events,
        }
    }

    /// The next report of any link (waits forever when there is none).
    pub async fn next(&mut self) -> (String, LinkEvent) {
        loop {
            let Some((room, generation, event)) = self.events.recv().await else {
                // Unreachable: `events_tx` lives as long as `self`.
                std::future::pending::<()>().await;
                continue;
            };
            let current = self.rooms.get(&room).map(|(g, _)| *g);
            if current != Some(generation) {
                continue;
            }
            if matches!(event, LinkEvent::Closed { .. }) {
                self.rooms.remove(&room);
            }
            return (room, event);
        }
    }

    /// Joins `room` for attendee `me` with a join token (replacing a link to
    /// the room this socket had).
    pub fn join(&mut self, me: AttendeeId, room: String, token: String) -> Result<(), Refusal> {
        if !valid_room(&room) {
            return Err("room must be session:<id>, check:<id> or meet:<id>".into());
        }
        if !self.rooms.contains_key(&room) && self.rooms.len() >= MAX_ROOMS {
            return Err(format!(
                "a page may be in at most {MAX_ROOMS} rooms at once"
            ));
        }
        match peek(&token) {
            Some(c) if c.sub == me && c.room == room => {
                if c.role.hosts() {
                    self.hosting.insert(room.clone());
                } else {
                    self.hosting.remove(&room);
                }
            }
            Some(_) => return Err("this join token is not yours or not for this room".into()),
            None => return Err("the join token is malformed".into()),
        }
        let (tx, rx) = mpsc::unbounded_channel();
        self.next_generation += 1;
        let generation = self.next_generation;
        self.rooms.insert(room.clone(), (generation, tx));
        let (redis, ns, events) = (
            self.redis.clone(),
            self.namespace.clone(),
            self.events_tx.clone(),
        );
        tokio::spawn(async move {
            let End {
                reason,
                rejoin,
                full,
            } = link(redis, &ns, &room, &token, rx, |e| {
                let _ = events.send((room.clone(), generation, LinkEvent::Node(e)));
            })
            .await;
            let _ = events.send((
                room.clone(),
                generation,
                LinkEvent::Closed {
                    reason,
                    rejoin,
                    full,
                },
            ));
        });
        Ok(())
    }

    /// Passes the browser's answer or candidate to the room's node.
    pub fn send(&mut self, room: &str, msg: ToNode) -> Result<(), Refusal> {
        match self.rooms.get(room) {
            Some((_, tx)) => {
                let _ = tx.send(msg);
                Ok(())
            }
            None => Err("join the room first".into()),
        }
    }

    /// Leaves `room` (closing its link; harmless if not in it).
    pub fn leave(&mut self, room: &str) {
        self.rooms.remove(room);
        self.hosting.remove(room);
    }

    /// The rooms this page is in as a host (a backstage's speakers are its
    /// hosts).
    pub fn hosted(&self) -> Vec<String> {
        self.hosting
            .iter()
            .filter(|r| self.rooms.contains_key(*r))
            .cloned()
            .collect()
    }
}

/// How a link ended.
struct End {
    reason: String,
    rejoin: bool,
    full: bool,
}

impl End {
    fn of(reason: String, rejoin: bool) -> End {
        End {
            reason,
            rejoin,
            full: false,
        }
    }
}

/// Runs one link until either side ends it; returns why it ended (an empty
/// reason when the browser left).
async fn link(
    mut redis: ConnectionManager,
    ns: &str,
    room: &str,
    token: &str,
    mut from_browser: mpsc::UnboundedReceiver<ToNode>,
    to_browser: impl Fn(FromNode),
) -> End {
    let node = match media_nodes::locate(&mut redis, ns, room).await {
        Ok(Some(node)) => node,
        Ok(None) => {
            return End::of(
                "video is unavailable right now: no media server is running".into(),
                true,
            )
        }
        Err(e) => {
            tracing::warn!(error = %e, "locating a media node failed");
            return End::of("video is unavailable right now; trying again".into(), true);
        }
    };
    let base = node
        .url
        .replacen("https://", "wss://", 1)
        .replacen("http://", "ws://", 1);
    let Ok(url) = reqwest::Url::parse_with_params(
        &format!("{base}/media/v1/join"),
        &[("room", room), ("token", token)],
    ) else {
        return End::of(
            format!("the media server's address is wrong: {}", node.url),
            false,
        );
    };
    let mut ws = match tokio_tungstenite::connect_async(url.as_str()).await {
        Ok((ws, _)) => ws,
        Err(tungstenite::Error::Http(response)) => {
            let reason = response
                .body()
                .as_ref()
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .unwrap_or_else(|| format!("the media server refused ({})", response.status()));
            return End::of(reason, false);
        }
        Err(e) => {
            // Gone without saying so: stop sending anyone there.
            tracing::warn!(node = %node.id, error = %e, "media node unreachable; forgetting it");
            let _ = media_nodes::forget(&mut redis, ns, &node.id).await;
            return End::of("lost the media server; reconnecting".into(), true);
        }
    };
    loop {
        tokio::select! {
            msg = from_browser.recv() => match msg {
                Some(msg) => {
                    let Ok(text) = serde_json::to_string(&msg) else { continue };
                    if ws.send(tungstenite::Message::Text(text.into())).await.is_err() {
                        return End::of("lost the media server; reconnecting".into(), true);
                    }
                }
                None => {
                    let _ = ws.close(None).await;
                    return End::of(String::new(), false);
                }
            },
            msg = ws.next() => match msg {
                Some(Ok(tungstenite::Message::Text(text))) => match serde_json::from_str::<FromNode>(&text) {
                    Ok(FromNode::Closed { reason }) => return End::of(reason, false),
                    Ok(FromNode::Full) => {
                        return End {
                            reason: "this stage has as many viewers over WebRTC as its media server takes".into(),
                            rejoin: false,
                            full: true,
                        }
                    }
                    Ok(msg) => to_browser(msg),
                    Err(_) => {}
                },
                Some(Ok(tungstenite::Message::Close(_))) | None | Some(Err(_)) => {
                    return End::of("lost the media server; reconnecting".into(), true);
                }
                Some(Ok(_)) => {}
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rooms_are_sessions_by_id() {
        assert!(valid_room("session:67e55044-10b1-426f-9247-bb680e5fe0c8"));
        assert!(!valid_room("session:x"));
        assert!(!valid_room(
            "session:67e55044-10b1-426f-9247-bb680e5fe0c8&token=1"
        ));
        assert!(!valid_room("stage:67e55044-10b1-426f-9247-bb680e5fe0c8"));
        assert!(valid_room("check:67e55044-10b1-426f-9247-bb680e5fe0c8"));
    }
}
