//! Convene's event bus. Producers never publish directly: a domain event is
//! appended to the `outbox` table in the transaction that made it true
//! ([`outbox::append`]); the [`relay`] takes committed rows to consumers; a
//! [`Consumer`] processes them at least once and never skips one its handler
//! failed on.
//!
//! Two transports behind one interface:
//! - **Kafka** (`kafka.brokers` set): topics per domain, keyed by event id.
//! - **Embedded log** (no broker, one machine): the outbox itself, read in the
//!   order the relay numbered its rows, with committed positions per consumer
//!   group in `bus_offsets`. Durable: a message published while no consumer
//!   runs waits for it.

pub mod consumer;
pub mod error;
pub mod kafka;
pub mod outbox;
pub mod relay;

use std::sync::Arc;
use std::time::Duration;

pub use consumer::Consumer;
pub use error::{Error, Result};
pub use kafka::{KafkaBus, KafkaSettings};
use protocol::events::Topic;
use sqlx::PgPool;

/// First wait before retrying what failed (a handler, the relay, a log
/// member's database work); doubles up to [`RETRY_MAX`].
pub const RETRY_START: Duration = Duration::from_millis(100);
/// Longest wait between retries.
pub const RETRY_MAX: Duration = Duration::from_secs(10);

/// Waits `wait`, then doubles it (up to [`RETRY_MAX`]); false when shutdown
/// came first.
pub(crate) async fn back_off(
    wait: &mut Duration,
    shutdown: &mut tokio::sync::watch::Receiver<bool>,
) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(*wait) => {}
        _ = shutdown.wait_for(|s| *s) => return false,
    }
    *wait = (*wait * 2).min(RETRY_MAX);
    true
}

/// Handle to the bus; cheap to clone.
#[derive(Clone)]
pub enum Bus {
    /// A Kafka-protocol broker.
    Kafka(Arc<KafkaBus>),
    /// The outbox as a durable log in PostgreSQL.
    Log,
}

impl Bus {
    /// The embedded log (no broker).
    pub fn embedded() -> Self {
        Bus::Log
    }

    /// A Kafka-protocol broker's client; it connects when first used, so a
    /// web node starts (and serves registrations) while the broker is away.
    pub async fn kafka(settings: KafkaSettings) -> Result<Self> {
        Ok(Bus::Kafka(Arc::new(KafkaBus::connect(settings).await?)))
    }

    /// Creates the topics (the broker does not auto-create them); the relay
    /// and the consumers do it when they start. Nothing to do for the log.
    pub async fn ensure_topics(&self) -> Result<()> {
        match self {
            Bus::Kafka(k) => k.ensure_topics().await,
            Bus::Log => Ok(()),
        }
    }

    /// Like [`Bus::ensure_topics`], retried with back-off until it works;
    /// false when `shutdown` flipped first.
    pub async fn ensure_topics_patiently(
        &self,
        shutdown: &mut tokio::sync::watch::Receiver<bool>,
    ) -> bool {
        let mut wait = RETRY_START;
        loop {
            match self.ensure_topics().await {
                Ok(()) => return true,
                Err(e) => tracing::warn!(error = %e, "creating the bus topics failed; retrying"),
            }
            if !back_off(&mut wait, shutdown).await {
                return false;
            }
        }
    }

    /// A member of consumer group `group` on `topics`.
    pub fn consumer(&self, pool: &PgPool, group: &str, topics: &[Topic]) -> Result<Consumer> {
        match self {
            Bus::Kafka(k) => Ok(Consumer::kafka(group, k.member(group, topics)?)),
            Bus::Log => Ok(Consumer::log(group, pool.clone(), topics)),
        }
    }

    /// Checks that the transport answers (the log lives in PostgreSQL, checked elsewhere).
    pub async fn ping(&self) -> Result<()> {
        match self {
            Bus::Kafka(k) => {
                let k = k.clone();
                tokio::task::spawn_blocking(move || k.ping())
                    .await
                    .map_err(|e| Error::Other(format!("join: {e}")))?
            }
            Bus::Log => Ok(()),
        }
    }

    /// Whether the log still holds everything ever published on `topics`, so
    /// that a new consumer group reads the whole history: on the embedded log,
    /// no numbered row was purged (numbering starts at 1); on Kafka, every
    /// partition still starts at offset 0 (retention deleted nothing).
    pub async fn is_whole(&self, pool: &PgPool, topics: &[Topic]) -> Result<bool> {
        match self {
            Bus::Log => Ok(sqlx::query_scalar(
                "SELECT coalesce(min(position), 1) <= 1 FROM outbox WHERE position IS NOT NULL",
            )
            .fetch_one(pool)
            .await?),
            Bus::Kafka(k) => {
                let (k, topics) = (k.clone(), topics.to_vec());
                tokio::task::spawn_blocking(move || k.starts_at_zero(&topics))
                    .await
                    .map_err(|e| Error::Other(format!("watermark task: {e}")))?
            }
        }
    }

    /// Places new consumer group `group` at the log's beginning before it
    /// runs. On the embedded log its position row (0) is written now, so the
    /// outbox purge keeps every message from here on; on Kafka a new group
    /// starts at the earliest offset by itself.
    pub async fn open_group(&self, pool: &PgPool, group: &str) -> Result<()> {
        if let Bus::Log = self {
            sqlx::query(
                "INSERT INTO bus_offsets (consumer_group, position) VALUES ($1, 0)
                 ON CONFLICT (consumer_group) DO UPDATE SET position = 0, updated_at = now()",
            )
            .bind(group)
            .execute(pool)
            .await?;
        }
        Ok(())
    }

    /// Forgets the position of consumer group `group`, which will not run
    /// again. On the embedded log its row would otherwise hold back the
    /// outbox purge forever; Kafka expires an idle group's offsets itself
    /// (`offsets.retention.minutes`).
    pub async fn forget_group(&self, pool: &PgPool, group: &str) -> Result<()> {
        if let Bus::Log = self {
            sqlx::query("DELETE FROM bus_offsets WHERE consumer_group = $1")
                .bind(group)
                .execute(pool)
                .await?;
        }
        Ok(())
    }

    /// Short name for logs and `/readyz`.
    pub fn kind(&self) -> &'static str {
        match self {
            Bus::Kafka(_) => "kafka",
            Bus::Log => "log",
        }
    }
}
