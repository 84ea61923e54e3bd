//! Webhook delivery load: a receiver on this machine with E endpoints of one
//! organisation pointing at it, M registrations against a running Convene
//! server, and how fast their messages arrive: live (while attendees
//! register) and replayed (every message sent again at once, the
//! dispatcher's own rate). The server must allow loopback targets
//! (`CONVENE_WEBHOOKS__ALLOW_PRIVATE_TARGETS=true`; `bench/run.sh` sets it).
//!
//!     cargo run --release -p convene-bench --bin webhook-load -- --base-url http://127.0.0.1:3300 --messages 1000 --endpoints 4

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use clap::Parser;
use convene_bench::{call_from, ok, organiser_with_event, simulated_address, Register};
use futures::stream::{self, StreamExt};
use uuid::Uuid;

/// Command-line options.
#[derive(Parser, Debug)]
struct Args {
    /// Server base URL.
    #[arg(long, default_value = "http://127.0.0.1:3300")]
    base_url: String,
    /// Registrations (one message each per endpoint).
    #[arg(long, default_value_t = 1000)]
    messages: usize,
    /// Endpoints, all on the local receiver.
    #[arg(long, default_value_t = 4)]
    endpoints: usize,
    /// Registrations in flight at once.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
}

/// Waits until `received` reaches `target` (or a minute passes without progress).
async fn until(received: &AtomicUsize, target: usize) -> Result<()> {
    let (mut last, mut since) = (0, Instant::now());
    loop {
        let n = received.load(Ordering::Relaxed);
        if n >= target {
            return Ok(());
        }
        if n != last {
            (last, since) = (n, Instant::now());
        } else if since.elapsed() > Duration::from_secs(60) {
            bail!("stalled at {n} of {target} deliveries");
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let base = args.base_url.trim_end_matches('/').to_owned();
    let (org, slug) = organiser_with_event(&base, "hooks").await?;

    let received = Arc::new(AtomicUsize::new(0));
    let app = axum::Router::new().route(
        "/hook/{n}",
        axum::routing::post({
            let received = received.clone();
            move |_body: String| async move {
                received.fetch_add(1, Ordering::Relaxed);
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    let mut ids = Vec::new();
    for n in 0..args.endpoints {
        let url = format!("http://{addr}/hook/{n}");
        ok::<app::organiser::webhooks::AddWebhook>(
            &org,
            &base,
            &[
                ("slug", &slug),
                ("url", &url),
                ("types[0]", "attendee.registered"),
            ],
        )
        .await?;
    }
    let list =
        ok::<app::organiser::webhooks::ListWebhooks>(&org, &base, &[("slug", &slug)]).await?;
    for e in list.as_array().into_iter().flatten() {
        ids.push(e["id"].as_str().unwrap_or_default().to_owned());
    }

    // Live: attendees register; each registration goes to every endpoint.
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency)
        .build()?;
    let started = Instant::now();
    let registered: usize = stream::iter(0..args.messages)
        .map(|i| {
            let (client, base, slug) = (&client, &base, &slug);
            async move {
                let email = format!("hook-{i}-{}@example.org", Uuid::new_v4().simple());
                let from = simulated_address(i);
                let form = [
                    ("slug", slug.as_str()),
                    ("name", "Guest"),
                    ("email", &email),
                ];
                matches!(
                    call_from::<Register>(client, base, Some(&from), &form).await,
                    Ok((200, _))
                ) as usize
            }
        })
        .buffer_unordered(args.concurrency)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .sum();
    let registering = started.elapsed();
    let live_target = registered * args.endpoints;
    until(&received, live_target).await?;
    let live = started.elapsed();

    // Replayed: every message again, queued at once.
    let replay_started = Instant::now();
    for id in &ids {
        ok::<app::organiser::webhooks::ReplayWebhook>(
            &org,
            &base,
            &[("slug", &slug), ("id", id), ("since", "2000-01-01T00:00")],
        )
        .await?;
    }
    until(&received, 2 * live_target).await?;
    let replay = replay_started.elapsed();

    println!(
        "webhook-load: messages={} endpoints={} concurrency={}",
        args.messages, args.endpoints, args.concurrency
    );
    println!("  registered             {registered}");
    println!(
        "  registering took       {:.2} s",
        registering.as_secs_f64()
    );
    println!(
        "  live: all delivered    {:.2} s ({:.2} s after the last registration)",
        live.as_secs_f64(),
        (live - registering).as_secs_f64()
    );
    println!(
        "  live deliveries/s      {:.0}",
        live_target as f64 / live.as_secs_f64()
    );
    println!(
        "  replay deliveries/s    {:.0} ({} in {:.2} s)",
        live_target as f64 / replay.as_secs_f64(),
        live_target,
        replay.as_secs_f64()
    );
    Ok(())
}
