//! Sessions end: on log-out (an attendee's open sockets close too), after
//! their idle timeout, and a socket whose peer stops answering is let go. The
//! purge deletes what has ended.

use std::time::Duration;

use convene_server::startup;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::attendees::{person, socket};
use crate::helpers::{fns, spawn_web_only};
use crate::live::closed_within;

#[tokio::test]
async fn an_attendee_signs_out_and_their_open_socket_closes() {
    let app = spawn_web_only().await;
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    let ada = person(&app, &slug, "Ada").await;
    let mut ws = socket(&app, &slug, &ada).await;
    let (s, _) = app
        .call::<fns::Reception>(&ada.client, &[("slug", &slug)])
        .await;
    assert_eq!(s, 200);

    let res = ada
        .client
        .post(app.url_of::<fns::AttendeeLogout>())
        .form(&[("slug", slug.as_str())])
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success() || res.status().is_redirection());
    let cleared = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|c| c.starts_with("convene_attendee=;") && c.contains("Max-Age=0"));
    assert!(cleared, "the cookie is cleared");
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM sessions WHERE subject_id = $1")
        .bind(ada.id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(
        left, 0,
        "the session is gone from the server, not just the browser"
    );
    // Even with the old cookie, nothing opens any more.
    let (s, _) = app
        .call::<fns::Reception>(
            &crate::helpers::client_with_cookie(&ada.cookie),
            &[("slug", &slug)],
        )
        .await;
    assert_eq!(s, 401);
    // The socket opened before closes within a heartbeat, with the reason.
    let secs = services::live::presence::HEARTBEAT_SECS * 2;
    assert_eq!(closed_within(&mut ws, secs).await, Some(1008));
}

#[tokio::test]
async fn sessions_end_after_their_idle_timeout_and_use_keeps_them_alive() {
    let app = spawn_web_only().await;
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    let ada = person(&app, &slug, "Ada").await;
    let form = [("slug", slug.as_str())];
    let dashboard = || app.call::<fns::Dashboard>(&org.client, &[]);
    let reception = || app.call::<fns::Reception>(&ada.client, &form);
    assert_eq!(dashboard().await.0, 200);
    assert_eq!(reception().await.0, 200);

    // Just inside the timeouts: still signed in, and the use is recorded.
    let age = |kind: &'static str, interval: &'static str| {
        let pool = app.pool.clone();
        async move {
            sqlx::query(&format!(
                "UPDATE sessions SET last_seen_at = now() - interval '{interval}' WHERE kind = '{kind}'"
            ))
            .execute(&pool)
            .await
            .unwrap();
        }
    };
    age("organiser", "11 hours").await;
    age("attendee", "2 days 23 hours").await;
    assert_eq!(dashboard().await.0, 200);
    assert_eq!(reception().await.0, 200);
    let fresh: bool = sqlx::query_scalar(
        "SELECT bool_and(last_seen_at > now() - interval '1 minute') FROM sessions",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(fresh, "using a session records it was seen");

    // Past them: signed out.
    age("organiser", "13 hours").await;
    age("attendee", "3 days 1 hour").await;
    assert_eq!(dashboard().await.0, 401);
    assert_eq!(reception().await.0, 401);
}

/// Opens the live socket over raw TCP: nothing answers the server's pings.
async fn silent_socket(addr: std::net::SocketAddr, slug: &str, cookie: &str) -> TcpStream {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    let v = protocol::live::PROTOCOL_VERSION;
    let req = format!(
        "GET /ws/e/{slug}?v={v} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Sec-WebSocket-Version: 13\r\nCookie: {cookie}\r\n\r\n"
    );
    tcp.write_all(req.as_bytes()).await.unwrap();
    tcp
}

#[tokio::test]
async fn a_socket_that_stops_answering_pings_is_closed() {
    let app = spawn_web_only().await;
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    let ada = person(&app, &slug, "Ada").await;
    let mut tcp = silent_socket(app.addr, &slug, &ada.cookie).await;
    // Read (never answer) until the server hangs up; a server that keeps the
    // connection fails the test.
    let limit = Duration::from_secs(services::live::presence::TTL_SECS * 3);
    let mut got = Vec::new();
    tokio::time::timeout(limit, tcp.read_to_end(&mut got))
        .await
        .expect("the silent socket was never closed")
        .unwrap();
    let text = String::from_utf8_lossy(&got);
    assert!(text.starts_with("HTTP/1.1 101"), "{text}");
    // The last frame is a close (0x88) with code 1001 and the reason.
    let reason = b"no answer to pings";
    let close = [&[0x88, 2 + reason.len() as u8, 0x03, 0xE9][..], reason].concat();
    assert!(
        got.ends_with(&close),
        "{:?}",
        &got[got.len().saturating_sub(40)..]
    );
}

#[tokio::test]
async fn the_purge_deletes_what_has_ended_and_keeps_what_is_live() {
    let app = spawn_web_only().await;
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    let ada = person(&app, &slug, "Ada").await;
    let _bea = person(&app, &slug, "Bea").await;
    let run = |sql: &'static str| {
        let pool = app.pool.clone();
        async move {
            sqlx::query(sql).execute(&pool).await.unwrap();
        }
    };
    // Ada's session went idle; everyone else's is live. One spent sign-in
    // link is old, the other recent.
    sqlx::query(
        "UPDATE sessions SET last_seen_at = now() - interval '4 days' WHERE subject_id = $1",
    )
    .bind(ada.id)
    .execute(&app.pool)
    .await
    .unwrap();
    run(
        "UPDATE magic_links SET used_at = now() - interval '2 days'
         WHERE used_at IS NOT NULL AND attendee_id = (SELECT id FROM attendees WHERE name = 'Ada')",
    )
    .await;
    // Outbox: everything relayed, half of it long ago.
    run("UPDATE outbox SET published_at = now()").await;
    run("UPDATE outbox SET published_at = now() - interval '8 days'
         WHERE id IN (SELECT id FROM outbox ORDER BY id LIMIT 2)")
    .await;
    let before = |table: &'static str| {
        let pool = app.pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>(&format!("SELECT count(*) FROM {table}"))
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    let (sessions, links, outbox) = (
        before("sessions").await,
        before("magic_links").await,
        before("outbox").await,
    );
    startup::worker(&app.deps, &app.settings, app.payments.clone())
        .unwrap()
        .purge()
        .await;
    assert_eq!(before("sessions").await, sessions - 1, "Ada's idle session");
    assert_eq!(before("magic_links").await, links - 1, "the old spent link");
    assert_eq!(
        before("outbox").await,
        outbox - 2,
        "the old relayed messages"
    );
    let ada_sessions: i64 =
        sqlx::query_scalar("SELECT count(*) FROM sessions WHERE subject_id = $1")
            .bind(ada.id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(ada_sessions, 0);
}
