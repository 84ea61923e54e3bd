//! A stage live from its backstage, below the browser: the backstage made
//! with the stage, kept to its speakers, the broadcast's states (not live,
//! live, ended, live again) run by them alone, watch tokens only while live,
//! what the web node tells the media node (from the stored state, with the
//! recording token only nodes see), the recording's parts handed over with
//! that token, and bad requests.

use serde_json::Value;

use crate::attendees::{person, Person};
use crate::helpers::{fns, spawn_web_only, Organiser, TestApp};

/// A stage live from backstage; its id and its backstage's.
async fn backstage_stage(app: &TestApp, org: &Organiser, slug: &str) -> (String, String) {
    let (s, b) = app
        .call::<fns::CreateStage>(
            &org.client,
            &[
                ("slug", slug),
                ("name", "Main"),
                ("source_kind", "backstage"),
                ("source_url", ""),
            ],
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let (_, admin) = app
        .call::<fns::LiveAdmin>(&org.client, &[("slug", slug)])
        .await;
    let stage = admin["stages"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(admin["stages"][0]["source_kind"], "backstage");
    let (_, sessions) = app
        .call::<fns::SessionsAdmin>(&org.client, &[("slug", slug)])
        .await;
    let backstage = &sessions["sessions"][0];
    assert_eq!(backstage["title"], "Backstage: Main");
    (stage, backstage["id"].as_str().unwrap().to_owned())
}

/// Makes `p` a speaker of the stage: a host of its backstage.
async fn speaker(app: &TestApp, org: &Organiser, slug: &str, backstage: &str, p: &Person) {
    let (s, b) = app
        .call::<fns::SetSessionHost>(
            &org.client,
            &[
                ("slug", slug),
                ("id", backstage),
                ("attendee", &p.id.to_string()),
                ("host", "true"),
            ],
        )
        .await;
    assert_eq!(s, 200, "{b}");
}

async fn broadcast(
    app: &TestApp,
    slug: &str,
    p: &Person,
    stage: &str,
    action: &str,
    on_air: &str,
    layout: &str,
) -> (u16, Value) {
    app.call::<fns::StageBroadcast>(
        &p.client,
        &[
            ("slug", slug),
            ("stage", stage),
            ("action", action),
            ("on_air", on_air),
            ("layout", layout),
        ],
    )
    .await
}

async fn watch(app: &TestApp, slug: &str, p: &Person, stage: &str) -> (u16, Value) {
    app.call::<fns::StageWatch>(&p.client, &[("slug", slug), ("stage", stage)])
        .await
}

#[tokio::test]
async fn speakers_run_a_broadcast_from_the_backstage_and_the_audience_watches_only_while_live() {
    let app = spawn_web_only().await;
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    let (stage, backstage) = backstage_stage(&app, &org, &slug).await;
    let (ada, bo) = (
        person(&app, &slug, "Ada").await,
        person(&app, &slug, "Bo").await,
    );
    speaker(&app, &org, &slug, &backstage, &ada).await;

    // The backstage is the speakers': Reception lists it to Ada only, and
    // nobody else enters it or sees its broadcast controls.
    let listed = |r: &Value| {
        r["sessions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["id"] == backstage.as_str())
    };
    let (_, r) = app
        .call::<fns::Reception>(&ada.client, &[("slug", &slug)])
        .await;
    assert!(listed(&r), "{r}");
    let (_, r) = app
        .call::<fns::Reception>(&bo.client, &[("slug", &slug)])
        .await;
    assert!(!listed(&r), "{r}");
    for on_screen in ["false", "true"] {
        let (s, b) = app
            .call::<fns::SessionToken>(
                &bo.client,
                &[
                    ("slug", &slug),
                    ("id", &backstage),
                    ("on_screen", on_screen),
                ],
            )
            .await;
        assert_eq!(s, 403, "{b}");
        assert!(b.to_string().contains("only the stage's speakers"), "{b}");
    }
    let (s, _) = app
        .call::<fns::VideoSession>(&bo.client, &[("slug", &slug), ("id", &backstage)])
        .await;
    assert_eq!(s, 403);
    let (s, b) = broadcast(&app, &slug, &bo, &stage, "go_live", "", "solo").await;
    assert_eq!(s, 403, "{b}");
    let (s, view) = app
        .call::<fns::BackstageOf>(&ada.client, &[("slug", &slug), ("session", &backstage)])
        .await;
    assert_eq!(s, 200, "{view}");
    assert_eq!(
        (&view["state"], &view["speaker"]),
        (&Value::from("off"), &Value::Bool(true))
    );

    // Before: the audience sees "starting soon" and gets no token.
    let info = |p: &Person| {
        let p = p.client.clone();
        let (app, slug, stage) = (&app, slug.clone(), stage.clone());
        async move {
            let (s, b) = app
                .call::<fns::StageInfo>(&p, &[("slug", &slug), ("stage", &stage)])
                .await;
            assert_eq!(s, 200, "{b}");
            b["broadcast"].clone()
        }
    };
    assert_eq!(info(&bo).await["state"], "off");
    assert_eq!(info(&bo).await["speaker"], false);
    let (s, b) = watch(&app, &slug, &bo, &stage).await;
    assert_eq!(s, 409, "{b}");

    // Ada puts herself on air and goes live.
    let me = ada.id.to_string();
    let (s, v) = broadcast(&app, &slug, &ada, &stage, "on_air", &me, "side_by_side").await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["on_air"], serde_json::json!([me]));
    assert_eq!(v["layout"], "side_by_side");
    let (s, v) = broadcast(&app, &slug, &ada, &stage, "go_live", "", "").await;
    assert_eq!((s, &v["state"]), (200, &Value::from("live")), "{v}");
    let (s, b) = broadcast(&app, &slug, &ada, &stage, "go_live", "", "").await;
    assert_eq!(s, 409, "{b}");
    let b = info(&bo).await;
    assert_eq!(
        (&b["state"], &b["on_air"][0]),
        (&Value::from("live"), &Value::from(me.clone()))
    );

    // Bo watches: an audience token for the backstage's room; his view of
    // the broadcast carries no recording token (only media nodes get one).
    let (s, grant) = watch(&app, &slug, &bo, &stage).await;
    assert_eq!(s, 200, "{grant}");
    assert_eq!(grant["room"], format!("session:{backstage}"));
    assert!(!b.to_string().contains("record"), "{b}");

    // The media node hands the recording over with the token the web node
    // gave it: each part becomes a video of the event, on the stage from
    // when it went live; a part only once.
    let record = services::live::stages::air(
        &app.deps.pool,
        &ada_actor(&app, &slug, &ada).await,
        backstage.parse().unwrap(),
    )
    .await
    .unwrap()
    .and_then(|(_, msg)| match msg {
        protocol::media::ToNode::OnAir {
            participants,
            record,
        } => {
            assert_eq!(participants, std::slice::from_ref(&me));
            record
        }
        _ => None,
    })
    .expect("a recording token while live");
    let video = tempdir().join("recording.mp4");
    media::assets::test_video(video.clone(), 3, 320, 240)
        .await
        .unwrap();
    let bytes = std::fs::read(&video).unwrap();
    let url = format!("{}/media/v1/recordings", app.base);
    let post = |token: &str, part: &str, body: Vec<u8>| {
        reqwest::Client::new()
            .post(&url)
            .bearer_auth(token)
            .header("x-recording-part", part)
            .body(body)
            .send()
    };
    let (one, two) = (
        uuid::Uuid::new_v4().to_string(),
        uuid::Uuid::new_v4().to_string(),
    );
    let res = post("not-a-token", &one, bytes.clone()).await.unwrap();
    assert_eq!(res.status(), 401);
    let res = post(&record, "", bytes.clone()).await.unwrap();
    assert_eq!(res.status(), 400);
    let res = post(&record, &one, b"not a video at all".to_vec())
        .await
        .unwrap();
    assert_eq!(res.status(), 400, "{}", res.text().await.unwrap());
    let res = post(&record, &one, bytes.clone()).await.unwrap();
    assert_eq!(res.status(), 201);
    let asset: Value = res.json().await.unwrap();
    assert_eq!(asset["id"], one.as_str());
    assert_eq!(asset["recording"], true);
    assert_eq!(asset["stage_id"], stage.as_str());
    let title = asset["title"].as_str().unwrap().to_owned();
    assert!(title.starts_with("Main · "), "{asset}");
    let res = post(&record, &one, bytes.clone()).await.unwrap();
    assert_eq!(res.status(), 409);
    // A second part (the room was made again mid-broadcast) is one too.
    let res = post(&record, &two, bytes).await.unwrap();
    assert_eq!(res.status(), 201);
    let asset: Value = res.json().await.unwrap();
    assert_eq!(asset["title"], format!("{title} (part 2)"));
    let (_, videos) = app
        .call::<fns::EventVideos>(&org.client, &[("slug", &slug)])
        .await;
    assert_eq!(videos.as_array().map(Vec::len), Some(2), "{videos}");

    // Ended: no more tokens; ending twice is a conflict; live again is a
    // second part.
    let (s, v) = broadcast(&app, &slug, &ada, &stage, "end", "", "").await;
    assert_eq!((s, &v["state"]), (200, &Value::from("ended")), "{v}");
    assert_eq!(info(&bo).await["state"], "ended");
    let (s, b) = watch(&app, &slug, &bo, &stage).await;
    assert_eq!(s, 409, "{b}");
    let (s, b) = broadcast(&app, &slug, &ada, &stage, "end", "", "").await;
    assert_eq!(s, 409, "{b}");
    let (s, v) = broadcast(&app, &slug, &ada, &stage, "go_live", "", "").await;
    assert_eq!((s, &v["state"]), (200, &Value::from("live")), "{v}");
    // A new source starts afresh: not live, nobody on air.
    let (s, b) = app
        .call::<fns::SetStageSource>(
            &org.client,
            &[
                ("slug", &slug),
                ("stage", &stage),
                ("source_kind", "backstage"),
                ("source_url", ""),
            ],
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let b = info(&bo).await;
    assert_eq!(
        (&b["state"], &b["on_air"]),
        (&Value::from("off"), &serde_json::json!([]))
    );
}

/// Ada as the live layer knows her (an attendee of the event).
async fn ada_actor(app: &TestApp, slug: &str, p: &Person) -> services::live::participants::Actor {
    let token = p
        .cookie
        .split(';')
        .next()
        .and_then(|c| c.split_once('='))
        .map(|(_, v)| v.to_owned());
    services::live::moderation::admit(&app.deps.pool, slug, token.as_deref())
        .await
        .unwrap()
        .actor
}

/// A fresh temporary folder.
fn tempdir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("convene-broadcast-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test]
async fn bad_broadcast_requests_get_clear_errors_and_the_backstage_stays_with_its_stage() {
    let app = spawn_web_only().await;
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    let (stage, backstage) = backstage_stage(&app, &org, &slug).await;
    let ada = person(&app, &slug, "Ada").await;
    speaker(&app, &org, &slug, &backstage, &ada).await;
    let me = ada.id.to_string();
    let cases = [
        ("explode", me.as_str(), "solo", 400, "action must be"),
        ("on_air", me.as_str(), "circle", 400, "layout must be"),
        ("on_air", "not-an-id", "solo", 400, "not a valid id"),
        ("end", "", "solo", 409, "not live"),
    ];
    for (action, on_air, layout, status, says) in cases {
        let (s, b) = broadcast(&app, &slug, &ada, &stage, action, on_air, layout).await;
        assert_eq!(s, status, "{action} {on_air} {layout}: {b}");
        assert!(b.to_string().contains(says), "{b}");
    }
    // Someone who is not an attendee of the event cannot go on air.
    let stranger = uuid::Uuid::new_v4().to_string();
    let (s, b) = broadcast(&app, &slug, &ada, &stage, "on_air", &stranger, "solo").await;
    assert_eq!(s, 404, "{b}");
    let ten = std::iter::once(me.clone())
        .chain((0..9).map(|_| uuid::Uuid::new_v4().to_string()))
        .collect::<Vec<_>>()
        .join(",");
    let (s, b) = broadcast(&app, &slug, &ada, &stage, "on_air", &ten, "solo").await;
    assert_eq!(s, 400, "{b}");
    assert!(b.to_string().contains("at most 9"), "{b}");
    // A stage that plays a URL does not broadcast.
    let (s, _) = app
        .call::<fns::SetStageSource>(
            &org.client,
            &[
                ("slug", &slug),
                ("stage", &stage),
                ("source_kind", "hls"),
                ("source_url", "https://cdn.example.org/live.m3u8"),
            ],
        )
        .await;
    assert_eq!(s, 200);
    let (s, b) = broadcast(&app, &slug, &ada, &stage, "go_live", "", "").await;
    assert_eq!(s, 409, "{b}");
    assert!(b.to_string().contains("does not broadcast"), "{b}");
    // The backstage is not ended or removed as a session; removing the
    // stage removes it.
    let (s, b) = app
        .call::<fns::RemoveVideoSession>(&org.client, &[("slug", &slug), ("id", &backstage)])
        .await;
    assert_eq!(s, 409, "{b}");
    let (s, _) = app
        .call::<fns::RemoveStage>(&org.client, &[("slug", &slug), ("stage", &stage)])
        .await;
    assert_eq!(s, 200);
    let (_, sessions) = app
        .call::<fns::SessionsAdmin>(&org.client, &[("slug", &slug)])
        .await;
    assert_eq!(sessions["sessions"], serde_json::json!([]));
}
