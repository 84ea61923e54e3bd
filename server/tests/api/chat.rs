//! Chat on the live socket: plain text, history, mentions, moderation rights
//! enforced by the server, resume after reconnect, direct messages, rate limits.

use protocol::ids::AttendeeId;
use protocol::live::{ClientMsg, LiveItem, ServerMsg, PROTOCOL_VERSION};
use protocol::states::SanctionKind;
use uuid::Uuid;

use crate::attendees::{chat, make_moderator, next_error, next_item, person, socket, socket_hello};
use crate::helpers::{client, fns, spawn_web_only};
use crate::live::{closed_within, connect, recv, send, send_raw, wait_for};

#[tokio::test]
async fn chat_is_live_persisted_paginated_plain_text_and_mentions_people() {
    let app = spawn_web_only().await;
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    let ada = person(&app, &slug, "Ada").await;
    let bob = person(&app, &slug, "Bob").await;
    let mut wa = socket(&app, &slug, &ada).await;
    let mut wb = socket(&app, &slug, &bob).await;

    send(
        &mut wa,
        &chat("  hi @bob <script>alert(1)</script>\u{0007} "),
    )
    .await;
    for ws in [&mut wa, &mut wb] {
        match next_item(ws).await {
            LiveItem::Chat { msg } => {
                assert_eq!(
                    msg.body, "hi @bob <script>alert(1)</script>",
                    "stored and sent as text"
                );
                assert_eq!(msg.author.name, "Ada");
                assert_eq!(msg.mentions, vec![bob.id]);
            }
            other => panic!("{other:?}"),
        }
    }
    // Bad input gets a clear refusal.
    send(&mut wa, &chat("   ")).await;
    assert_eq!(
        next_error(&mut wa).await,
        ("invalid".into(), "message is empty".into())
    );
    send_raw(
        &mut wa,
        r#"{"type":"chat","channel":"stage:nope","body":"x"}"#,
    )
    .await;
    assert_eq!(next_error(&mut wa).await.0, "invalid");
    send_raw(&mut wa, "{\"type\":\"shout\"}").await;
    assert_eq!(next_error(&mut wa).await.0, "invalid");

    // History pages back by seq, oldest first.
    for i in 0..4 {
        send(&mut wb, &chat(&format!("m{i}"))).await;
        next_item(&mut wb).await;
    }
    let (s, page) = app
        .call::<fns::ChatHistory>(&ada.client, &[("slug", &slug), ("channel", "reception")])
        .await;
    assert_eq!(s, 200, "{page}");
    let bodies: Vec<&str> = page
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].as_str().unwrap())
        .collect();
    assert_eq!(bodies.len(), 5);
    assert_eq!(bodies[4], "m3");
    let seq = page[2]["seq"].as_i64().unwrap().to_string();
    let (_, older) = app
        .call::<fns::ChatHistory>(
            &ada.client,
            &[("slug", &slug), ("channel", "reception"), ("before", &seq)],
        )
        .await;
    let older: Vec<&str> = older
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].as_str().unwrap())
        .collect();
    assert_eq!(older, vec!["hi @bob <script>alert(1)</script>", "m0"]);
    // Analytics counts the five messages posted (not the refused ones).
    let reception = crate::analytics::engagement_of(&app, &slug)
        .await
        .into_iter()
        .find(|a| a.area == "reception")
        .expect("Reception's figures");
    assert_eq!(reception.messages, 5);
    // Strangers cannot read it.
    let (s, _) = app
        .call::<fns::ChatHistory>(&client(), &[("slug", &slug), ("channel", "reception")])
        .await;
    assert_eq!(s, 401);
}

#[tokio::test]
async fn only_moderators_delete_mute_and_ban_and_it_is_enforced_by_the_server() {
    let app = spawn_web_only().await;
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    let ada = person(&app, &slug, "Ada").await;
    let mo = person(&app, &slug, "Mo").await;
    let cy = person(&app, &slug, "Cy").await;
    let mut wa = socket(&app, &slug, &ada).await;
    let mut wm = socket(&app, &slug, &mo).await;
    let mut wc = socket(&app, &slug, &cy).await;

    send(&mut wa, &chat("first")).await;
    let id = match next_item(&mut wc).await {
        LiveItem::Chat { msg } => msg.id,
        other => panic!("{other:?}"),
    };
    // An attendee cannot delete others' messages (nor their own), mute or ban.
    send(&mut wc, &ClientMsg::DeleteChat { id }).await;
    assert_eq!(next_error(&mut wc).await.0, "forbidden");
    send(
        &mut wc,
        &ClientMsg::Sanction {
            attendee: ada.id,
            sanction: SanctionKind::Ban,
            minutes: None,
        },
    )
    .await;
    assert_eq!(next_error(&mut wc).await.0, "forbidden");
    let kept: i64 =
        sqlx::query_scalar("SELECT count(*) FROM chat_messages WHERE deleted_at IS NULL")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(kept, 1);

    // The organiser makes Mo a moderator: the deletion reaches everyone.
    make_moderator(&app, &org, &slug, &mo).await;
    send(&mut wm, &ClientMsg::DeleteChat { id }).await;
    for ws in [&mut wa, &mut wm, &mut wc] {
        let item = wait_for(ws, "deletion", |m| {
            matches!(
                m,
                ServerMsg::Live {
                    item: LiveItem::ChatDeleted { .. },
                    ..
                }
            )
        })
        .await;
        assert!(
            matches!(item, ServerMsg::Live { item: LiveItem::ChatDeleted { id: ref gone }, .. } if *gone == id)
        );
    }
    let (_, page) = app
        .call::<fns::ChatHistory>(&ada.client, &[("slug", &slug), ("channel", "reception")])
        .await;
    assert_eq!(
        page.as_array().unwrap().len(),
        0,
        "deleted messages leave the history"
    );

    // Mute: Ada hears about it and cannot post; others are unaffected.
    send(
        &mut wm,
        &ClientMsg::Sanction {
            attendee: ada.id,
            sanction: SanctionKind::Mute,
            minutes: Some(5),
        },
    )
    .await;
    assert!(
        matches!(next_item(&mut wa).await, LiveItem::Sanction { ref sanction, until: Some(_) } if *sanction == SanctionKind::Mute)
    );
    send(&mut wa, &chat("can I talk?")).await;
    let (code, message) = next_error(&mut wa).await;
    assert_eq!(code, "forbidden");
    assert!(
        message.starts_with("a moderator muted you until"),
        "{message}"
    );
    send(
        &mut wa,
        &ClientMsg::Dm {
            to: cy.id,
            body: "psst".into(),
        },
    )
    .await;
    assert_eq!(
        next_error(&mut wa).await.0,
        "forbidden",
        "muted means no DMs either"
    );

    // Ban: Cy's socket closes and Cy cannot come back.
    send(
        &mut wm,
        &ClientMsg::Sanction {
            attendee: cy.id,
            sanction: SanctionKind::Ban,
            minutes: None,
        },
    )
    .await;
    assert_eq!(
        closed_within(&mut wc, 10).await,
        Some(1008),
        "the banned attendee's socket closes with the reason"
    );
    assert_eq!(
        connect(&app, &slug, Some(&cy.cookie), &[], PROTOCOL_VERSION)
            .await
            .err(),
        Some(403)
    );
    let (s, _) = app
        .call::<fns::Reception>(&cy.client, &[("slug", &slug)])
        .await;
    assert_eq!(s, 403);
    // Nor themselves, nor each other.
    let sanction = |attendee| ClientMsg::Sanction {
        attendee,
        sanction: SanctionKind::Mute,
        minutes: None,
    };
    send(&mut wm, &sanction(mo.id)).await;
    assert_eq!(
        next_error(&mut wm).await,
        ("invalid".into(), "you cannot sanction yourself".into())
    );
    make_moderator(&app, &org, &slug, &ada).await;
    send(&mut wm, &sanction(ada.id)).await;
    assert_eq!(
        next_error(&mut wm).await,
        (
            "forbidden".into(),
            "moderators cannot sanction each other".into()
        )
    );
    let sanctions: i64 =
        sqlx::query_scalar("SELECT count(*) FROM attendee_sanctions WHERE attendee_id IN ($1, $2)")
            .bind(mo.id)
            .bind(ada.id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(sanctions, 1, "only Ada's earlier mute is stored");
}

#[tokio::test]
async fn a_reconnecting_client_resumes_without_losing_messages() {
    let app = spawn_web_only().await;
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    let ada = person(&app, &slug, "Ada").await;
    let bob = person(&app, &slug, "Bob").await;
    let (mut wa, hello) = socket_hello(&app, &slug, &ada).await;
    let cursor = match hello {
        ServerMsg::Hello {
            cursor,
            resumed: 0,
            gap: false,
            ..
        } => cursor,
        other => panic!("{other:?}"),
    };
    wa.close(None).await.unwrap();
    drop(wa);

    let mut wb = socket(&app, &slug, &bob).await;
    for body in ["while you were away", "and another", "and a DM"] {
        if body == "and a DM" {
            send(
                &mut wb,
                &ClientMsg::Dm {
                    to: ada.id,
                    body: body.into(),
                },
            )
            .await;
        } else {
            send(&mut wb, &chat(body)).await;
        }
        next_item(&mut wb).await;
    }
    let url = format!(
        "ws://{}/ws/e/{slug}?v={PROTOCOL_VERSION}&since={cursor}",
        app.addr
    );
    let mut wa = crate::live::connect_url(&url, &ada.cookie).await;
    match recv(&mut wa).await {
        ServerMsg::Hello { resumed, gap, .. } => assert_eq!((resumed, gap), (3, false)),
        other => panic!("{other:?}"),
    }
    let mut got = Vec::new();
    for _ in 0..3 {
        got.push(match next_item(&mut wa).await {
            LiveItem::Chat { msg } => msg.body,
            LiveItem::Dm { msg } => format!("dm:{}", msg.body),
            other => panic!("{other:?}"),
        });
    }
    assert_eq!(
        got,
        vec!["while you were away", "and another", "dm:and a DM"]
    );
    // And live again afterwards, with no duplicates.
    send(&mut wb, &chat("welcome back")).await;
    assert!(
        matches!(next_item(&mut wa).await, LiveItem::Chat { ref msg } if msg.body == "welcome back")
    );
    // A bad cursor is refused with a clear message.
    let bad = format!(
        "ws://{}/ws/e/{slug}?v={PROTOCOL_VERSION}&since=yesterday",
        app.addr
    );
    assert_eq!(
        crate::live::try_connect_url(&bad, &ada.cookie).await.err(),
        Some(400)
    );
}

#[tokio::test]
async fn direct_messages_reach_only_their_two_people() {
    let app = spawn_web_only().await;
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    let ada = person(&app, &slug, "Ada").await;
    let bob = person(&app, &slug, "Bob").await;
    let cy = person(&app, &slug, "Cy").await;
    let mut wa = socket(&app, &slug, &ada).await;
    let mut wb = socket(&app, &slug, &bob).await;
    let mut wc = socket(&app, &slug, &cy).await;
    send(
        &mut wa,
        &ClientMsg::Dm {
            to: bob.id,
            body: "just you".into(),
        },
    )
    .await;
    for ws in [&mut wa, &mut wb] {
        assert!(matches!(next_item(ws).await, LiveItem::Dm { ref msg } if msg.body == "just you"));
    }
    send(&mut wa, &chat("for everyone")).await;
    assert!(
        matches!(next_item(&mut wc).await, LiveItem::Chat { ref msg } if msg.body == "for everyone"),
        "Cy's next item is the public one, not the DM"
    );
    let (s, conv) = app
        .call::<fns::DmHistory>(
            &bob.client,
            &[("slug", &slug), ("with", &ada.id.to_string())],
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(conv[0]["body"], "just you");
    let (_, none) = app
        .call::<fns::DmHistory>(
            &cy.client,
            &[("slug", &slug), ("with", &ada.id.to_string())],
        )
        .await;
    assert_eq!(none.as_array().unwrap().len(), 0);
    send(
        &mut wa,
        &ClientMsg::Dm {
            to: AttendeeId::from(Uuid::new_v4()),
            body: "?".into(),
        },
    )
    .await;
    assert_eq!(next_error(&mut wa).await.0, "not_found");
}

#[tokio::test]
async fn senders_are_rate_limited() {
    let app = spawn_web_only().await;
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    let ada = person(&app, &slug, "Ada").await;
    let mut wa = socket(&app, &slug, &ada).await;
    for i in 0..services::live::moderation::POSTS_PER_SENDER.max {
        send(&mut wa, &chat(&format!("n{i}"))).await;
    }
    send(&mut wa, &chat("one too many")).await;
    let (code, _) = next_error(&mut wa).await;
    assert_eq!(code, "rate_limited");
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM chat_messages")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(n as u64, services::live::moderation::POSTS_PER_SENDER.max);
}
