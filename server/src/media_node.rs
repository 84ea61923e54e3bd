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
use media::{Sfu, Signal};
use protocol::media::{FromNode, JoinClaims, ToNode, MAX_SDP_BYTES};
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
    let sfu = Sfu::new(media::Config {
        ip: config.ip,
        ports: config.ports,
        announce: config.announce,
        simulcast: config.simulcast,
        bandwidth: config.bandwidth,
        runtime: None,
    });
    let node = Arc::new(Node {
        sfu: sfu.clone(),
        keys: RwLock::new((Keys::default(), None)),
        jwks_url: config.jwks_url.clone(),
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()?,
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
    let config = NodeConfig {
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

/// One participant's signalling until either side goes: their web node
/// closing the socket is leaving the room.
async fn participant(node: Arc<Node>, claims: JoinClaims, mut socket: WebSocket) {
    let who = claims.sub.to_string();
    let (p, mut signals) = match node
        .sfu
        .join(&claims.room, &who, claims.role.publishes())
        .await
    {
        Ok(joined) => joined,
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
