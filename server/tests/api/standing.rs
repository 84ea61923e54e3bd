//! Rights are checked on every request of a live socket, not only when it
//! opens: a cancelled ticket or a ban ends the socket, a muted attendee may
//! only read, a lost moderator role stops the moderators' feed.

use std::time::Duration;

use futures::StreamExt;
use protocol::ids::StageId;
use protocol::live::{ClientMsg, LiveItem, ServerMsg};
use protocol::states::SanctionKind;
use protocol::Channel;

use crate::attendees::{
    chat, make_moderator, next_error, next_item, next_poll, next_question, person, socket, Person,
};
use crate::helpers::{fns, spawn_web_only, Organiser, TestApp};
use crate::live::{closed_within, send, Ws};
use crate::stage::{self, setup_stage};

async fn install(app: &TestApp, org: &Organiser, slug: &str, app_kind: &str) {
    let (s, b) = stage::install(app, org, slug, &[("app", app_kind)]).await;
    assert_eq!(s, 200, "{b}");
}

/// Cancels (and refunds, when paid) the person's order as the organiser.
async fn cancel_ticket(app: &TestApp, org: &Organiser, slug: &str, p: &Person) {
    let code: String = sqlx::query_scalar(
        "SELECT o.code FROM orders o JOIN attendees a ON a.id = o.attendee_id WHERE a.email = $1",
    )
    .bind(&p.email)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let (s, b) = app
        .call::<fns::CancelOrder>(&org.client, &[("slug", slug), ("order_code", &code)])
        .await;
    assert_eq!(s, 200, "{b}");
}

/// Reads until the server's next heartbeat ping (skipping other frames).
async fn until_ping(ws: &mut Ws) {
    let secs = services::live::presence::HEARTBEAT_SECS + 5;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        match tokio::time::timeout_at(deadline, ws.next()).await {
            Err(_) => panic!("no heartbeat within {secs} s"),
            Ok(Some(Ok(tokio_tungstenite::tungstenite::Message::Ping(_)))) => return,
            Ok(Some(Ok(_))) => continue,
            Ok(other) => panic!("the socket ended: {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_muted_attendee_can_neither_ask_nor_vote_nor_upvote() {
    let app = spawn_web_only().await;
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    let stage = setup_stage(&app, &org, &slug).await;
    let channel = Channel::Stage(stage.parse::<StageId>().unwrap());
    install(&app, &org, &slug, "polls").await;
    install(&app, &org, &slug, "qa").await;
    let ada = person(&app, &slug, "Ada").await;
    let bo = person(&app, &slug, "Bo").await;
    let mo = person(&app, &slug, "Mo").await;
    make_moderator(&app, &org, &slug, &mo).await;
    let mut wa = socket(&app, &slug, &ada).await;
    let mut wb = socket(&app, &slug, &bo).await;
    let mut wm = socket(&app, &slug, &mo).await;

    let poll = ClientMsg::CreatePoll {
        channel,
        question: "Lunch?".into(),
        options: vec!["Pizza".into(), "Salad".into()],
        multi: false,
    };
    send(&mut wm, &poll).await;
    let poll = match next_poll(&mut wa).await {
        LiveItem::Poll { poll } => poll.id,
        other => panic!("{other:?}"),
    };
    let ask = |body: &str| ClientMsg::Ask {
        channel,
        body: body.into(),
    };
    send(&mut wb, &ask("Slides?")).await;
    let question = match next_question(&mut wa).await {
        LiveItem::Question { question } => question.id,
        other => panic!("{other:?}"),
    };

    send(
        &mut wm,
        &ClientMsg::Sanction {
            attendee: ada.id,
            sanction: SanctionKind::Mute,
            minutes: None,
        },
    )
    .await;
    assert!(matches!(
        next_item(&mut wa).await,
        LiveItem::Sanction {
            sanction: SanctionKind::Mute,
            ..
        }
    ));
    let vote = ClientMsg::Vote {
        poll,
        choices: vec![0],
    };
    for (what, msg) in [
        ("vote", vote),
        ("ask", ask("Can I still ask?")),
        ("upvote", ClientMsg::Upvote { question }),
    ] {
        send(&mut wa, &msg).await;
        let (code, message) = next_error(&mut wa).await;
        assert_eq!(
            (code.as_str(), message.as_str()),
            ("forbidden", "a moderator muted you"),
            "{what}"
        );
    }
    // Bo, not muted, still votes.
    send(
        &mut wb,
        &ClientMsg::Vote {
            poll,
            choices: vec![1],
        },
    )
    .await;
    let counted = crate::live::wait_for(
        &mut wb,
        "a counted vote",
        |m| matches!(m, ServerMsg::Live { item: LiveItem::Poll { poll }, .. } if poll.voters > 0),
    )
    .await;
    assert!(
        matches!(counted, ServerMsg::Live { item: LiveItem::Poll { ref poll }, .. } if poll.voters == 1 && poll.counts == vec![0, 1]),
        "only Bo's vote counts: {counted:?}"
    );
}

#[tokio::test]
async fn a_cancelled_ticket_ends_the_socket_at_the_next_request() {
    let app = spawn_web_only().await;
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    let ada = person(&app, &slug, "Ada").await;
    let mut wa = socket(&app, &slug, &ada).await;
    cancel_ticket(&app, &org, &slug, &ada).await;
    send(&mut wa, &chat("am I still here?")).await;
    let (code, message) = next_error(&mut wa).await;
    assert_eq!(
        (code.as_str(), message.as_str()),
        ("forbidden", "your ticket is no longer valid for this event")
    );
    closed_within(&mut wa, 5).await;
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM chat_messages")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(stored, 0, "the message was not posted");
}

#[tokio::test]
async fn a_reader_whose_ticket_is_cancelled_is_disconnected_within_a_heartbeat() {
    let app = spawn_web_only().await;
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    let ada = person(&app, &slug, "Ada").await;
    let mut wa = socket(&app, &slug, &ada).await;
    cancel_ticket(&app, &org, &slug, &ada).await;
    // Ada sends nothing; the heartbeat (every 10 s) notices.
    let heartbeat = services::live::presence::HEARTBEAT_SECS;
    closed_within(&mut wa, heartbeat + 5).await;
}

#[tokio::test]
async fn a_moderator_who_loses_the_role_stops_seeing_pending_questions() {
    let app = spawn_web_only().await;
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    let stage = setup_stage(&app, &org, &slug).await;
    let channel = Channel::Stage(stage.parse::<StageId>().unwrap());
    let premoderated = [("app", "qa"), ("config[premoderate]", "true")];
    let (s, b) = stage::install(&app, &org, &slug, &premoderated).await;
    assert_eq!(s, 200, "{b}");
    let ada = person(&app, &slug, "Ada").await;
    let mo = person(&app, &slug, "Mo").await;
    make_moderator(&app, &org, &slug, &mo).await;
    let mut wa = socket(&app, &slug, &ada).await;
    let mut wm = socket(&app, &slug, &mo).await;
    let ask = |body: &str| ClientMsg::Ask {
        channel,
        body: body.into(),
    };
    send(&mut wa, &ask("First?")).await;
    assert!(matches!(
        next_question(&mut wm).await,
        LiveItem::Question { .. }
    ));

    let (s, b) = app
        .call::<fns::SetModerator>(
            &org.client,
            &[
                ("slug", &slug),
                ("attendee_id", &mo.id.to_string()),
                ("moderator", "false"),
            ],
        )
        .await;
    assert_eq!(s, 200, "{b}");
    // Mo only reads: the socket learns the new role at its next heartbeat,
    // which ends with a ping.
    until_ping(&mut wm).await;
    send(&mut wa, &ask("Second?")).await;
    assert!(matches!(
        next_question(&mut wa).await,
        LiveItem::Question { .. }
    ));
    // Ada's own copy arrived, so Mo's would have too: the next thing Mo sees
    // is a chat message sent after it, not the pending question.
    send(&mut wa, &chat("after the question")).await;
    match crate::live::wait_for(&mut wm, "the next live item", |m| {
        matches!(m, ServerMsg::Live { .. })
    })
    .await
    {
        ServerMsg::Live {
            item: LiveItem::Chat { msg },
            ..
        } => assert_eq!(msg.body, "after the question"),
        other => panic!("Mo saw {other:?}"),
    }
}
