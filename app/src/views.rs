//! Page data several pages share.

use serde::{Deserialize, Serialize};

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
        use services::time::local_time;
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
