//! Server-side state handed to server functions and handlers (ssr only).

use axum::extract::FromRef;
use leptos::prelude::LeptosOptions;
use services::bus::Bus;
use services::presence::Change;
use sqlx::PgPool;
use tokio::sync::broadcast;

/// Everything a request may need; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// Leptos site options.
    pub leptos_options: LeptosOptions,
    /// PostgreSQL pool.
    pub pool: PgPool,
    /// Redis connection (auto-reconnecting).
    pub redis: redis::aio::ConnectionManager,
    /// Event bus (used by readiness; producers go through the outbox).
    pub bus: Bus,
    /// Presence changes from every node (fed by the Redis pub/sub hub).
    pub presence: broadcast::Sender<Change>,
    /// Live log entries of every event from every node (chat, polls, Q&A, ...).
    pub live: broadcast::Sender<services::live::Entry>,
    /// Web settings.
    pub web: WebSettings,
    /// How ticket quotas are guarded (always `Locked` outside the concurrency control test).
    pub quota_locking: services::ticketing::QuotaLocking,
    /// Payment provider for paid orders.
    pub payments: std::sync::Arc<services::payments::TestProvider>,
    /// Platform fee on paid orders.
    pub fees: services::payments::FeePolicy,
}

/// Settings the web layer needs.
#[derive(Clone, Debug)]
pub struct WebSettings {
    /// Public base URL, e.g. `https://events.example.org` (links, cookie `Secure`).
    pub public_url: String,
    /// Prefix of this deployment's rate-limit keys in Redis (lets deployments share a Redis).
    pub redis_namespace: String,
}

impl WebSettings {
    /// Whether cookies get the `Secure` attribute (served over https).
    pub fn secure_cookies(&self) -> bool {
        self.public_url.starts_with("https://")
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(s: &AppState) -> Self {
        s.leptos_options.clone()
    }
}

/// The state inside a server function or SSR render.
pub fn app_state() -> Result<AppState, crate::error::AppError> {
    leptos::prelude::use_context::<AppState>().ok_or_else(|| {
        crate::error::AppError::new(crate::error::ErrorKind::Internal, "server state missing")
    })
}

/// Session cookies: names, reading and writing (HttpOnly, SameSite=Lax, Secure over https).
pub mod cookies {
    use axum::http::{header, HeaderValue};
    use leptos::prelude::use_context;
    use leptos_axum::ResponseOptions;

    /// Organiser session cookie.
    pub const ORGANISER: &str = "convene_session";
    /// Attendee session cookie.
    pub const ATTENDEE: &str = "convene_attendee";

    /// Builds a `Set-Cookie` value; `max_age` 0 deletes the cookie.
    pub fn header_value(name: &str, value: &str, max_age_secs: i64, secure: bool) -> String {
        format!(
            "{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{}",
            if secure { "; Secure" } else { "" }
        )
    }

    /// Reads a cookie of the current request.
    pub async fn read(name: &str) -> Option<String> {
        let jar: axum_extra::extract::CookieJar = leptos_axum::extract().await.ok()?;
        jar.get(name).map(|c| c.value().to_owned())
    }

    /// Adds a `Set-Cookie` header to the current response.
    pub fn set(name: &str, value: &str, max_age_secs: i64, secure: bool) {
        if let Some(opts) = use_context::<ResponseOptions>() {
            if let Ok(v) = HeaderValue::from_str(&header_value(name, value, max_age_secs, secure)) {
                opts.append_header(header::SET_COOKIE, v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::cookies::header_value;
    use super::WebSettings;

    #[test]
    fn session_cookies_are_http_only_lax_and_secure_over_https() {
        let plain = header_value("convene_session", "t", 60, false);
        assert_eq!(
            plain,
            "convene_session=t; Path=/; HttpOnly; SameSite=Lax; Max-Age=60"
        );
        assert!(header_value("convene_session", "t", 60, true).ends_with("; Secure"));
        let https = WebSettings {
            public_url: "https://events.example.org".into(),
            redis_namespace: String::new(),
        };
        let http = WebSettings {
            public_url: "http://127.0.0.1:3000".into(),
            redis_namespace: String::new(),
        };
        assert!(https.secure_cookies() && !http.secure_cookies());
    }
}
