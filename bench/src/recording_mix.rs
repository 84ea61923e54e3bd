//! `recording-mix`: what mixing a broadcast's recording costs. Encodes
//! `--speakers` camera-like segments (VP8 640x480 at 20 fps in IVF, as the
//! recorder writes them, and Opus in Ogg) of `--seconds`, each speaker
//! joining a second after the one before, then runs
//! `media::recorder::mix`, the step a media node runs when a broadcast
//! ends, and prints its speed as a multiple of real time and the CPU time
//! `ffmpeg` took per second of recording. The time is ffmpeg's, so a debug
//! build of this tool measures the same.
//!
//!   cargo run -p convene-bench --bin recording-mix -- --seconds 60 --speakers 2

use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Parser;
use media::recorder::{mix, Segment};

#[derive(Parser, Debug)]
#[command(about = "Time the mix of a broadcast's recording")]
struct Args {
    /// Length of the recording.
    #[arg(long, default_value_t = 60)]
    seconds: u32,
    /// People on air (each a picture and a sound).
    #[arg(long, default_value_t = 1)]
    speakers: u32,
}

/// Runs ffmpeg with `options` (split at spaces), writing `out`.
fn ffmpeg(options: &str, out: &std::path::Path) -> anyhow::Result<()> {
    let out = std::process::Command::new("ffmpeg")
        .args(options.split_whitespace())
        .arg(out)
        .output()?;
    anyhow::ensure!(
        out.status.success(),
        "ffmpeg: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let dir = std::env::temp_dir().join(format!("convene-mix-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let mut segments = Vec::new();
    for n in 0..args.speakers {
        let length = args.seconds.saturating_sub(n).max(1);
        let (ivf, ogg): (PathBuf, PathBuf) =
            (dir.join(format!("{n}.ivf")), dir.join(format!("{n}.ogg")));
        ffmpeg(
            &format!(
                "-v error -y -f lavfi -i testsrc2=s=640x480:r=20:d={length} -c:v libvpx \
                 -deadline realtime -cpu-used 8 -b:v 500k -f ivf"
            ),
            &ivf,
        )?;
        ffmpeg(
            &format!(
                "-v error -y -f lavfi -i sine=f={}:r=48000:d={length} -ac 2 -c:a libopus",
                440 + 110 * n
            ),
            &ogg,
        )?;
        let start = Duration::from_secs(u64::from(n));
        let stream = format!("speaker{n}");
        for (file, audio) in [(ivf, false), (ogg, true)] {
            segments.push(Segment {
                stream: stream.clone(),
                audio,
                file,
                start,
                length: Duration::from_secs(u64::from(length)),
            });
        }
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let out = dir.join("recording.mp4");
    let (cpu0, t0) = (convene_bench::children_cpu(), Instant::now());
    mix(
        &segments,
        Duration::from_secs(u64::from(args.seconds)),
        &out,
    )
    .await?;
    let (wall, cpu) = (
        t0.elapsed().as_secs_f64(),
        convene_bench::children_cpu() - cpu0,
    );
    let secs = f64::from(args.seconds);
    println!(
        "recording-mix: {} s, {} speaker(s), 1280x720 H.264 + AAC ({cores} cores): {:.1}x real time ({wall:.1} s wall), ffmpeg CPU {cpu:.1} s = {:.2} core-seconds per second of recording",
        args.seconds,
        args.speakers,
        secs / wall,
        cpu / secs
    );
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
