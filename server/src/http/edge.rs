//! The HTTP listener and the limits every request meets before a handler:
//!
//! - **Header read timeout**: a connection must deliver a request's headers
//!   within it, or hyper closes it (a client trickling bytes — slowloris —
//!   would otherwise hold a connection and its task for ever). Also bounds
//!   how long an idle keep-alive connection waits for its next request.
//! - **Request timeout**: the handler, including reading the body, must
//!   answer within it (408 with a message). WebSocket upgrades answer at
//!   once; the socket's own limits are in `socket_limits` and `ws`.
//! - **Body limit**: a declared `Content-Length` over it is refused at once
//!   (413); a body without one is cut off at the limit while it is read (the
//!   server function then fails to read it: 400).
//!
//! The listener speaks HTTP/1.1 only (TLS and HTTP/2 end at a load balancer).
//! `axum::serve` offers no header read timeout, so the accept loop is here:
//! hyper's HTTP/1 connection with a timer, graceful shutdown that lets open
//! requests finish, and upgrades for WebSockets.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use protocol::ErrorKind;
use serde::Deserialize;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::{Service, ServiceExt};

use super::TrustedProxies;

/// The edge's settings (`[http]`, `CONVENE_HTTP__*`).
#[derive(Debug, Clone, Deserialize)]
pub struct EdgeSettings {
    /// Seconds a connection has to send a request's headers.
    #[serde(default = "default_header_read_timeout")]
    pub header_read_timeout_secs: u64,
    /// Seconds a request has to be answered, body included.
    #[serde(default = "default_request_timeout")]
    pub request_timeout_secs: u64,
    /// Largest request body accepted, in bytes.
    #[serde(default = "default_max_body")]
    pub max_body_bytes: usize,
    /// Load balancers and proxies in front of the web nodes, whose
    /// `X-Forwarded-For` names the client (`10.0.0.0/8,192.0.2.7`); empty:
    /// the TCP peer is the client.
    #[serde(default)]
    pub trusted_proxies: TrustedProxies,
}

fn default_header_read_timeout() -> u64 {
    10
}
fn default_request_timeout() -> u64 {
    30
}
fn default_max_body() -> usize {
    256 * 1024
}

impl Default for EdgeSettings {
    fn default() -> Self {
        EdgeSettings {
            header_read_timeout_secs: default_header_read_timeout(),
            request_timeout_secs: default_request_timeout(),
            max_body_bytes: default_max_body(),
            trusted_proxies: TrustedProxies::default(),
        }
    }
}

fn refusal(status: StatusCode, kind: ErrorKind, message: String) -> Response {
    let err = app::error::AppError { kind, message };
    (status, axum::Json(err)).into_response()
}

/// Middleware: answers 408 when the rest of the stack takes longer than the
/// request timeout.
pub async fn deadline(State(limit): State<Duration>, req: Request, next: Next) -> Response {
    // A recording handed over by a media node may be large.
    let path = req.uri().path();
    let limit = if path == super::recordings::PATH || path == super::recordings::TRACKS_PATH {
        limit.max(super::recordings::TIMEOUT)
    } else {
        limit
    };
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(response) => response,
        Err(_) => refusal(
            StatusCode::REQUEST_TIMEOUT,
            ErrorKind::TimedOut,
            format!("the request took longer than {} seconds", limit.as_secs()),
        ),
    }
}

/// Middleware: refuses bodies over `max` bytes (413), declared or read.
pub async fn body_limit(State(max): State<usize>, req: Request, next: Next) -> Response {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    // Uploads (a photo, a chunk of a video) may be larger than other requests.
    let path = req.uri().path();
    let max = if super::avatars::is_upload(path) {
        max.max(super::avatars::MAX_REQUEST_BYTES)
    } else if super::assets::is_upload(path) {
        max.max(super::assets::MAX_REQUEST_BYTES)
    } else if path == super::recordings::PATH {
        max.max(super::recordings::MAX_BYTES as usize)
    } else if path == super::recordings::TRACKS_PATH {
        max.max(services::assets::MAX_TRACK_BYTES as usize)
    } else if super::live::is_upload(path) {
        max.max(services::live::hls::MAX_FILE_BYTES)
    } else {
        max
    };
    if declared.is_some_and(|n| n > max as u64) {
        return refusal(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorKind::TooLarge,
            format!("the request body is larger than {} KiB", max / 1024),
        );
    }
    let req = req.map(|body| Body::new(http_body_util::Limited::new(body, max)));
    next.run(req).await
}

/// Serves `router` on `listener` until `shutdown` flips, then lets open
/// requests finish.
pub async fn serve(
    router: Router,
    listener: TcpListener,
    limits: &EdgeSettings,
    shutdown: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let mut make = router.into_make_service_with_connect_info::<SocketAddr>();
    // hyper's HTTP/1 connection starts the header read timeout as soon as it
    // waits for a request, so a client that connects and sends nothing is let
    // go too. (hyper-util's auto builder first sniffs the version with a read
    // that has no timeout; TLS and HTTP/2 end at the load balancer anyway.)
    let mut http1 = hyper::server::conn::http1::Builder::new();
    http1
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(limits.header_read_timeout_secs));
    // Every connection task holds a receiver; when the last is dropped, all
    // connections have finished.
    let (finished_tx, finished_rx) = watch::channel(());
    let mut stop = std::pin::pin!(stopped(shutdown.clone()));
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: wait instead of spinning.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = &mut stop => break,
        };
        let service = ServiceExt::<SocketAddr>::ready(&mut make)
            .await
            .unwrap_or_else(|never: Infallible| match never {})
            .call(peer)
            .await
            .unwrap_or_else(|never: Infallible| match never {})
            .map_request(|req: Request<Incoming>| req.map(Body::new));
        let conn = http1
            .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service))
            .with_upgrades();
        let (shutdown, finished) = (shutdown.clone(), finished_rx.clone());
        tokio::spawn(async move {
            let mut conn = std::pin::pin!(conn);
            let result = tokio::select! {
                result = conn.as_mut() => result,
                _ = stopped(shutdown) => {
                    // Finish the request in progress, take no new one.
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            };
            if let Err(e) = result {
                tracing::debug!(error = %e, %peer, "connection ended with an error");
            }
            drop(finished);
        });
    }
    drop(listener);
    drop(finished_rx);
    finished_tx.closed().await;
    Ok(())
}

/// Resolves once `shutdown` flips (or its sender is gone).
async fn stopped(mut shutdown: watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|s| *s).await;
}
