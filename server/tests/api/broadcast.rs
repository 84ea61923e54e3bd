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

/// The live mix's HLS: the media node uploads it under the broadcast's
/// recording token; a viewer sent to it (the node's WebRTC seats are taken)
/// fetches it under the watch token `stage_watch` gave them, and nothing
/// without one.
async fn live_stream_is_uploaded_by_the_node_and_served_to_viewers(
    app: &TestApp,
    slug: &str,
    viewer: &Person,
    stage: &str,
    record: &str,
) {
    let (s, w) = app
        .call::<fns::StageWatch>(
            &viewer.client,
            &[("slug", slug), ("stage", stage), ("hls", "true")],
        )
        .await;
    assert_eq!((s, &w["via"]), (200, &Value::from("hls")), "{w}");
    let path = w["url"].as_str().unwrap().to_owned();
    assert!(
        path.starts_with("/media/live/") && path.ends_with("/live.m3u8"),
        "{path}"
    );
    let http = reqwest::Client::new();
    let get = |p: String| http.get(format!("{}{p}", app.base)).send();
    // Nothing streamed yet.
    let res = get(path.clone()).await.unwrap();
    assert_eq!(res.status(), 404);
    let put = |token: &str, file: &str, body: &'static [u8]| {
        http.put(format!("{}/media/v1/live/{file}", app.base))
            .bearer_auth(token)
            .body(body)
            .send()
    };
    let playlist: &'static [u8] =
        b"#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:0\n#EXTINF:2.000000,\nlive00000.ts\n";
    assert_eq!(
        put("not-a-token", "live00000.ts", b"ts")
            .await
            .unwrap()
            .status(),
        401
    );
    let res = put(record, "../etc.ts", b"ts").await.unwrap();
    assert!(res.status().is_client_error(), "{}", res.status());
    let res = put(record, "index.html", b"<script>").await.unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(
        put(record, "live00000.ts", b"segment bytes")
            .await
            .unwrap()
            .status(),
        204
    );
    assert_eq!(
        put(record, "live.m3u8", playlist).await.unwrap().status(),
        204
    );
    let res = get(path.clone()).await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()["content-type"],
        "application/vnd.apple.mpegurl"
    );
    assert_eq!(res.headers()["cache-control"], "no-store");
    assert_eq!(res.bytes().await.unwrap(), playlist);
    let segment = path.replace("live.m3u8", "live00000.ts");
    let res = get(segment.clone()).await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "video/mp2t");
    assert_eq!(res.bytes().await.unwrap().as_ref(), b"segment bytes");
    // A token altered, or one of the media paths (another kind), gets nothing.
    let token = path.split('/').nth(3).unwrap();
    let mut bad = token.to_owned();
    let last = if bad.ends_with('A') { 'B' } else { 'A' };
    bad.pop();
    bad.push(last);
    let res = get(segment.replace(token, &bad)).await.unwrap();
    assert_eq!(res.status(), 403);
    let res = get(segment.replace(token, record)).await.unwrap();
    assert_eq!(res.status(), 403);
    // Files that are not the stream's are not served.
    let res = get(path.replace("live.m3u8", "original")).await.unwrap();
    assert_eq!(res.status(), 404);
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
        (&view["state"], &view["speaker"], &view["checked"]),
        (&Value::from("off"), &Value::Bool(true), &Value::Bool(false))
    );

    // A speaker goes on screen backstage only after the pre-event check
    // (camera and microphone working); watching needs none.
    let token = |on_screen: &'static str| {
        let (app, client, slug, backstage) =
            (&app, ada.client.clone(), slug.clone(), backstage.clone());
        async move {
            app.call::<fns::SessionToken>(
                &client,
                &[
                    ("slug", &slug),
                    ("id", &backstage),
                    ("on_screen", on_screen),
                ],
            )
            .await
        }
    };
    let (s, b) = token("true").await;
    assert_eq!(s, 409, "{b}");
    assert!(b.to_string().contains("pre-event check"), "{b}");
    assert_eq!(token("false").await.0, 200);
    let check = |camera: &'static str| {
        let (app, client, slug) = (&app, ada.client.clone(), slug.clone());
        async move {
            app.call::<fns::SaveCheck>(
                &client,
                &[
                    ("slug", slug.as_str()),
                    ("speaker", ""),
                    ("camera", camera),
                    ("microphone", "true"),
                    ("rtt_ms", "20"),
                    ("jitter_ms", "2"),
                    ("loss_pct", "0"),
                    ("bitrate_kbps", "700"),
                ],
            )
            .await
        }
    };
    assert_eq!(check("false").await.0, 200);
    assert_eq!(
        token("true").await.0,
        409,
        "a check without a camera does not count"
    );
    assert_eq!(check("true").await.0, 200);
    let (s, b) = token("true").await;
    assert_eq!(s, 200, "{b}");
    let (_, view) = app
        .call::<fns::BackstageOf>(&ada.client, &[("slug", &slug), ("session", &backstage)])
        .await;
    assert_eq!(view["checked"], true, "{view}");

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
            layout,
        } => {
            assert_eq!(participants, std::slice::from_ref(&me));
            assert_eq!(layout, Some(protocol::states::StageLayout::SideBySide));
            record
        }
        _ => None,
    })
    .expect("a recording token while live");
    live_stream_is_uploaded_by_the_node_and_served_to_viewers(&app, &slug, &bo, &stage, &record)
        .await;

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
