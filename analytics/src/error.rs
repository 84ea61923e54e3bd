//! Analytics' one error type.

/// What went wrong.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The analytics database.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// The bus.
    #[error("bus: {0}")]
    Bus(#[from] bus::Error),
    /// A fault of ours (a report that could not be written).
    #[error("{0}")]
    Internal(String),
}

/// Result alias of analytics.
pub type Result<T, E = Error> = std::result::Result<T, E>;
