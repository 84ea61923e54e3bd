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

#[tokio::test]
async fn asking_voting_and_upvoting_are_limited_per_person() {
    use protocol::ids::StageId;
    use protocol::live::LiveItem;
    use protocol::Channel;
    use services::ratelimit::{QUESTIONS_PER_SENDER, UPVOTES_PER_SENDER, VOTES_PER_SENDER};

    use crate::attendees::{make_moderator, next_error, next_poll, next_question};
    use crate::live::send;
    use crate::stage::{install, setup_stage};

    let app = spawn_web_only().await;
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    let stage = setup_stage(&app, &org, &slug).await;
    let channel = Channel::Stage(stage.parse::<StageId>().unwrap());
    for kind in ["qa", "polls"] {
        let (s, b) = install(&app, &org, &slug, &[("app", kind)]).await;
        assert_eq!(s, 200, "{b}");
    }
    let ada = person(&app, &slug, "Ada").await;
    let mo = person(&app, &slug, "Mo").await;
    make_moderator(&app, &org, &slug, &mo).await;
    let ask = |n: u64| ClientMsg::Ask {
        channel,
        body: format!("question {n}?"),
    };

    // Questions (a fresh socket per phase stays under the socket's frame rate).
    let mut wa = socket(&app, &slug, &ada).await;
    for n in 0..QUESTIONS_PER_SENDER.max {
        send(&mut wa, &ask(n)).await;
        assert!(matches!(
            next_question(&mut wa).await,
            LiveItem::Question { .. }
        ));
    }
    send(&mut wa, &ask(99)).await;
    assert_eq!(next_error(&mut wa).await.0, "rate_limited");
    let asked: i64 = sqlx::query_scalar("SELECT count(*) FROM qa_questions")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(asked, QUESTIONS_PER_SENDER.max as i64);
    drop(wa);

    // Votes, changing her mind each time.
    let mut wm = socket(&app, &slug, &mo).await;
    send(
        &mut wm,
        &ClientMsg::CreatePoll {
            channel,
            question: "Lunch?".into(),
            options: vec!["Pizza".into(), "Salad".into()],
            multi: false,
        },
    )
    .await;
    let poll = match next_poll(&mut wm).await {
        LiveItem::Poll { poll } => poll.id,
        other => panic!("{other:?}"),
    };
    let mut wa = socket(&app, &slug, &ada).await;
    let vote = |n: u64| ClientMsg::Vote {
        poll,
        choices: vec![(n % 2) as u32],
    };
    for n in 0..VOTES_PER_SENDER.max {
        send(&mut wa, &vote(n)).await;
        assert!(matches!(next_poll(&mut wa).await, LiveItem::Poll { .. }));
    }
    send(&mut wa, &vote(0)).await;
    assert_eq!(next_error(&mut wa).await.0, "rate_limited");
    drop(wa);

    // Upvotes of Mo's question, over two sockets (each under its frame rate).
    send(&mut wm, &ask(7)).await;
    let question = match next_question(&mut wm).await {
        LiveItem::Question { question } => question.id,
        other => panic!("{other:?}"),
    };
    let half = UPVOTES_PER_SENDER.max / 2;
    for round in 0..2 {
        let mut wa = socket(&app, &slug, &ada).await;
        let n = if round == 0 {
            half
        } else {
            UPVOTES_PER_SENDER.max - half
        };
        for _ in 0..n {
            send(&mut wa, &ClientMsg::Upvote { question }).await;
            assert!(matches!(
                next_question(&mut wa).await,
                LiveItem::Question { .. }
            ));
        }
        if round == 1 {
            send(&mut wa, &ClientMsg::Upvote { question }).await;
            assert_eq!(next_error(&mut wa).await.0, "rate_limited");
        }
    }
}
