//! Media assets: a generated video uploaded in chunks (with a retried
//! chunk and a resume) becomes HLS renditions and a thumbnail, served under
//! a signed path with byte ranges; what is not a video is refused and
//! nothing of it kept; forged, expired and cross-organisation access fails.

use crate::helpers::spawn_app;
use reqwest::StatusCode;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// A generated test video (ffmpeg's pattern and a tone), as bytes.
pub(crate) async fn test_video(seconds: u32) -> Vec<u8> {
    let path = std::env::temp_dir().join(format!("convene-upload-{}.mp4", uuid::Uuid::new_v4()));
    media::assets::test_video(path.clone(), seconds, 1280, 720)
        .await
        .expect("ffmpeg makes a test video");
    let bytes = std::fs::read(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    bytes
}

/// Uploads a generated video of `seconds` to event `slug` as `org` and
/// runs its jobs; returns the ready asset's id.
pub(crate) async fn ready_video(
    app: &crate::helpers::TestApp,
    org: &crate::helpers::Organiser,
    slug: &str,
    title: &str,
    seconds: u32,
) -> String {
    let video = test_video(seconds).await;
    let assets = format!("{}/dashboard/events/{slug}/assets", app.base);
    let res = org
        .client
        .post(&assets)
        .json(&json!({ "filename": "talk.mp4", "title": title, "size": video.len() }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let id = res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (s, done) = send_chunk(&org.client, &format!("{assets}/{id}"), 0, &video).await;
    assert_eq!(s, StatusCode::OK, "{done}");
    assert_eq!(app.drain_jobs().await, 2);
    id
}

/// `GET url` (with a `Range` when given).
async fn get(client: &reqwest::Client, url: &str, range: Option<&str>) -> reqwest::Response {
    let req = client.get(url);
    let req = match range {
        Some(r) => req.header("range", r),
        None => req,
    };
    req.send().await.unwrap()
}

/// `GET url` as JSON.
async fn get_json(client: &reqwest::Client, url: &str) -> Value {
    get(client, url, None).await.json().await.unwrap()
}

/// Sends `bytes` from `offset` as one chunk; the status and the JSON answer.
async fn send_chunk(
    client: &reqwest::Client,
    url: &str,
    offset: usize,
    bytes: &[u8],
) -> (StatusCode, Value) {
    let res = client
        .patch(url)
        .header("upload-offset", offset.to_string())
        .body(bytes.to_vec())
        .send()
        .await
        .unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_video_uploaded_in_chunks_becomes_hls_renditions_served_under_a_signed_path() {
    let app = spawn_app().await;
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    let video = test_video(6).await;
    let assets = format!("{}/dashboard/events/{slug}/assets", app.base);

    let res = org
        .client
        .post(&assets)
        .json(&json!({ "filename": "keynote.mp4", "size": video.len() }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let asset: Value = res.json().await.unwrap();
    assert_eq!(asset["status"], "uploading");
    assert_eq!(
        asset["title"], "keynote",
        "the file's name without its extension"
    );
    assert_eq!(asset["received_bytes"], 0);
    let url = format!("{assets}/{}", asset["id"].as_str().unwrap());

    // Three chunks; the second is sent twice (a retry after a lost answer)
    // and the client asks where to resume in between.
    let third = video.len() / 3;
    let (s, a) = send_chunk(&org.client, &url, 0, &video[..third]).await;
    assert_eq!(
        (s, a["received_bytes"].as_u64()),
        (StatusCode::OK, Some(third as u64))
    );
    let (s, _) = send_chunk(&org.client, &url, third, &video[third..2 * third]).await;
    assert_eq!(s, StatusCode::OK);
    let (s, refused) = send_chunk(&org.client, &url, third, &video[third..2 * third]).await;
    assert_eq!(s, StatusCode::CONFLICT, "the same bytes twice: {refused}");
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains(&format!("from byte {}", 2 * third)),
        "{refused}"
    );
    let resume: Value = get_json(&org.client, &url).await;
    assert_eq!(resume["received_bytes"].as_u64(), Some(2 * third as u64));
    let (s, past) = send_chunk(
        &org.client,
        &url,
        2 * third,
        &[video.as_slice(), b"extra".as_slice()].concat()[2 * third..],
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "past the declared size: {past}");
    let (s, done) = send_chunk(&org.client, &url, 2 * third, &video[2 * third..]).await;
    assert_eq!(s, StatusCode::OK, "{done}");
    assert_eq!(done["status"], "processing");
    assert_eq!(done["checksum"], hex::encode(Sha256::digest(&video)));
    assert_eq!(
        (done["width"].as_i64(), done["height"].as_i64()),
        (Some(1280), Some(720))
    );
    let ms = done["duration_ms"].as_i64().unwrap();
    assert!((5_800..=6_200).contains(&ms), "duration {ms} ms");
    let (s, _) = send_chunk(&org.client, &url, video.len(), b"more").await;
    assert_eq!(s, StatusCode::CONFLICT, "a complete upload takes no more");

    // The worker's media jobs make the renditions and the thumbnail.
    assert_eq!(app.drain_jobs().await, 2);
    let ready: Value = get_json(&org.client, &url).await;
    assert_eq!(ready["status"], "ready", "{ready}");
    assert_eq!(ready["renditions"], json!(["360p", "720p"]));
    assert_eq!(ready["thumbnail"], true);
    assert_eq!(ready["progress"], 1.0);

    // Served under a signed path: the master playlist, a rendition's
    // playlist, a segment whole and in part, the thumbnail.
    let preview: Value = get_json(&org.client, &format!("{url}/preview")).await;
    let base = format!("{}{}", app.base, preview["base"].as_str().unwrap());
    let anyone = reqwest::Client::new();
    let master = get(&anyone, &format!("{base}master.m3u8"), None).await;
    assert_eq!(master.status(), StatusCode::OK);
    assert_eq!(
        master.headers()["content-type"],
        "application/vnd.apple.mpegurl"
    );
    let master = master.text().await.unwrap();
    assert!(
        master.contains("RESOLUTION=640x360") && master.contains("720p.m3u8"),
        "{master}"
    );
    let playlist = get(&anyone, &format!("{base}360p.m3u8"), None)
        .await
        .text()
        .await
        .unwrap();
    assert!(playlist.contains("#EXT-X-ENDLIST"), "{playlist}");
    let first = playlist
        .lines()
        .find(|l| l.ends_with(".ts"))
        .expect("a segment");
    let whole = get(&anyone, &format!("{base}{first}"), None).await;
    assert_eq!(whole.status(), StatusCode::OK);
    assert_eq!(whole.headers()["accept-ranges"], "bytes");
    let size = whole.bytes().await.unwrap().len();
    assert_eq!(size % 188, 0, "MPEG-TS packets");
    let part = get(&anyone, &format!("{base}{first}"), Some("bytes=188-375")).await;
    assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        part.headers()["content-range"],
        format!("bytes 188-375/{size}").as_str()
    );
    let part = part.bytes().await.unwrap();
    assert_eq!(
        (part.len(), part[0]),
        (188, 0x47),
        "one TS packet, its sync byte first"
    );
    let past = get(
        &anyone,
        &format!("{base}{first}"),
        Some(&format!("bytes={size}-")),
    )
    .await;
    assert_eq!(past.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    let jpeg = get(&anyone, &format!("{base}thumbnail.jpg"), None).await;
    assert_eq!(jpeg.headers()["content-type"], "image/jpeg");
    assert_eq!(&jpeg.bytes().await.unwrap()[..2], &[0xFF, 0xD8]);

    // Never the original, nothing outside the asset, no forged or expired token.
    for file in ["original", "..%2Foriginal", "hls%2F360p.m3u8"] {
        let s = get(&anyone, &format!("{base}{file}"), None).await.status();
        assert_eq!(s, StatusCode::NOT_FOUND, "{file}");
    }
    let token = preview["base"]
        .as_str()
        .unwrap()
        .trim_start_matches("/media/")
        .trim_end_matches('/');
    let mut forged = token.to_owned().into_bytes();
    forged[20] = if forged[20] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(forged).unwrap();
    let res = get(
        &anyone,
        &format!("{}/media/{forged}/master.m3u8", app.base),
        None,
    )
    .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let id: protocol::ids::AssetId = ready["id"].as_str().unwrap().parse().unwrap();
    let key = services::assets::token_key(&app.pool).await.unwrap();
    let expired = services::assets::store::token(&key, id, chrono::Utc::now().timestamp() - 1);
    let res = get(
        &anyone,
        &format!("{}/media/{expired}/master.m3u8", app.base),
        None,
    )
    .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let body: Value = res.json().await.unwrap();
    assert!(
        body["message"].as_str().unwrap().contains("expired"),
        "{body}"
    );

    // Another organisation sees none of it.
    let other = app.organiser().await;
    for res in [
        get(&other.client, &url, None).await,
        get(&other.client, &format!("{url}/preview"), None).await,
        get(&other.client, &assets, None).await,
        other.client.delete(&url).send().await.unwrap(),
    ] {
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
    }

    // Captions: WebVTT only.
    let res = org
        .client
        .put(format!("{url}/captions"))
        .body("1\n00:00:00,000 --> 00:00:01,000\nHello\n")
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::BAD_REQUEST,
        "SubRip is not WebVTT"
    );
    let res = org
        .client
        .put(format!("{url}/captions"))
        .body("WEBVTT\n\n00:00.000 --> 00:02.000\nHello\n")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let vtt = get(&anyone, &format!("{base}captions.vtt"), None).await;
    assert_eq!(vtt.headers()["content-type"], "text/vtt; charset=utf-8");
    assert!(vtt.text().await.unwrap().contains("Hello"));

    // Deleting it takes its files: the signed path serves nothing more.
    let res = org.client.delete(&url).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let gone = get(&anyone, &format!("{base}master.m3u8"), None).await;
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_file_that_is_not_a_video_is_refused_and_nothing_of_it_is_kept() {
    let app = spawn_app().await;
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    let assets = format!("{}/dashboard/events/{slug}/assets", app.base);
    let text = "minutes of the meeting\n".repeat(100).into_bytes();
    let asset: Value = org
        .client
        .post(&assets)
        .json(&json!({ "filename": "video.mp4", "size": text.len(), "title": "Not really" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let url = format!("{assets}/{}", asset["id"].as_str().unwrap());
    let (s, _) = send_chunk(&org.client, &url, 0, &text[..1000]).await;
    assert_eq!(s, StatusCode::OK);
    let (s, refused) = send_chunk(&org.client, &url, 1000, &text[1000..]).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(
        refused["message"].as_str().unwrap().contains("not a video"),
        "{refused}"
    );
    assert_eq!(
        get(&org.client, &url, None).await.status(),
        StatusCode::NOT_FOUND
    );
    let list: Value = get_json(&org.client, &assets).await;
    assert_eq!(list, json!([]));
    // No chunk is left in the store.
    let dir = app
        .settings
        .assets
        .store
        .trim_start_matches("file://")
        .to_owned();
    let left: Vec<_> = walk(std::path::Path::new(&dir));
    assert!(left.is_empty(), "files left: {left:?}");
    assert_eq!(app.drain_jobs().await, 0, "no transform was queued");
}

/// Every file under `dir`.
fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

#[tokio::test]
async fn uploads_are_bounded_by_the_plan_and_checked() {
    let app = spawn_app().await;
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    let assets = format!("{}/dashboard/events/{slug}/assets", app.base);
    sqlx::query("UPDATE organisations SET plan_id = 'free'")
        .execute(&app.pool)
        .await
        .unwrap();
    let res = org
        .client
        .post(&assets)
        .json(&json!({ "filename": "big.mp4", "size": 600u64 * 1024 * 1024 }))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_client_error());
    let body: Value = res.json().await.unwrap();
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("plan takes files up to 512 MB"),
        "{body}"
    );
    for (form, why) in [
        (json!({ "filename": "a.mp4", "size": 0 }), "empty"),
        (json!({ "filename": " ", "size": 10 }), "no name"),
        (json!({ "size": 10 }), "no filename field"),
    ] {
        let res = org.client.post(&assets).json(&form).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{why}");
    }
    let asset: Value = org
        .client
        .post(&assets)
        .json(&json!({ "filename": "a.mp4", "size": 10 }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let url = format!("{assets}/{}", asset["id"].as_str().unwrap());
    let res = org
        .client
        .patch(&url)
        .body("0123456789")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST, "no Upload-Offset");
    let (s, _) = send_chunk(&org.client, &url, 0, b"").await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "no bytes");
    // Strangers are refused before anything else.
    let stranger = crate::helpers::client();
    let (s, _) = send_chunk(&stranger, &url, 0, b"0123456789").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}

/// The same path on an S3-compatible store (moto's server, started by the
/// test command; `CONVENE_TEST_S3`): chunks, the whole, the renditions and
/// a ranged read of a segment all go through the S3 API.
#[tokio::test]
async fn a_video_goes_through_an_s3_compatible_store() {
    let endpoint = crate::helpers::env_or("CONVENE_TEST_S3", "http://127.0.0.1:19000");
    let bucket = format!("convene-{}", uuid::Uuid::new_v4().simple());
    let made = reqwest::Client::new()
        .put(format!("{endpoint}/{bucket}"))
        .send()
        .await
        .expect("the S3 test server answers (scripts/test.sh starts it)");
    assert!(made.status().is_success(), "bucket: {}", made.status());
    let mut settings = crate::helpers::test_settings().await;
    settings.assets.store = format!("s3://{bucket}/assets-test");
    settings.assets.options = [
        ("aws_endpoint", endpoint.as_str()),
        ("aws_allow_http", "true"),
        ("aws_region", "us-east-1"),
        ("aws_access_key_id", "test"),
        ("aws_secret_access_key", "test"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let app = crate::helpers::spawn_with(settings, crate::helpers::Workers::NONE).await;
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    let video = test_video(3).await;
    let assets = format!("{}/dashboard/events/{slug}/assets", app.base);
    let asset: Value = org
        .client
        .post(&assets)
        .json(&json!({ "filename": "s3.mp4", "size": video.len() }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let url = format!("{assets}/{}", asset["id"].as_str().unwrap());
    let half = video.len() / 2;
    let (s, _) = send_chunk(&org.client, &url, 0, &video[..half]).await;
    assert_eq!(s, StatusCode::OK);
    let (s, done) = send_chunk(&org.client, &url, half, &video[half..]).await;
    assert_eq!(
        (s, done["status"].as_str()),
        (StatusCode::OK, Some("processing")),
        "{done}"
    );
    assert_eq!(app.drain_jobs().await, 2);
    let ready = get_json(&org.client, &url).await;
    assert_eq!(ready["status"], "ready", "{ready}");
    // The objects are in the bucket, under the prefix.
    let listing = reqwest::get(format!("{endpoint}/{bucket}?list-type=2"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        listing.contains("<Key>assets-test/assets/") && listing.contains("/hls/master.m3u8"),
        "{listing}"
    );
    assert!(listing.contains("/original</Key>"), "{listing}");
    assert!(
        !listing.contains("uploads/"),
        "chunks are gone once whole: {listing}"
    );
    let preview = get_json(&org.client, &format!("{url}/preview")).await;
    let base = format!("{}{}", app.base, preview["base"].as_str().unwrap());
    let anyone = reqwest::Client::new();
    let playlist = get(&anyone, &format!("{base}360p.m3u8"), None)
        .await
        .text()
        .await
        .unwrap();
    let first = playlist
        .lines()
        .find(|l| l.ends_with(".ts"))
        .expect("a segment");
    let part = get(&anyone, &format!("{base}{first}"), Some("bytes=0-187")).await;
    assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(part.bytes().await.unwrap()[0], 0x47);
}
