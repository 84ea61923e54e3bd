//! Flash sale: N concurrent buyers against a running Convene server for a quota Q.
//! Sets up its own organiser, event and ticket type, then prints orders/s,
//! latency percentiles and the oversold count (which must be 0).
//!
//!     cargo run --release -p convene-bench --bin flash-sale -- --base-url http://127.0.0.1:3000 --buyers 2000 --quota 500 --concurrency 64

use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Parser;
use futures::stream::{self, StreamExt};
use serde_json::Value;
use uuid::Uuid;

/// Command-line options.
#[derive(Parser, Debug)]
struct Args {
    /// Server base URL.
    #[arg(long, default_value = "http://127.0.0.1:3000")]
    base_url: String,
    /// Number of buyers (one ticket each).
    #[arg(long, default_value_t = 1000)]
    buyers: usize,
    /// Seats in the quota.
    #[arg(long, default_value_t = 100)]
    quota: usize,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
}

async fn call(
    client: &reqwest::Client,
    base: &str,
    endpoint: &str,
    form: &[(&str, &str)],
) -> Result<(u16, Value)> {
    let res = client
        .post(format!("{base}/api/{endpoint}"))
        .form(form)
        .send()
        .await?;
    let status = res.status().as_u16();
    let text = res.text().await?;
    Ok((
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    ))
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let base = args.base_url.trim_end_matches('/').to_owned();
    let run = Uuid::new_v4().simple().to_string();

    // Setup: organiser, event, ticket type with the quota.
    let org = reqwest::Client::builder().cookie_store(true).build()?;
    let email = format!("bench-{run}@example.org");
    let (s, b) = call(
        &org,
        &base,
        "signup",
        &[
            ("name", "Bench"),
            ("organisation", "Bench"),
            ("email", &email),
            ("password", "bench password 1"),
        ],
    )
    .await?;
    if s != 200 {
        bail!("signup failed: {s} {b}");
    }
    // The Free plan caps registrations; a flash sale needs the biggest plan.
    let (s, b) = call(
        &org,
        &base,
        "buy_plan",
        &[("plan", "growth"), ("card_number", "4242424242424242")],
    )
    .await?;
    if s != 200 {
        bail!("buy_plan failed: {s} {b}");
    }
    let slug = format!("flash-{}", &run[..12]);
    let event = [
        ("name", "Flash sale"),
        ("slug", slug.as_str()),
        ("description", ""),
        ("starts", "2030-01-01T10:00"),
        ("ends", "2030-01-01T18:00"),
        ("time_zone", "UTC"),
    ];
    let (s, b) = call(&org, &base, "create_event", &event).await?;
    if s != 200 {
        bail!("create_event failed: {s} {b}");
    }
    let quota = args.quota.to_string();
    let (s, b) = call(
        &org,
        &base,
        "create_ticket_type",
        &[
            ("slug", &slug),
            ("name", "Flash"),
            ("quota", &quota),
            ("max_per_order", "1"),
        ],
    )
    .await?;
    if s != 200 {
        bail!("create_ticket_type failed: {s} {b}");
    }
    let (_, page) = call(&org, &base, "public_event", &[("slug", &slug)]).await?;
    let tt = page["offers"]
        .as_array()
        .and_then(|o| o.iter().find(|o| o["name"] == "Flash"))
        .and_then(|o| o["id"].as_str())
        .context("ticket type not listed")?
        .to_owned();

    // The sale.
    let buyers = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency)
        .build()?;
    let started = Instant::now();
    let results: Vec<(u16, String, Duration)> = stream::iter(0..args.buyers)
        .map(|i| {
            let (client, base, slug, tt) = (&buyers, &base, &slug, &tt);
            async move {
                let email = format!("buyer-{i}-{}@example.org", Uuid::new_v4().simple());
                let key = Uuid::new_v4().simple().to_string();
                let form = [
                    ("slug", slug.as_str()),
                    ("name", "Buyer"),
                    ("email", &email),
                    ("ticket_type_id", tt),
                    ("quantity", "1"),
                    ("idempotency_key", &key),
                ];
                let t = Instant::now();
                match call(client, base, "register", &form).await {
                    Ok((s, b)) => (
                        s,
                        b["message"].as_str().unwrap_or_default().to_owned(),
                        t.elapsed(),
                    ),
                    Err(e) => (0, e.to_string(), t.elapsed()),
                }
            }
        })
        .buffer_unordered(args.concurrency)
        .collect()
        .await;
    let wall = started.elapsed();

    let ok = results.iter().filter(|r| r.0 == 200).count();
    let sold_out = results
        .iter()
        .filter(|r| r.0 == 409 && r.1.starts_with("sold out"))
        .count();
    let errors = results.len() - ok - sold_out;
    let mut lat: Vec<Duration> = results.iter().map(|r| r.2).collect();
    lat.sort();
    let (_, overview) = call(&org, &base, "event_overview", &[("slug", &slug)]).await?;
    let sold_server = overview["tickets"]
        .as_array()
        .and_then(|t| t.iter().find(|t| t["name"] == "Flash"))
        .and_then(|t| t["sold"].as_i64())
        .unwrap_or(-1);
    let oversold = ok.saturating_sub(args.quota);

    println!(
        "flash-sale: buyers={} quota={} concurrency={}",
        args.buyers, args.quota, args.concurrency
    );
    println!("  orders ok         {ok}");
    println!("  sold out          {sold_out}");
    println!("  errors            {errors}");
    println!("  sold (server)     {sold_server}");
    println!("  oversold          {oversold}");
    println!("  wall time         {:.2} s", wall.as_secs_f64());
    println!(
        "  requests/s        {:.0}",
        results.len() as f64 / wall.as_secs_f64()
    );
    println!("  orders/s          {:.0}", ok as f64 / wall.as_secs_f64());
    println!(
        "  latency p50       {:.1} ms",
        percentile(&lat, 0.50).as_secs_f64() * 1000.0
    );
    println!(
        "  latency p99       {:.1} ms",
        percentile(&lat, 0.99).as_secs_f64() * 1000.0
    );
    println!(
        "  latency max       {:.1} ms",
        lat.last().copied().unwrap_or_default().as_secs_f64() * 1000.0
    );
    if errors > 0 {
        let sample: Vec<_> = results
            .iter()
            .filter(|r| r.0 != 200 && r.0 != 409)
            .take(3)
            .collect();
        println!("  error sample      {sample:?}");
    }
    if oversold > 0 || sold_server != ok as i64 {
        bail!(
            "OVERSOLD or inconsistent: ok={ok} server sold={sold_server} quota={}",
            args.quota
        );
    }
    Ok(())
}
