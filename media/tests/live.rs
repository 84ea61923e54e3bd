//! The live mix with real media: a bot publishes a VP8 test pattern and an
//! Opus tone (made by `ffmpeg`); once a host puts her on air and records,
//! HLS segments of the mix come out every two seconds, each with H.264
//! pictures that are not black and AAC sound that is not silent; when the
//! broadcast stops the stream's tail goes out and the recording is the
//! mix's MP4. And the node's WebRTC
//! audience limit: past it an audience seat is refused as full, and a seat
//! given back is free again.

use std::sync::Arc;
use std::time::Duration;

use media::bot::{Bot, Load, RealMedia};
use media::live::{segments_of, LiveFile, PLAYLIST};
use media::{Config, Error, Recordings, Sfu};
use protocol::states::StageLayout;
use tokio::sync::mpsc;

fn run(program: &str, args: &[&str]) -> String {
    let out = std::process::Command::new(program)
        .args(args)
        .output()
        .expect("ffmpeg and ffprobe are installed");
    assert!(
        out.status.success(),
        "{program} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Collects what the live mix publishes until `done` says so (fails after
/// `secs`).
async fn until(
    rx: &mut mpsc::UnboundedReceiver<LiveFile>,
    got: &mut Vec<LiveFile>,
    secs: u64,
    done: impl Fn(&[LiveFile]) -> bool,
) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while !done(got) {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(f)) => got.push(f),
            Ok(None) => panic!("the live mix's channel closed"),
            Err(_) => panic!(
                "timed out; got {:?}",
                got.iter().map(|f| &f.name).collect::<Vec<_>>()
            ),
        }
    }
}

fn last_playlist(got: &[LiveFile]) -> Option<String> {
    got.iter()
        .rev()
        .find(|f| f.name == PLAYLIST)
        .map(|f| String::from_utf8_lossy(&f.bytes).into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broadcast_on_air_streams_a_live_mix_as_hls() {
    let dir = std::env::temp_dir().join(format!("convene-live-test-{}", std::process::id()));
    let real: &'static RealMedia = Box::leak(Box::new(
        RealMedia::make(&dir, 10).await.expect("test media"),
    ));
    let (done, mut finished) = mpsc::unbounded_channel();
    let (live, mut published) = mpsc::unbounded_channel();
    let sfu: Arc<Sfu> = Sfu::new(Config {
        recordings: Some(Recordings {
            dir: dir.join("recordings"),
            done,
            live: Some(live),
        }),
        ..Config::on("127.0.0.1".parse().unwrap())
    });
    let load = Load {
        real: Some(real),
        ..Load::default()
    };
    let host = Bot::join(&sfu, "backstage", "host", None).await.unwrap();
    let _ada = Bot::join(&sfu, "backstage", "ada", Some(load))
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while host.count(|s| &s.video) < 40 {
        assert!(tokio::time::Instant::now() < deadline, "host sees Ada");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    host.participant
        .set_on_air(
            vec!["ada".into()],
            Some("the-label".into()),
            Some(StageLayout::SideBySide),
        )
        .await;

    // Three segments listed: six seconds of the mix.
    let mut got = Vec::new();
    until(&mut published, &mut got, 60, |g| {
        last_playlist(g).is_some_and(|p| segments_of(&p).len() >= 3)
    })
    .await;
    assert!(got.iter().all(|f| f.label == "the-label"));
    let playlist = last_playlist(&got).unwrap();
    assert!(playlist.contains("#EXT-X-TARGETDURATION:2"), "{playlist}");
    assert!(!playlist.contains("#EXT-X-ENDLIST"), "{playlist}");
    // Every segment it lists went out before it.
    for name in segments_of(&playlist) {
        assert!(got.iter().any(|f| f.name == name), "{name} not sent");
    }
    // The latest segment: H.264 720p and AAC, a picture that is not black
    // and sound that is not silence (Ada's pattern and tone made it through).
    let last = segments_of(&playlist).pop().unwrap();
    let seg = got.iter().find(|f| f.name == last).unwrap();
    let file = dir.join("segment.ts");
    std::fs::write(&file, &seg.bytes).unwrap();
    let file = file.display().to_string();
    let probe: serde_json::Value = serde_json::from_str(&run(
        "ffprobe",
        &[
            "-v",
            "error",
            "-print_format",
            "json",
            "-show_streams",
            &file,
        ],
    ))
    .unwrap();
    let streams = probe["streams"].as_array().unwrap();
    let video = streams.iter().find(|s| s["codec_type"] == "video").unwrap();
    assert_eq!(video["codec_name"], "h264");
    assert_eq!(
        (video["width"].as_u64(), video["height"].as_u64()),
        (Some(1280), Some(720))
    );
    assert!(streams
        .iter()
        .any(|s| s["codec_type"] == "audio" && s["codec_name"] == "aac"));
    let detect = run(
        "ffmpeg",
        &[
            "-hide_banner",
            "-i",
            &file,
            "-vf",
            "blackdetect=d=0.5:pix_th=0.1",
            "-af",
            "volumedetect",
            "-f",
            "null",
            "-",
        ],
    );
    assert!(!detect.contains("black_start"), "{detect}");
    let mean: f64 = detect
        .split("mean_volume:")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .expect("a mean volume");
    assert!(mean > -40.0, "the tone is heard: {mean} dB");

    // Off air: the stream's tail goes out, and the recording is the mix's
    // MP4 (the stage page tells viewers it ended; the playlist never says
    // so, since a mix made again under the same broadcast goes on with it).
    host.participant
        .set_on_air(vec!["ada".into()], None, None)
        .await;
    let recorded = tokio::time::timeout(Duration::from_secs(60), finished.recv())
        .await
        .expect("recorded in time")
        .expect("a recording");
    let f = recorded.result.expect("recorded");
    assert!(f.file.ends_with("live-mix.mp4"), "{}", f.file.display());
    while let Ok(file) = published.try_recv() {
        got.push(file);
    }
    let tail = last_playlist(&got).unwrap();
    assert!(!tail.contains("#EXT-X-ENDLIST"), "{tail}");
    for name in segments_of(&tail) {
        assert!(got.iter().any(|f| f.name == name), "{name} not sent");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_its_webrtc_limit_a_node_refuses_audience_seats_as_full() {
    let dir = std::env::temp_dir().join(format!("convene-live-limit-{}", std::process::id()));
    let (done, _finished) = mpsc::unbounded_channel();
    let (live, mut published) = mpsc::unbounded_channel();
    tokio::spawn(async move { while published.recv().await.is_some() {} });
    let sfu: Arc<Sfu> = Sfu::new(Config {
        max_audience: Some(2),
        recordings: Some(Recordings {
            dir,
            done,
            live: Some(live),
        }),
        ..Config::on("127.0.0.1".parse().unwrap())
    });
    // Two stages on air with a live mix each.
    let mut hosts = Vec::new();
    for stage in ["stage-a", "stage-b"] {
        let host = Bot::join(&sfu, stage, "host", None).await.unwrap();
        host.participant
            .set_on_air(Vec::new(), Some(format!("{stage}-label")), None)
            .await;
        hosts.push(host);
    }
    let a = Bot::join_audience(&sfu, "stage-a", "a").await.unwrap();
    let _b = Bot::join_audience(&sfu, "stage-b", "b").await.unwrap();
    assert_eq!(sfu.audience(), 2);
    // The limit is the node's, over all its rooms.
    assert!(matches!(
        Bot::join_audience(&sfu, "stage-a", "c").await,
        Err(Error::Full)
    ));
    // A stage without a live mix has no stream to send viewers to: they
    // are let in.
    let _d = Bot::join_audience(&sfu, "stage-c", "d").await.unwrap();
    assert_eq!(sfu.audience(), 3);
    // Speakers and session viewers are not the audience.
    let _speaker = Bot::join(&sfu, "stage-a", "speaker", None).await.unwrap();
    // A seat given back is free again.
    a.leave().await;
    _d.leave().await;
    assert_eq!(sfu.audience(), 1);
    let _c = Bot::join_audience(&sfu, "stage-a", "c").await.unwrap();
    assert_eq!(sfu.audience(), 2);
    for h in hosts {
        h.participant.set_on_air(Vec::new(), None, None).await;
    }
}
