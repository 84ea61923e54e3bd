//! `media-load`: P publishers, each watched by S subscribers, in one room of
//! an SFU in this process (bot peers from `media::bot`, real SRTP over
//! loopback UDP). The SFU runs on a runtime of its own whose threads are
//! named `sfu`, the bots on another, so the SFU's CPU time is read from its
//! own threads (`/proc/self/task/*/stat`) even though both share the machine.
//!
//! Prints the SFU's CPU per forwarded packet and per subscriber stream,
//! packets forwarded per second, loss (delivered against sent × S), and
//! forwarding delay percentiles (each packet carries its send time).
//! With `--simulcast`, each publisher's camera sends two layers
//! (`media::bot::LAYERS`, 180 and 360 lines) and half the subscribers
//! watch at 180 lines, half at 360: the SFU reads both layers and sends
//! each subscriber one.
//!
//!   cargo build --release -p convene-bench --bin media-load
//!   target/release/media-load --publishers 1 --subscribers 20 --seconds 10

use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use media::bot::{Bot, Load};
use media::{Config, Sfu};

#[derive(Parser, Debug)]
#[command(about = "Load one SFU room with bot publishers and subscribers")]
struct Args {
    /// Publishers (each sends VP8 at 100 packets/s and Opus at 50).
    #[arg(long, default_value_t = 1)]
    publishers: usize,
    /// Subscribers watching every publisher.
    #[arg(long, default_value_t = 10)]
    subscribers: usize,
    /// Seconds measured (after the warm-up).
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Seconds to let connections settle before measuring.
    #[arg(long, default_value_t = 3)]
    warmup: u64,
    /// Worker threads of the SFU's runtime.
    #[arg(long, default_value_t = 1)]
    sfu_threads: usize,
    /// Bytes per video packet (600 ≈ a 500 kbit/s camera).
    #[arg(long, default_value_t = 600)]
    video_bytes: usize,
    /// Publishers send two simulcast layers (ignores --video-bytes); half
    /// the subscribers watch the small one.
    #[arg(long)]
    simulcast: bool,
}

/// CPU time (user + system) of this process's threads named `prefix*`.
fn cpu_of_threads(prefix: &str) -> Duration {
    let ticks_per_sec = 100.0; // CLK_TCK on Linux
    let mut ticks = 0u64;
    if let Ok(tasks) = std::fs::read_dir("/proc/self/task") {
        for task in tasks.flatten() {
            let dir = task.path();
            let comm = std::fs::read_to_string(dir.join("comm")).unwrap_or_default();
            if !comm.trim_end().starts_with(prefix) {
                continue;
            }
            let stat = std::fs::read_to_string(dir.join("stat")).unwrap_or_default();
            // Fields after the parenthesised name: state is field 3, utime 14, stime 15.
            if let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) {
                let f: Vec<&str> = rest.split_whitespace().collect();
                let n = |i: usize| {
                    f.get(i - 3)
                        .and_then(|v| v.parse::<u64>().ok())
                        .unwrap_or(0)
                };
                ticks += n(14) + n(15);
            }
        }
    }
    Duration::from_secs_f64(ticks as f64 / ticks_per_sec)
}

/// Resident memory of the process, in KiB.
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    f64::from(sorted[i]) / 1000.0
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let sfu_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.sfu_threads)
        .thread_name("sfu")
        .enable_all()
        .build()?;
    let bots = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("bots")
        .enable_all()
        .build()?;
    let sfu = Sfu::new(Config {
        runtime: Some(sfu_runtime.handle().clone()),
        simulcast: args.simulcast,
        ..Config::on("127.0.0.1".parse()?)
    });
    bots.block_on(run(args, sfu))
}

async fn run(args: Args, sfu: Arc<Sfu>) -> anyhow::Result<()> {
    let load = Load {
        video_bytes: args.video_bytes,
        simulcast: args.simulcast,
        ..Load::default()
    };
    let rss_start = rss_kib();
    let mut publishers = Vec::new();
    for p in 0..args.publishers {
        let bot = Bot::join(&sfu, "load", &format!("pub{p}"), Some(load))
            .await
            .map_err(|e| anyhow::anyhow!("publisher {p}: {e}"))?;
        publishers.push(bot);
    }
    let rss_publishers = rss_kib();
    let mut subscribers = Vec::new();
    for s in 0..args.subscribers {
        let bot = Bot::join(&sfu, "load", &format!("sub{s}"), None)
            .await
            .map_err(|e| anyhow::anyhow!("subscriber {s}: {e}"))?;
        subscribers.push(bot);
    }
    tokio::time::sleep(Duration::from_secs(args.warmup)).await;
    if args.simulcast {
        // Once every subscription exists; the switch waits for a keyframe
        // (every quarter second).
        let small = media::bot::LAYERS[0].2;
        for bot in subscribers.iter().step_by(2) {
            for p in 0..args.publishers {
                bot.participant.view(&format!("pub{p}"), small).await;
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let connected = subscribers
        .iter()
        .filter(|b| b.seen.connected.load(std::sync::atomic::Ordering::SeqCst))
        .count();
    let rss_all = rss_kib();

    // The window.
    let received = |bots: &[Bot]| -> usize {
        bots.iter()
            .map(|b| b.count(|s| &s.video) + b.count(|s| &s.audio))
            .sum()
    };
    let sent = |bots: &[Bot]| -> usize { bots.iter().map(|b| b.count(|s| &s.sent)).sum() };
    for b in &subscribers {
        b.seen
            .delays_us
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }
    let (cpu0, rx0, tx0, t0) = (
        cpu_of_threads("sfu"),
        received(&subscribers),
        sent(&publishers),
        Instant::now(),
    );
    tokio::time::sleep(Duration::from_secs(args.seconds)).await;
    let (cpu1, rx1, tx1, elapsed) = (
        cpu_of_threads("sfu"),
        received(&subscribers),
        sent(&publishers),
        t0.elapsed(),
    );
    // Packets still in flight at the window's end arrive a moment later.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let late = received(&subscribers) - rx1;

    let forwarded = rx1 - rx0;
    let expected = (tx1 - tx0) * args.subscribers;
    let cpu = cpu1.saturating_sub(cpu0);
    let streams = args.publishers * args.subscribers;
    let mut delays: Vec<u32> = subscribers
        .iter()
        .flat_map(|b| {
            b.seen
                .delays_us
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone()
        })
        .collect();
    delays.sort_unstable();
    let loss = if expected == 0 {
        f64::NAN
    } else {
        100.0 * (1.0 - (forwarded + late).min(expected) as f64 / expected as f64)
    };
    println!(
        "media-load publishers={} subscribers={} streams={} connected={}/{} seconds={:.1}{}",
        args.publishers,
        args.subscribers,
        streams,
        connected,
        args.subscribers,
        elapsed.as_secs_f64(),
        if args.simulcast { " simulcast" } else { "" }
    );
    println!(
        "forwarded {:.0} packets/s; SFU CPU {:.1} % of a core = {:.1} us per forwarded packet, {:.2} % of a core per subscriber stream",
        forwarded as f64 / elapsed.as_secs_f64(),
        100.0 * cpu.as_secs_f64() / elapsed.as_secs_f64(),
        if forwarded == 0 { f64::NAN } else { cpu.as_secs_f64() * 1e6 / forwarded as f64 },
        100.0 * cpu.as_secs_f64() / elapsed.as_secs_f64() / streams.max(1) as f64,
    );
    println!(
        "loss {:.2} %; delay p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        loss,
        percentile(&delays, 0.5),
        percentile(&delays, 0.99),
        percentile(&delays, 1.0),
    );
    println!(
        "memory (SFU and bots in one process): {} KiB at start, {} KiB with publishers, {} KiB with subscribers ({:.0} KiB per subscriber, both ends)",
        rss_start,
        rss_publishers,
        rss_all,
        (rss_all.saturating_sub(rss_publishers)) as f64 / args.subscribers.max(1) as f64
    );
    for b in subscribers.iter().chain(publishers.iter()) {
        b.leave().await;
    }
    Ok(())
}
