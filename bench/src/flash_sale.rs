//! Flash sale: N concurrent buyers against a running Convene server for a quota Q.
//! Sets up its own organiser, event and ticket type, then prints orders/s,
//! latency percentiles and the oversold count (which must be 0).
//!
//!     cargo run --release -p convene-bench --bin flash-sale -- --base-url http://127.0.0.1:3000 --buyers 2000 --quota 500 --concurrency 64

use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Parser;
use convene_bench::{
    call_from, ok, organiser_with_event, percentile, simulated_address, CreateTicketType,
    EventOverview, PublicEvent, Register,
};
use futures::stream::{self, StreamExt};
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

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let base = args.base_url.trim_end_matches('/').to_owned();
    let (org, slug) = organiser_with_event(&base, "flash").await?;
    let quota = args.quota.to_string();
    ok::<CreateTicketType>(
        &org,
        &base,
        &[
            ("slug", &slug),
            ("name", "Flash"),
            ("quota", &quota),
            ("max_per_order", "1"),
        ],
    )
    .await?;
    let page = ok::<PublicEvent>(&org, &base, &[("slug", &slug)]).await?;
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
                let from = simulated_address(i);
                let t = Instant::now();
                match call_from::<Register>(client, base, Some(&from), &form).await {
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
    let overview = convene_bench::ok::<EventOverview>(&org, &base, &[("slug", &slug)]).await?;
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
