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
    /// Logo address, or empty.
    pub logo_url: String,
    /// Cover image address, or empty.
    pub cover_url: String,
    /// Accent colour `#rrggbb`, or empty.
    pub accent: String,
    /// Text colour readable on the accent (black or white).
    pub accent_text: String,
}

impl EventView {
    /// The inline style that gives a `.branded` element the event's accent
    /// (buttons in it take the colour, with text that stays readable); None
    /// for the platform's own colours.
    pub fn brand_style(&self) -> Option<String> {
        (!self.accent.is_empty()).then(|| {
            format!(
                "--accent: {}; --accent-text: {}",
                self.accent, self.accent_text
            )
        })
    }
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
            logo_url: e.branding.logo_url.clone(),
            cover_url: e.branding.cover_url.clone(),
            accent: e.branding.accent.clone(),
            accent_text: services::domain::text_on(&e.branding.accent).to_owned(),
        }
    }
}
