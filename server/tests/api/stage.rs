//! Stages and their apps on the live socket: polls, Q&A, third-party apps with
//! signed context tokens, captions, presence per area, and the Reception content
//! organisers edit is in `agenda.rs`.
//! (Longer than most files: each test here is one whole scenario, written out.)

use protocol::ids::StageId;
use protocol::live::{AreaCount, ClientMsg, LiveItem, ServerMsg, PROTOCOL_VERSION};
use protocol::states::{PollStatus, QaStatus};
use protocol::{Area, Channel};
use serde_json::Value;

use crate::attendees::{
    make_moderator, next_error, next_item, next_poll, next_question, person, socket,
};
use crate::helpers::{fns, spawn_web_only, Organiser, TestApp};
use crate::live::{send, send_raw, wait_for};

pub async fn setup_stage(app: &TestApp, org: &Organiser, slug: &str) -> String {
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

pub async fn install(
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
    // Analytics: Ada's changed vote counts once; her question too.
    let on_stage = crate::analytics::engagement_of(&app, &slug)
        .await
        .into_iter()
        .find(|a| a.area == Area::from(channel).to_string())
        .expect("the stage's figures");
    assert_eq!((on_stage.votes, on_stage.questions), (1, 1));
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
        matches!(m, ServerMsg::Presence { areas, .. } if areas.contains(&AreaCount { area, people: 1 }))
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
        matches!(m, ServerMsg::Presence { areas, .. } if areas.contains(&AreaCount { area, people: 2 }))
    })
    .await;
    send_raw(&mut wa, r#"{"type":"enter","area":"backstage"}"#).await;
    assert_eq!(next_error(&mut wa).await.0, "invalid");
}
