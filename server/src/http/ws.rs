//! The attendee's live WebSocket (protocol v2, see `app::wire`): one socket per
//! tab multiplexes presence, chat, direct messages and app events.
//!
//! Connecting enters Reception (an activity fact + outbox row), keeps the
//! connection present in Redis with heartbeats, replays the live log after the
//! client's cursor (`?since=`), then forwards new entries the attendee may see.
//! Client requests run through `app::live::act`; refusals come back as errors.
//! Banned attendees cannot connect; a ban closes their open sockets.

use std::time::Duration;

use app::error::{AppError, ErrorKind};
use app::state::{cookies, AppState};
use app::wire::{ClientMsg, LiveItem, Person, ServerMsg, PROTOCOL_VERSION};
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap};
use axum::response::Response;
use axum_extra::extract::CookieJar;
use serde::Deserialize;
use services::activity::{self, Action, Area};
use services::chat::Actor;
use services::live::{self, cursor_lt, Entry};
use services::presence::{self, Snapshot};
use tokio::sync::broadcast::error::RecvError;
use uuid::Uuid;

/// Longest wait before a presence change reaches a socket.
const PRESENCE_EVERY: Duration = Duration::from_millis(500);

/// Query of the upgrade request.
#[derive(Deserialize)]
pub struct LiveQuery {
    v: Option<u32>,
    /// The last cursor this client saw (resume after a reconnect).
    since: Option<String>,
    /// The area the page shows (`reception`, `stage:<id>`, `people`).
    area: Option<String>,
}

/// `GET /ws/e/{slug}?v=2[&since=CURSOR][&area=AREA]`: upgrades signed-in attendees of the event.
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
    if let Some(since) = &q.since {
        if !live::valid_cursor(since) {
            return Err(AppError::new(
                ErrorKind::Invalid,
                "since must be a cursor from this server",
            ));
        }
    }
    let area = q.area.unwrap_or_else(|| "reception".into());
    if !valid_area(&area) {
        return Err(AppError::new(
            ErrorKind::Invalid,
            "area must be reception, people or stage:<id>",
        ));
    }
    let event = services::events::get_public(&state.pool, &slug).await?;
    let token = jar.get(cookies::ATTENDEE).map(|c| c.value().to_owned());
    let attendee =
        services::registrations::attendee_from_session(&state.pool, &event, token.as_deref())
            .await?;
    if services::chat::sanction_of(&state.pool, event.id, attendee.id, "ban")
        .await?
        .is_some()
    {
        return Err(AppError::new(
            ErrorKind::Forbidden,
            "a moderator removed you from this event",
        ));
    }
    let actor = services::chat::actor(&state.pool, attendee.id).await?;
    Ok(ws.on_upgrade(move |socket| session(state, actor, q.since, area, socket)))
}

fn valid_area(area: &str) -> bool {
    matches!(area, "reception" | "people")
        || area
            .strip_prefix("stage:")
            .is_some_and(|id| id.parse::<Uuid>().is_ok())
}

async fn send(socket: &mut WebSocket, msg: &ServerMsg) -> bool {
    match serde_json::to_string(msg) {
        Ok(text) => socket.send(Message::Text(text.into())).await.is_ok(),
        Err(_) => false,
    }
}

fn presence_msg(s: &Snapshot) -> ServerMsg {
    ServerMsg::Presence {
        online: s.online,
        people: s.people.iter().map(Uuid::to_string).collect(),
        areas: s.areas.clone(),
    }
}

/// The `live` frame of an entry, built around the stored item JSON without
/// parsing it again for every socket (the log only holds `LiveItem` JSON we wrote).
fn live_frame(entry: &Entry) -> String {
    let cursor = serde_json::to_string(&entry.cursor).unwrap_or_else(|_| "\"\"".into());
    format!(
        r#"{{"type":"live","cursor":{cursor},"item":{}}}"#,
        entry.json
    )
}

/// Sends a log entry if this attendee may see it; returns false when the socket is gone.
async fn forward(socket: &mut WebSocket, me: &Actor, entry: &Entry) -> bool {
    if !entry.audience.includes(me.id, me.moderator) {
        return true;
    }
    socket
        .send(Message::Text(live_frame(entry).into()))
        .await
        .is_ok()
}

/// Whether the entry bans this attendee (sanctions go to their target only).
fn bans_me(me: &Actor, entry: &Entry) -> bool {
    matches!(&entry.audience, live::Audience::Only { ids } if ids.contains(&me.id))
        && matches!(
            serde_json::from_str::<LiveItem>(&entry.json),
            Ok(LiveItem::Sanction { ref sanction, .. }) if sanction == "ban"
        )
}

fn error_msg(e: &AppError) -> ServerMsg {
    let code = match e.kind {
        ErrorKind::Invalid => "invalid",
        ErrorKind::Unauthorized => "unauthorized",
        ErrorKind::Forbidden => "forbidden",
        ErrorKind::NotFound => "not_found",
        ErrorKind::Conflict => "conflict",
        ErrorKind::RateLimited => "rate_limited",
        _ => "error",
    };
    ServerMsg::Error {
        code: code.into(),
        message: e.message.clone(),
    }
}

async fn session(
    state: AppState,
    mut me: Actor,
    since: Option<String>,
    mut area: String,
    mut socket: WebSocket,
) {
    let event = me.event_id;
    let conn = Uuid::new_v4();
    let mut redis = state.redis.clone();
    // Subscribe before reading the log, so nothing falls between replay and live.
    let mut changes = state.presence.subscribe();
    let mut entries = state.live.subscribe();
    if let Err(e) =
        activity::record_now(&state.pool, event, me.id, Area::Reception, Action::Enter).await
    {
        tracing::warn!(error = %e, "recording reception enter failed");
    }
    let _ = presence::touch_in(&mut redis, event, me.id, conn, Some(&area)).await;
    let snap = presence::refresh(&mut redis, event)
        .await
        .unwrap_or_default();

    let (mut cursor, replayed, gap) = match &since {
        Some(since) => match live::replay(&mut redis, event, since).await {
            Ok((entries, gap)) => {
                let last = entries
                    .last()
                    .map(|e| e.cursor.clone())
                    .unwrap_or_else(|| since.clone());
                (last, entries, gap)
            }
            Err(_) => (
                live::head(&mut redis, event).await.unwrap_or_default(),
                Vec::new(),
                true,
            ),
        },
        None => (
            live::head(&mut redis, event)
                .await
                .unwrap_or_else(|_| "0-0".into()),
            Vec::new(),
            false,
        ),
    };
    let hello = ServerMsg::Hello {
        v: PROTOCOL_VERSION,
        online: snap.online,
        me: Person {
            id: me.id.to_string(),
            name: me.name.clone(),
        },
        moderator: me.moderator,
        cursor: since.clone().unwrap_or_else(|| cursor.clone()),
        resumed: replayed.len() as u32,
        gap,
    };
    let mut open = send(&mut socket, &hello).await && send(&mut socket, &presence_msg(&snap)).await;
    for entry in &replayed {
        if !open {
            break;
        }
        open = forward(&mut socket, &me, entry).await;
    }
    let mut beat = tokio::time::interval(Duration::from_secs(presence::HEARTBEAT_SECS));
    beat.tick().await;
    let mut online = snap.online;
    // Presence changes reach the browser at most every PRESENCE_EVERY (a crowd
    // joining at once would otherwise cost every socket a snapshot per arrival).
    let mut pending: Option<std::sync::Arc<Snapshot>> = None;
    let mut presence_tick = tokio::time::interval(PRESENCE_EVERY);
    presence_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);

    while open {
        tokio::select! {
            msg = socket.recv() => match msg {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => open = false,
                Some(Ok(Message::Text(text))) => {
                    match serde_json::from_str::<ClientMsg>(&text) {
                        Ok(ClientMsg::Enter { area: next }) => {
                            if valid_area(&next) {
                                area = next;
                                let _ = presence::touch_in(&mut redis, event, me.id, conn, Some(&area)).await;
                                let _ = presence::refresh(&mut redis, event).await;
                            } else {
                                open = send(&mut socket, &ServerMsg::Error {
                                    code: "invalid".into(),
                                    message: "area must be reception, people or stage:<id>".into(),
                                }).await;
                            }
                        }
                        Ok(request) => {
                            // Roles can change while connected (made moderator).
                            if let Ok(fresh) = services::chat::actor(&state.pool, me.id).await {
                                me = fresh;
                            }
                            if let Err(e) = app::live::act(&state, &me, request).await {
                                open = send(&mut socket, &error_msg(&e)).await;
                            }
                        }
                        Err(e) => {
                            open = send(&mut socket, &ServerMsg::Error {
                                code: "invalid".into(),
                                message: format!("not a v{PROTOCOL_VERSION} message: {e}"),
                            }).await;
                        }
                    }
                }
                Some(Ok(_)) => {}
            },
            _ = beat.tick() => {
                if let Ok(n) = presence::touch_in(&mut redis, event, me.id, conn, None).await {
                    if n != online {
                        // Someone's connection expired: tell everyone.
                        let _ = presence::refresh(&mut redis, event).await;
                    }
                }
                if open {
                    open = socket.send(Message::Ping(Vec::new().into())).await.is_ok();
                }
            }
            change = changes.recv() => match change {
                // Keep only the newest snapshot; it goes out on the next presence tick.
                Ok((id, snap)) if id == event => {
                    online = snap.online;
                    pending = Some(snap);
                }
                Ok(_) => {}
                Err(RecvError::Lagged(_)) => {
                    if let Ok(snap) = presence::snapshot(&mut redis, event).await {
                        online = snap.online;
                        pending = Some(std::sync::Arc::new(snap));
                    }
                }
                Err(RecvError::Closed) => open = false,
            },
            _ = presence_tick.tick(), if pending.is_some() => {
                if let Some(snap) = pending.take() {
                    open = send(&mut socket, &presence_msg(&snap)).await;
                }
            },
            entry = entries.recv() => match entry {
                Ok(entry) if entry.event == event && cursor_lt(&cursor, &entry.cursor) => {
                    cursor = entry.cursor.clone();
                    open = forward(&mut socket, &me, &entry).await && !bans_me(&me, &entry);
                }
                Ok(_) => {}
                Err(RecvError::Lagged(_)) => {
                    // Too slow for the live stream: catch up from the log.
                    match live::replay(&mut redis, event, &cursor).await {
                        Ok((missed, _)) => {
                            for entry in &missed {
                                if !open { break; }
                                cursor = entry.cursor.clone();
                                open = forward(&mut socket, &me, entry).await;
                            }
                        }
                        Err(_) => open = false,
                    }
                }
                Err(RecvError::Closed) => open = false,
            },
        }
    }
    let _ = socket.send(Message::Close(None)).await;

    match presence::leave(&mut redis, event, me.id, conn).await {
        Ok(_) => {
            let _ = presence::refresh(&mut redis, event).await;
        }
        Err(e) => tracing::warn!(error = %e, "presence leave failed"),
    }
    if let Err(e) =
        activity::record_now(&state.pool, event, me.id, Area::Reception, Action::Leave).await
    {
        tracing::warn!(error = %e, "recording reception leave failed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_frames_are_the_protocol_message() {
        let item = LiveItem::ChatDeleted { id: "m1".into() };
        let entry = Entry {
            event: Uuid::new_v4(),
            cursor: "1700000000000-3".into(),
            audience: live::Audience::All,
            json: serde_json::to_string(&item).unwrap(),
        };
        let parsed: ServerMsg = serde_json::from_str(&live_frame(&entry)).unwrap();
        assert_eq!(
            parsed,
            ServerMsg::Live {
                cursor: "1700000000000-3".into(),
                item
            }
        );
    }
}
