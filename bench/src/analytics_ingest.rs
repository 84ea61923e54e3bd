//! Analytics ingestion beside a bare `rdkafka` consume loop on the same
//! topic: M activity messages (attendees entering an area, staying in it
//! and leaving, over E events) are published to a fresh Kafka topic; then
//! a consumer with analytics' own consumer settings reads them all and does
//! nothing else ("bare"), and the analytics consumer (`analytics::run`, on a
//! database of its own made for the run) applies them all ("analytics").
//! Each prints messages per second; the target is analytics at half
//! the bare rate or more.
//!
//!     cargo run --release -p convene-bench --bin analytics-ingest -- --brokers 127.0.0.1:19092 --messages 20000

use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use chrono::Utc;
use clap::Parser;
use futures::stream::{self, StreamExt};
use protocol::events::{AreaVisit, Envelope, Fact, Topic};
use protocol::ids::{AttendeeId, ConnectionId, DomainEventId, EventId, OrgId};
use protocol::Area;
use rdkafka::consumer::StreamConsumer;
use sqlx::{Connection, PgConnection, PgPool};
use tokio::sync::watch;

/// Command-line options.
#[derive(Parser, Debug)]
struct Args {
    /// The Kafka-protocol broker.
    #[arg(long, default_value = "127.0.0.1:19092")]
    brokers: String,
    /// A PostgreSQL server (no database): the run makes a database of its own.
    #[arg(long, default_value = "postgres://postgres:postgres@127.0.0.1:5432")]
    database_url: String,
    /// Messages to publish and consume.
    #[arg(long, default_value_t = 20_000)]
    messages: usize,
    /// Events the messages are spread over (the topic's partition key).
    #[arg(long, default_value_t = 8)]
    events: usize,
}

/// A visit's messages: entered, still there (a minute apart), left.
fn visit(org: OrgId, event: EventId, still: usize) -> Vec<Envelope> {
    let (attendee, conn) = (AttendeeId::new(), ConnectionId::new());
    let at = Utc::now();
    let v = || AreaVisit {
        attendee_id: attendee,
        area: Area::Reception,
        connection_id: conn,
    };
    let mut facts = vec![Fact::AttendeeEnteredArea(v())];
    facts.extend((0..still).map(|_| Fact::AttendeeStillInArea(v())));
    facts.push(Fact::AttendeeLeftArea(v()));
    facts
        .into_iter()
        .enumerate()
        .map(|(i, fact)| Envelope {
            id: DomainEventId::new(),
            version: 1,
            occurred_at: at + chrono::TimeDelta::minutes(i as i64),
            org_id: org,
            event_id: event,
            fact,
        })
        .collect()
}

/// Reads `n` messages with `consumer`; the time from the first poll to the last.
async fn drain(consumer: &StreamConsumer, n: usize) -> Result<Duration> {
    let started = Instant::now();
    for i in 0..n {
        match tokio::time::timeout(Duration::from_secs(60), consumer.recv()).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => bail!("consuming: {e}"),
            Err(_) => bail!("stalled at {i} of {n} messages"),
        }
    }
    Ok(started.elapsed())
}

/// Waits until analytics holds `n` activity rows (entries and leaves); the
/// time it took.
async fn applied(pool: &PgPool, n: usize, started: Instant) -> Result<Duration> {
    let (mut last, mut since) = (0i64, Instant::now());
    loop {
        let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM analytics.activity_facts")
            .fetch_one(pool)
            .await?;
        if rows as usize >= n {
            return Ok(started.elapsed());
        }
        if rows != last {
            (last, since) = (rows, Instant::now());
        } else if since.elapsed() > Duration::from_secs(60) {
            bail!("analytics stalled at {rows} of {n} activity rows");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn rate(n: usize, took: Duration) -> f64 {
    n as f64 / took.as_secs_f64()
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let run = format!("bench_ingest_{}", Utc::now().timestamp_millis());
    let settings = bus::KafkaSettings {
        brokers: args.brokers.clone(),
        topic_prefix: format!("{run}-"),
        partitions: 4,
        client: Default::default(),
    };
    let bus = bus::Bus::kafka(settings).await?;
    bus.ensure_topics().await?;
    let bus::Bus::Kafka(kafka) = &bus else {
        unreachable!("made as a Kafka bus")
    };

    // The log: whole visits of 5 messages each (M rounded up), spread over
    // the events. Each visit's entry and leave become an activity row, its
    // heartbeats only move its stay; the leave comes last, after the rest of
    // its event's messages, so when every leave is in, everything is.
    let org = OrgId::new();
    let events: Vec<EventId> = (0..args.events.max(1)).map(|_| EventId::new()).collect();
    let mut log = Vec::with_capacity(args.messages + 5);
    let mut visits = 0;
    while log.len() < args.messages {
        let event = events[visits % events.len()];
        log.extend(visit(org, event, 3));
        visits += 1;
    }
    let n = log.len();
    let rows = 2 * visits;
    let published = Instant::now();
    let sent: Vec<Result<(), bus::Error>> = stream::iter(log)
        .map(|env| {
            let kafka = kafka.clone();
            async move {
                let payload = serde_json::to_vec(&env).expect("an envelope serialises");
                kafka
                    .publish(
                        Topic::Activity.as_str(),
                        &env.event_id.to_string(),
                        &payload,
                    )
                    .await
            }
        })
        .buffer_unordered(256)
        .collect()
        .await;
    if let Some(Err(e)) = sent.into_iter().find(Result::is_err) {
        bail!("publishing: {e}");
    }
    let publish_took = published.elapsed();

    // Bare: analytics' consumer settings, nothing done with a message.
    let bare = kafka.member("bare", &[Topic::Activity])?;
    let bare_took = drain(&bare, n).await?;
    drop(bare);

    // Analytics, on a database of its own.
    let mut admin = PgConnection::connect(&format!("{}/postgres", args.database_url))
        .await
        .context("connecting to PostgreSQL")?;
    sqlx::query(&format!("CREATE DATABASE {run}"))
        .execute(&mut admin)
        .await?;
    let pool = PgPool::connect(&format!("{}/{run}", args.database_url)).await?;
    analytics::migrate_own(&pool).await?;
    let (stop, stopped) = watch::channel(false);
    let started = Instant::now();
    let worker = tokio::spawn(analytics::run(
        pool.clone(),
        pool.clone(),
        bus.clone(),
        stopped,
    ));
    let analytics_took = applied(&pool, rows, started).await;
    let _ = stop.send(true);
    let _ = worker.await;
    pool.close().await;
    sqlx::query(&format!("DROP DATABASE {run} WITH (FORCE)"))
        .execute(&mut admin)
        .await?;
    let analytics_took = analytics_took?;

    let (bare_rate, analytics_rate) = (rate(n, bare_took), rate(n, analytics_took));
    println!("messages: {n} over {} events", events.len());
    println!(
        "published in {:.2} s ({:.0}/s)",
        publish_took.as_secs_f64(),
        rate(n, publish_took)
    );
    println!(
        "bare rdkafka loop: {:.2} s, {bare_rate:.0} messages/s",
        bare_took.as_secs_f64()
    );
    println!(
        "analytics:         {:.2} s, {analytics_rate:.0} messages/s ({:.0} % of bare)",
        analytics_took.as_secs_f64(),
        100.0 * analytics_rate / bare_rate
    );
    Ok(())
}
