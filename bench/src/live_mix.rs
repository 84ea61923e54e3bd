//! `live-mix`: what the live mix of a broadcast costs (the HLS stream the
//! viewers past a media node's WebRTC limit watch). `--speakers` bots
//! publish a real VP8 test pattern and an Opus tone through an SFU; one
//! puts them all on air side by side and records, which starts the live
//! mix (`media::live`): a decoding `ffmpeg` per stream, the compositor, and
//! one H.264/AAC encoder writing 2 s HLS segments. After `--seconds` the
//! broadcast stops. Printed: the `ffmpeg` CPU per second of stream
//! (decoders and encoder; they are waited for, so `cutime` counts them),
//! the segments made against the time it ran, and the compositor's own
//! cost per picture, timed apart on the same layout (the bots' and the
//! SFU's CPU share this process, so its total would not say).
//!
//! With `--session`, the room is recorded as a session is: everyone who
//! publishes, laid out around the speaker, into the MP4 only (no HLS).
//!
//!   cargo run --release -p convene-bench --bin live-mix -- --seconds 60 --speakers 2

use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use media::bot::{Bot, Load, RealMedia};
use media::live::{black, blit, live_places, speaker_places, LIVE_SIZE, PLAYLIST};
use media::{Config, Recordings, Sfu};
use protocol::states::StageLayout;

#[derive(Parser, Debug)]
#[command(about = "Measure the live mix of a broadcast (HLS)")]
struct Args {
    /// How long the broadcast runs.
    #[arg(long, default_value_t = 60)]
    seconds: u64,
    /// People on air.
    #[arg(long, default_value_t = 1)]
    speakers: usize,
    /// Record as a session (the speaker view, no HLS) rather than a
    /// broadcast.
    #[arg(long)]
    session: bool,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let dir = std::env::temp_dir().join(format!("convene-live-mix-{}", std::process::id()));
    let real: &'static RealMedia = Box::leak(Box::new(RealMedia::make(&dir, 10).await?));
    let (done, mut finished) = tokio::sync::mpsc::unbounded_channel();
    let (live, mut made) = tokio::sync::mpsc::unbounded_channel();
    let sfu: Arc<Sfu> = Sfu::new(Config {
        recordings: Some(Recordings {
            dir: dir.join("recordings"),
            done,
            live: Some(live),
        }),
        ..Config::on("127.0.0.1".parse()?)
    });
    let load = Load {
        real: Some(real),
        ..Load::default()
    };
    let host = Bot::join(&sfu, "stage", "host", None).await?;
    let mut speakers = Vec::new();
    let mut names = Vec::new();
    for n in 0..args.speakers {
        let name = format!("speaker{n}");
        speakers.push(Bot::join(&sfu, "stage", &name, Some(load)).await?);
        names.push(name);
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while host.count(|s| &s.video) < 40 * args.speakers {
        anyhow::ensure!(
            Instant::now() < deadline,
            "the speakers' media did not flow"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (cpu0, t0) = (convene_bench::children_cpu(), Instant::now());
    if args.session {
        host.participant
            .record(Some(("bench-recording".into(), "bench".into())))
            .await;
    } else {
        host.participant
            .set_on_air(
                names.clone(),
                Some("bench".into()),
                Some(StageLayout::SideBySide),
            )
            .await;
    }
    tokio::time::sleep(Duration::from_secs(args.seconds)).await;
    if args.session {
        host.participant.record(None).await;
    } else {
        host.participant.set_on_air(names.clone(), None, None).await;
    }
    let ran = t0.elapsed().as_secs_f64();
    // The live mix is the recording: once it is handed over, every file
    // of the stream went out.
    tokio::time::timeout(Duration::from_secs(120), finished.recv())
        .await?
        .ok_or_else(|| anyhow::anyhow!("no recording"))?
        .result
        .map_err(|e| anyhow::anyhow!("recording failed: {e}"))?;
    let cpu = convene_bench::children_cpu() - cpu0;
    let (mut segments, mut bytes) = (0usize, 0usize);
    while let Ok(f) = made.try_recv() {
        if f.name != PLAYLIST {
            segments += 1;
            bytes += f.bytes.len();
        }
    }
    // The compositor alone: a picture per place onto the canvas, and the
    // copy handed to the encoder, as each tick does.
    let streams: Vec<&str> = names.iter().map(String::as_str).collect();
    let places = if args.session {
        speaker_places(&names, None, &streams, LIVE_SIZE)
    } else {
        live_places(&names, StageLayout::SideBySide, &streams, LIVE_SIZE)
    };
    let frames: Vec<Vec<u8>> = places
        .iter()
        .map(|(_, (_, _, w, h))| black((*w, *h)))
        .collect();
    let mut canvas = black(LIVE_SIZE);
    let ticks = 500u32;
    let t = Instant::now();
    for _ in 0..ticks {
        for ((_, at), f) in places.iter().zip(&frames) {
            blit(&mut canvas, LIVE_SIZE, f, *at);
        }
        std::hint::black_box(canvas.clone());
    }
    let per_tick = t.elapsed() / ticks;

    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "live-mix: {} speaker(s) {}, {}x{} H.264 veryfast + AAC, 2 s HLS segments ({cores} cores): \
         ran {ran:.1} s, {} segments ({:.0} kbit/s), ffmpeg CPU {cpu:.1} s = {:.2} core-seconds per second of stream; \
         compositor {:.2} ms per picture ({:.1} % of a core at 25 fps)",
        args.speakers,
        if args.session {
            "recorded as a session (speaker view, MP4 only)"
        } else {
            "side by side"
        },
        LIVE_SIZE.0,
        LIVE_SIZE.1,
        segments,
        bytes as f64 * 8.0 / ran / 1000.0,
        cpu / ran,
        per_tick.as_secs_f64() * 1000.0,
        per_tick.as_secs_f64() * 25.0 * 100.0,
    );
    drop(speakers);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
