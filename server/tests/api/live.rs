use std::time::Duration;

use futures::StreamExt;
use protocol::live::{ClientMsg, LiveItem, ServerMsg, PROTOCOL_VERSION};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use crate::helpers::{spawn_web_only, start, TestApp, Workers};

pub type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub async fn connect(
    app: &TestApp,
    slug: &str,
    cookie: Option<&str>,
    extra: &[(&'static str, &str)],
    v: u32,
) -> Result<Ws, u16> {
    let mut req = format!("ws://{}/ws/e/{slug}?v={v}", app.addr)
        .into_client_request()
        .unwrap();
    if let Some(c) = cookie {
        req.headers_mut().insert("cookie", c.parse().unwrap());
    }
    for (k, val) in extra {
        req.headers_mut().insert(*k, val.parse().unwrap());
    }
    match tokio_tungstenite::connect_async(req).await {
        Ok((ws, _)) => Ok(ws),
        Err(WsError::Http(res)) => Err(res.status().as_u16()),
        Err(e) => panic!("unexpected WebSocket error: {e}"),
    }
}

/// The next server message (10 s at most).
pub async fn recv(ws: &mut Ws) -> ServerMsg {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("no message within 10 s")
            .expect("socket closed")
            .expect("socket error");
        if let Message::Text(t) = msg {
            return serde_json::from_str::<ServerMsg>(&t).unwrap();
        }
    }
}

/// Reads until the server ends the socket, for at most `secs`; returns the
/// close code it gave, if any.
pub async fn closed_within(ws: &mut Ws, secs: u64) -> Option<u16> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        match tokio::time::timeout_at(deadline, ws.next()).await {
            Err(_) => panic!("the socket was still open after {secs} s"),
            Ok(Some(Ok(Message::Close(frame)))) => return frame.map(|f| u16::from(f.code)),
            Ok(Some(Ok(_))) => continue,
            Ok(None | Some(Err(_))) => return None,
        }
    }
}

/// Reads messages until one satisfies `f`; returns it.
pub async fn wait_for(ws: &mut Ws, what: &str, f: impl Fn(&ServerMsg) -> bool) -> ServerMsg {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        let m = recv(ws).await;
        if f(&m) {
            return m;
        }
    }
}

/// Waits until the socket reports `n` people online.
async fn wait_count(ws: &mut Ws, n: u64) {
    wait_for(ws, &format!("{n} online"), |m| {
        matches!(m, ServerMsg::Hello { online, .. } | ServerMsg::Presence { online, .. } if *online == n)
    })
    .await;
}

/// Connects to a full WebSocket URL with an attendee cookie.
pub async fn connect_url(url: &str, cookie: &str) -> Ws {
    try_connect_url(url, cookie).await.expect("connect")
}

/// Like [`connect_url`], returning the HTTP status on refusal.
pub async fn try_connect_url(url: &str, cookie: &str) -> Result<Ws, u16> {
    let mut req = url.into_client_request().unwrap();
    req.headers_mut().insert("cookie", cookie.parse().unwrap());
    match tokio_tungstenite::connect_async(req).await {
        Ok((ws, _)) => Ok(ws),
        Err(WsError::Http(res)) => Err(res.status().as_u16()),
        Err(e) => panic!("unexpected WebSocket error: {e}"),
    }
}

/// Sends a client message.
pub async fn send(ws: &mut Ws, msg: &ClientMsg) {
    send_raw(ws, &serde_json::to_string(msg).unwrap()).await;
}

/// Sends any text, e.g. a message no typed client could build.
pub async fn send_raw(ws: &mut Ws, text: &str) {
    use futures::SinkExt;
    ws.send(Message::Text(text.to_owned().into()))
        .await
        .unwrap();
}

/// Area visits of reception in the outbox: (entered, left).
pub async fn reception_visits(pool: &sqlx::PgPool) -> (i64, i64) {
    sqlx::query_as(
        "SELECT count(*) FILTER (WHERE payload->>'type' = 'attendee.entered_area'),
                count(*) FILTER (WHERE payload->>'type' = 'attendee.left_area')
         FROM outbox WHERE topic = 'activity' AND payload->'data'->>'area' = 'reception'",
    )
    .fetch_one(pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn two_attendees_see_the_live_count_change_and_visits_are_recorded() {
    let app = spawn_web_only().await;
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    let (_, a) = app.attendee(&slug).await;
    let (_, b) = app.attendee(&slug).await;

    let v = PROTOCOL_VERSION;
    let mut wa = connect(&app, &slug, Some(&a), &[], v).await.unwrap();
    match recv(&mut wa).await {
        ServerMsg::Hello { v, online, .. } => assert_eq!((v, online), (PROTOCOL_VERSION, 1)),
        other => panic!("the first message must be hello, got {other:?}"),
    }
    let mut wb = connect(&app, &slug, Some(&b), &[], v).await.unwrap();
    wait_count(&mut wb, 2).await;
    wait_count(&mut wa, 2).await;
    // A second tab of the same attendee does not count twice.
    let mut wb2 = connect(&app, &slug, Some(&b), &[], v).await.unwrap();
    wait_count(&mut wb2, 2).await;
    wb2.close(None).await.unwrap();
    wb.close(None).await.unwrap();
    wait_count(&mut wa, 1).await;

    // Each tab's entering and leaving is a domain event in the outbox.
    let pool = app.pool.clone();
    app.eventually(10, "reception visits", || {
        let pool = pool.clone();
        async move { reception_visits(&pool).await == (3, 2) }
    })
    .await;

    // A page reconnecting its socket continues its visit: no new "entered".
    let url = format!("ws://{}/ws/e/{slug}?v={v}&resume=1", app.addr);
    let mut again = connect_url(&url, &a).await;
    assert!(matches!(recv(&mut again).await, ServerMsg::Hello { .. }));
    again.close(None).await.unwrap();
    let pool = app.pool.clone();
    app.eventually(10, "the reconnect's leave, and no new visit", || {
        let pool = pool.clone();
        async move { reception_visits(&pool).await == (3, 3) }
    })
    .await;
    // It says it is still there instead (a connection that never entered),
    // so analytics joins it to the visit it continues.
    let resumed: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM outbox s WHERE s.payload->>'type' = 'attendee.still_in_area'
           AND NOT EXISTS (SELECT 1 FROM outbox e WHERE e.payload->>'type' = 'attendee.entered_area'
                             AND e.payload->'data'->>'connection_id' = s.payload->'data'->>'connection_id')",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(resumed, 1);
}

#[tokio::test]
async fn presence_crosses_server_processes_through_redis() {
    let one = spawn_web_only().await;
    let two = start(one.settings.clone(), one.deps.clone(), Workers::NONE).await;
    let org = one.organiser().await;
    let slug = one.event(&org).await;
    let (_, a) = one.attendee(&slug).await;
    let (_, b) = one.attendee(&slug).await;
    let v = PROTOCOL_VERSION;
    let mut wa = connect(&one, &slug, Some(&a), &[], v).await.unwrap();
    wait_count(&mut wa, 1).await;
    let mut wb = connect(&two, &slug, Some(&b), &[], v).await.unwrap();
    wait_count(&mut wb, 2).await;
    wait_count(&mut wa, 2).await; // node one heard node two
                                  // Chat crosses nodes too.
    send(
        &mut wb,
        &ClientMsg::Chat {
            channel: protocol::Channel::Reception,
            body: "hello from node two".into(),
        },
    )
    .await;
    let got = wait_for(&mut wa, "chat from node two", |m| {
        matches!(m, ServerMsg::Live { .. })
    })
    .await;
    assert!(
        matches!(got, ServerMsg::Live { item: LiveItem::Chat { ref msg }, .. } if msg.body == "hello from node two"),
        "{got:?}"
    );
    wb.close(None).await.unwrap();
    wait_count(&mut wa, 1).await;
}

#[tokio::test]
async fn websocket_refuses_strangers_cross_site_and_unknown_versions() {
    let app = spawn_web_only().await;
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    let (_, a) = app.attendee(&slug).await;
    assert_eq!(
        connect(&app, &slug, None, &[], PROTOCOL_VERSION)
            .await
            .err(),
        Some(401)
    );
    assert_eq!(
        connect(
            &app,
            &slug,
            Some(&a),
            &[("origin", "http://evil.example")],
            PROTOCOL_VERSION
        )
        .await
        .err(),
        Some(403)
    );
    for old_or_unknown in [PROTOCOL_VERSION - 1, 99] {
        let refused = connect(&app, &slug, Some(&a), &[], old_or_unknown).await;
        assert_eq!(refused.err(), Some(400), "v={old_or_unknown}");
    }
    assert_eq!(
        connect(&app, "no-such-event", Some(&a), &[], PROTOCOL_VERSION)
            .await
            .err(),
        Some(404)
    );
    assert_eq!(
        reception_visits(&app.pool).await,
        (0, 0),
        "refused sockets visit nothing"
    );
    // Behind a proxy that rewrites Host, the browser's Origin is the public
    // URL (the test server's base): accepted; another site still is not.
    let proxied = |origin| [("host", "10.0.0.5:8080"), ("origin", origin)];
    let via_proxy = connect(&app, &slug, Some(&a), &proxied(&app.base), PROTOCOL_VERSION).await;
    assert!(via_proxy.is_ok(), "{:?}", via_proxy.err());
    drop(via_proxy);
    let refused = connect(
        &app,
        &slug,
        Some(&a),
        &proxied("http://evil.example"),
        PROTOCOL_VERSION,
    )
    .await;
    assert_eq!(refused.err(), Some(403));
}
