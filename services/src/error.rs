//! The domain error type shared by every service.

/// What went wrong, in terms a caller can act on. The HTTP mapping lives in `app::error`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The input is malformed or breaks a rule; the message says which.
    #[error("{0}")]
    Invalid(String),
    /// The caller is not signed in, or the credentials are wrong.
    #[error("{0}")]
    Unauthorized(String),
    /// The caller is signed in but may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// The thing does not exist (or is not visible to the caller).
    #[error("{0}")]
    NotFound(String),
    /// The request clashes with stored state (duplicate slug, email, ...).
    #[error("{0}")]
    Conflict(String),
    /// The request contradicts an earlier one it claims to repeat (the same
    /// idempotency key with other contents).
    #[error("{0}")]
    KeyReused(String),
    /// A payment was declined or failed; the message says why.
    #[error("{0}")]
    PaymentFailed(String),
    /// The organisation's plan does not allow this; the message says what to do.
    #[error("{0}")]
    PlanLimit(String),
    /// Too many attempts; try again later.
    #[error("{0}")]
    RateLimited(String),
    /// At capacity for this kind of work right now; try again shortly.
    #[error("{0}")]
    Busy(String),
    /// A dependency failed; details are logged, not shown.
    #[error("internal error: {0}")]
    Internal(String),
}

/// Result alias for the services.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Builds an [`Error::Invalid`].
    pub fn invalid(msg: impl Into<String>) -> Self {
        Error::Invalid(msg.into())
    }
    /// Builds an [`Error::NotFound`].
    pub fn not_found(msg: impl Into<String>) -> Self {
        Error::NotFound(msg.into())
    }
}

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::RowNotFound => Error::NotFound("not found".into()),
            _ => Error::Internal(format!("database: {e}")),
        }
    }
}

/// Redis holds the live event (presence, chat fan-out, sockets): when it
/// does not answer, those parts say so (503) while the rest of the platform
/// (pages, registration, payments) keeps working.
impl From<redis::RedisError> for Error {
    fn from(e: redis::RedisError) -> Self {
        tracing::warn!(error = %e, "redis unavailable");
        Error::Busy(
            "the live part of the event is unavailable right now; please try again in a minute"
                .into(),
        )
    }
}

impl From<bus::Error> for Error {
    fn from(e: bus::Error) -> Self {
        Error::Internal(format!("bus: {e}"))
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::Internal(format!("json: {e}"))
    }
}

/// True when a database error is a unique-constraint violation on `constraint`.
pub(crate) fn is_unique_violation(e: &sqlx::Error, constraint: &str) -> bool {
    match e {
        sqlx::Error::Database(db) => {
            db.code().as_deref() == Some("23505") && db.constraint() == Some(constraint)
        }
        _ => false,
    }
}

/// True when a database error is a foreign-key violation on `constraint`
/// (a row still referred to).
pub(crate) fn is_foreign_key_violation(e: &sqlx::Error, constraint: &str) -> bool {
    match e {
        sqlx::Error::Database(db) => {
            db.code().as_deref() == Some("23503") && db.constraint() == Some(constraint)
        }
        _ => false,
    }
}

/// Parses a form or message field into a state enum, with `message` when it is none of them.
pub fn parse_state<T: std::str::FromStr>(raw: &str, message: &str) -> Result<T> {
    raw.trim().parse().map_err(|_| Error::invalid(message))
}
