//! Limits of one live socket: the size of a frame, the rate of frames, and the
//! number of sockets one attendee may hold open in an event.

use convene_server::http::socket_limits::{BURST, MAX_MESSAGE_BYTES, MAX_SOCKETS_PER_ATTENDEE};
use futures::SinkExt;
use protocol::live::{ClientMsg, PROTOCOL_VERSION};
use protocol::Area;
use tokio_tungstenite::tungstenite::Message;

use crate::attendees::{person, socket};
use crate::helpers::spawn_web_only;
use crate::live::{closed_within, connect};

#[tokio::test]
async fn a_socket_that_floods_is_closed_as_a_policy_violation() {
    let app = spawn_web_only().await;
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    let ada = person(&app, &slug, "Ada").await;
    let mut ws = socket(&app, &slug, &ada).await;
    let enter = serde_json::to_string(&ClientMsg::Enter {
        area: Area::Reception,
    })
    .unwrap();
    for _ in 0..(BURST as usize + 10) {
        // The server may close mid-way; later sends then fail, which is fine.
        let _ = ws.send(Message::Text(enter.clone().into())).await;
    }
    assert_eq!(closed_within(&mut ws, 10).await, Some(1008));
}

#[tokio::test]
async fn a_frame_over_the_size_limit_ends_the_socket() {
    let app = spawn_web_only().await;
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    let ada = person(&app, &slug, "Ada").await;
    let mut ws = socket(&app, &slug, &ada).await;
    let huge = format!(
        r#"{{"type":"chat","channel":"reception","body":"{}"}}"#,
        "x".repeat(MAX_MESSAGE_BYTES)
    );
    let _ = ws.send(Message::Text(huge.into())).await;
    closed_within(&mut ws, 10).await;
}

#[tokio::test]
async fn one_attendee_holds_a_bounded_number_of_sockets() {
    let app = spawn_web_only().await;
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    let ada = person(&app, &slug, "Ada").await;
    let cookie = ada.cookie.clone();
    let mut open = Vec::new();
    for _ in 0..MAX_SOCKETS_PER_ATTENDEE {
        // Hello comes after the connection is counted.
        open.push(socket(&app, &slug, &ada).await);
    }
    let refused = connect(&app, &slug, Some(&cookie), &[], PROTOCOL_VERSION).await;
    assert_eq!(refused.err(), Some(429));
    // Another attendee is not affected.
    let (_, other) = app.attendee(&slug).await;
    assert!(connect(&app, &slug, Some(&other), &[], PROTOCOL_VERSION)
        .await
        .is_ok());
    // Closing a tab frees its place.
    let mut first = open.remove(0);
    first.close(None).await.unwrap();
    app.eventually(10, "a freed socket place", || async {
        connect(&app, &slug, Some(&cookie), &[], PROTOCOL_VERSION)
            .await
            .is_ok()
    })
    .await;
}

#[tokio::test]
async fn upgrades_in_parallel_cannot_slip_past_the_socket_cap() {
    let app = spawn_web_only().await;
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    let ada = person(&app, &slug, "Ada").await;
    let attempts = (0..MAX_SOCKETS_PER_ATTENDEE + 4)
        .map(|_| connect(&app, &slug, Some(&ada.cookie), &[], PROTOCOL_VERSION));
    let results = futures::future::join_all(attempts).await;
    let refused: Vec<u16> = results
        .iter()
        .filter_map(|r| r.as_ref().err().copied())
        .collect();
    assert_eq!(
        results.len() - refused.len(),
        MAX_SOCKETS_PER_ATTENDEE as usize
    );
    assert_eq!(refused, vec![429; 4]);
}
