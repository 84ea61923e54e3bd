//! What the load tools share: calling server functions by the paths Leptos
//! generates for them, and setting up an organiser on the biggest plan with an
//! event to load.

use std::time::Duration;

use anyhow::{bail, Result};
use leptos::server_fn::ServerFn;
use serde_json::Value;
use uuid::Uuid;

/// The server functions the tools call.
pub use app::checkout::BuyPlan;
pub use app::organiser::auth::Signup;
pub use app::organiser::dashboard::CreateEvent;
pub use app::organiser::event::{CreateTicketType, EventOverview};
pub use app::registration::{PublicEvent, Register};

/// Simulated client address number `i` (10.x.y.z). The tools send it as
/// `X-Forwarded-For` and `bench/run.sh` starts the server trusting 127.0.0.1
/// as a proxy, so each simulated person counts as their own address for the
/// per-address rate limits, as real buyers behind a load balancer do.
pub fn simulated_address(i: usize) -> String {
    format!("10.{}.{}.{}", (i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff)
}

/// Calls server function `S` with form fields; returns status and JSON body.
pub async fn call<S: ServerFn>(
    client: &reqwest::Client,
    base: &str,
    form: &[(&str, &str)],
) -> Result<(u16, Value)> {
    call_from::<S>(client, base, None, form).await
}

/// Like [`call`], for a simulated client address (see [`simulated_address`]).
pub async fn call_from<S: ServerFn>(
    client: &reqwest::Client,
    base: &str,
    forwarded_for: Option<&str>,
    form: &[(&str, &str)],
) -> Result<(u16, Value)> {
    let mut req = client.post(format!("{base}{}", S::PATH)).form(form);
    if let Some(addr) = forwarded_for {
        req = req.header("x-forwarded-for", addr);
    }
    let res = req.send().await?;
    let status = res.status().as_u16();
    let text = res.text().await?;
    Ok((
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    ))
}

/// Calls `S` and fails unless it answers 200.
pub async fn ok<S: ServerFn>(
    client: &reqwest::Client,
    base: &str,
    form: &[(&str, &str)],
) -> Result<Value> {
    let (s, b) = call::<S>(client, base, form).await?;
    if s != 200 {
        bail!("{} failed: {s} {b}", S::PATH);
    }
    Ok(b)
}

/// A new organiser on the Growth plan (no limits get in the way of a load
/// test) and a new event of theirs; returns the organiser's client and the slug.
pub async fn organiser_with_event(base: &str, tag: &str) -> Result<(reqwest::Client, String)> {
    let org = reqwest::Client::builder().cookie_store(true).build()?;
    let run = Uuid::new_v4().simple().to_string();
    let email = format!("{tag}-{run}@example.org");
    ok::<Signup>(
        &org,
        base,
        &[
            ("name", "Bench"),
            ("organisation", "Bench"),
            ("email", &email),
            ("password", "bench password 1"),
        ],
    )
    .await?;
    ok::<BuyPlan>(
        &org,
        base,
        &[("plan", "growth"), ("card_number", "4242424242424242")],
    )
    .await?;
    let slug = format!("{tag}-{}", &run[..12]);
    ok::<CreateEvent>(
        &org,
        base,
        &[
            ("name", "Load test"),
            ("slug", &slug),
            ("description", ""),
            ("starts", "2030-01-01T09:00"),
            ("ends", "2030-01-01T17:00"),
            ("time_zone", "UTC"),
        ],
    )
    .await?;
    Ok((org, slug))
}

/// The `p` quantile of sorted durations.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

/// CPU time (user + system) of this process's finished children, seconds
/// (`cutime` and `cstime` of `/proc/self/stat`).
pub fn children_cpu() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
        return f64::NAN;
    };
    let f: Vec<&str> = rest.split_whitespace().collect();
    // After the name, state is field 3; cutime is 16 and cstime 17.
    let n = |i: usize| {
        f.get(i - 3)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (n(16) + n(17)) / 100.0
}
