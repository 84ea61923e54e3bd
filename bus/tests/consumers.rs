//! The bus loses nothing, on Kafka and on the embedded log: messages published
//! while no consumer runs wait for it; a consumer killed mid-stream and
//! restarted processes everything; a failing handler is retried and nothing
//! after it is processed first. Every message is processed, none counted twice.
//!
//! Real PostgreSQL (a fresh database per test) and a real Kafka-protocol broker
//! (topics under a unique prefix per test).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bus::relay::relay_once;
use bus::{Bus, KafkaSettings};
use protocol::events::{Envelope, Fact, OrderRefunded, Topic};
use protocol::ids::{DomainEventId, EventId, OrderId, OrgId};
use sqlx::migrate::MigrateDatabase;
use sqlx::PgPool;
use tokio::sync::watch;
use uuid::Uuid;

#[derive(Clone, Copy, Debug)]
enum Mode {
    Kafka,
    Log,
}

struct Ctx {
    pool: PgPool,
    bus: Bus,
    event: EventId,
    org: OrgId,
}

fn env_or(key: &str, default: &str) -> String {
    std::env::var(key).unwrap_or_else(|_| default.to_owned())
}

async fn setup(mode: Mode) -> Ctx {
    let base = env_or(
        "CONVENE_TEST_DATABASE_URL",
        "postgres://postgres:postgres@127.0.0.1:5432",
    );
    let url = format!(
        "{}/convene_test_{}",
        base.trim_end_matches('/'),
        Uuid::new_v4().simple()
    );
    sqlx::Postgres::create_database(&url).await.unwrap();
    let pool = PgPool::connect(&url).await.unwrap();
    sqlx::migrate!("../migrations").run(&pool).await.unwrap();
    // What the test handler saw: one row per message (idempotent), in the order processed.
    sqlx::query(
        "CREATE TABLE seen (message_id uuid PRIMARY KEY, seq bigint NOT NULL, n bigserial NOT NULL)",
    )
    .execute(&pool)
    .await
    .unwrap();
    let bus = match mode {
        Mode::Log => Bus::embedded(),
        Mode::Kafka => Bus::kafka(KafkaSettings {
            brokers: env_or("CONVENE_TEST_KAFKA", "127.0.0.1:19092"),
            topic_prefix: format!("b{}.", Uuid::new_v4().simple()),
            partitions: 3,
            client: Default::default(),
        })
        .await
        .unwrap(),
    };
    // The broker does not create topics; the relay would.
    bus.ensure_topics().await.unwrap();
    Ctx {
        pool,
        bus,
        event: EventId::new(),
        org: OrgId::new(),
    }
}

/// Publishes messages `seqs` (their sequence number travels as the amount).
async fn publish(ctx: &Ctx, seqs: std::ops::Range<i64>) {
    let mut tx = ctx.pool.begin().await.unwrap();
    for seq in seqs {
        let env = Envelope {
            id: DomainEventId::new(),
            version: 1,
            occurred_at: chrono::Utc::now(),
            org_id: ctx.org,
            event_id: ctx.event,
            fact: Fact::OrderRefunded(OrderRefunded {
                order_id: OrderId::new(),
                amount_minor: seq,
                currency: "EUR".into(),
            }),
        };
        bus::outbox::append(&mut tx, &env).await.unwrap();
    }
    tx.commit().await.unwrap();
    while relay_once(&ctx.pool, &ctx.bus, 100).await.unwrap() > 0 {}
}

fn seq_of(env: &Envelope) -> i64 {
    match &env.fact {
        Fact::OrderRefunded(r) => r.amount_minor,
        other => panic!("unexpected {other:?}"),
    }
}

/// Starts a consumer that records each message in `seen`; `fail` decides,
/// per (seq, attempt), whether the handler fails; `calls` counts invocations.
fn start(
    ctx: &Ctx,
    delay: Duration,
    calls: Arc<AtomicUsize>,
    fail: fn(i64, usize) -> bool,
) -> (
    watch::Sender<bool>,
    tokio::task::JoinHandle<bus::Result<()>>,
) {
    let consumer = ctx
        .bus
        .consumer(&ctx.pool, "test-consumer", &[Topic::Registrations])
        .unwrap();
    let pool = ctx.pool.clone();
    let attempts = Arc::new(std::sync::Mutex::new(
        std::collections::HashMap::<i64, usize>::new(),
    ));
    let (stop, rx) = watch::channel(false);
    let task = tokio::spawn(consumer.run(rx, move |env| {
        let (pool, calls, attempts) = (pool.clone(), calls.clone(), attempts.clone());
        async move {
            calls.fetch_add(1, Ordering::SeqCst);
            let seq = seq_of(&env);
            let attempt = {
                let mut a = attempts.lock().unwrap();
                let n = a.entry(seq).or_default();
                *n += 1;
                *n
            };
            tokio::time::sleep(delay).await;
            if fail(seq, attempt) {
                return Err(format!(
                    "injected failure of message {seq}, attempt {attempt}"
                ));
            }
            sqlx::query(
                "INSERT INTO seen (message_id, seq) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            )
            .bind(env.id)
            .bind(seq)
            .execute(&pool)
            .await
            .map_err(|e| e.to_string())?;
            Ok(())
        }
    }));
    (stop, task)
}

fn never(_: i64, _: usize) -> bool {
    false
}

async fn seen(ctx: &Ctx) -> Vec<i64> {
    sqlx::query_scalar("SELECT seq FROM seen ORDER BY n")
        .fetch_all(&ctx.pool)
        .await
        .unwrap()
}

async fn wait_seen(ctx: &Ctx, n: usize) -> Vec<i64> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let s = seen(ctx).await;
        if s.len() >= n {
            return s;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {} of {n} messages processed",
            s.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn published_while_no_consumer_runs_waits_for_it(mode: Mode) {
    let ctx = setup(mode).await;
    publish(&ctx, 0..20).await;
    let calls = Arc::new(AtomicUsize::new(0));
    let (stop, task) = start(&ctx, Duration::ZERO, calls.clone(), never);
    assert_eq!(wait_seen(&ctx, 20).await, (0..20).collect::<Vec<_>>());
    stop.send(true).unwrap();
    task.await.unwrap().unwrap();
    assert_eq!(
        calls.load(Ordering::SeqCst),
        20,
        "each message handled once"
    );
    // A restarted member of the group resumes after what was processed.
    publish(&ctx, 20..25).await;
    let (stop, task) = start(&ctx, Duration::ZERO, calls.clone(), never);
    assert_eq!(wait_seen(&ctx, 25).await, (0..25).collect::<Vec<_>>());
    stop.send(true).unwrap();
    task.await.unwrap().unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 25, "nothing handled again");
}

async fn a_consumer_killed_mid_stream_loses_nothing(mode: Mode) {
    let ctx = setup(mode).await;
    publish(&ctx, 0..40).await;
    let calls = Arc::new(AtomicUsize::new(0));
    let (_stop, task) = start(&ctx, Duration::from_millis(20), calls.clone(), never);
    let before = wait_seen(&ctx, 10).await;
    task.abort(); // no clean shutdown: nothing more is stored or committed
    let _ = task.await;
    assert!(
        before.len() < 40,
        "killed before the end ({} done)",
        before.len()
    );
    publish(&ctx, 40..45).await;
    let (stop, task) = start(&ctx, Duration::ZERO, calls.clone(), never);
    let all = wait_seen(&ctx, 45).await;
    // Exactly once in effect: every message recorded once, in order.
    assert_eq!(all, (0..45).collect::<Vec<_>>());
    stop.send(true).unwrap();
    task.await.unwrap().unwrap();
    let handled = calls.load(Ordering::SeqCst);
    assert!(
        handled >= 45,
        "every message reached a handler ({handled} calls; redeliveries after the kill are expected)"
    );
}

fn third_message_fails_three_times(seq: i64, attempt: usize) -> bool {
    seq == 3 && attempt <= 3
}

async fn a_failing_handler_is_retried_before_anything_later(mode: Mode) {
    let ctx = setup(mode).await;
    publish(&ctx, 0..10).await;
    let calls = Arc::new(AtomicUsize::new(0));
    let (stop, task) = start(
        &ctx,
        Duration::ZERO,
        calls.clone(),
        third_message_fails_three_times,
    );
    assert_eq!(wait_seen(&ctx, 10).await, (0..10).collect::<Vec<_>>());
    stop.send(true).unwrap();
    task.await.unwrap().unwrap();
    assert_eq!(
        calls.load(Ordering::SeqCst),
        10 + 3,
        "three retries of message 3"
    );
}

#[tokio::test]
async fn log_published_while_no_consumer_runs_waits_for_it() {
    published_while_no_consumer_runs_waits_for_it(Mode::Log).await;
}

#[tokio::test]
async fn kafka_published_while_no_consumer_runs_waits_for_it() {
    published_while_no_consumer_runs_waits_for_it(Mode::Kafka).await;
}

#[tokio::test]
async fn log_a_consumer_killed_mid_stream_loses_nothing() {
    a_consumer_killed_mid_stream_loses_nothing(Mode::Log).await;
}

#[tokio::test]
async fn kafka_a_consumer_killed_mid_stream_loses_nothing() {
    a_consumer_killed_mid_stream_loses_nothing(Mode::Kafka).await;
}

#[tokio::test]
async fn log_a_failing_handler_is_retried_before_anything_later() {
    a_failing_handler_is_retried_before_anything_later(Mode::Log).await;
}

#[tokio::test]
async fn kafka_a_failing_handler_is_retried_before_anything_later() {
    a_failing_handler_is_retried_before_anything_later(Mode::Kafka).await;
}

/// The log's sequencer numbers only committed rows: a transaction that commits
/// after a later one gets a later position, so a consumer that already passed
/// the later one still sees it.
#[tokio::test]
async fn log_positions_follow_commit_order_not_insert_order() {
    let ctx = setup(Mode::Log).await;
    let env = |seq| Envelope {
        id: DomainEventId::new(),
        version: 1,
        occurred_at: chrono::Utc::now(),
        org_id: ctx.org,
        event_id: ctx.event,
        fact: Fact::OrderRefunded(OrderRefunded {
            order_id: OrderId::new(),
            amount_minor: seq,
            currency: "EUR".into(),
        }),
    };
    // The first transaction takes the lower outbox id but commits last.
    let mut slow = ctx.pool.begin().await.unwrap();
    bus::outbox::append(&mut slow, &env(1)).await.unwrap();
    let mut fast = ctx.pool.begin().await.unwrap();
    bus::outbox::append(&mut fast, &env(2)).await.unwrap();
    fast.commit().await.unwrap();
    assert_eq!(relay_once(&ctx.pool, &ctx.bus, 100).await.unwrap(), 1);
    let calls = Arc::new(AtomicUsize::new(0));
    let (stop, task) = start(&ctx, Duration::ZERO, calls.clone(), never);
    assert_eq!(wait_seen(&ctx, 1).await, vec![2]);
    slow.commit().await.unwrap();
    assert_eq!(relay_once(&ctx.pool, &ctx.bus, 100).await.unwrap(), 1);
    assert_eq!(
        wait_seen(&ctx, 2).await,
        vec![2, 1],
        "the late commit is not skipped"
    );
    stop.send(true).unwrap();
    task.await.unwrap().unwrap();
}

#[tokio::test]
async fn log_purge_keeps_what_a_consumer_still_needs_and_the_highest_position() {
    let ctx = setup(Mode::Log).await;
    publish(&ctx, 0..10).await;
    let positions: Vec<i64> = sqlx::query_scalar("SELECT position FROM outbox ORDER BY position")
        .fetch_all(&ctx.pool)
        .await
        .unwrap();
    assert_eq!(positions.len(), 10);
    // Relayed long ago; one group has handled the first six.
    sqlx::query("UPDATE outbox SET published_at = now() - interval '8 days'")
        .execute(&ctx.pool)
        .await
        .unwrap();
    sqlx::query("INSERT INTO bus_offsets (consumer_group, position) VALUES ('g', $1)")
        .bind(positions[5])
        .execute(&ctx.pool)
        .await
        .unwrap();
    let week = 7 * 24 * 3600;
    assert_eq!(bus::outbox::purge(&ctx.pool, week).await.unwrap(), 5);
    let left: Vec<i64> = sqlx::query_scalar("SELECT position FROM outbox ORDER BY position")
        .fetch_all(&ctx.pool)
        .await
        .unwrap();
    assert_eq!(
        left,
        positions[5..].to_vec(),
        "the group's last message onwards stays"
    );
    // Everyone has passed everything: only the highest stays, and the next
    // message is numbered above it.
    sqlx::query("UPDATE bus_offsets SET position = $1")
        .bind(positions[9])
        .execute(&ctx.pool)
        .await
        .unwrap();
    assert_eq!(bus::outbox::purge(&ctx.pool, week).await.unwrap(), 4);
    publish(&ctx, 10..11).await;
    let after: Vec<i64> = sqlx::query_scalar("SELECT position FROM outbox ORDER BY position")
        .fetch_all(&ctx.pool)
        .await
        .unwrap();
    assert_eq!(after.len(), 2);
    assert_eq!(after[0], positions[9]);
    assert!(after[1] > positions[9], "{after:?}");
}

/// Batches: every message once, in order, in batches of at most
/// `MAX_BATCH`; a failing batch is retried whole and nothing after it goes
/// first; a restarted member handles nothing again.
async fn batches_are_whole_in_order_and_retried_whole(mode: Mode) {
    let ctx = setup(mode).await;
    publish(&ctx, 0..450).await;
    // (batch size, seqs) per call, in the order handled.
    let calls: Arc<std::sync::Mutex<Vec<Vec<i64>>>> = Arc::default();
    let run = |ctx: &Ctx, calls: Arc<std::sync::Mutex<Vec<Vec<i64>>>>| {
        let consumer = ctx
            .bus
            .consumer(&ctx.pool, "test-batches", &[Topic::Registrations])
            .unwrap();
        let pool = ctx.pool.clone();
        let (stop, rx) = watch::channel(false);
        let task = tokio::spawn(consumer.run_batches(rx, move |envs: Vec<Envelope>| {
            let (pool, calls) = (pool.clone(), calls.clone());
            async move {
                let seqs: Vec<i64> = envs.iter().map(seq_of).collect();
                let tries = {
                    let mut c = calls.lock().unwrap();
                    c.push(seqs.clone());
                    c.iter().filter(|b| b.contains(&250)).count()
                };
                if seqs.contains(&250) && tries <= 2 {
                    return Err(format!(
                        "injected failure of the batch holding 250, try {tries}"
                    ));
                }
                let mut tx = pool.begin().await.map_err(|e| e.to_string())?;
                for env in &envs {
                    sqlx::query(
                        "INSERT INTO seen (message_id, seq) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                    )
                    .bind(env.id)
                    .bind(seq_of(env))
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| e.to_string())?;
                }
                tx.commit().await.map_err(|e| e.to_string())?;
                Ok::<(), String>(())
            }
        }));
        (stop, task)
    };
    let (stop, task) = run(&ctx, calls.clone());
    assert_eq!(wait_seen(&ctx, 450).await, (0..450).collect::<Vec<_>>());
    stop.send(true).unwrap();
    task.await.unwrap().unwrap();
    let handled = calls.lock().unwrap().clone();
    assert!(handled
        .iter()
        .all(|b| !b.is_empty() && b.len() <= bus::consumer::MAX_BATCH));
    let holding: Vec<&Vec<i64>> = handled.iter().filter(|b| b.contains(&250)).collect();
    assert_eq!(
        holding.len(),
        3,
        "the failing batch, twice refused, then done"
    );
    assert!(
        holding.windows(2).all(|w| w[0] == w[1]),
        "retried whole: {holding:?}"
    );
    if let Mode::Log = mode {
        // What one query reads: two full batches and the rest.
        let sizes: Vec<usize> = handled.iter().map(Vec::len).collect();
        assert_eq!(sizes, [200, 200, 200, 200, 50]);
    }
    // A restarted member: nothing handled again.
    publish(&ctx, 450..455).await;
    let again: Arc<std::sync::Mutex<Vec<Vec<i64>>>> = Arc::default();
    let (stop, task) = run(&ctx, again.clone());
    assert_eq!(wait_seen(&ctx, 455).await, (0..455).collect::<Vec<_>>());
    stop.send(true).unwrap();
    task.await.unwrap().unwrap();
    let again: Vec<i64> = again.lock().unwrap().concat();
    assert_eq!(again, (450..455).collect::<Vec<_>>());
}

#[tokio::test]
async fn log_batches_are_whole_in_order_and_retried_whole() {
    batches_are_whole_in_order_and_retried_whole(Mode::Log).await;
}

#[tokio::test]
async fn kafka_batches_are_whole_in_order_and_retried_whole() {
    batches_are_whole_in_order_and_retried_whole(Mode::Kafka).await;
}
