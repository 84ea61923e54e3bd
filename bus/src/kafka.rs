//! The Kafka-protocol side: an idempotent producer for the relay, topic
//! creation (brokers here do not auto-create), and consumer-group members.

use std::collections::BTreeMap;
use std::time::Duration;

use protocol::events::Topic;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer as _, StreamConsumer};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::ClientConfig;

use crate::{Error, Result};

/// Kafka connection settings.
#[derive(Clone)]
pub struct KafkaSettings {
    /// `bootstrap.servers`, e.g. `127.0.0.1:9092`.
    pub brokers: String,
    /// Prefix of every topic and consumer group (isolates tests and environments).
    pub topic_prefix: String,
    /// Partitions of the topics the platform creates.
    pub partitions: i32,
    /// Further librdkafka properties set on every client: TLS and SASL
    /// (`security.protocol`, `ssl.ca.location`, `sasl.mechanism`,
    /// `sasl.username`, `sasl.password`, ...).
    pub client: BTreeMap<String, String>,
}

// Passwords and private keys among the client properties never reach the logs.
impl std::fmt::Debug for KafkaSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let client: BTreeMap<&str, &str> = self
            .client
            .iter()
            .map(|(k, v)| (k.as_str(), if is_secret(k) { "***" } else { v.as_str() }))
            .collect();
        f.debug_struct("KafkaSettings")
            .field("brokers", &self.brokers)
            .field("topic_prefix", &self.topic_prefix)
            .field("partitions", &self.partitions)
            .field("client", &client)
            .finish()
    }
}

/// Whether a librdkafka property holds a secret (`sasl.password`,
/// `ssl.key.password`, `ssl.key.pem`, `sasl.oauthbearer.client.secret`, ...).
fn is_secret(key: &str) -> bool {
    ["password", "secret", "key.pem", "ssl.key", "jaas"]
        .iter()
        .any(|s| key.contains(s))
}

impl KafkaSettings {
    /// A client configuration with the brokers and every extra property.
    fn config(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        config.set("bootstrap.servers", &self.brokers);
        for (key, value) in &self.client {
            config.set(key, value);
        }
        config
    }
}

/// A connected producer and the settings consumers are built from.
pub struct KafkaBus {
    pub(crate) settings: KafkaSettings,
    producer: FutureProducer,
}

impl KafkaBus {
    /// Makes an idempotent producer (acks=all). It connects when first used:
    /// a web node starts without the broker. Topics are made by the roles
    /// that use them ([`KafkaBus::ensure_topics`]).
    pub async fn connect(settings: KafkaSettings) -> Result<Self> {
        let producer: FutureProducer = settings
            .config()
            .set("acks", "all")
            .set("enable.idempotence", "true")
            .set("linger.ms", "5")
            .set("compression.type", "lz4")
            .set("message.timeout.ms", "15000")
            .create()?;
        Ok(KafkaBus { settings, producer })
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
        let consumer: StreamConsumer = self
            .settings
            .config()
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

    /// Whether every partition of `topics` still starts at offset 0 (blocking).
    pub fn starts_at_zero(&self, topics: &[Topic]) -> Result<bool> {
        let client: BaseConsumer = self.settings.config().create()?;
        let timeout = Duration::from_secs(10);
        for topic in topics {
            let name = self.physical(topic.as_str());
            let metadata = client.fetch_metadata(Some(&name), timeout)?;
            for t in metadata.topics() {
                for p in t.partitions() {
                    let (low, _) = client.fetch_watermarks(&name, p.id(), timeout)?;
                    if low > 0 {
                        return Ok(false);
                    }
                }
            }
        }
        Ok(true)
    }

    /// Checks that the broker answers.
    pub fn ping(&self) -> Result<()> {
        self.producer
            .client()
            .fetch_metadata(None, Duration::from_secs(3))?;
        Ok(())
    }

    /// Creates every topic the platform uses (idempotent).
    pub async fn ensure_topics(&self) -> Result<()> {
        let admin: AdminClient<DefaultClientContext> = self.settings.config().create()?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_passwords_and_keys() {
        let settings = KafkaSettings {
            brokers: "b:9093".into(),
            topic_prefix: String::new(),
            partitions: 1,
            client: [
                ("security.protocol", "SASL_SSL"),
                ("sasl.password", "hunter2"),
                ("ssl.key.pem", "PRIVATE"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
        };
        let shown = format!("{settings:?}");
        assert!(shown.contains("SASL_SSL"), "{shown}");
        assert!(
            !shown.contains("hunter2") && !shown.contains("PRIVATE"),
            "{shown}"
        );
    }
}
