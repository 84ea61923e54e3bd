//! WebSocket load: C attendees connected to one event's live socket, chatting in
//! the Reception channel at M messages/s in total. Prints delivered messages/s,
//! end-to-end latency percentiles (send → receipt on every socket) and, given
//! the server's pid, its memory per connection.
//!
//!     cargo run --release -p convene-bench --bin ws-load -- --base-url http://127.0.0.1:3000 \
//!         --clients 500 --rate 50 --seconds 20 --server-pid $(pgrep -f 'convene all')

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use clap::Parser;
use convene_bench::{ok, organiser_with_event, simulated_address, Register};
use futures::{SinkExt, StreamExt};
use protocol::live::{ClientMsg, LiveItem, ServerMsg, PROTOCOL_VERSION};
use protocol::Channel;
use tokio::sync::Mutex;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use uuid::Uuid;

/// Command-line options.
#[derive(Parser, Debug)]
struct Args {
    /// Server base URL.
    #[arg(long, default_value = "http://127.0.0.1:3000")]
    base_url: String,
    /// Connected attendees.
    #[arg(long, default_value_t = 200)]
    clients: usize,
    /// Chat messages per second, in total.
    #[arg(long, default_value_t = 20)]
    rate: u64,
    /// Seconds of sending.
    #[arg(long, default_value_t = 15)]
    seconds: u64,
    /// Pid of the server, to report its memory per connection.
    #[arg(long)]
    server_pid: Option<u32>,
}

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn now_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_micros() as u64
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// Registers an attendee and signs them in; returns their cookie.
async fn attendee(base: &str, slug: &str, i: usize) -> Result<String> {
    // Each attendee from an address of its own (see `simulated_address`).
    let mut from = reqwest::header::HeaderMap::new();
    from.insert("x-forwarded-for", simulated_address(i).parse()?);
    let c = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .default_headers(from)
        .build()?;
    let email = format!("load-{i}-{}@example.org", Uuid::new_v4().simple());
    let name = format!("Load{i}");
    let b = ok::<Register>(
        &c,
        base,
        &[("slug", slug), ("name", &name), ("email", &email)],
    )
    .await?;
    let token = b["sign_in_link"]
        .as_str()
        .and_then(|l| l.split("token=").nth(1))
        .context("no sign-in link")?;
    let res = c
        .post(format!("{base}/e/{slug}/join"))
        .form(&[("token", token)])
        .send()
        .await?;
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("convene_attendee="))
        .and_then(|v| v.split(';').next())
        .map(str::to_owned)
        .context("no attendee cookie")
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let base = args.base_url.trim_end_matches('/').to_owned();
    let (_org, slug) = organiser_with_event(&base, "ws").await?;
    eprintln!("registering {} attendees…", args.clients);
    let cookies: Vec<String> = futures::stream::iter(0..args.clients)
        .map(|i| attendee(&base, &slug, i))
        .buffer_unordered(16)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_>>()?;

    let rss_before = args.server_pid.and_then(rss_kib);
    let ws_base = base.replacen("http", "ws", 1);
    let url = format!("{ws_base}/ws/e/{slug}?v={PROTOCOL_VERSION}");
    eprintln!("connecting {} sockets…", cookies.len());
    let mut sockets = Vec::with_capacity(cookies.len());
    for cookie in &cookies {
        let mut req = url.as_str().into_client_request()?;
        req.headers_mut().insert("cookie", cookie.parse()?);
        let (ws, _) = tokio_tungstenite::connect_async(req).await?;
        sockets.push(ws);
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_after = args.server_pid.and_then(rss_kib);

    // Each sender stays under the chat rate limit (10 per 10 s): 0.8 messages/s each.
    let senders = ((args.rate as f64 * 1.25).ceil() as usize).clamp(1, sockets.len());
    let delivered = Arc::new(AtomicU64::new(0));
    let latencies = Arc::new(Mutex::new(Vec::<u64>::new()));
    let errors = Arc::new(AtomicU64::new(0));
    let mut writers = Vec::new();
    let mut readers = Vec::new();
    for ws in sockets {
        let (tx, mut rx) = ws.split();
        writers.push(tx);
        let (delivered, latencies, errors) = (delivered.clone(), latencies.clone(), errors.clone());
        readers.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            while let Some(Ok(msg)) = rx.next().await {
                let Message::Text(text) = msg else { continue };
                match serde_json::from_str::<ServerMsg>(&text) {
                    Ok(ServerMsg::Live {
                        item: LiveItem::Chat { msg },
                        ..
                    }) => {
                        if let Some(sent) = msg
                            .body
                            .strip_prefix("t:")
                            .and_then(|t| t.parse::<u64>().ok())
                        {
                            mine.push(now_micros().saturating_sub(sent));
                            delivered.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    Ok(ServerMsg::Error { .. }) => {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                    _ => {}
                }
            }
            latencies.lock().await.extend(mine);
        }));
    }
    let sent = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let per_sender = Duration::from_secs_f64(senders as f64 / args.rate as f64);
    let mut tasks = Vec::new();
    let mut others = Vec::new();
    for (i, mut w) in writers.into_iter().enumerate() {
        if i >= senders {
            others.push(w);
            continue;
        }
        let (sent, seconds) = (sent.clone(), args.seconds);
        tasks.push(tokio::spawn(async move {
            // Spread the senders over the interval.
            tokio::time::sleep(per_sender.mul_f64(i as f64 / senders as f64)).await;
            let mut tick = tokio::time::interval(per_sender);
            let end = Instant::now() + Duration::from_secs(seconds);
            while Instant::now() < end {
                tick.tick().await;
                let msg = ClientMsg::Chat {
                    channel: Channel::Reception,
                    body: format!("t:{}", now_micros()),
                };
                let text = serde_json::to_string(&msg).expect("a client message serialises");
                if w.send(Message::Text(text.into())).await.is_err() {
                    break;
                }
                sent.fetch_add(1, Ordering::Relaxed);
            }
            w
        }));
    }
    let mut writers = Vec::new();
    for t in tasks {
        writers.push(t.await?);
    }
    let elapsed = started.elapsed();
    // Let the last messages arrive: wait until deliveries stop growing for 2 s
    // (at most 60 s), so a saturated server's backlog is counted, not cut off.
    let drain_started = Instant::now();
    let mut last = delivered.load(Ordering::Relaxed);
    let mut quiet = Duration::ZERO;
    while quiet < Duration::from_secs(2) && drain_started.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let now = delivered.load(Ordering::Relaxed);
        if now == last {
            quiet += Duration::from_millis(250);
        } else {
            quiet = Duration::ZERO;
            last = now;
        }
    }
    let drained = drain_started.elapsed().saturating_sub(quiet);
    for mut w in writers.into_iter().chain(others) {
        let _ = w.close().await;
    }
    for r in readers {
        let _ = tokio::time::timeout(Duration::from_secs(5), r).await;
    }
    let mut lat = latencies.lock().await.clone();
    lat.sort_unstable();
    let sent = sent.load(Ordering::Relaxed);
    let delivered = delivered.load(Ordering::Relaxed);
    let refused = errors.load(Ordering::Relaxed);
    let expected = sent.saturating_sub(refused) * args.clients as u64;
    println!("clients            {}", args.clients);
    println!("senders            {senders} (under the chat rate limit of 10 per 10 s each)");
    println!(
        "messages sent      {sent} in {:.1} s ({:.1}/s)",
        elapsed.as_secs_f64(),
        sent as f64 / elapsed.as_secs_f64()
    );
    println!(
        "deliveries         {delivered} of {expected} expected ({:.2} %)",
        100.0 * delivered as f64 / expected.max(1) as f64
    );
    println!(
        "delivered msgs/s   {:.0} (sending time plus {:.1} s to drain)",
        delivered as f64 / (elapsed + drained).as_secs_f64(),
        drained.as_secs_f64()
    );
    println!(
        "latency p50        {:.1} ms",
        percentile(&lat, 0.50) as f64 / 1000.0
    );
    println!(
        "latency p99        {:.1} ms",
        percentile(&lat, 0.99) as f64 / 1000.0
    );
    println!(
        "latency max        {:.1} ms",
        lat.last().copied().unwrap_or(0) as f64 / 1000.0
    );
    println!("refusals           {refused}");
    if let (Some(a), Some(b)) = (rss_before, rss_after) {
        println!(
            "server memory/conn {:.1} KiB (RSS {a} → {b} KiB)",
            b.saturating_sub(a) as f64 / args.clients as f64
        );
    }
    Ok(())
}
