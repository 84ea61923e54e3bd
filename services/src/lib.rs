//! Server-only domain services of Convene, one module per seed component.
//!
//! Every function takes its dependencies explicitly (a pool, a Redis
//! connection, a bus handle) so that handlers and server functions stay thin.

pub mod accounts;
pub mod activity;
pub mod agenda;
pub mod analytics;
pub mod apps;
pub mod billing;
pub mod bus;
pub mod chat;
pub mod domain;
pub mod email;
pub mod error;
pub mod events;
pub mod jobs;
pub mod live;
pub mod payments;
pub mod polls;
pub mod presence;
pub mod promo;
pub mod qa;
pub mod questions;
pub mod ratelimit;
pub mod registrations;
pub mod stages;
pub mod team;
pub mod ticketing;
pub mod tokens;
pub mod waitlist;

pub use error::{Error, Result};

/// Runs the embedded sqlx migrations from `migrations/`.
pub async fn migrate(pool: &sqlx::PgPool) -> Result<()> {
    sqlx::migrate!("../migrations")
        .run(pool)
        .await
        .map_err(|e| Error::Internal(format!("migrations: {e}")))
}
