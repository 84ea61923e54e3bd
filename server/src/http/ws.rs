//! The attendee's live WebSocket (protocol v3, see `protocol::live`): one socket
//! per tab multiplexes presence, chat, direct messages and app events.
//!
//! Connecting enters the page's area (a domain event), keeps the connection
//! present in Redis with heartbeats, replays the live log after the client's
//! cursor (`?since=`), then forwards new entries the attendee may see. Client
//! requests run through `services::live::actions`; refusals come back as
//! errors. Banned attendees cannot connect; a ban closes their open sockets.
//!
//! Media signalling (`media_*` messages) is relayed to the media node of
//! each room the page joins (`media_link`); a host's removal, taking someone
//! off screen or ending the session closes that person's link here, so the
//! node drops their connection whatever their page does. A host's link to
//! a stage's backstage also carries the broadcast's state to the node (who
//! is on air, the recording token), from the database, when they join and
//! after each change of the stage.

use std::sync::Arc;
use std::time::Duration;

use app::context::cookies;
use app::error::{AppError, ErrorKind};
use axum::extract::ws::{close_code, CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap};
use axum::response::Response;
use axum_extra::extract::CookieJar;
use protocol::events::AreaVisit;
use protocol::ids::{AttendeeId, ConnectionId};
use protocol::live::{ClientMsg, LiveItem, ServerMsg, PROTOCOL_VERSION};
use protocol::media::{session_room, FromNode, ToNode};
use protocol::states::SessionAction;
use protocol::Area;
use redis::aio::ConnectionManager;
use serde::Deserialize;
use services::live::actions;
use services::live::log::{self, cursor_lt, Entry};
use services::live::moderation::{self, Standing};
use services::live::participants::{self, Actor};
use services::live::presence::{self, Snapshot};
use services::live::seen;
use services::Platform;
use tokio::sync::broadcast::error::RecvError;

use super::media_link::{LinkEvent, Links};
use super::socket_limits::{Bucket, MAX_MESSAGE_BYTES, MAX_SOCKETS_PER_ATTENDEE};

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
    /// `1` when the page reconnects a socket it had: the visit goes on (no
    /// new "entered" is recorded, so reconnects do not count as visits).
    resume: Option<u8>,
}

/// `GET /ws/e/{slug}?v=3[&since=CURSOR][&area=AREA][&resume=1]`: upgrades
/// signed-in attendees of the event.
pub async fn live(
    State(platform): State<Platform>,
    Path(slug): Path<String>,
    Query(q): Query<LiveQuery>,
    headers: HeaderMap,
    jar: CookieJar,
    ws: WebSocketUpgrade,
) -> Result<Response, AppError> {
    // Cross-site WebSocket hijacking: a browser always sends Origin on upgrades.
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        if !super::csrf::own_origin(origin, &headers, &platform.public_url) {
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
        if !log::valid_cursor(since) {
            return Err(AppError::new(
                ErrorKind::Invalid,
                "since must be a cursor from this server",
            ));
        }
    }
    let area: Area = match q.area.as_deref() {
        None => Area::Reception,
        Some(raw) => raw
            .parse()
            .map_err(|_| AppError::new(ErrorKind::Invalid, Area::EXPECTED))?,
    };
    let token = jar.get(cookies::ATTENDEE).map(|c| c.value().to_owned());
    let actor = moderation::admit(&platform.pool, &slug, token.as_deref())
        .await?
        .actor;
    let conn = ConnectionId::new();
    let mut redis = platform.redis.clone();
    let max = MAX_SOCKETS_PER_ATTENDEE;
    if !presence::reserve(&mut redis, actor.event_id, actor.id, conn, max).await? {
        return Err(AppError::new(
            ErrorKind::RateLimited,
            format!("this event is already open in {max} tabs or devices; close one to join here"),
        ));
    }
    Ok(ws
        .max_message_size(MAX_MESSAGE_BYTES)
        .max_frame_size(MAX_MESSAGE_BYTES)
        .on_upgrade(move |socket| {
            let token = token.unwrap_or_default();
            let visit = if q.resume == Some(1) {
                Visit::Continues
            } else {
                Visit::Starts
            };
            session(platform, actor, token, conn, q.since, (area, visit), socket)
        }))
}

async fn send(socket: &mut WebSocket, msg: &ServerMsg) -> bool {
    match serde_json::to_string(msg) {
        Ok(text) => send_frame(socket, Message::Text(text.into())).await,
        Err(_) => false,
    }
}

/// Sends a frame; false when the socket is gone or the peer has not taken it
/// within the silence limit (a peer that stops reading fills its TCP window,
/// and an unbounded send would stall the loop: no heartbeat, no checks).
async fn send_frame(socket: &mut WebSocket, frame: Message) -> bool {
    matches!(
        tokio::time::timeout(SILENCE_LIMIT, socket.send(frame)).await,
        Ok(Ok(()))
    )
}

fn presence_msg(s: &Snapshot) -> ServerMsg {
    ServerMsg::Presence {
        online: s.online,
        people: s.people.clone(),
        areas: s.areas.clone(),
    }
}

/// Sends a log entry if this attendee may see it; returns false when the
/// socket must end: it is gone, or the entry bans this attendee (sent first,
/// so they learn why, and `close` set to a policy close with the reason).
/// Every path that forwards entries goes through here.
async fn forward(
    socket: &mut WebSocket,
    me: &Actor,
    entry: &Entry,
    close: &mut Option<CloseFrame>,
) -> bool {
    if !entry.audience.includes(me.id, me.moderator()) {
        return true;
    }
    if !send_frame(socket, Message::Text(entry.frame.as_str().into())).await {
        return false;
    }
    if entry.bans(me.id) {
        *close = Some(CloseFrame {
            code: close_code::POLICY,
            reason: moderation::BANNED.into(),
        });
        return false;
    }
    true
}

/// The media room whose link this entry closes for `me`: the session ended,
/// or a host took them off screen or removed them.
fn closes_media(entry: &Entry, me: AttendeeId) -> Option<String> {
    match &entry.item {
        LiveItem::SessionEnded { session } => Some(session_room(*session)),
        LiveItem::SessionControl { session, action }
            if matches!(action, SessionAction::OffScreen | SessionAction::Remove)
                && entry.audience.includes(me, false) =>
        {
            Some(session_room(*session))
        }
        _ => None,
    }
}

/// Runs a media request of the browser on this socket's links.
fn relay_media(links: &mut Links, me: AttendeeId, msg: ClientMsg) -> Result<(), String> {
    match msg {
        ClientMsg::MediaJoin { room, token } => links.join(me, room, token),
        ClientMsg::MediaAnswer { room, leg, sdp } => links.send(&room, ToNode::Answer { leg, sdp }),
        ClientMsg::MediaCandidate {
            room,
            leg,
            candidate,
        } => links.send(&room, ToNode::Candidate { leg, candidate }),
        ClientMsg::MediaLeave { room } => {
            links.leave(&room);
            Ok(())
        }
        ClientMsg::MediaScreen { room, on } => links.send(&room, ToNode::Screen { on }),
        ClientMsg::MediaView {
            room,
            publisher,
            height,
        } => links.send(
            &room,
            ToNode::View {
                publisher: publisher.to_string(),
                height,
            },
        ),
        _ => Ok(()),
    }
}

/// What changed that the media node of a room this page hosts must hear.
#[derive(Debug, Clone, Copy)]
enum MediaChange {
    /// The host joined this room: everything.
    Joined,
    /// The broadcast of this stage changed: its backstage's air.
    Stage(protocol::ids::StageId),
    /// This session started or stopped recording.
    Recording(protocol::ids::VideoSessionId),
}

/// Tells the media node of each room this page is in as a host what to do,
/// from the stored state: in a backstage, who is on air and whether to
/// record (`services::live::stages::air`); in a session, whether to record
/// (`services::live::sessions::record_signal`). When the host joins (`only`
/// that room) and after what `what` names changed. The browser never
/// carries the list or a recording token; the node takes them from a
/// host's link only.
async fn sync_air(
    platform: &Platform,
    me: &Actor,
    links: &mut Links,
    only: Option<&str>,
    what: MediaChange,
) {
    use services::live::{sessions, stages};
    for room in links.hosted() {
        if only.is_some_and(|o| o != room) {
            continue;
        }
        let Some(session) = room.strip_prefix("session:").and_then(|id| id.parse().ok()) else {
            continue;
        };
        let msg = match what {
            MediaChange::Joined | MediaChange::Stage(_) => {
                match stages::air(&platform.pool, me, session).await {
                    Ok(Some((of, msg))) if !matches!(what, MediaChange::Stage(s) if s != of) => {
                        Ok(Some(msg))
                    }
                    Ok(Some(_)) => Ok(None),
                    Ok(None) if matches!(what, MediaChange::Joined) => {
                        sessions::record_signal(&platform.pool, me, session).await
                    }
                    Ok(None) => Ok(None),
                    Err(e) => Err(e),
                }
            }
            MediaChange::Recording(s) if s == session => {
                sessions::record_signal(&platform.pool, me, session).await
            }
            MediaChange::Recording(_) => Ok(None),
        };
        match msg {
            Ok(Some(msg)) => {
                let _ = links.send(&room, msg);
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(%room, error = %e, "telling the media node what to record"),
        }
    }
}

/// What the browser hears of a link's report.
fn link_msg(room: String, event: LinkEvent) -> ServerMsg {
    match event {
        LinkEvent::Node(FromNode::Offer { leg, sdp }) => ServerMsg::MediaOffer { room, leg, sdp },
        LinkEvent::Node(FromNode::Candidate { leg, candidate }) => ServerMsg::MediaCandidate {
            room,
            leg,
            candidate,
        },
        LinkEvent::Node(FromNode::Speaker { participant }) => ServerMsg::MediaSpeaker {
            room,
            speaker: participant.and_then(|p| p.parse().ok()),
        },
        LinkEvent::Node(FromNode::Closed { reason }) => ServerMsg::MediaClosed {
            room,
            reason,
            rejoin: false,
            full: false,
        },
        // Only as the link's end (below).
        LinkEvent::Node(FromNode::Full) => ServerMsg::MediaClosed {
            room,
            reason: String::new(),
            rejoin: false,
            full: true,
        },
        LinkEvent::Node(FromNode::Error { message }) => ServerMsg::Error {
            code: ErrorKind::Invalid,
            message,
        },
        LinkEvent::Closed {
            reason,
            rejoin,
            full,
        } => ServerMsg::MediaClosed {
            room,
            reason,
            rejoin,
            full,
        },
    }
}

fn error_msg(e: &AppError) -> ServerMsg {
    ServerMsg::Error {
        code: e.kind,
        message: e.message.clone(),
    }
}

/// Rechecks the attendee's rights (see `moderation::recheck`); when they must
/// leave, tells them why and returns the frame to close the socket with.
async fn must_leave(
    platform: &Platform,
    me: &mut Actor,
    socket: &mut WebSocket,
) -> Option<CloseFrame> {
    match moderation::recheck(&platform.pool, me).await {
        Ok(Standing::Present) => None,
        Ok(Standing::Removed(why)) => Some(leave(socket, close_code::POLICY, &why).await),
        Err(e) => {
            // The database is unavailable: keep the socket, check again later.
            tracing::warn!(error = %e, "rechecking an attendee's rights failed");
            None
        }
    }
}

/// Records a visit, logging (not failing the socket) when the database is unavailable.
/// Whether a socket starts a visit to its area or continues one (a reconnect).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Visit {
    Starts,
    Continues,
}

/// What a socket says of its area on the bus.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Enters,
    Leaves,
    StaysIn,
}

/// Starts the connection's report clock in `area` (its page's data points
/// claim time from it); a failure only costs that page's next report.
async fn start_clock(
    redis: &mut ConnectionManager,
    ns: &str,
    me: &Actor,
    conn: ConnectionId,
    area: Area,
) {
    if let Err(e) = seen::start(redis, ns, me.id, conn, area).await {
        tracing::warn!(error = %e, "starting the report clock failed");
    }
}

async fn record(platform: &Platform, me: &Actor, area: Area, conn: ConnectionId, step: Step) {
    let pool = &platform.pool;
    let result = match step {
        Step::Enters => participants::entered(pool, me, area, conn).await,
        Step::Leaves => participants::left(pool, me, area, conn).await,
        Step::StaysIn => participants::still_in(pool, me, area, conn).await,
    };
    if let Err(e) = result {
        tracing::warn!(error = %e, %area, ?step, "recording an area visit failed");
    }
}

/// A policy close with `reason`, told to the client first as an error.
async fn leave(socket: &mut WebSocket, code: u16, reason: &str) -> CloseFrame {
    let msg = ServerMsg::Error {
        code: ErrorKind::Forbidden,
        message: reason.to_owned(),
    };
    let _ = send(socket, &msg).await;
    CloseFrame {
        code,
        reason: reason.to_owned().into(),
    }
}

/// Whether the attendee's session has ended (signed out in another tab,
/// expired, idle); a database error counts as not ended (checked again later).
async fn session_ended(platform: &Platform, token: &str) -> bool {
    let kind = protocol::states::SessionKind::Attendee;
    matches!(
        services::accounts::sessions::stands(&platform.pool, kind, token).await,
        Ok(false)
    )
}

/// How long a socket may stay silent (not even answering pings) before it is
/// closed: the presence TTL, after which others no longer see it anyway.
const SILENCE_LIMIT: Duration = Duration::from_secs(presence::TTL_SECS);

async fn session(
    platform: Platform,
    mut me: Actor,
    token: String,
    conn: ConnectionId,
    since: Option<String>,
    (mut area, visit): (Area, Visit),
    mut socket: WebSocket,
) {
    let event = me.event_id;
    let mut redis = platform.redis.clone();
    // Subscribe before reading the log, so nothing falls between replay and live.
    let mut changes = platform.presence.subscribe(event);
    let mut entries = platform.live.subscribe(event);
    // A resumed socket continues the visit its dropped one was making:
    // analytics hears it is still there, not that it came again.
    let first = match visit {
        Visit::Starts => Step::Enters,
        Visit::Continues => Step::StaysIn,
    };
    record(&platform, &me, area, conn, first).await;
    let _ = presence::touch(&mut redis, event, me.id, conn, Some(area)).await;
    let ns = platform.redis_namespace.clone();
    start_clock(&mut redis, &ns, &me, conn, area).await;
    // This socket's hello needs the presence now; everyone else hears of the
    // arrival in the event's next announcement.
    let snap = presence::snapshot(&mut redis, event)
        .await
        .unwrap_or_default();
    let _ = presence::changed(&redis, event).await;

    let (mut cursor, replayed, gap) = match &since {
        Some(since) => match log::replay(&mut redis, event, since).await {
            Ok((entries, gap)) => {
                let last = entries
                    .last()
                    .map(|e| e.cursor.clone())
                    .unwrap_or_else(|| since.clone());
                (last, entries, gap)
            }
            Err(_) => (
                log::head(&mut redis, event).await.unwrap_or_default(),
                Vec::new(),
                true,
            ),
        },
        None => (
            log::head(&mut redis, event)
                .await
                .unwrap_or_else(|_| "0-0".into()),
            Vec::new(),
            false,
        ),
    };
    let hello = ServerMsg::Hello {
        v: PROTOCOL_VERSION,
        online: snap.online,
        me: me.person(),
        moderator: me.moderator(),
        cursor: since.clone().unwrap_or_else(|| cursor.clone()),
        resumed: replayed.len() as u32,
        gap,
        connection: Some(conn),
    };
    let mut close: Option<CloseFrame> = None;
    let mut open = send(&mut socket, &hello).await && send(&mut socket, &presence_msg(&snap)).await;
    for entry in &replayed {
        if !open {
            break;
        }
        open = forward(&mut socket, &me, entry, &mut close).await;
    }
    let mut beat = tokio::time::interval(Duration::from_secs(presence::HEARTBEAT_SECS));
    beat.tick().await;
    // Analytics' heartbeat: the visit goes on while these come.
    let mut still = tokio::time::interval(AreaVisit::STILL_THERE_EVERY);
    still.tick().await;
    let mut online = snap.online;
    // Presence changes reach the browser at most every PRESENCE_EVERY (a crowd
    // joining at once would otherwise cost every socket a snapshot per arrival).
    let mut pending: Option<Arc<Snapshot>> = None;
    let mut presence_tick = tokio::time::interval(PRESENCE_EVERY);
    presence_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let deps = platform.live_deps();
    let mut bucket = Bucket::new(std::time::Instant::now());
    let mut heard = tokio::time::Instant::now();
    // Made on the first media request: a socket that never joins a room
    // (most of them) carries no channel for it.
    let mut links: Option<Links> = None;

    while open {
        tokio::select! {
            msg = socket.recv() => {
                if matches!(msg, Some(Ok(_))) {
                    heard = tokio::time::Instant::now();
                }
                match msg {
                    None | Some(Err(_)) | Some(Ok(Message::Close(_))) => open = false,
                    // Pongs answer our pings; every other frame costs a token.
                    Some(Ok(Message::Pong(_))) => {}
                    Some(Ok(_)) if !bucket.take(std::time::Instant::now()) => {
                        tracing::warn!(attendee = %me.id, "live socket over its frame rate; closing");
                        close = Some(CloseFrame {
                            code: close_code::POLICY,
                            reason: "too many messages".into(),
                        });
                        open = false;
                    }
                    Some(Ok(Message::Text(text))) => {
                        match serde_json::from_str::<ClientMsg>(&text) {
                            Ok(ClientMsg::Enter { area: next }) => {
                                if next != area {
                                    record(&platform, &me, area, conn, Step::Leaves).await;
                                    area = next;
                                    record(&platform, &me, area, conn, Step::Enters).await;
                                    start_clock(&mut redis, &ns, &me, conn, area).await;
                                }
                                let _ = presence::touch(&mut redis, event, me.id, conn, Some(area)).await;
                                let _ = presence::changed(&redis, event).await;
                            }
                            Ok(ClientMsg::Seen { area: of, watched_ms, hidden_ms, heights }) => {
                                let seen = participants::Seen { area: of, watched_ms, hidden_ms, heights };
                                // Judged against the connection's clock, which a
                                // beacon of this page may have moved on too.
                                match seen::claim(&mut redis, &ns, &me, conn, seen, seen::Via::Socket).await {
                                    Ok(Some(points)) => {
                                        if let Err(e) = participants::reported(&platform.pool, &me, points).await {
                                            tracing::warn!(error = %e, "recording data points failed");
                                        }
                                    }
                                    Ok(None) => {}
                                    // The clock is gone (Redis lost it): this
                                    // report cannot be judged; the next one can.
                                    Err(services::Error::NotFound(_)) => start_clock(&mut redis, &ns, &me, conn, area).await,
                                    Err(e) => open = send(&mut socket, &error_msg(&AppError::from(e))).await,
                                }
                            }
                            Ok(request) if request.is_media() => {
                                let links = links.get_or_insert_with(|| {
                                    Links::new(platform.redis.clone(), platform.redis_namespace.clone())
                                });
                                let joined = match &request {
                                    ClientMsg::MediaJoin { room, .. } => Some(room.clone()),
                                    _ => None,
                                };
                                match relay_media(links, me.id, request) {
                                    Err(message) => {
                                        open = send(&mut socket, &ServerMsg::Error { code: ErrorKind::Invalid, message }).await;
                                    }
                                    // A host in a backstage: the node learns the broadcast's state.
                                    Ok(()) if joined.is_some() => sync_air(&platform, &me, links, joined.as_deref(), MediaChange::Joined).await,
                                    Ok(()) => {}
                                }
                            }
                            Ok(request) => {
                                close = must_leave(&platform, &mut me, &mut socket).await;
                                open = close.is_none();
                                if open {
                                    if let Err(e) = actions::act(&deps, &me, request).await {
                                        open = send(&mut socket, &error_msg(&AppError::from(e))).await;
                                    }
                                }
                            }
                            Err(e) => {
                                open = send(&mut socket, &ServerMsg::Error {
                                    code: ErrorKind::Invalid,
                                    message: format!("not a v{PROTOCOL_VERSION} message: {e}"),
                                }).await;
                            }
                        }
                    }
                    Some(Ok(_)) => {}
                }
            },
            _ = still.tick() => {
                record(&platform, &me, area, conn, Step::StaysIn).await;
                if let Err(e) = seen::keep(&mut redis, &ns, conn).await {
                    tracing::warn!(error = %e, "keeping the report clock failed");
                }
            }
            _ = beat.tick() => {
                // A cancelled ticket, a ban, a lost moderator role or a session
                // ended elsewhere takes effect within a heartbeat even for
                // someone who only reads; a peer that stopped answering pings
                // is let go.
                close = if heard.elapsed() > SILENCE_LIMIT {
                    Some(CloseFrame {
                        code: close_code::AWAY,
                        reason: "no answer to pings".into(),
                    })
                } else if session_ended(&platform, &token).await {
                    Some(leave(&mut socket, close_code::POLICY, "you signed out of this event").await)
                } else {
                    must_leave(&platform, &mut me, &mut socket).await
                };
                open = close.is_none();
                if open {
                    if let Ok(n) = presence::touch(&mut redis, event, me.id, conn, None).await {
                        if n != online {
                            // Someone's connection expired: tell everyone.
                            let _ = presence::changed(&redis, event).await;
                        }
                    }
                    open = send_frame(&mut socket, Message::Ping(Vec::new().into())).await;
                }
            }
            change = changes.recv() => match change {
                // Keep only the newest snapshot; it goes out on the next presence tick.
                Ok(snap) => {
                    online = snap.online;
                    pending = Some(snap);
                }
                Err(RecvError::Lagged(_)) => {
                    if let Ok(snap) = presence::snapshot(&mut redis, event).await {
                        online = snap.online;
                        pending = Some(Arc::new(snap));
                    }
                }
                Err(RecvError::Closed) => open = false,
            },
            _ = presence_tick.tick(), if pending.is_some() => {
                if let Some(snap) = pending.take() {
                    open = send(&mut socket, &presence_msg(&snap)).await;
                }
            },
            Some((room, event)) = async { Some(links.as_mut()?.next().await) }, if links.is_some() => {
                open = send(&mut socket, &link_msg(room, event)).await;
            }
            entry = entries.recv() => match entry {
                Ok(entry) if cursor_lt(&cursor, &entry.cursor) => {
                    cursor = entry.cursor.clone();
                    if let Some(room) = closes_media(&entry, me.id) {
                        if let Some(links) = links.as_mut() {
                            links.leave(&room);
                        }
                    }
                    let changed = match &entry.item {
                        LiveItem::StageChanged { stage } => Some(MediaChange::Stage(*stage)),
                        LiveItem::SessionRecording { session, .. } => Some(MediaChange::Recording(*session)),
                        _ => None,
                    };
                    if let (Some(what), Some(links)) = (changed, links.as_mut()) {
                        if !links.hosted().is_empty() {
                            sync_air(&platform, &me, links, None, what).await;
                        }
                    }
                    open = forward(&mut socket, &me, &entry, &mut close).await;
                }
                Ok(_) => {}
                Err(RecvError::Lagged(_)) => {
                    // Too slow for the live stream: catch up from the log.
                    match log::replay(&mut redis, event, &cursor).await {
                        Ok((missed, _)) => {
                            for entry in &missed {
                                if !open { break; }
                                cursor = entry.cursor.clone();
                                open = forward(&mut socket, &me, entry, &mut close).await;
                            }
                        }
                        Err(_) => open = false,
                    }
                }
                Err(RecvError::Closed) => open = false,
            },
        }
    }
    let _ = send_frame(&mut socket, Message::Close(close)).await;

    match presence::leave(&mut redis, event, me.id, conn).await {
        Ok(_) => {
            let _ = presence::changed(&redis, event).await;
        }
        Err(e) => tracing::warn!(error = %e, "presence leave failed"),
    }
    record(&platform, &me, area, conn, Step::Leaves).await;
    // The page may still send what it saw by beacon, for a few minutes.
    if let Err(e) = seen::close(&mut redis, &ns, conn).await {
        tracing::warn!(error = %e, "closing the report clock failed");
    }
}
