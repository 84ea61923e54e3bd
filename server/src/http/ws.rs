//! The attendee's live WebSocket: presence (and, later, chat and app events).
//!
//! Connecting enters Reception (an activity fact + outbox row), keeps the
//! connection present in Redis with heartbeats, and pushes the event's live
//! count whenever any node announces a change. Closing leaves Reception.

use std::time::Duration;

use app::error::{AppError, ErrorKind};
use app::state::{cookies, AppState};
use app::wire::{ServerMsg, PROTOCOL_VERSION};
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap};
use axum::response::Response;
use axum_extra::extract::CookieJar;
use serde::Deserialize;
use services::activity::{self, Action, Area};
use services::presence;
use tokio::sync::broadcast::error::RecvError;
use uuid::Uuid;

/// Query of the upgrade request.
#[derive(Deserialize)]
pub struct LiveQuery {
    v: Option<u32>,
}

/// `GET /ws/e/{slug}?v=1`: upgrades signed-in attendees of the event.
pub async fn live(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    Query(q): Query<LiveQuery>,
    headers: HeaderMap,
    jar: CookieJar,
    ws: WebSocketUpgrade,
) -> Result<Response, AppError> {
    // Cross-site WebSocket hijacking: a browser always sends Origin on upgrades.
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        if !super::csrf::same_host(origin, &headers) {
            return Err(AppError::new(
                ErrorKind::Forbidden,
                "cross-site WebSocket refused",
            ));
        }
    }
    if q.v != Some(PROTOCOL_VERSION) {
        return Err(AppError::new(
            ErrorKind::Invalid,
            format!("unsupported protocol version; this server speaks v={PROTOCOL_VERSION}"),
        ));
    }
    let event = services::events::get_public(&state.pool, &slug).await?;
    let token = jar.get(cookies::ATTENDEE).map(|c| c.value().to_owned());
    let attendee =
        services::registrations::attendee_from_session(&state.pool, &event, token.as_deref())
            .await?;
    Ok(ws.on_upgrade(move |socket| session(state, event.id, attendee.id, socket)))
}

async fn send(socket: &mut WebSocket, msg: &ServerMsg) -> bool {
    match serde_json::to_string(msg) {
        Ok(text) => socket.send(Message::Text(text.into())).await.is_ok(),
        Err(_) => false,
    }
}

async fn session(state: AppState, event: Uuid, attendee: Uuid, mut socket: WebSocket) {
    let conn = Uuid::new_v4();
    let mut redis = state.redis.clone();
    let mut changes = state.presence.subscribe();
    if let Err(e) =
        activity::record_now(&state.pool, event, attendee, Area::Reception, Action::Enter).await
    {
        tracing::warn!(error = %e, "recording reception enter failed");
    }
    let mut online = match presence::touch(&mut redis, event, attendee, conn).await {
        Ok(n) => n,
        Err(e) => {
            tracing::warn!(error = %e, "presence unavailable");
            0
        }
    };
    let _ = presence::announce(&mut redis, event, online).await;
    let mut open = send(
        &mut socket,
        &ServerMsg::Hello {
            v: PROTOCOL_VERSION,
            online,
        },
    )
    .await;
    let mut beat = tokio::time::interval(Duration::from_secs(presence::HEARTBEAT_SECS));
    beat.tick().await;

    while open {
        tokio::select! {
            msg = socket.recv() => match msg {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => open = false,
                Some(Ok(_)) => {}
            },
            _ = beat.tick() => {
                if let Ok(n) = presence::touch(&mut redis, event, attendee, conn).await {
                    if n != online {
                        online = n;
                        let _ = presence::announce(&mut redis, event, n).await;
                        open = send(&mut socket, &ServerMsg::Presence { online }).await;
                    }
                }
                if open {
                    open = socket.send(Message::Ping(Vec::new().into())).await.is_ok();
                }
            }
            change = changes.recv() => match change {
                Ok((id, n)) if id == event && n != online => {
                    online = n;
                    open = send(&mut socket, &ServerMsg::Presence { online }).await;
                }
                Ok(_) => {}
                Err(RecvError::Lagged(_)) => {
                    if let Ok(n) = presence::count(&mut redis, event).await {
                        online = n;
                        open = send(&mut socket, &ServerMsg::Presence { online }).await;
                    }
                }
                Err(RecvError::Closed) => open = false,
            },
        }
    }

    match presence::leave(&mut redis, event, attendee, conn).await {
        Ok(n) => {
            let _ = presence::announce(&mut redis, event, n).await;
        }
        Err(e) => tracing::warn!(error = %e, "presence leave failed"),
    }
    if let Err(e) =
        activity::record_now(&state.pool, event, attendee, Area::Reception, Action::Leave).await
    {
        tracing::warn!(error = %e, "recording reception leave failed");
    }
}
