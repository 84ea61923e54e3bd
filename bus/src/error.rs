//! The bus's error type.

/// What went wrong talking to PostgreSQL or the broker.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// PostgreSQL (outbox, offsets).
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// The Kafka-protocol broker.
    #[error("kafka: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
    /// An envelope that cannot be encoded.
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
    /// Anything else (topic creation, a task that died).
    #[error("{0}")]
    Other(String),
}

/// Result alias of the bus.
pub type Result<T, E = Error> = std::result::Result<T, E>;
