//! Outbox → bus → analytics, end to end: on Kafka (with consumer restarts, a
//! redelivered duplicate and a message that is not an envelope) and on the
//! embedded log.

use std::time::Duration;

use bus::relay::relay_once;
use bus::Bus;
use protocol::events::{Envelope, Fact, Topic};
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::{ClientConfig, Message};
use tokio::sync::watch;
use uuid::Uuid;

use crate::helpers::{fns, spawn_app, spawn_web_only, spawn_with, test_settings, TestApp, Workers};

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

/// Registers three people and waits for the organiser's figures to show them.
async fn figures_show_three_registrations(app: &TestApp) {
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    register_many(app, &slug, 3).await;
    figures_show(app, &org.client, &slug, 3).await;
}

/// Waits until the organiser's figures show `n` registrations.
async fn figures_show(app: &TestApp, client: &reqwest::Client, slug: &str, n: i64) {
    let client = client.clone();
    let (url, slug) = (app.url_of::<fns::EventOverview>(), slug.to_owned());
    app.eventually(
        30,
        &format!("{n} registrations in the organiser's figures"),
        || {
            let (client, url, slug) = (client.clone(), url.clone(), slug.clone());
            async move {
                let body: serde_json::Value = client
                    .post(&url)
                    .form(&[("slug", slug)])
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                body["figures"]["registrations"] == n
            }
        },
    )
    .await;
}

#[tokio::test]
async fn the_registrations_figure_counts_confirmed_orders_and_goes_down_on_cancel() {
    let mut settings = test_settings().await;
    settings.kafka = None;
    let app = spawn_with(
        settings,
        Workers {
            relay: true,
            analytics: true,
            webhooks: false,
        },
    )
    .await;
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    let (s, first) = app.register(&slug, "first@example.org").await;
    assert_eq!(s, 200, "{first}");
    register_many(&app, &slug, 1).await;
    // A paid ticket ordered but not paid is not a registration.
    let form = [
        ("slug", slug.as_str()),
        ("name", "Paid"),
        ("price", "20"),
        ("quota", "5"),
    ];
    let (s, b) = app.call::<fns::CreateTicketType>(&org.client, &form).await;
    assert_eq!(s, 200, "{b}");
    let paid: Uuid = sqlx::query_scalar("SELECT id FROM ticket_types WHERE name = 'Paid'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let paid = paid.to_string();
    let (s, pending) = app
        .call::<fns::Register>(
            &crate::helpers::client(),
            &[
                ("slug", slug.as_str()),
                ("name", "Pat"),
                ("email", "pat@example.org"),
                ("ticket_type_id", paid.as_str()),
            ],
        )
        .await;
    assert_eq!(
        (s, pending["status"].as_str()),
        (200, Some("pending")),
        "{pending}"
    );
    // Once analytics has seen the unpaid order, the figure must still be 2.
    let pool = app.pool.clone();
    app.eventually(30, "the unpaid order in analytics", || {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>(
                "SELECT count(*) FROM analytics.order_states WHERE status = 'pending'",
            )
            .fetch_one(&pool)
            .await
            .unwrap()
                == 1
        }
    })
    .await;
    figures_show(&app, &org.client, &slug, 2).await;
    // A cancelled order no longer counts.
    let code = first["order_code"].as_str().unwrap();
    let (s, b) = app
        .call::<fns::CancelOrder>(
            &org.client,
            &[("slug", slug.as_str()), ("order_code", code)],
        )
        .await;
    assert_eq!(s, 200, "{b}");
    figures_show(&app, &org.client, &slug, 1).await;
}

#[tokio::test]
async fn registrations_reach_the_organisers_figures_through_kafka() {
    let app = spawn_app().await;
    assert_eq!(app.deps.bus.kind(), "kafka");
    figures_show_three_registrations(&app).await;
    let unpublished: i64 =
        sqlx::query_scalar("SELECT count(*) FROM outbox WHERE published_at IS NULL")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(unpublished, 0);
}

#[tokio::test]
async fn registrations_reach_the_organisers_figures_through_the_embedded_log() {
    let mut settings = test_settings().await;
    settings.kafka = None;
    let app = spawn_with(
        settings,
        Workers {
            relay: true,
            analytics: true,
            webhooks: false,
        },
    )
    .await;
    assert_eq!(app.deps.bus.kind(), "log");
    figures_show_three_registrations(&app).await;
    // Every row got its place in the log, in order.
    let (rows, numbered, max): (i64, i64, Option<i64>) =
        sqlx::query_as("SELECT count(*), count(position), max(position) FROM outbox")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!((numbered, max), (rows, Some(rows)), "positions 1..={rows}");
}

#[tokio::test]
async fn messages_are_keyed_by_event_and_carry_the_envelope() {
    let app = spawn_web_only().await;
    // The relay role makes the topics; this test relays by hand.
    app.deps.bus.ensure_topics().await.unwrap();
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    register_many(&app, &slug, 1).await;
    assert_eq!(
        relay_once(&app.pool, &app.deps.bus, 100).await.unwrap(),
        2,
        "attendee.registered and order.placed"
    );
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
        .subscribe(&[&format!(
            "{}{}",
            kafka.topic_prefix,
            Topic::Registrations.as_str()
        )])
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
    let env: Envelope = serde_json::from_slice(msg.payload().unwrap()).unwrap();
    assert_eq!(env.event_id.uuid(), event_id);
    assert_eq!(env.version, 1);
    assert!(
        matches!(env.fact, Fact::AttendeeRegistered(ref a) if a.name == "Grace"),
        "the first fact of the transaction comes first: {env:?}"
    );
    let stored: Uuid = sqlx::query_scalar("SELECT message_id FROM outbox ORDER BY id LIMIT 1")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(env.id.uuid(), stored);
}

#[tokio::test]
async fn analytics_consumer_restarts_neither_lose_nor_double_count() {
    let app = spawn_web_only().await;
    // The relay role makes the topics; this test relays by hand.
    app.deps.bus.ensure_topics().await.unwrap();
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    let bus = app.deps.bus.clone();
    let Bus::Kafka(kafka) = bus.clone() else {
        panic!("this test runs on Kafka")
    };
    let run_consumer = |shutdown: watch::Receiver<bool>| {
        let (pool, bus) = (app.pool.clone(), bus.clone());
        tokio::spawn(async move { analytics::run(pool.clone(), pool, bus, shutdown).await })
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
    let topic = Topic::Registrations.as_str();
    kafka
        .publish(topic, &event_id, old.to_string().as_bytes())
        .await
        .unwrap();
    // And a malformed message, which must be skipped rather than stall the group.
    kafka.publish(topic, &event_id, b"{not json").await.unwrap();
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
    // The restarted member re-reads what the crashed one had not committed.
    // One more registration is a marker: the partition (keyed by event) is
    // read in order, so once the marker's fact is stored every redelivery
    // before it has been handled, and the count shows whether any counted twice.
    let seen: i64 = sqlx::query_scalar("SELECT max(id) FROM outbox")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    register_many(&app, &slug, 1).await;
    relay_once(&app.pool, &bus, 100).await.unwrap();
    let pool = app.pool.clone();
    app.eventually(30, "the marker's fact", || {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, bool>(
                "SELECT EXISTS (SELECT 1 FROM analytics.activity_facts f
                   JOIN outbox o ON o.message_id = f.message_id WHERE o.id > $1)",
            )
            .bind(seen)
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    })
    .await;
    assert_eq!(facts(&app).await, 13, "nothing counted twice");
    let outbox: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(
        outbox, 26,
        "each registration: attendee.registered and order.placed"
    );
    stop.send(true).unwrap();
    consumer.await.unwrap().unwrap();
}
