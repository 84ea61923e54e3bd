//! Types that travel between server and browser (WebSocket protocol, page data).

use serde::{Deserialize, Serialize};

/// Version of the live WebSocket protocol; the client sends it as `?v=`.
pub const PROTOCOL_VERSION: u32 = 1;

/// A message from the server on the live WebSocket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMsg {
    /// First message after connecting.
    Hello {
        /// Protocol version the server speaks.
        v: u32,
        /// People in the event right now.
        online: u64,
    },
    /// The number of people in the event changed.
    Presence {
        /// People in the event right now.
        online: u64,
    },
}

/// An event as pages show it, times already formatted in the event's zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventView {
    /// URL slug.
    pub slug: String,
    /// Name.
    pub name: String,
    /// Plain-text description.
    pub description: String,
    /// Start, local to the event.
    pub starts: String,
    /// End, local to the event.
    pub ends: String,
    /// IANA time zone.
    pub time_zone: String,
}

#[cfg(feature = "ssr")]
impl From<&services::events::Event> for EventView {
    fn from(e: &services::events::Event) -> Self {
        use services::events::local_time;
        EventView {
            slug: e.slug.clone(),
            name: e.name.clone(),
            description: e.description.clone(),
            starts: local_time(e.starts_at, &e.time_zone),
            ends: local_time(e.ends_at, &e.time_zone),
            time_zone: e.time_zone.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_messages_are_tagged_json() {
        let m = ServerMsg::Presence { online: 2 };
        let s = serde_json::to_string(&m).unwrap();
        assert_eq!(s, r#"{"type":"presence","online":2}"#);
        assert_eq!(serde_json::from_str::<ServerMsg>(&s).unwrap(), m);
        let h: ServerMsg = serde_json::from_str(r#"{"type":"hello","v":1,"online":0}"#).unwrap();
        assert_eq!(h, ServerMsg::Hello { v: 1, online: 0 });
    }
}
