//! The live event over the v2 WebSocket: chat, moderation rights, direct
//! messages, resume after reconnect, polls, Q&A, stages and third-party apps.

use protocol::ids::{AttendeeId, StageId};
use protocol::live::{ClientMsg, LiveItem, ServerMsg, PROTOCOL_VERSION};
use protocol::states::{PollStatus, QaStatus, SanctionKind};
use protocol::{Area, Channel, ErrorKind};
use serde_json::Value;
use uuid::Uuid;

use crate::helpers::{client, fns, spawn_web_only, Organiser, TestApp};
use crate::live::{connect, recv, send, send_raw, wait_for, Ws};

/// A registered, signed-in attendee.
struct Person {
    cookie: String,
    email: String,
    id: AttendeeId,
    client: reqwest::Client,
}

async fn person(app: &TestApp, slug: &str, name: &str) -> Person {
    let email = format!(
        "{}-{}@example.org",
        name.to_lowercase(),
        Uuid::new_v4().simple()
    );
    let (s, body) = app
        .call::<fns::Register>(
            &client(),
            &[("slug", slug), ("name", name), ("email", &email)],
        )
        .await;
    assert_eq!(s, 200, "{body}");
    let token = body["sign_in_link"]
        .as_str()
        .unwrap()
        .split("token=")
        .nth(1)
        .unwrap()
        .to_owned();
    let c = client();
    let res = c
        .post(format!("{}/e/{slug}/join", app.base))
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();
    let cookie = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("convene_attendee="))
        .and_then(|v| v.split(';').next())
        .unwrap()
        .to_owned();
    let id: Uuid = sqlx::query_scalar("SELECT id FROM attendees WHERE email = $1")
        .bind(&email)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    Person {
        cookie,
        email,
        id: id.into(),
        client: c,
    }
}

/// A connected socket whose hello has arrived (so the server is subscribed).
async fn socket(app: &TestApp, slug: &str, p: &Person) -> Ws {
    socket_hello(app, slug, p).await.0
}

/// A connected socket and its hello message.
async fn socket_hello(app: &TestApp, slug: &str, p: &Person) -> (Ws, ServerMsg) {
    let mut ws = connect(app, slug, Some(&p.cookie), &[], PROTOCOL_VERSION)
        .await
        .expect("connect");
    match recv(&mut ws).await {
        hello @ ServerMsg::Hello { .. } => (ws, hello),
        other => panic!("the first message must be hello, got {other:?}"),
    }
}

/// The next live item.
async fn next_item(ws: &mut Ws) -> LiveItem {
    match wait_for(ws, "a live item", |m| matches!(m, ServerMsg::Live { .. })).await {
        ServerMsg::Live { item, .. } => item,
        _ => unreachable!(),
    }
}

/// The next poll item (other items are skipped).
async fn next_poll(ws: &mut Ws) -> LiveItem {
    match wait_for(ws, "a poll", |m| {
        matches!(
            m,
            ServerMsg::Live {
                item: LiveItem::Poll { .. },
                ..
            }
        )
    })
    .await
    {
        ServerMsg::Live { item, .. } => item,
        _ => unreachable!(),
    }
}

/// The next question item (other items are skipped).
async fn next_question(ws: &mut Ws) -> LiveItem {
    match wait_for(ws, "a question", |m| {
        matches!(
            m,
            ServerMsg::Live {
                item: LiveItem::Question { .. },
                ..
            }
        )
    })
    .await
    {
        ServerMsg::Live { item, .. } => item,
        _ => unreachable!(),
    }
}

/// The next error message: its code as sent (`invalid`, `forbidden`, ...) and text.
async fn next_error(ws: &mut Ws) -> (String, String) {
    match wait_for(ws, "an error", |m| matches!(m, ServerMsg::Error { .. })).await {
        ServerMsg::Error { code, message } => (code_name(code), message),
        _ => unreachable!(),
    }
}

fn code_name(code: ErrorKind) -> String {
    serde_json::to_value(code)
        .unwrap()
        .as_str()
        .unwrap()
        .to_owned()
}

fn chat(body: &str) -> ClientMsg {
    ClientMsg::Chat {
        channel: Channel::Reception,
        body: body.into(),
    }
}

async fn make_moderator(app: &TestApp, org: &Organiser, slug: &str, p: &Person) {
    let (s, b) = app
        .call::<fns::SetModerator>(&org.client, &[("slug", slug), ("email", &p.email)])
        .await;
    assert_eq!(s, 200, "{b}");
}

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
    {
        use futures::SinkExt;
        wa.send(tokio_tungstenite::tungstenite::Message::Text(
            "{\"type\":\"shout\"}".into(),
        ))
        .await
        .unwrap();
    }
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
    use futures::StreamExt;
    let closed = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        loop {
            match wc.next().await {
                None | Some(Err(_)) => return,
                Some(Ok(tokio_tungstenite::tungstenite::Message::Close(_))) => return,
                Some(Ok(_)) => {}
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the banned attendee's socket closes");
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
    // Moderators cannot sanction each other.
    send(
        &mut wm,
        &ClientMsg::Sanction {
            attendee: mo.id,
            sanction: SanctionKind::Mute,
            minutes: None,
        },
    )
    .await;
    assert_eq!(next_error(&mut wm).await.0, "invalid");
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
    for i in 0..services::live::moderation::RATE_MAX {
        send(&mut wa, &chat(&format!("n{i}"))).await;
    }
    send(&mut wa, &chat("one too many")).await;
    let (code, _) = next_error(&mut wa).await;
    assert_eq!(code, "rate_limited");
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM chat_messages")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(n as u64, services::live::moderation::RATE_MAX);
}

async fn setup_stage(app: &TestApp, org: &Organiser, slug: &str) -> String {
    let (s, b) = app
        .call::<fns::CreateStage>(
            &org.client,
            &[
                ("slug", slug),
                ("name", "Main"),
                ("source_kind", "hls"),
                ("source_url", "https://cdn.example.org/live.m3u8"),
            ],
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = app
        .call::<fns::CreateStage>(
            &org.client,
            &[
                ("slug", slug),
                ("name", "Bad"),
                ("source_kind", "hls"),
                ("source_url", "javascript:alert(1)"),
            ],
        )
        .await;
    assert_eq!(s, 400, "{b}");
    let (_, admin) = app
        .call::<fns::LiveAdmin>(&org.client, &[("slug", slug)])
        .await;
    admin["stages"][0]["id"].as_str().unwrap().to_owned()
}

async fn install(
    app: &TestApp,
    org: &Organiser,
    slug: &str,
    form: &[(&str, &str)],
) -> (u16, Value) {
    let mut full = vec![("slug", slug)];
    full.extend_from_slice(form);
    app.call::<fns::InstallApp>(&org.client, &full).await
}

#[tokio::test]
async fn polls_and_questions_update_live_and_only_moderators_run_them() {
    let app = spawn_web_only().await;
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    let stage = setup_stage(&app, &org, &slug).await;
    let channel = Channel::Stage(stage.parse::<StageId>().unwrap());
    let ada = person(&app, &slug, "Ada").await;
    let mo = person(&app, &slug, "Mo").await;
    make_moderator(&app, &org, &slug, &mo).await;
    let mut wa = socket(&app, &slug, &ada).await;
    let mut wm = socket(&app, &slug, &mo).await;

    let poll = |by: &str| ClientMsg::CreatePoll {
        channel,
        question: format!("Lunch? ({by})"),
        options: vec!["Pizza".into(), "Salad".into()],
        multi: false,
    };
    // Not installed yet.
    send(&mut wm, &poll("mo")).await;
    assert_eq!(next_error(&mut wm).await.0, "conflict");
    let (s, b) = install(&app, &org, &slug, &[("app", "polls")]).await;
    assert_eq!(s, 200, "{b}");
    let (s, _) = install(&app, &org, &slug, &[("app", "nope")]).await;
    assert_eq!(s, 404);
    send(&mut wa, &poll("ada")).await;
    assert_eq!(
        next_error(&mut wa).await.0,
        "forbidden",
        "attendees cannot start polls"
    );
    send(&mut wm, &poll("mo")).await;
    assert!(matches!(next_poll(&mut wm).await, LiveItem::Poll { .. }));
    let id = match next_poll(&mut wa).await {
        LiveItem::Poll { poll } => {
            assert_eq!(
                (poll.counts.clone(), poll.status.as_str()),
                (vec![0, 0], "open")
            );
            poll.id
        }
        other => panic!("{other:?}"),
    };
    send(
        &mut wa,
        &ClientMsg::Vote {
            poll: id,
            choices: vec![1],
        },
    )
    .await;
    for ws in [&mut wa, &mut wm] {
        assert!(
            matches!(next_poll(ws).await, LiveItem::Poll { ref poll } if poll.counts == vec![0, 1] && poll.voters == 1)
        );
    }
    send(
        &mut wa,
        &ClientMsg::Vote {
            poll: id,
            choices: vec![0, 1],
        },
    )
    .await;
    assert_eq!(next_error(&mut wa).await.0, "invalid", "one choice only");
    send(
        &mut wa,
        &ClientMsg::Vote {
            poll: id,
            choices: vec![7],
        },
    )
    .await;
    assert_eq!(next_error(&mut wa).await.0, "invalid");
    send(
        &mut wa,
        &ClientMsg::Vote {
            poll: id,
            choices: vec![0],
        },
    )
    .await;
    assert!(
        matches!(next_poll(&mut wm).await, LiveItem::Poll { ref poll } if poll.counts == vec![1, 0] && poll.voters == 1),
        "a changed vote counts once"
    );
    send(&mut wa, &ClientMsg::ClosePoll { poll: id }).await;
    assert_eq!(
        next_error(&mut wa).await.0,
        "forbidden",
        "attendees cannot close polls"
    );
    send(&mut wm, &ClientMsg::ClosePoll { poll: id }).await;
    assert!(
        matches!(next_poll(&mut wa).await, LiveItem::Poll { ref poll } if poll.status == PollStatus::Closed)
    );
    send(
        &mut wa,
        &ClientMsg::Vote {
            poll: id,
            choices: vec![1],
        },
    )
    .await;
    assert_eq!(next_error(&mut wa).await.0, "conflict");

    // Q&A with premoderation: pending questions reach moderators and the author only.
    let (s, b) = install(
        &app,
        &org,
        &slug,
        &[("app", "qa"), ("config[premoderate]", "true")],
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let cy = person(&app, &slug, "Cy").await;
    let mut wc = socket(&app, &slug, &cy).await;
    send(
        &mut wa,
        &ClientMsg::Ask {
            channel,
            body: "Will slides be shared?".into(),
        },
    )
    .await;
    let q = match next_question(&mut wm).await {
        LiveItem::Question { question } => {
            assert_eq!(question.status, QaStatus::Pending);
            question.id
        }
        other => panic!("{other:?}"),
    };
    assert!(
        matches!(next_question(&mut wa).await, LiveItem::Question { .. }),
        "the author sees it"
    );
    send(&mut wc, &ClientMsg::Upvote { question: q }).await;
    assert_eq!(
        next_error(&mut wc).await.0,
        "conflict",
        "not before approval"
    );
    send(
        &mut wc,
        &ClientMsg::ModerateQuestion {
            question: q,
            status: QaStatus::Open,
        },
    )
    .await;
    assert_eq!(next_error(&mut wc).await.0, "forbidden");
    send(
        &mut wm,
        &ClientMsg::ModerateQuestion {
            question: q,
            status: QaStatus::Open,
        },
    )
    .await;
    assert!(
        matches!(next_question(&mut wc).await, LiveItem::Question { ref question } if question.status == QaStatus::Open),
        "approved: everyone sees it"
    );
    assert!(
        matches!(next_question(&mut wa).await, LiveItem::Question { ref question } if question.status == QaStatus::Open)
    );
    for _ in 0..2 {
        send(&mut wc, &ClientMsg::Upvote { question: q }).await;
    }
    assert!(
        matches!(next_question(&mut wa).await, LiveItem::Question { ref question } if question.votes == 1)
    );
    assert!(
        matches!(next_question(&mut wa).await, LiveItem::Question { ref question } if question.votes == 1),
        "one vote per person"
    );
    let (s, info) = app
        .call::<fns::StageInfo>(&cy.client, &[("slug", &slug), ("stage", &stage)])
        .await;
    assert_eq!(s, 200, "{info}");
    assert_eq!(info["questions"][0]["votes"], 1);
    assert_eq!(info["polls"][0]["status"], "closed");
    send(
        &mut wm,
        &ClientMsg::ModerateQuestion {
            question: q,
            status: QaStatus::Hidden,
        },
    )
    .await;
    // Skip Cy's own upvote echoes; the hidden question arrives without its text.
    let hidden = wait_for(&mut wc, "the hidden question", |m| {
        matches!(m, ServerMsg::Live { item: LiveItem::Question { question }, .. } if question.status == QaStatus::Hidden)
    })
    .await;
    assert!(
        matches!(hidden, ServerMsg::Live { item: LiveItem::Question { ref question }, .. } if question.body.is_empty() && question.author.is_empty())
    );
}

#[tokio::test]
async fn third_party_apps_get_a_context_token_they_can_verify_and_captions_flow() {
    use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
    use ed25519_dalek::{Signature, Verifier, VerifyingKey};
    let app = spawn_web_only().await;
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    let stage = setup_stage(&app, &org, &slug).await;
    let (s, b) = install(
        &app,
        &org,
        &slug,
        &[
            ("app", "embed"),
            ("config[name]", "Quiz"),
            ("config[url]", "ftp://x"),
        ],
    )
    .await;
    assert_eq!(s, 400, "{b}");
    let (s, b) = install(
        &app,
        &org,
        &slug,
        &[
            ("app", "embed"),
            ("config[name]", "Quiz"),
            ("config[url]", "https://quiz.example.org/app"),
        ],
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let ada = person(&app, &slug, "Ada").await;
    let (s, info) = app
        .call::<fns::StageInfo>(&ada.client, &[("slug", &slug), ("stage", &stage)])
        .await;
    assert_eq!(s, 200, "{info}");
    let src = info["embeds"][0]["src"].as_str().unwrap();
    let token = src
        .split("#convene_token=")
        .nth(1)
        .expect("token in the fragment");
    let jwks: Value = reqwest::get(format!("{}/.well-known/jwks.json", app.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = &jwks["keys"][0];
    assert_eq!(
        (key["kty"].as_str(), key["crv"].as_str()),
        (Some("OKP"), Some("Ed25519"))
    );
    let x: [u8; 32] = URL_SAFE_NO_PAD
        .decode(key["x"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    let verifying = VerifyingKey::from_bytes(&x).unwrap();
    let parts: Vec<&str> = token.split('.').collect();
    let sig: [u8; 64] = URL_SAFE_NO_PAD
        .decode(parts[2])
        .unwrap()
        .try_into()
        .unwrap();
    let signed = format!("{}.{}", parts[0], parts[1]);
    verifying
        .verify(signed.as_bytes(), &Signature::from_bytes(&sig))
        .expect("the token verifies with the published key");
    let mut forged = signed.clone();
    forged.push('x');
    assert!(verifying
        .verify(forged.as_bytes(), &Signature::from_bytes(&sig))
        .is_err());
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    assert_eq!(claims["sub"], ada.id.to_string());
    assert_eq!(claims["role"], "attendee");
    assert_eq!(claims["name"], "Ada");
    assert!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap() <= 300);

    // Translations: captions in a configured language reach the stage live.
    let (s, _) = app
        .call::<fns::PostCaption>(
            &org.client,
            &[
                ("slug", &slug),
                ("stage", &stage),
                ("language", "de"),
                ("body", "Hallo"),
            ],
        )
        .await;
    assert_eq!(s, 409, "not installed yet");
    let (s, b) = install(
        &app,
        &org,
        &slug,
        &[("app", "translations"), ("config[languages]", "en, de")],
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let mut wa = socket(&app, &slug, &ada).await;
    let (s, _) = app
        .call::<fns::PostCaption>(
            &org.client,
            &[
                ("slug", &slug),
                ("stage", &stage),
                ("language", "fr"),
                ("body", "Bonjour"),
            ],
        )
        .await;
    assert_eq!(s, 400, "not a configured language");
    let (s, b) = app
        .call::<fns::PostCaption>(
            &org.client,
            &[
                ("slug", &slug),
                ("stage", &stage),
                ("language", "de"),
                ("body", "Hallo zusammen"),
            ],
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert!(
        matches!(next_item(&mut wa).await, LiveItem::Caption { ref language, ref body, .. } if language == "de" && body == "Hallo zusammen")
    );
    // Uninstalling removes it; other organisations cannot touch the event.
    let other = app.organiser().await;
    let (s, _) = app
        .call::<fns::InstallApp>(&other.client, &[("slug", &slug), ("app", "polls")])
        .await;
    assert_eq!(s, 404);
    let (s, _) = app
        .call::<fns::UninstallApp>(&org.client, &[("slug", &slug), ("app", "embed")])
        .await;
    assert_eq!(s, 200);
    let (_, info) = app
        .call::<fns::StageInfo>(&ada.client, &[("slug", &slug), ("stage", &stage)])
        .await;
    assert_eq!(info["embeds"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn presence_reports_areas_and_who_is_online() {
    let app = spawn_web_only().await;
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    let stage = setup_stage(&app, &org, &slug).await;
    let ada = person(&app, &slug, "Ada").await;
    let bob = person(&app, &slug, "Bob").await;
    let mut wa = socket(&app, &slug, &ada).await;
    let area = Area::Stage(stage.parse::<StageId>().unwrap());
    let url = format!(
        "ws://{}/ws/e/{slug}?v={PROTOCOL_VERSION}&area={area}",
        app.addr
    );
    let _wb = crate::live::connect_url(&url, &bob.cookie).await;
    let got = wait_for(&mut wa, "bob on the stage", |m| {
        matches!(m, ServerMsg::Presence { areas, .. } if areas.iter().any(|(a, n)| *a == area && *n == 1))
    })
    .await;
    match got {
        ServerMsg::Presence { online, people, .. } => {
            assert_eq!(online, 2);
            assert!(people.contains(&ada.id) && people.contains(&bob.id));
        }
        _ => unreachable!(),
    }
    send(&mut wa, &ClientMsg::Enter { area }).await;
    wait_for(&mut wa, "two on the stage", |m| {
        matches!(m, ServerMsg::Presence { areas, .. } if areas.iter().any(|(a, n)| *a == area && *n == 2))
    })
    .await;
    send_raw(&mut wa, r#"{"type":"enter","area":"backstage"}"#).await;
    assert_eq!(next_error(&mut wa).await.0, "invalid");
}

/// Calls server function `S` as `org` with the event's slug and `form`.
async fn call<S: leptos::server_fn::ServerFn>(
    app: &TestApp,
    org: &Organiser,
    slug: &str,
    form: Vec<(&'static str, String)>,
) -> (u16, Value) {
    let mut full: Vec<(&str, &str)> = vec![("slug", slug)];
    full.extend(form.iter().map(|(k, v)| (*k, v.as_str())));
    app.call::<S>(&org.client, &full).await
}

#[tokio::test]
async fn organisers_edit_the_agenda_speakers_and_sponsors_that_reception_shows() {
    let app = spawn_web_only().await;
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    let stage = setup_stage(&app, &org, &slug).await;
    let (s, b) = call::<fns::AddSpeaker>(
        &app,
        &org,
        &slug,
        vec![
            ("name", "Grace".into()),
            ("photo_url", "javascript:x".into()),
        ],
    )
    .await;
    assert_eq!(s, 400, "{b}");
    let (s, b) = call::<fns::AddSpeaker>(
        &app,
        &org,
        &slug,
        vec![
            ("name", "Grace".into()),
            ("headline", "Admiral".into()),
            ("bio", "Compilers.".into()),
            ("photo_url", "https://cdn.example.org/g.jpg".into()),
        ],
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        call::<fns::AddSpeaker>(&app, &org, &slug, vec![("name", "Grace".into())])
            .await
            .0,
        409
    );
    let now = chrono::Utc::now();
    let local = |mins: i64| {
        (now + chrono::Duration::minutes(mins))
            .with_timezone(&chrono_tz::Europe::Berlin)
            .format("%Y-%m-%dT%H:%M")
            .to_string()
    };
    let (s, b) = call::<fns::AddSession>(
        &app,
        &org,
        &slug,
        vec![
            ("title", "Keynote".into()),
            ("starts", local(-10)),
            ("ends", local(50)),
            ("stage", stage.clone()),
            ("speakers", "Grace".into()),
        ],
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = call::<fns::AddSession>(
        &app,
        &org,
        &slug,
        vec![
            ("title", "Panel".into()),
            ("starts", local(120)),
            ("ends", local(180)),
            ("speakers", "Nobody".into()),
        ],
    )
    .await;
    assert_eq!(
        (s, b["message"].as_str()),
        (400, Some("every speaker must be added as a speaker first"))
    );
    let (s, _) = call::<fns::AddSession>(
        &app,
        &org,
        &slug,
        vec![
            ("title", "Backwards".into()),
            ("starts", local(60)),
            ("ends", local(30)),
        ],
    )
    .await;
    assert_eq!(s, 400);
    assert_eq!(
        call::<fns::AddSession>(
            &app,
            &org,
            &slug,
            vec![
                ("title", "Panel".into()),
                ("starts", local(120)),
                ("ends", local(180))
            ]
        )
        .await
        .0,
        200
    );
    assert_eq!(
        call::<fns::AddSession>(
            &app,
            &org,
            &slug,
            vec![
                ("title", "Later".into()),
                ("starts", local(300)),
                ("ends", local(330))
            ]
        )
        .await
        .0,
        200
    );
    let (s, b) = call::<fns::AddSponsor>(
        &app,
        &org,
        &slug,
        vec![("name", "Acme".into()), ("tier", "diamond".into())],
    )
    .await;
    assert_eq!(s, 400, "{b}");
    assert_eq!(
        call::<fns::AddSponsor>(
            &app,
            &org,
            &slug,
            vec![
                ("name", "Acme".into()),
                ("tier", "gold".into()),
                ("url", "https://acme.example".into())
            ]
        )
        .await
        .0,
        200
    );
    // Another organisation cannot edit this event.
    let other = app.organiser().await;
    let (s, _) = app
        .call::<fns::AddSpeaker>(&other.client, &[("slug", &slug), ("name", "Mallory")])
        .await;
    assert_eq!(s, 404);

    let ada = person(&app, &slug, "Ada").await;
    let (s, r) = app
        .call::<fns::Reception>(&ada.client, &[("slug", &slug)])
        .await;
    assert_eq!(s, 200, "{r}");
    let agenda = r["agenda"].as_array().unwrap();
    let titles: Vec<&str> = agenda
        .iter()
        .map(|s| s["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, vec!["Keynote", "Panel", "Later"]);
    assert_eq!(
        (
            agenda[0]["now"].as_bool(),
            agenda[1]["next"].as_bool(),
            agenda[2]["next"].as_bool()
        ),
        (Some(true), Some(true), Some(false))
    );
    assert_eq!(agenda[0]["speakers"][0], "Grace");
    assert_eq!(agenda[0]["stage"], "Main");
    assert_eq!(r["speakers"][0]["headline"], "Admiral");
    assert_eq!(r["sponsors"][0]["name"], "Acme");
}

#[tokio::test]
async fn organisers_remove_agenda_items_and_change_a_stage_source() {
    let app = spawn_web_only().await;
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    let stage = setup_stage(&app, &org, &slug).await;
    let (s, _) = app
        .call::<fns::AddSpeaker>(&org.client, &[("slug", &slug), ("name", "Linus")])
        .await;
    assert_eq!(s, 200);
    let (_, admin) = app
        .call::<fns::LiveAdmin>(&org.client, &[("slug", &slug)])
        .await;
    let speaker = admin["speakers"][0]["id"].as_str().unwrap().to_owned();
    let other = app.organiser().await;
    let form = [
        ("slug", slug.as_str()),
        ("kind", "speaker"),
        ("id", speaker.as_str()),
    ];
    assert_eq!(
        app.call::<fns::RemoveAgendaItem>(&other.client, &form)
            .await
            .0,
        404
    );
    let bad = [
        ("slug", slug.as_str()),
        ("kind", "table"),
        ("id", speaker.as_str()),
    ];
    assert_eq!(
        app.call::<fns::RemoveAgendaItem>(&org.client, &bad).await.0,
        400
    );
    assert_eq!(
        app.call::<fns::RemoveAgendaItem>(&org.client, &form)
            .await
            .0,
        200
    );
    assert_eq!(
        app.call::<fns::RemoveAgendaItem>(&org.client, &form)
            .await
            .0,
        404
    );
    let (_, admin) = app
        .call::<fns::LiveAdmin>(&org.client, &[("slug", &slug)])
        .await;
    assert_eq!(admin["speakers"].as_array().unwrap().len(), 0);

    let set = |kind: &'static str, url: &'static str| {
        let (app, org, slug, stage) = (&app, &org, slug.clone(), stage.clone());
        async move {
            app.call::<fns::SetStageSource>(
                &org.client,
                &[
                    ("slug", &slug),
                    ("stage", &stage),
                    ("source_kind", kind),
                    ("source_url", url),
                ],
            )
            .await
            .0
        }
    };
    assert_eq!(set("embed", "data:text/html,x").await, 400);
    assert_eq!(
        set("embed", "https://player.example.org/embed/1").await,
        200
    );
    let (_, admin) = app
        .call::<fns::LiveAdmin>(&org.client, &[("slug", &slug)])
        .await;
    assert_eq!(
        (
            admin["stages"][0]["source_kind"].as_str(),
            admin["stages"][0]["source_url"].as_str()
        ),
        (Some("embed"), Some("https://player.example.org/embed/1"))
    );
}
