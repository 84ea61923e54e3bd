//! Simulive and Replay: a stage plays one of the event's videos from a
//! scheduled time (only a ready video, and one on air cannot be deleted);
//! organisers publish videos to Replay for attendees or the public; Replay
//! lists them with chapters and speakers from the stage's agenda, serves
//! them under signed paths, keeps each attendee's place and records their
//! watch time as `replay.watched`.

use reqwest::StatusCode;
use serde_json::Value;

use crate::assets::ready_video;
use crate::helpers::{client, fns, TestApp};
use crate::stage::setup_stage;

/// `at` as a `datetime-local` value with seconds in the test events' zone.
fn local(at: chrono::DateTime<chrono::Utc>) -> String {
    at.with_timezone(&chrono_tz::Europe::Berlin)
        .format("%Y-%m-%dT%H:%M:%S")
        .to_string()
}

/// The `replay.watched` facts in the outbox: (watched_ms, position_ms).
async fn watched_facts(app: &TestApp) -> Vec<(i64, i64)> {
    sqlx::query_as(
        "SELECT (payload->'data'->>'watched_ms')::bigint, (payload->'data'->>'position_ms')::bigint
         FROM outbox WHERE topic = 'activity' AND payload->>'type' = 'replay.watched' ORDER BY id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_stage_plays_a_video_as_simulive_and_replay_publishes_it_with_chapters_and_resume() {
    let app = crate::helpers::spawn_app().await;
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    let stage = setup_stage(&app, &org, &slug).await;
    let simulive = |asset: &str, starts: &str| {
        vec![
            ("slug", slug.clone()),
            ("stage", stage.clone()),
            ("asset", asset.to_owned()),
            ("starts_at", starts.to_owned()),
        ]
    };

    // A video still uploading cannot go on air.
    let assets = format!("{}/dashboard/events/{slug}/assets", app.base);
    let pending: Value = org
        .client
        .post(&assets)
        .json(&serde_json::json!({ "filename": "later.mp4", "size": 1000 }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let form = simulive(pending["id"].as_str().unwrap(), "");
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (s, b) = app.call::<fns::SetStageSimulive>(&org.client, &form).await;
    assert_eq!(s, 400, "{b}");
    assert!(b["message"].as_str().unwrap().contains("not ready"), "{b}");

    // A ready video, on air from a minute ago on the stage; the agenda of
    // the stage has a session before, one during, one after.
    let id = ready_video(&app, &org, &slug, "Opening keynote", 6).await;
    let now = chrono::Utc::now();
    let starts = now - chrono::Duration::seconds(2);
    for (title, from, to, speakers) in [
        ("Doors open", -600, -60, ""),
        ("Welcome", -1, 3, "Grace"),
        ("Keynote", 3, 60, "Grace, Linus"),
        ("Lunch", 3600, 7200, ""),
    ] {
        for name in speakers.split(", ").filter(|n| !n.is_empty()) {
            app.call::<fns::AddSpeaker>(&org.client, &[("slug", &slug), ("name", name)])
                .await;
        }
        let minutes = |secs: i64| local(starts + chrono::Duration::seconds(secs))[..16].to_owned();
        let (s, b) = app
            .call::<fns::AddSession>(
                &org.client,
                &[
                    ("slug", &slug),
                    ("title", title),
                    ("starts", &minutes(from * 60)),
                    ("ends", &minutes(to * 60)),
                    ("stage", &stage),
                    ("speakers", speakers),
                ],
            )
            .await;
        assert_eq!(s, 200, "{title}: {b}");
    }
    // Scheduled for tomorrow first: viewers get no path to it yet.
    let (ada, _) = app.attendee(&slug).await;
    let form = simulive(&id, &local(now + chrono::Duration::days(1)));
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (s, b) = app.call::<fns::SetStageSimulive>(&org.client, &form).await;
    assert_eq!(s, 200, "{b}");
    let (_, page) = app
        .call::<fns::StageInfo>(&ada, &[("slug", &slug), ("stage", &stage)])
        .await;
    assert_eq!(
        page["simulive"]["video"]["media"], "",
        "not released: {page}"
    );
    let early = app
        .call::<fns::SimuliveMedia>(&ada, &[("slug", &slug), ("stage", &stage)])
        .await;
    assert_eq!(early.0, 403, "{early:?}");
    // Taken off before its time, it never aired there.
    let aired = |app: &TestApp| {
        let (pool, id) = (app.pool.clone(), id.clone());
        async move {
            sqlx::query_scalar::<_, Option<chrono::DateTime<chrono::Utc>>>(
                "SELECT aired_at FROM media_assets WHERE id = $1::uuid",
            )
            .bind(&id)
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    assert!(aired(&app).await.is_some());
    let (s, _) = app
        .call::<fns::SetStageSource>(
            &org.client,
            &[("slug", &slug), ("stage", &stage), ("source_kind", "none")],
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(aired(&app).await, None);
    // Then from two seconds ago.
    let form = simulive(&id, &local(starts));
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (s, b) = app.call::<fns::SetStageSimulive>(&org.client, &form).await;
    assert_eq!(s, 200, "{b}");
    let (s, path) = app
        .call::<fns::SimuliveMedia>(&ada, &[("slug", &slug), ("stage", &stage)])
        .await;
    assert_eq!(s, 200, "{path}");
    assert!(path.as_str().unwrap().starts_with("/media/"), "{path}");

    // Attendees see it on the stage: a signed path and the start.
    let (s, page) = app
        .call::<fns::StageInfo>(&ada, &[("slug", &slug), ("stage", &stage)])
        .await;
    assert_eq!(s, 200, "{page}");
    assert_eq!(page["source_kind"], "simulive");
    let on_air = &page["simulive"];
    assert_eq!(on_air["video"]["title"], "Opening keynote");
    assert_eq!(
        on_air["starts_ms"].as_i64(),
        Some(starts.timestamp() * 1000)
    );
    let media = on_air["video"]["media"].as_str().unwrap();
    let master = client()
        .get(format!("{}{media}master.m3u8", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(master.status(), StatusCode::OK);
    assert!(master.text().await.unwrap().contains("360p"));
    let position = page["now_ms"].as_i64().unwrap() - starts.timestamp() * 1000;
    assert!((2_000..10_000).contains(&position), "{position} ms in");

    // On air, the video cannot be removed; another source frees it.
    let res = org
        .client
        .delete(format!("{assets}/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("a stage plays this video"));

    // Not in Replay until published; then for attendees, not the public.
    let anyone = client();
    let (s, list) = app.call::<fns::ReplayList>(&ada, &[("slug", &slug)]).await;
    assert_eq!(
        (s, list["recordings"].as_array().map(Vec::len)),
        (200, Some(0))
    );
    let publish = |to: &'static str| {
        let (slug, id) = (slug.clone(), id.clone());
        let (app, org) = (&app, &org);
        async move {
            app.call::<fns::PublishVideo>(
                &org.client,
                &[("slug", &slug), ("id", &id), ("replay", to)],
            )
            .await
        }
    };
    assert_eq!(publish("everyone").await.0, 400);
    let (s, b) = publish("attendees").await;
    assert_eq!(s, 200, "{b}");
    let (s, list) = app
        .call::<fns::ReplayList>(&anyone, &[("slug", &slug)])
        .await;
    assert_eq!(s, 200, "anyone may look: {list}");
    assert_eq!(list["recordings"], serde_json::json!([]), "not public");
    assert_eq!(list["attendee"], false);
    let (s, list) = app.call::<fns::ReplayList>(&ada, &[("slug", &slug)]).await;
    assert_eq!(s, 200, "{list}");
    let r = &list["recordings"][0];
    assert_eq!(r["video"]["title"], "Opening keynote");
    assert_eq!(r["place"], "Main");
    // Chapters: the sessions of the stage on air in the six seconds.
    let chapters: Vec<(&str, i64)> = r["chapters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["title"].as_str().unwrap(), c["at_ms"].as_i64().unwrap()))
        .collect();
    assert_eq!(chapters.len(), 1, "{chapters:?}");
    assert_eq!(chapters[0].0, "Welcome");
    assert_eq!(r["speakers"], serde_json::json!(["Grace"]));
    assert_eq!(r["resume_ms"], 0);

    // The player's reports: the place is kept, watch time recorded.
    let report = |position: i64, watched: i64| {
        let (slug, id, ada, app) = (slug.clone(), id.clone(), ada.clone(), &app);
        async move {
            app.call::<fns::ReplayProgress>(
                &ada,
                &[
                    ("slug", &slug),
                    ("id", &id),
                    ("position_ms", &position.to_string()),
                    ("watched_ms", &watched.to_string()),
                ],
            )
            .await
        }
    };
    assert_eq!(report(-1, 0).await.0, 400);
    assert_eq!(report(2_500, 2_400).await.0, 200);
    // A report claiming more than a minute counts as a minute (the last
    // report was ten minutes ago).
    sqlx::query("UPDATE replay_progress SET updated_at = now() - interval '10 minutes'")
        .execute(&app.pool)
        .await
        .unwrap();
    assert_eq!(report(3_000, 600_000).await.0, 200);
    // And no more than the time since the previous report, with 5 s to spare.
    assert_eq!(report(3_000, 50_000).await.0, 200);
    let facts = watched_facts(&app).await;
    assert_eq!(facts[..2], [(2_400, 2_500), (60_000, 3_000)]);
    assert!((5_000..6_000).contains(&facts[2].0), "{facts:?}");
    let (_, one) = app
        .call::<fns::ReplayVideo>(&ada, &[("slug", &slug), ("id", &id)])
        .await;
    assert_eq!(
        one["recordings"][0]["resume_ms"], 0,
        "within 5 s of the end: from the start"
    );
    assert_eq!(report(500, 0).await.0, 200);
    let (_, one) = app
        .call::<fns::ReplayVideo>(&ada, &[("slug", &slug), ("id", &id)])
        .await;
    assert_eq!(one["recordings"][0]["resume_ms"], 500);
    assert_eq!(
        watched_facts(&app).await.len(),
        3,
        "nothing played, no fact"
    );

    // Someone who is not an attendee cannot report, nor see it.
    assert_eq!(
        app.call::<fns::ReplayProgress>(
            &anyone,
            &[
                ("slug", &slug),
                ("id", &id),
                ("position_ms", "1"),
                ("watched_ms", "1")
            ]
        )
        .await
        .0,
        401
    );
    assert_eq!(
        app.call::<fns::ReplayVideo>(&anyone, &[("slug", &slug), ("id", &id)])
            .await
            .0,
        404
    );

    // Published to the public: anyone with the link sees it.
    assert_eq!(publish("public").await.0, 200);
    let (_, list) = app
        .call::<fns::ReplayList>(&anyone, &[("slug", &slug)])
        .await;
    assert_eq!(list["recordings"][0]["video"]["title"], "Opening keynote");

    // Another organisation's organiser cannot put it on their stage.
    let other = app.organiser().await;
    let other_slug = app.event(&other).await;
    let other_stage = setup_stage(&app, &other, &other_slug).await;
    let (s, _) = app
        .call::<fns::SetStageSimulive>(
            &other.client,
            &[
                ("slug", &other_slug),
                ("stage", &other_stage),
                ("asset", &id),
            ],
        )
        .await;
    assert_eq!(s, 404, "not their video");

    // Back to a URL: the video is free to remove, and leaves Replay.
    let (s, _) = app
        .call::<fns::SetStageSource>(
            &org.client,
            &[("slug", &slug), ("stage", &stage), ("source_kind", "none")],
        )
        .await;
    assert_eq!(s, 200);
    let res = org
        .client
        .delete(format!("{assets}/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let (_, list) = app.call::<fns::ReplayList>(&ada, &[("slug", &slug)]).await;
    assert_eq!(list["recordings"], serde_json::json!([]));
}
