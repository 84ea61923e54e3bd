//! Server-only domain services of Convene: one folder per seed component, each
//! table owned by one module (see `docs/ARCHITECTURE.md`). Functions take their
//! dependencies explicitly (a pool, a connection inside a transaction, Redis)
//! so that server functions and handlers stay thin; [`platform::Platform`]
//! bundles them for the interfaces.

pub mod accounts;
pub mod assets;
pub mod billing;
pub mod domain;
pub mod domain_events;
pub mod error;
pub mod event_setup;
pub mod events;
pub mod jobs;
pub mod live;
pub mod networking;
pub mod notifications;
pub mod payments;
pub mod platform;
pub mod provider_webhooks;
pub mod ratelimit;
pub mod registrations;
pub mod replay;
pub mod signing;
pub mod team;
pub mod time;
pub mod tokens;
pub mod webhooks;
pub mod worker;

pub use error::{Error, Result};
pub use platform::Platform;

/// Runs the embedded sqlx migrations from `migrations/`.
pub async fn migrate(pool: &sqlx::PgPool) -> Result<()> {
    sqlx::migrate!("../migrations")
        .run(pool)
        .await
        .map_err(|e| Error::Internal(format!("migrations: {e}")))
}
