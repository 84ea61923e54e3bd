use std::time::Duration;

use app::wire::ServerMsg;
use futures::StreamExt;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use crate::helpers::{spawn_web_only, start, TestApp, Workers};

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(
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

/// The next presence count the server pushes.
async fn next_count(ws: &mut Ws) -> u64 {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("no message within 10 s")
            .expect("socket closed")
            .expect("socket error");
        if let Message::Text(t) = msg {
            match serde_json::from_str::<ServerMsg>(&t).unwrap() {
                ServerMsg::Hello { v, online } => {
                    assert_eq!(v, 1);
                    return online;
                }
                ServerMsg::Presence { online } => return online,
            }
        }
    }
}

#[tokio::test]
async fn two_attendees_see_the_live_count_change_and_visits_are_recorded() {
    let app = spawn_web_only().await;
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    let (_, a) = app.attendee(&slug).await;
    let (_, b) = app.attendee(&slug).await;

    let mut wa = connect(&app, &slug, Some(&a), &[], 1).await.unwrap();
    assert_eq!(next_count(&mut wa).await, 1);
    let mut wb = connect(&app, &slug, Some(&b), &[], 1).await.unwrap();
    assert_eq!(next_count(&mut wb).await, 2);
    assert_eq!(next_count(&mut wa).await, 2);
    // A second tab of the same attendee does not count twice.
    let mut wb2 = connect(&app, &slug, Some(&b), &[], 1).await.unwrap();
    assert_eq!(next_count(&mut wb2).await, 2);
    wb2.close(None).await.unwrap();
    wb.close(None).await.unwrap();
    assert_eq!(next_count(&mut wa).await, 1);

    // Enter and leave facts, each with its outbox row.
    let pool = app.pool.clone();
    app.eventually(10, "reception facts", || {
        let pool = pool.clone();
        async move {
            let (enters, leaves, outbox): (i64, i64, i64) = sqlx::query_as(
                "SELECT count(*) FILTER (WHERE action = 'enter'), count(*) FILTER (WHERE action = 'leave'),
                        (SELECT count(*) FROM outbox o WHERE o.payload->>'area' = 'reception')
                 FROM activity WHERE area = 'reception'",
            )
            .fetch_one(&pool)
            .await
            .unwrap();
            enters == 3 && leaves == 2 && outbox == 5
        }
    })
    .await;
}

#[tokio::test]
async fn presence_crosses_server_processes_through_redis() {
    let one = spawn_web_only().await;
    let two = start(one.settings.clone(), one.deps.clone(), Workers::NONE).await;
    let org = one.organiser().await;
    let slug = one.event(&org).await;
    let (_, a) = one.attendee(&slug).await;
    let (_, b) = one.attendee(&slug).await;
    let mut wa = connect(&one, &slug, Some(&a), &[], 1).await.unwrap();
    assert_eq!(next_count(&mut wa).await, 1);
    let mut wb = connect(&two, &slug, Some(&b), &[], 1).await.unwrap();
    assert_eq!(next_count(&mut wb).await, 2);
    assert_eq!(
        next_count(&mut wa).await,
        2,
        "node one did not hear node two"
    );
    wb.close(None).await.unwrap();
    assert_eq!(next_count(&mut wa).await, 1);
}

#[tokio::test]
async fn websocket_refuses_strangers_cross_site_and_unknown_versions() {
    let app = spawn_web_only().await;
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    let (_, a) = app.attendee(&slug).await;
    assert_eq!(connect(&app, &slug, None, &[], 1).await.err(), Some(401));
    assert_eq!(
        connect(
            &app,
            &slug,
            Some(&a),
            &[("origin", "http://evil.example")],
            1
        )
        .await
        .err(),
        Some(403)
    );
    assert_eq!(
        connect(&app, &slug, Some(&a), &[], 99).await.err(),
        Some(400)
    );
    assert_eq!(
        connect(&app, "no-such-event", Some(&a), &[], 1).await.err(),
        Some(404)
    );
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM activity WHERE area = 'reception'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(n, 0);
}
