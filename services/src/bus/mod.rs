//! The event bus: Kafka (rdkafka) when brokers are configured, an in-process
//! broadcast channel otherwise (single-machine `convene all`).
//!
//! Producers never publish directly: facts go to the `outbox` table in the same
//! transaction and [`relay`] publishes them. Consumers store offsets only after
//! processing and are idempotent on the envelope's message id.

pub mod relay;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{ClientConfig, Message};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;
use uuid::Uuid;

use crate::{Error, Result};

/// Logical topic of attendee activity (enter/leave areas, registrations).
pub const ACTIVITY_TOPIC: &str = "attendee.activity";
/// Every logical topic the platform uses (created at start: the broker does not auto-create).
pub const TOPICS: &[&str] = &[ACTIVITY_TOPIC];

/// Version of the [`ActivityEnvelope`] schema.
pub const ACTIVITY_SCHEMA_VERSION: u32 = 1;

/// The JSON message on `attendee.activity`, keyed by event id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivityEnvelope {
    /// Unique id; consumers deduplicate on it.
    pub message_id: Uuid,
    /// Schema version of this envelope.
    pub schema_version: u32,
    /// Event the activity happened in (also the Kafka key).
    pub event_id: Uuid,
    /// Attendee who acted.
    pub attendee_id: Uuid,
    /// Area: `registration`, `reception`, later `stage`, `session`, ...
    pub area: String,
    /// Action: `registered`, `enter`, `leave`, ...
    pub action: String,
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
}

/// Kafka connection settings.
#[derive(Debug, Clone)]
pub struct KafkaSettings {
    /// `bootstrap.servers`, e.g. `127.0.0.1:9092`.
    pub brokers: String,
    /// Prefix added to every logical topic (isolates tests and environments).
    pub topic_prefix: String,
    /// Partitions for topics the platform creates.
    pub partitions: i32,
}

/// A message as the in-memory bus carries it.
#[derive(Debug, Clone)]
pub struct BusMessage {
    /// Logical topic.
    pub topic: String,
    /// Partitioning key.
    pub key: String,
    /// JSON payload.
    pub payload: Vec<u8>,
}

/// Handle to the bus; cheap to clone.
#[derive(Clone)]
pub enum Bus {
    /// A Kafka-protocol broker.
    Kafka(Arc<KafkaBus>),
    /// In-process, lossy when nobody listens; for one-machine development only.
    Memory(broadcast::Sender<Arc<BusMessage>>),
}

/// Kafka producer plus the settings consumers are built from.
pub struct KafkaBus {
    settings: KafkaSettings,
    producer: FutureProducer,
}

impl Bus {
    /// An in-process bus.
    pub fn memory() -> Self {
        Bus::Memory(broadcast::channel(4096).0)
    }

    /// Connects a Kafka producer (idempotent, acks=all) and creates the platform topics.
    pub async fn kafka(settings: KafkaSettings) -> Result<Self> {
        let producer: FutureProducer = ClientConfig::new()
            .set("bootstrap.servers", &settings.brokers)
            .set("acks", "all")
            .set("enable.idempotence", "true")
            .set("linger.ms", "5")
            .set("compression.type", "lz4")
            .set("message.timeout.ms", "15000")
            .create()?;
        let bus = KafkaBus { settings, producer };
        bus.ensure_topics(TOPICS).await?;
        Ok(Bus::Kafka(Arc::new(bus)))
    }

    /// Publishes one message and waits for the broker's acknowledgement.
    pub async fn publish(&self, topic: &str, key: &str, payload: &[u8]) -> Result<()> {
        match self {
            Bus::Kafka(k) => {
                let physical = k.physical(topic);
                k.producer
                    .send(
                        FutureRecord::to(&physical).key(key).payload(payload),
                        Duration::from_secs(15),
                    )
                    .await
                    .map_err(|(e, _)| Error::from(e))?;
                Ok(())
            }
            Bus::Memory(tx) => {
                // No receiver is not an error: the message is simply dropped.
                let _ = tx.send(Arc::new(BusMessage {
                    topic: topic.to_owned(),
                    key: key.to_owned(),
                    payload: payload.to_vec(),
                }));
                Ok(())
            }
        }
    }

    /// Joins consumer group `group` on `topic`.
    pub fn subscribe(&self, topic: &str, group: &str) -> Result<Subscription> {
        match self {
            Bus::Kafka(k) => {
                let consumer: StreamConsumer = ClientConfig::new()
                    .set("bootstrap.servers", &k.settings.brokers)
                    .set("group.id", format!("{}{group}", k.settings.topic_prefix))
                    .set("enable.auto.commit", "true")
                    .set("auto.commit.interval.ms", "500")
                    .set("enable.auto.offset.store", "false")
                    .set("auto.offset.reset", "earliest")
                    .set("session.timeout.ms", "6000")
                    .set("partition.assignment.strategy", "cooperative-sticky")
                    .create()?;
                consumer.subscribe(&[&k.physical(topic)])?;
                Ok(Subscription::Kafka(Box::new(consumer)))
            }
            Bus::Memory(tx) => Ok(Subscription::Memory {
                rx: tx.subscribe(),
                topic: topic.to_owned(),
            }),
        }
    }

    /// Checks that the broker answers (readiness).
    pub async fn ping(&self) -> Result<()> {
        match self {
            Bus::Kafka(k) => {
                let k = k.clone();
                tokio::task::spawn_blocking(move || {
                    k.producer
                        .client()
                        .fetch_metadata(None, Duration::from_secs(3))
                        .map(|_| ())
                        .map_err(Error::from)
                })
                .await
                .map_err(|e| Error::Internal(format!("join: {e}")))?
            }
            Bus::Memory(_) => Ok(()),
        }
    }

    /// Short name for logs and `/readyz`.
    pub fn kind(&self) -> &'static str {
        match self {
            Bus::Kafka(_) => "kafka",
            Bus::Memory(_) => "memory",
        }
    }
}

impl KafkaBus {
    fn physical(&self, topic: &str) -> String {
        format!("{}{topic}", self.settings.topic_prefix)
    }

    async fn ensure_topics(&self, topics: &[&str]) -> Result<()> {
        let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
            .set("bootstrap.servers", &self.settings.brokers)
            .create()?;
        let names: Vec<String> = topics.iter().map(|t| self.physical(t)).collect();
        let new: Vec<NewTopic<'_>> = names
            .iter()
            .map(|n| NewTopic::new(n, self.settings.partitions, TopicReplication::Fixed(1)))
            .collect();
        let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
        for result in admin.create_topics(&new, &opts).await? {
            match result {
                Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
                Err((name, code)) => {
                    return Err(Error::Internal(format!("creating topic {name}: {code}")))
                }
            }
        }
        Ok(())
    }
}

/// A consumer-group membership (or an in-memory receiver).
pub enum Subscription {
    /// Kafka consumer; offsets are stored after the handler succeeds.
    Kafka(Box<StreamConsumer>),
    /// In-process receiver filtered to one topic.
    Memory {
        /// Receiver of every bus message.
        rx: broadcast::Receiver<Arc<BusMessage>>,
        /// Logical topic to keep.
        topic: String,
    },
}

impl Subscription {
    /// Waits for the next message, runs `handle` on its payload and only then
    /// marks it consumed. A handler error stops consumption (the message is redelivered).
    pub async fn process_next<F, Fut>(&mut self, handle: F) -> Result<()>
    where
        F: FnOnce(Vec<u8>) -> Fut,
        Fut: std::future::Future<Output = Result<()>>,
    {
        match self {
            Subscription::Kafka(consumer) => {
                let msg = consumer.recv().await?;
                let payload = msg.payload().unwrap_or_default().to_vec();
                let (topic, partition, offset) =
                    (msg.topic().to_owned(), msg.partition(), msg.offset());
                drop(msg);
                handle(payload).await?;
                consumer.store_offset(&topic, partition, offset)?;
                Ok(())
            }
            Subscription::Memory { rx, topic } => loop {
                match rx.recv().await {
                    Ok(m) if &m.topic == topic => return handle(m.payload.clone()).await,
                    Ok(_) => continue,
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        tracing::warn!(skipped = n, "in-memory bus consumer lagged");
                    }
                    Err(broadcast::error::RecvError::Closed) => {
                        return Err(Error::Internal("bus closed".into()))
                    }
                }
            },
        }
    }

    /// Commits stored offsets synchronously (clean shutdown).
    pub fn commit(&self) -> Result<()> {
        if let Subscription::Kafka(consumer) = self {
            match consumer.commit_consumer_state(CommitMode::Sync) {
                Ok(()) => {}
                // Nothing stored since the last commit.
                Err(rdkafka::error::KafkaError::ConsumerCommit(RDKafkaErrorCode::NoOffset)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }
}
