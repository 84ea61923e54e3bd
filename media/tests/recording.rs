//! Recording a room with real media: a bot publishes a VP8 test pattern and
//! an Opus tone (made by `ffmpeg`), goes on air and is recorded for over a
//! minute, dropping out and rejoining in the middle. `ffprobe` and
//! `ffmpeg`'s detectors then check the recording (the live mix's MP4) and
//! the segments mixed afterwards (what a node without a live mix hands
//! over): picture and sound, as long as the recording ran, and the gap
//! where the speaker was away in the same place in both (no drift between
//! sound and picture).

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use media::bot::{Bot, Load, RealMedia};
use media::{Config, Recordings, Sfu};
use tokio::sync::mpsc;

/// One recording test at a time: each runs a live mix (a 720p H.264 encode
/// fed on the wall clock) that drops pictures once it is two seconds behind,
/// and two at once, with their senders and decoders, overloaded the two
/// cores CI runs on until a recording came out seconds short.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Waits until `cond` holds (fails after 20 s).
async fn eventually(what: &str, cond: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !cond() {
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Runs `program` and returns its standard error (where the detectors write).
fn run(program: &str, args: &[&str]) -> (String, String) {
    let out = std::process::Command::new(program)
        .args(args)
        .output()
        .expect("ffmpeg and ffprobe are installed");
    assert!(
        out.status.success(),
        "{program} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The numbers after `key` in `text` (`black_start:12.3` → 12.3).
fn numbers_after(text: &str, key: &str) -> Vec<f64> {
    text.split(key)
        .skip(1)
        .filter_map(|rest| {
            rest.trim_start()
                .split(|c: char| !(c.is_ascii_digit() || c == '.'))
                .next()
                .and_then(|n| n.parse().ok())
        })
        .collect()
}

/// When Ada's rejoined picture and sound reached the recording, on its
/// clock: the starts of her second video and audio segments.
#[derive(Debug, Clone, Copy)]
struct Back {
    picture: f64,
    sound: f64,
}

/// Checks a recording of the minute: as long as it ran (`wall`), picture
/// and sound all through, and the one gap (Ada away from `away` until her
/// media came `back`) in the same place in both.
fn check(file: &str, wall: f64, away: f64, back: Back) {
    // As long as the recording ran, with a picture and sound all through.
    let (json, _) = run(
        "ffprobe",
        &[
            "-v",
            "error",
            "-print_format",
            "json",
            "-show_format",
            "-show_streams",
            file,
        ],
    );
    let probe: serde_json::Value = serde_json::from_str(&json).unwrap();
    let duration: f64 = probe["format"]["duration"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (duration - wall).abs() < 1.0,
        "{duration} s recorded over {wall} s"
    );
    let streams = probe["streams"].as_array().unwrap();
    let of = |kind: &str| {
        streams
            .iter()
            .find(|s| s["codec_type"] == kind)
            .unwrap_or_else(|| panic!("no {kind} stream"))["duration"]
            .as_str()
            .unwrap()
            .parse::<f64>()
            .unwrap()
    };
    assert!(
        (of("video") - of("audio")).abs() < 0.2,
        "{} vs {}",
        of("video"),
        of("audio")
    );

    // The one stretch of black picture and the one of silence are where Ada
    // was away: they start together when she leaves and end when her
    // picture and sound reached the recording again, so sound and picture
    // stay in step across the minute and the rejoin.
    let (_, found) = run(
        "ffmpeg",
        &[
            "-nostdin",
            "-i",
            file,
            "-vf",
            "blackdetect=d=2:pix_th=0.1",
            "-af",
            "silencedetect=n=-50dB:d=2",
            "-f",
            "null",
            "-",
        ],
    );
    let (black_start, black_end) = (
        numbers_after(&found, "black_start:"),
        numbers_after(&found, "black_end:"),
    );
    let (quiet_start, quiet_end) = (
        numbers_after(&found, "silence_start:"),
        numbers_after(&found, "silence_end:"),
    );
    assert_eq!((black_start.len(), quiet_start.len()), (1, 1), "{found}");
    assert!(
        (black_start[0] - away).abs() < 1.0,
        "black from {} (away at {away})",
        black_start[0]
    );
    assert!(
        black_end[0] > back.picture - 1.0 && black_end[0] < back.picture + 3.0,
        "black until {} ({back:?})",
        black_end[0]
    );
    assert!(
        quiet_end[0] > back.sound - 1.0 && quiet_end[0] < back.sound + 3.0,
        "silent until {} ({back:?})",
        quiet_end[0]
    );
    assert!(
        (black_start[0] - quiet_start[0]).abs() < 0.3,
        "picture gone at {}, sound at {}",
        black_start[0],
        quiet_start[0]
    );
    assert!(
        ((black_end[0] - quiet_end[0]) - (back.picture - back.sound)).abs() < 0.3,
        "picture back at {}, sound at {} ({back:?})",
        black_end[0],
        quiet_end[0]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_minute_on_air_with_a_drop_and_a_rejoin_is_recorded_in_step() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let dir = std::env::temp_dir().join(format!("convene-recording-test-{}", std::process::id()));
    let real: &'static RealMedia = Box::leak(Box::new(
        RealMedia::make(&dir, 10).await.expect("test media"),
    ));
    assert!(
        real.frames.len() >= 190 && real.sounds.len() >= 490,
        "{real:?}"
    );
    let (done, mut finished) = mpsc::unbounded_channel();
    // The live mix's HLS files, which nobody watches here.
    let (live, mut streamed) = mpsc::unbounded_channel();
    tokio::spawn(async move { while streamed.recv().await.is_some() {} });
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
    // A host who only watches keeps the room open while Ada is away.
    let host = Bot::join(&sfu, "backstage", "host", None).await.unwrap();
    let ada = Bot::join(&sfu, "backstage", "ada", Some(load))
        .await
        .unwrap();
    eventually("the host receives Ada", || host.count(|s| &s.video) > 40).await;

    let began = Instant::now();
    host.participant
        .set_on_air(vec!["ada".into()], Some("the-label".into()), None)
        .await;
    tokio::time::sleep(Duration::from_secs(25)).await;
    // Ada drops out for a while, then comes back.
    ada.leave().await;
    let away = began.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(6)).await;
    let ada = Bot::join(&sfu, "backstage", "ada", Some(load))
        .await
        .unwrap();
    eventually("Ada is back", || ada.seen.connected.load(Ordering::SeqCst)).await;
    let back = began.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(62).saturating_sub(began.elapsed())).await;
    host.participant
        .set_on_air(vec!["ada".into()], None, None)
        .await;
    let wall = began.elapsed().as_secs_f64();

    let recorded = tokio::time::timeout(Duration::from_secs(240), finished.recv())
        .await
        .expect("mixed in time")
        .expect("a recording");
    assert_eq!(recorded.room, "backstage");
    assert_eq!(recorded.label, "the-label");
    let f = recorded.result.expect("mixed");
    // Two stretches of Ada, each with picture and sound.
    let video: Vec<_> = f.segments.iter().filter(|s| !s.audio).collect();
    let sound: Vec<_> = f.segments.iter().filter(|s| s.audio).collect();
    assert_eq!((video.len(), sound.len()), (2, 2), "{:?}", f.segments);
    assert!(video.iter().chain(&sound).all(|s| s.stream == "ada"));
    // Her media reaches the recording seconds after she is connected again
    // (the first keyframe), however loaded the machine; from then on the
    // recording must show her.
    let rejoined = Back {
        picture: video[1].start.as_secs_f64(),
        sound: sound[1].start.as_secs_f64(),
    };
    // Picture and sound come back together: the bot sends from a keyframe,
    // and one follows every second.
    assert!(
        (rejoined.picture - rejoined.sound).abs() < 2.0,
        "picture back at {}, sound at {}",
        rejoined.picture,
        rejoined.sound
    );
    assert!(
        rejoined.picture > back - 1.0
            && rejoined.picture < back + 15.0
            && rejoined.sound > back - 1.0
            && rejoined.sound < back + 15.0,
        "connected again at {back}, recorded from {rejoined:?}"
    );

    // The recording is the live mix, what the audience saw.
    assert!(f.file.ends_with("live-mix.mp4"), "{}", f.file.display());
    check(&f.file.display().to_string(), wall, away, rejoined);
    // Without a live mix (or when its encoder fails) the recorded segments
    // are mixed afterwards, and hold the same.
    let mixed = dir.join("mixed-afterwards.mp4");
    media::recorder::mix(&f.segments, f.duration, &mixed)
        .await
        .expect("mixed");
    check(&mixed.display().to_string(), wall, away, rejoined);

    host.leave().await;
    ada.leave().await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// The stretches `blackdetect` finds in the part of `file`'s picture that
/// `crop` (ffmpeg's `w:h:x:y`) names, as (start, end) in seconds.
fn black_in(file: &str, crop: &str) -> Vec<(f64, f64)> {
    let (_, found) = run(
        "ffmpeg",
        &[
            "-nostdin",
            "-i",
            file,
            "-vf",
            &format!("crop={crop},blackdetect=d=1:pix_th=0.1"),
            "-an",
            "-f",
            "null",
            "-",
        ],
    );
    numbers_after(&found, "black_start:")
        .into_iter()
        .zip(numbers_after(&found, "black_end:"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_records_everyone_around_the_speaker_and_each_track_alone() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let dir = std::env::temp_dir().join(format!("convene-session-rec-{}", std::process::id()));
    let real: &'static RealMedia = Box::leak(Box::new(
        RealMedia::make(&dir, 10).await.expect("test media"),
    ));
    // The loud speaker's camera is all blue, to be told apart in the mix.
    let blue: &'static RealMedia = Box::leak(Box::new(
        RealMedia::make_of(&dir, 10, "color=c=blue")
            .await
            .expect("test media"),
    ));
    let (done, mut finished) = mpsc::unbounded_channel();
    // No HLS: a session's recording is a live mix that is not streamed.
    let sfu: Arc<Sfu> = Sfu::new(Config {
        recordings: Some(Recordings {
            dir: dir.join("recordings"),
            done,
            live: None,
        }),
        ..Config::on("127.0.0.1".parse().unwrap())
    });
    let (quiet, loud) = (
        Load {
            real: Some(real),
            loudness: Some(5),
            ..Load::default()
        },
        Load {
            real: Some(blue),
            loudness: Some(110),
            ..Load::default()
        },
    );
    let host = Bot::join(&sfu, "session", "host", None).await.unwrap();
    let ada = Bot::join(&sfu, "session", "ada", Some(quiet))
        .await
        .unwrap();
    let bo = Bot::join(&sfu, "session", "bo", Some(loud)).await.unwrap();
    eventually("the host receives both", || host.count(|s| &s.video) > 80).await;

    let began = Instant::now();
    host.participant
        .record(Some(("recording-1".into(), "session-label".into())))
        .await;
    // The same recording again (a second host's word) changes nothing.
    host.participant
        .record(Some(("recording-1".into(), "session-label".into())))
        .await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    // Someone who goes on screen after the recording started is in it.
    let cy = Bot::join(&sfu, "session", "cy", Some(quiet)).await.unwrap();
    eventually("Cy is in", || cy.seen.connected.load(Ordering::SeqCst)).await;
    tokio::time::sleep(Duration::from_secs(8)).await;
    host.participant.record(None).await;
    let wall = began.elapsed().as_secs_f64();

    let recorded = tokio::time::timeout(Duration::from_secs(120), finished.recv())
        .await
        .expect("finished in time")
        .expect("a recording");
    assert_eq!(
        (recorded.room.as_str(), recorded.label.as_str()),
        ("session", "session-label")
    );
    let f = recorded.result.expect("recorded");
    // Every publisher's picture and sound on their own (the host publishes
    // nothing), each a file that plays.
    let mut streams: Vec<(String, bool)> = f
        .segments
        .iter()
        .map(|s| (s.stream.clone(), s.audio))
        .collect();
    streams.sort();
    let want: Vec<(String, bool)> = ["ada", "bo", "cy"]
        .iter()
        .flat_map(|p| [(p.to_string(), false), (p.to_string(), true)])
        .collect();
    assert_eq!(streams, want, "{:?}", f.segments);
    for s in &f.segments {
        let (out, _) = run(
            "ffprobe",
            &[
                "-v",
                "error",
                "-count_packets",
                "-show_entries",
                "stream=nb_read_packets",
                "-of",
                "csv=p=0",
                &s.file.display().to_string(),
            ],
        );
        let packets: u64 = out.trim().parse().unwrap_or(0);
        assert!(packets > 50, "{} has {packets} packets", s.file.display());
    }
    let cy_starts = f.segments.iter().find(|s| s.stream == "cy").unwrap().start;
    assert!(
        cy_starts > Duration::from_secs(3),
        "Cy came at {cy_starts:?}"
    );

    // One picture: as long as the recording ran, with sound; the large
    // place (the speaker) and the column beside it (the others) show
    // pictures all through, once the first keyframes are in.
    let file = f.file.display().to_string();
    assert!(file.ends_with("live-mix.mp4"), "{file}");
    let (json, _) = run(
        "ffprobe",
        &[
            "-v",
            "error",
            "-print_format",
            "json",
            "-show_format",
            "-show_streams",
            &file,
        ],
    );
    let probe: serde_json::Value = serde_json::from_str(&json).unwrap();
    let duration: f64 = probe["format"]["duration"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (duration - wall).abs() < 1.0,
        "{duration} s recorded over {wall} s"
    );
    let kinds: Vec<&str> = probe["streams"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["codec_type"].as_str())
        .collect();
    assert!(
        kinds.contains(&"video") && kinds.contains(&"audio"),
        "{kinds:?}"
    );
    for (part, crop) in [
        ("the speaker", "960:540:0:90"),
        ("the others", "320:720:960:0"),
    ] {
        let black = black_in(&file, crop);
        assert!(
            // Only until the first keyframes, and while the first speaker
            // moves the places (a moved picture waits for a keyframe):
            // nothing black after the first seconds.
            black.iter().all(|(_, end)| *end < 3.5),
            "{part}: black {black:?}"
        );
    }
    // The room's speaker was the loud one, and the recording followed:
    // over its last seconds the large place is Bo's blue camera, and the
    // column beside it (Ada and Cy's test patterns on black) is not.
    let said = host.seen.speakers.lock().unwrap().clone();
    assert_eq!(said.last(), Some(&Some("bo".to_owned())), "{said:?}");
    let blueness = |crop: &str| {
        let (_, found) = run(
            "ffmpeg",
            &[
                "-nostdin",
                "-sseof",
                "-3",
                "-i",
                &file,
                "-vf",
                &format!("crop={crop},signalstats,metadata=print:key=lavfi.signalstats.UAVG"),
                "-an",
                "-f",
                "null",
                "-",
            ],
        );
        let u = numbers_after(&found, "lavfi.signalstats.UAVG=");
        assert!(!u.is_empty(), "{found}");
        u.iter().sum::<f64>() / u.len() as f64
    };
    let (large, beside) = (blueness("960:540:0:90"), blueness("320:720:960:0"));
    assert!(large > 200.0, "the large place's blue (U) is {large}");
    assert!(beside < 150.0, "the column's blue (U) is {beside}");

    for b in [host, ada, bo, cy] {
        b.leave().await;
    }
    let _ = std::fs::remove_dir_all(&dir);
}
