//! `asset-transforms`: how fast uploaded videos become HLS. Generates a test
//! video (ffmpeg's pattern and a tone) of `--seconds` at `--size`, then
//! makes each rendition with `media::assets::hls`, the transform the worker
//! runs, and prints its speed as a multiple of real time (seconds of video
//! per second of wall time) and the CPU time the encoder took. The time is
//! ffmpeg's, so a debug build of this tool measures the same.
//!
//!   cargo run -p convene-bench --bin asset-transforms -- --seconds 60

use std::time::Instant;

use clap::Parser;
use media::assets::{self, RENDITIONS};

#[derive(Parser, Debug)]
#[command(about = "Time the HLS renditions of a generated video")]
struct Args {
    /// Length of the generated video.
    #[arg(long, default_value_t = 60)]
    seconds: u32,
    /// Its frame size, WIDTHxHEIGHT.
    #[arg(long, default_value = "1280x720")]
    size: String,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let (w, h) = args
        .size
        .split_once('x')
        .and_then(|(w, h)| Some((w.parse().ok()?, h.parse().ok()?)))
        .ok_or_else(|| anyhow::anyhow!("--size is WIDTHxHEIGHT"))?;
    let dir = std::env::temp_dir().join(format!("convene-transforms-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let input = dir.join("input.mp4");
    assets::test_video(input.clone(), args.seconds, w, h).await?;
    let probe = assets::probe(&input).await?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "asset-transforms: {} s of {}x{} ({} cores)",
        args.seconds, w, h, cores
    );
    for r in RENDITIONS.iter().filter(|r| r.height <= h) {
        let (cpu0, t0) = (convene_bench::children_cpu(), Instant::now());
        assets::hls(&input, &dir, &probe, r, |_| {}).await?;
        let (wall, cpu) = (
            t0.elapsed().as_secs_f64(),
            convene_bench::children_cpu() - cpu0,
        );
        println!(
            "{}: {:.1}x real time ({:.1} s wall), encoder CPU {:.1} s = {:.2} core-seconds per second of video",
            r.name,
            probe.duration.as_secs_f64() / wall,
            wall,
            cpu,
            cpu / probe.duration.as_secs_f64()
        );
    }
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
