//! Outbox → Kafka → analytics, end to end, including consumer restarts.

use std::time::Duration;

use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::{ClientConfig, Message};
use services::bus::relay::relay_once;
use services::bus::{ActivityEnvelope, ACTIVITY_TOPIC};
use tokio::sync::watch;
use uuid::Uuid;

use crate::helpers::{spawn_app, spawn_web_only, TestApp};

async fn facts(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM analytics.activity_facts")
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

async fn register_many(app: &TestApp, slug: &str, n: usize) {
    for _ in 0..n {
        let (s, body) = app
            .register(slug, &format!("{}@example.org", Uuid::new_v4().simple()))
            .await;
        assert_eq!(s, 200, "{body}");
    }
}

async fn wait_facts(app: &TestApp, want: i64) {
    let pool = app.pool.clone();
    app.eventually(30, &format!("{want} analytics facts"), || {
        let pool = pool.clone();
        async move {
            let n: i64 = sqlx::query_scalar("SELECT count(*) FROM analytics.activity_facts")
                .fetch_one(&pool)
                .await
                .unwrap();
            n == want
        }
    })
    .await;
}

#[tokio::test]
async fn registrations_reach_the_organisers_figures_through_kafka() {
    let app = spawn_app().await;
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    register_many(&app, &slug, 3).await;
    let client = org.client.clone();
    let (base, slug2) = (app.base.clone(), slug.clone());
    app.eventually(30, "registrations in the organiser's figures", || {
        let (client, base, slug) = (client.clone(), base.clone(), slug2.clone());
        async move {
            let body: serde_json::Value = client
                .post(format!("{base}/api/event_overview"))
                .form(&[("slug", slug)])
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            body["registrations"] == 3
        }
    })
    .await;
    let unpublished: i64 =
        sqlx::query_scalar("SELECT count(*) FROM outbox WHERE published_at IS NULL")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(unpublished, 0);
}

#[tokio::test]
async fn messages_are_keyed_by_event_and_carry_the_envelope() {
    let app = spawn_web_only().await;
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    register_many(&app, &slug, 1).await;
    assert_eq!(relay_once(&app.pool, &app.deps.bus, 100).await.unwrap(), 1);
    assert_eq!(
        relay_once(&app.pool, &app.deps.bus, 100).await.unwrap(),
        0,
        "published twice"
    );

    let kafka = app.settings.kafka.clone().unwrap();
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", &kafka.brokers)
        .set("group.id", format!("raw-{}", Uuid::new_v4()))
        .set("auto.offset.reset", "earliest")
        .create()
        .unwrap();
    consumer
        .subscribe(&[&format!("{}{ACTIVITY_TOPIC}", kafka.topic_prefix)])
        .unwrap();
    let msg = tokio::time::timeout(Duration::from_secs(30), consumer.recv())
        .await
        .expect("no message")
        .unwrap();
    let event_id: Uuid = sqlx::query_scalar("SELECT id FROM events")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(msg.key(), Some(event_id.to_string().as_bytes()));
    let env: ActivityEnvelope = serde_json::from_slice(msg.payload().unwrap()).unwrap();
    assert_eq!(env.event_id, event_id);
    assert_eq!(env.schema_version, 1);
    assert_eq!(
        (env.area.as_str(), env.action.as_str()),
        ("registration", "registered")
    );
    let stored: Uuid = sqlx::query_scalar("SELECT message_id FROM outbox")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(env.message_id, stored);
}

#[tokio::test]
async fn analytics_consumer_restarts_neither_lose_nor_double_count() {
    let app = spawn_web_only().await;
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    let bus = app.deps.bus.clone();
    assert_eq!(bus.kind(), "kafka");
    let run_consumer = |shutdown: watch::Receiver<bool>| {
        let (pool, bus) = (app.pool.clone(), bus.clone());
        tokio::spawn(async move { services::analytics::run(pool, bus, shutdown).await })
    };

    // Phase 1: 5 messages, consumed, clean stop (offsets committed).
    register_many(&app, &slug, 5).await;
    relay_once(&app.pool, &bus, 100).await.unwrap();
    let (stop, rx) = watch::channel(false);
    let consumer = run_consumer(rx);
    wait_facts(&app, 5).await;
    stop.send(true).unwrap();
    consumer.await.unwrap().unwrap();

    // Phase 2: 4 more while the consumer is down, plus a duplicate of an old message.
    register_many(&app, &slug, 4).await;
    relay_once(&app.pool, &bus, 100).await.unwrap();
    let old: serde_json::Value =
        sqlx::query_scalar("SELECT payload FROM outbox ORDER BY id LIMIT 1")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let event_id = old["event_id"].as_str().unwrap().to_owned();
    bus.publish(ACTIVITY_TOPIC, &event_id, old.to_string().as_bytes())
        .await
        .unwrap();
    // And a malformed message, which must be skipped rather than stall the group.
    bus.publish(ACTIVITY_TOPIC, &event_id, b"{not json")
        .await
        .unwrap();
    let (stop, rx) = watch::channel(false);
    let consumer = run_consumer(rx);
    wait_facts(&app, 9).await;

    // Phase 3: crash (no clean shutdown), more messages, restart.
    consumer.abort();
    drop(stop);
    register_many(&app, &slug, 3).await;
    relay_once(&app.pool, &bus, 100).await.unwrap();
    let (stop, rx) = watch::channel(false);
    let consumer = run_consumer(rx);
    wait_facts(&app, 12).await;
    // Give redeliveries time to show up: the count must stay exact.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(facts(&app).await, 12);
    let outbox: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(outbox, 12);
    stop.send(true).unwrap();
    consumer.await.unwrap().unwrap();
}
