//! The Kafka-protocol side: an idempotent producer for the relay, topic
//! creation (brokers here do not auto-create), and consumer-group members.

use std::time::Duration;

use protocol::events::Topic;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{Consumer as _, StreamConsumer};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::ClientConfig;

use crate::{Error, Result};

/// Kafka connection settings.
#[derive(Debug, Clone)]
pub struct KafkaSettings {
    /// `bootstrap.servers`, e.g. `127.0.0.1:9092`.
    pub brokers: String,
    /// Prefix of every topic and consumer group (isolates tests and environments).
    pub topic_prefix: String,
    /// Partitions of the topics the platform creates.
    pub partitions: i32,
}

/// A connected producer and the settings consumers are built from.
pub struct KafkaBus {
    pub(crate) settings: KafkaSettings,
    producer: FutureProducer,
}

impl KafkaBus {
    /// Connects an idempotent producer (acks=all) and creates every topic.
    pub async fn connect(settings: KafkaSettings) -> Result<Self> {
        let producer: FutureProducer = ClientConfig::new()
            .set("bootstrap.servers", &settings.brokers)
            .set("acks", "all")
            .set("enable.idempotence", "true")
            .set("linger.ms", "5")
            .set("compression.type", "lz4")
            .set("message.timeout.ms", "15000")
            .create()?;
        let bus = KafkaBus { settings, producer };
        bus.ensure_topics().await?;
        Ok(bus)
    }

    /// The broker's name of a logical topic.
    pub fn physical(&self, topic: &str) -> String {
        format!("{}{topic}", self.settings.topic_prefix)
    }

    /// Publishes one message and waits for the broker's acknowledgement.
    pub async fn publish(&self, topic: &str, key: &str, payload: &[u8]) -> Result<()> {
        let physical = self.physical(topic);
        self.producer
            .send(
                FutureRecord::to(&physical).key(key).payload(payload),
                Duration::from_secs(15),
            )
            .await
            .map_err(|(e, _)| Error::from(e))?;
        Ok(())
    }

    /// A member of consumer group `group` on `topics`. Offsets are stored by the
    /// caller after processing (`enable.auto.offset.store=false`) and committed
    /// in the background; with the default auto-store, a dropped consumer
    /// commits prefetched messages nobody processed.
    pub fn member(&self, group: &str, topics: &[Topic]) -> Result<StreamConsumer> {
        let consumer: StreamConsumer = ClientConfig::new()
            .set("bootstrap.servers", &self.settings.brokers)
            .set("group.id", format!("{}{group}", self.settings.topic_prefix))
            .set("enable.auto.commit", "true")
            .set("auto.commit.interval.ms", "500")
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", "earliest")
            .set("session.timeout.ms", "6000")
            .set("partition.assignment.strategy", "cooperative-sticky")
            .create()?;
        let names: Vec<String> = topics.iter().map(|t| self.physical(t.as_str())).collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        consumer.subscribe(&names)?;
        Ok(consumer)
    }

    /// Checks that the broker answers.
    pub fn ping(&self) -> Result<()> {
        self.producer
            .client()
            .fetch_metadata(None, Duration::from_secs(3))?;
        Ok(())
    }

    async fn ensure_topics(&self) -> Result<()> {
        let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
            .set("bootstrap.servers", &self.settings.brokers)
            .create()?;
        let names: Vec<String> = Topic::ALL
            .iter()
            .map(|t| self.physical(t.as_str()))
            .collect();
        let new: Vec<NewTopic<'_>> = names
            .iter()
            .map(|n| NewTopic::new(n, self.settings.partitions, TopicReplication::Fixed(1)))
            .collect();
        let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
        for result in admin.create_topics(&new, &opts).await? {
            match result {
                Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
                Err((name, code)) => {
                    return Err(Error::Other(format!("creating topic {name}: {code}")))
                }
            }
        }
        Ok(())
    }
}
