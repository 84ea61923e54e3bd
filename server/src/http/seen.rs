//! `POST /e/{slug}/seen`: a page's data points sent with
//! `navigator.sendBeacon` when its live socket is down: as the page closes
//! after the socket dropped, or between reconnects. The body is the socket's
//! `seen` report plus the connection its socket's `hello` named (as
//! `text/plain`, the type a beacon may send without asking):
//! `{"connection": …, "area": …, "watched_ms": …, "hidden_ms": …, "heights": […]}`.
//! It claims time from that connection's report clock
//! (`services::live::seen`), as the socket would have, and answers 204.

use app::context::cookies;
use app::error::AppError;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum_extra::extract::CookieJar;
use protocol::live::Beacon;
use services::live::moderation::admit;
use services::live::participants::{self, Seen};
use services::live::seen;
use services::ratelimit::BEACONS_PER_ATTENDEE;
use services::Platform;

/// The largest beacon read (a report is about 200 bytes; 32 heights add 200).
pub const MAX_BODY_BYTES: usize = 2048;

/// `POST /e/{slug}/seen`: records the signed-in attendee's beacon.
pub async fn beacon(
    State(state): State<Platform>,
    Path(slug): Path<String>,
    jar: CookieJar,
    body: Bytes,
) -> Result<StatusCode, AppError> {
    let token = jar.get(cookies::ATTENDEE).map(|c| c.value().to_owned());
    let me = admit(&state.pool, &slug, token.as_deref()).await?.actor;
    let mut redis = state.redis.clone();
    services::ratelimit::hit(
        &mut redis,
        &state.redis_namespace,
        &BEACONS_PER_ATTENDEE,
        &me.id.to_string(),
    )
    .await?;
    let b: Beacon = serde_json::from_slice(&body).map_err(|e| {
        AppError::new(
            protocol::ErrorKind::Invalid,
            format!(
                "a beacon is JSON with connection, area, watched_ms, hidden_ms and heights: {e}"
            ),
        )
    })?;
    let report = Seen {
        area: b.area,
        watched_ms: b.watched_ms,
        hidden_ms: b.hidden_ms,
        heights: b.heights,
    };
    let ns = &state.redis_namespace;
    let claimed = seen::claim(&mut redis, ns, &me, b.connection, report, seen::Via::Beacon);
    if let Some(points) = claimed.await? {
        participants::reported(&state.pool, &me, points).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}
