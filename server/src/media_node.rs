//! The media role (`convene media`; `convene all` runs it too): the SFU of
//! the `media` crate behind a signalling endpoint for web nodes, announced in
//! the Redis registry (`services::live::media_nodes`) with the rooms it holds.
//!
//! A web node opens `GET /media/v1/join?room=&token=` (a WebSocket) per
//! participant and room and relays the browser's answer and candidates
//! (`protocol::media::ToNode`); the node sends offers and candidates back
//! (`FromNode`). The join token is checked here with the platform's public
//! keys (fetched from its JWK set, again when a token names a key not seen
//! yet): the node never reads the database. A refused token is an HTTP 401
//! with the reason, before any upgrade.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use media::token::{self, Keys, TokenError};
use media::{Seat, Sfu, Signal};
use protocol::media::{FromNode, JoinClaims, MediaRole, ToNode, MAX_SDP_BYTES};
use serde::Deserialize;
use services::live::media_nodes;
use tokio::net::TcpListener;
use tokio::sync::{watch, RwLock};

/// Longest signalling message a web node may send (an answer with its SDP).
const MAX_MESSAGE_BYTES: usize = MAX_SDP_BYTES + 1024;

/// Fetch the JWK set again at most this often when a token names an unknown key.
const REFETCH_KEYS_AFTER: Duration = Duration::from_secs(5);

/// What a media node needs to run.
pub struct NodeConfig {
    /// Address peer connections bind.
    pub ip: IpAddr,
    /// UDP ports they take (None: any).
    pub ports: Option<media::network::PortRange>,
    /// Address browsers are told to reach (None: `ip`).
    pub announce: Option<IpAddr>,
    /// Ask publishers for simulcast layers.
    pub simulcast: bool,
    /// Let subscribers' bandwidth estimates cap their layers.
    pub bandwidth: bool,
    /// How web nodes reach this node.
    pub url: String,
    /// The platform's JWK set.
    pub jwks_url: String,
    /// Redis, for the registry.
    pub redis: redis::aio::ConnectionManager,
    /// The deployment's Redis namespace.
    pub namespace: String,
    /// Where recordings are made, and where finished ones are sent (None:
    /// this node does not record).
    pub recordings: Option<(std::path::PathBuf, String)>,
    /// Where the live mix of a recorded broadcast is uploaded (None: no
    /// live mix).
    pub live_url: Option<String>,
    /// Stage viewers this node takes over WebRTC (None: no limit).
    pub max_audience: Option<usize>,
}

struct Node {
    sfu: Arc<Sfu>,
    keys: RwLock<(Keys, Option<Instant>)>,
    jwks_url: String,
    http: reqwest::Client,
}

impl Node {
    async fn fetch_keys(&self) -> anyhow::Result<Keys> {
        let jwks: serde_json::Value = self
            .http
            .get(&self.jwks_url)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        Ok(Keys::from_jwks(&jwks))
    }

    /// The claims of `token` for `room`, fetching the keys again (at most
    /// every few seconds) when it names one not seen yet.
    async fn verify(&self, token: &str, room: &str) -> Result<JoinClaims, TokenError> {
        let now = chrono::Utc::now().timestamp();
        let first = {
            let keys = self.keys.read().await;
            token::verify(token, &keys.0, room, now)
        };
        if first != Err(TokenError::UnknownKey) {
            return first;
        }
        {
            let mut keys = self.keys.write().await;
            let recent = keys.1.is_some_and(|t| t.elapsed() < REFETCH_KEYS_AFTER);
            if !recent {
                keys.1 = Some(Instant::now());
                match self.fetch_keys().await {
                    Ok(fresh) => keys.0 = fresh,
                    Err(e) => {
                        tracing::warn!(error = %e, url = %self.jwks_url, "fetching the JWK set failed")
                    }
                }
            }
        }
        token::verify(token, &self.keys.read().await.0, room, now)
    }
}

/// Serves the media role on `listener` until `shutdown` flips, renewing its
/// registry entries meanwhile and withdrawing them at the end.
pub async fn serve(
    listener: TcpListener,
    config: NodeConfig,
    mut shutdown: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()?;
    let recordings = config.recordings.clone().map(|(dir, url)| {
        let (done, finished) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(hand_over(finished, url));
        let live = config.live_url.clone().map(|url| {
            let (files, made) = tokio::sync::mpsc::unbounded_channel();
            tokio::spawn(publish_live(made, url));
            files
        });
        media::Recordings { dir, done, live }
    });
    let sfu = Sfu::new(media::Config {
        ip: config.ip,
        ports: config.ports,
        announce: config.announce,
        simulcast: config.simulcast,
        bandwidth: config.bandwidth,
        runtime: None,
        recordings,
        max_audience: config.max_audience,
    });
    let node = Arc::new(Node {
        sfu: sfu.clone(),
        keys: RwLock::new((Keys::default(), None)),
        jwks_url: config.jwks_url.clone(),
        http,
    });
    let me = media_nodes::Node {
        id: uuid::Uuid::new_v4().to_string(),
        url: config.url.clone(),
    };
    let (mut redis, ns) = (config.redis.clone(), config.namespace.clone());
    let renewal = {
        let (me, sfu, mut redis, ns) = (me.clone(), sfu.clone(), redis.clone(), ns.clone());
        tokio::spawn(async move {
            let mut every = tokio::time::interval(media_nodes::RENEW_EVERY);
            loop {
                every.tick().await;
                if let Err(e) = media_nodes::renew(&mut redis, &ns, &me, &sfu.room_names()).await {
                    tracing::warn!(error = %e, "renewing the media registry failed");
                }
            }
        })
    };
    let router = Router::new()
        .route("/media/v1/join", get(join))
        .route("/media/v1/health", get(|| async { "ok" }))
        .with_state(node);
    tracing::info!(addr = %listener.local_addr()?, url = %me.url, id = %me.id, "media node serving signalling");
    axum::serve(listener, router)
        .with_graceful_shutdown(async move {
            let _ = shutdown.wait_for(|s| *s).await;
        })
        .await?;
    renewal.abort();
    let _ = media_nodes::forget(&mut redis, &ns, &me.id).await;
    Ok(())
}

/// Runs the media role as the settings say until shutdown.
pub async fn run(
    settings: &crate::configuration::Settings,
    redis: redis::aio::ConnectionManager,
    shutdown: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    use anyhow::Context;
    let m = &settings.media;
    let listener = TcpListener::bind(&m.listen)
        .await
        .with_context(|| format!("binding the media listener {}", m.listen))?;
    let jwks_url = m.jwks_url.clone().unwrap_or_else(|| {
        format!(
            "{}/.well-known/jwks.json",
            settings.public_url.trim_end_matches('/')
        )
    });
    let recordings_url = m.recordings_url.clone().unwrap_or_else(|| {
        format!(
            "{}/media/v1/recordings",
            settings.public_url.trim_end_matches('/')
        )
    });
    let recordings_dir = m
        .recordings_dir
        .clone()
        .unwrap_or_else(|| std::env::temp_dir().join("convene-recordings"));
    let live_url = m.live_hls.then(|| {
        m.live_url.clone().unwrap_or_else(|| {
            format!(
                "{}{}",
                settings.public_url.trim_end_matches('/'),
                crate::http::live::UPLOAD_PREFIX.trim_end_matches('/')
            )
        })
    });
    let config = NodeConfig {
        recordings: Some((recordings_dir, recordings_url)),
        live_url,
        // Without a live mix there is no stream to send viewers to.
        max_audience: m.max_webrtc_viewers.filter(|_| m.live_hls),
        ip: m.ip,
        ports: m.udp_ports,
        announce: m.announce_ip,
        simulcast: m.simulcast,
        bandwidth: m.simulcast_bandwidth,
        url: m.url(),
        jwks_url,
        redis,
        namespace: settings.redis_namespace.clone(),
    };
    serve(listener, config, shutdown).await
}

/// Attempts to send a finished recording before it is left on disk.
const HAND_OVER_ATTEMPTS: u32 = 6;

/// How handing a file over ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Handed {
    /// Taken (or taken before: a 409).
    Taken,
    /// Refused for good (a 4xx), or the file is gone.
    Refused,
    /// Not taken after every attempt.
    Failed,
}

/// POSTs the file at `file` to `url` under recording token `token` with
/// `headers`, trying again with a growing pause while the web nodes cannot
/// take it.
async fn post_file(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    headers: &[(&str, String)],
    file: &std::path::Path,
    content_type: &str,
) -> Handed {
    for attempt in 0..HAND_OVER_ATTEMPTS {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_secs(2u64 << attempt)).await;
        }
        let body = match tokio::fs::File::open(file).await {
            Ok(f) => reqwest::Body::from(f),
            Err(e) => {
                tracing::error!(file = %file.display(), error = %e, "a recorded file is gone");
                return Handed::Refused;
            }
        };
        let mut req = http
            .post(url)
            .bearer_auth(token)
            .header("content-type", content_type)
            .body(body);
        for (name, value) in headers {
            req = req.header(*name, value);
        }
        match req.send().await {
            Ok(res) if res.status().is_success() || res.status() == StatusCode::CONFLICT => {
                return Handed::Taken
            }
            // A timeout or a rate limit passes; other refusals are final.
            Ok(res)
                if res.status().is_client_error()
                    && !matches!(
                        res.status(),
                        StatusCode::REQUEST_TIMEOUT | StatusCode::TOO_MANY_REQUESTS
                    ) =>
            {
                let status = res.status();
                let why = res.text().await.unwrap_or_default();
                tracing::error!(file = %file.display(), %status, %why, "a recorded file was refused");
                return Handed::Refused;
            }
            Ok(res) => {
                tracing::warn!(file = %file.display(), status = %res.status(), attempt, "handing a recorded file over failed")
            }
            Err(e) => {
                tracing::warn!(file = %file.display(), error = %e, attempt, "handing a recorded file over failed")
            }
        }
    }
    Handed::Failed
}

/// Sends each finished recording to the web nodes (`POST url` with the
/// host's recording token; they make it an asset), then each of its tracks
/// on its own (`POST url/tracks`), trying again with a growing pause while
/// they cannot take them. A recording taken whole has its folder removed;
/// one with a file not taken (refused, or never reached) stays, logged.
async fn hand_over(
    mut finished: tokio::sync::mpsc::UnboundedReceiver<media::Recorded>,
    url: String,
) {
    // Uploads of long recordings take a while: no overall timeout.
    let http = match reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .build()
    {
        Ok(h) => h,
        Err(e) => {
            tracing::error!(error = %e, "no HTTP client for recordings");
            return;
        }
    };
    let tracks_url = format!("{}/tracks", url.trim_end_matches('/'));
    while let Some(r) = finished.recv().await {
        let f = match r.result {
            Ok(f) => f,
            Err(e) => {
                tracing::error!(room = %r.room, error = %e, "a recording could not be mixed; its tracks stay on disk");
                continue;
            }
        };
        let dir = f.file.parent().map(std::path::Path::to_path_buf);
        let started_ms = f
            .started_at
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or_default();
        let part = uuid::Uuid::from_u128(r.part).to_string();
        let handed = post_file(
            &http,
            &url,
            &r.label,
            &[
                ("x-recording-part", part.clone()),
                ("x-recording-started-ms", started_ms.to_string()),
                (
                    "x-recording-duration-ms",
                    f.duration.as_millis().to_string(),
                ),
            ],
            &f.file,
            "video/mp4",
        )
        .await;
        let mut whole = handed == Handed::Taken;
        if whole {
            tracing::info!(room = %r.room, "recording handed over");
            for (n, s) in f.segments.iter().enumerate() {
                let track = post_file(
                    &http,
                    &tracks_url,
                    &r.label,
                    &[
                        ("x-recording-part", part.clone()),
                        ("x-track-n", n.to_string()),
                        ("x-track-stream", s.stream.clone()),
                        (
                            "x-track-kind",
                            if s.audio { "audio" } else { "video" }.into(),
                        ),
                        ("x-track-start-ms", s.start.as_millis().to_string()),
                        ("x-track-length-ms", s.length.as_millis().to_string()),
                    ],
                    &s.file,
                    if s.audio { "audio/ogg" } else { "video/x-ivf" },
                )
                .await;
                whole &= track == Handed::Taken;
            }
        }
        match (whole, dir) {
            (false, _) => {
                tracing::error!(file = %f.file.display(), "a recording could not be handed over whole; it stays on disk")
            }
            (true, Some(dir)) => {
                let _ = tokio::fs::remove_dir_all(dir).await;
            }
            (true, None) => {}
        }
    }
}

/// Files of live mixes waiting to be uploaded past which segments are
/// skipped (about 20 s of one stage).
const LIVE_BACKLOG: usize = 20;

/// Uploads the live mix's files as they are made (`PUT <url>/<name>` with
/// the broadcast's recording token), in order: a segment before the playlist
/// that names it. A file that cannot be sent is skipped (viewers' players
/// go on with the next), said in the log once in a while.
async fn publish_live(
    mut made: tokio::sync::mpsc::UnboundedReceiver<media::live::LiveFile>,
    url: String,
) {
    let http = match reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
    {
        Ok(h) => h,
        Err(e) => {
            tracing::error!(error = %e, "no HTTP client for the live mix");
            return;
        }
    };
    let mut failed = 0u64;
    while let Some(f) = made.recv().await {
        // Behind (a slow web node): segments are skipped, playlists still
        // go, so players move on to what is new instead of waiting.
        if made.len() > LIVE_BACKLOG && f.name != media::live::PLAYLIST {
            failed += 1;
            if failed.is_power_of_two() {
                tracing::warn!(
                    backlog = made.len(),
                    failed,
                    "the live mix's uploads fall behind; segments skipped"
                );
            }
            continue;
        }
        let sent = http
            .put(format!("{}/{}", url.trim_end_matches('/'), f.name))
            .bearer_auth(&f.label)
            .body(f.bytes)
            .send()
            .await;
        let why = match sent {
            Ok(res) if res.status().is_success() => continue,
            Ok(res) => res.status().to_string(),
            Err(e) => e.to_string(),
        };
        failed += 1;
        if failed.is_power_of_two() {
            tracing::warn!(file = %f.name, %why, failed, "uploading the live mix failed");
        }
    }
}

/// Query of a join.
#[derive(Deserialize)]
struct JoinQuery {
    room: String,
    token: String,
}

async fn join(
    State(node): State<Arc<Node>>,
    Query(q): Query<JoinQuery>,
    ws: WebSocketUpgrade,
) -> Response {
    let claims = match node.verify(&q.token, &q.room).await {
        Ok(c) => c,
        Err(e) => return (StatusCode::UNAUTHORIZED, e.to_string()).into_response(),
    };
    ws.max_message_size(MAX_MESSAGE_BYTES)
        .on_upgrade(move |socket| participant(node, claims, socket))
}

async fn send(socket: &mut WebSocket, msg: &FromNode) -> bool {
    match serde_json::to_string(msg) {
        Ok(text) => socket.send(Message::Text(text.into())).await.is_ok(),
        Err(_) => false,
    }
}

/// Where a token's role seats its holder.
fn seat(role: MediaRole) -> Seat {
    match role {
        MediaRole::Viewer | MediaRole::WatchingHost => Seat::Viewer,
        MediaRole::Speaker | MediaRole::Host => Seat::Publisher,
        MediaRole::Audience => Seat::Audience,
    }
}

/// One participant's signalling until either side goes: their web node
/// closing the socket is leaving the room.
async fn participant(node: Arc<Node>, claims: JoinClaims, mut socket: WebSocket) {
    // A speaker watching their own stage is in its audience under another
    // name, so the audience seat never replaces their publishing one.
    let who = match claims.role {
        MediaRole::Audience => format!("{}~audience", claims.sub),
        _ => claims.sub.to_string(),
    };
    let (p, mut signals) = match node.sfu.join(&claims.room, &who, seat(claims.role)).await {
        Ok(joined) => joined,
        Err(media::Error::Full) => {
            let _ = send(&mut socket, &FromNode::Full).await;
            return;
        }
        Err(e) => {
            tracing::warn!(room = %claims.room, error = %e, "join failed");
            let _ = send(
                &mut socket,
                &FromNode::Error {
                    message: e.to_string(),
                },
            )
            .await;
            return;
        }
    };
    // A networking call ends at its time, whatever the pages do.
    let until = claims.until.map(|t| {
        let left = t.saturating_sub(chrono::Utc::now().timestamp()).max(0);
        tokio::time::Instant::now() + Duration::from_secs(left.unsigned_abs())
    });
    loop {
        tokio::select! {
            _ = tokio::time::sleep_until(until.unwrap_or_else(tokio::time::Instant::now)), if until.is_some() => {
                let _ = send(&mut socket, &FromNode::Closed { reason: "The call's time is up.".into() }).await;
                break;
            }
            msg = socket.recv() => {
                let text = match msg {
                    Some(Ok(Message::Text(text))) => text,
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                    _ => break,
                };
                let result = match serde_json::from_str::<ToNode>(&text) {
                    Ok(ToNode::Answer { leg, sdp }) if sdp.len() <= MAX_SDP_BYTES => p.answer(leg, sdp).await,
                    Ok(ToNode::Answer { .. }) => Err(media::Error::BadSignal("the answer is too long".into())),
                    Ok(ToNode::Candidate { leg, candidate }) => p.candidate(leg, media::wire::from_wire(candidate)).await,
                    Ok(ToNode::Screen { on }) => p.share_screen(on).await,
                    Ok(ToNode::OnAir { participants, record, layout }) if claims.role.hosts() => {
                        p.set_on_air(participants, record, layout).await;
                        Ok(())
                    }
                    Ok(ToNode::OnAir { .. }) => Err(media::Error::BadSignal("only a host says who is on air".into())),
                    Ok(ToNode::Record { recording, token }) if claims.role.hosts() => {
                        p.record(recording.zip(token)).await;
                        Ok(())
                    }
                    Ok(ToNode::Record { .. }) => Err(media::Error::BadSignal("only a host records".into())),
                    Ok(ToNode::View { publisher, height }) => {
                        p.view(&publisher, height).await;
                        Ok(())
                    }
                    Err(e) => Err(media::Error::BadSignal(e.to_string())),
                };
                if let Err(e) = result {
                    if !send(&mut socket, &FromNode::Error { message: e.to_string() }).await {
                        break;
                    }
                }
            }
            signal = signals.recv() => {
                let msg = match signal {
                    Some(Signal::Offer(leg, sdp)) => FromNode::Offer { leg, sdp },
                    Some(Signal::Candidate(leg, c)) => FromNode::Candidate { leg, candidate: media::wire::to_wire(c) },
                    Some(Signal::Speaker(participant)) => FromNode::Speaker { participant },
                    None => break,
                };
                if !send(&mut socket, &msg).await {
                    break;
                }
            }
        }
    }
    p.leave().await;
}
