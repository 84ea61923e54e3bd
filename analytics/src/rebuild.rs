//! Rebuilding the aggregates from the log. Every figure is made from domain
//! events alone, so emptying the aggregates and consuming the whole log again
//! gives the same figures (after a fix to how facts are applied, the fixed
//! figures).
//!
//! A rebuild needs no worker stopped. Consumption runs in *generations*: each
//! is a consumer group of its own ([`group`]), and a new group starts at the
//! log's beginning. A rebuild places the next generation's group there (so
//! the outbox purge keeps the whole log for it), checks that the log is
//! whole, then empties the aggregates and moves to the next generation in
//! one transaction; a worker that sees the generation change (within
//! [`WATCH_EVERY`]) stops its group and runs the new one, and the old
//! group's position is forgotten.
//!
//! The race: between the rebuild's commit and its worker noticing, the old
//! group may still apply the rest of a batch to the emptied aggregates:
//! later facts before the earlier ones the new generation then applies.
//! That is harmless because analytics' writes are idempotent *and* do not
//! depend on order (an order's state is its latest fact by time, stays are
//! keyed and closed by time, counts are keyed by what they count).
//!
//! While the new generation catches up, the figures are partial. A rebuild
//! refuses when the log no longer starts at its first message (purged, or
//! past the broker's retention): the aggregates would lose what only they
//! still hold. Reports already made are products, not aggregates: they stay.

use std::time::Duration;

use sqlx::PgPool;
use tokio::sync::watch;

use protocol::events::Topic;

use crate::Result;

/// Consumer group of the analytics worker's first generation ([`group`]).
pub const GROUP: &str = "convene-analytics";

/// The topics analytics reads.
pub const TOPICS: &[Topic] = &[Topic::Registrations, Topic::Activity];

/// How often a worker looks for a new generation.
pub const WATCH_EVERY: Duration = Duration::from_secs(1);

/// The tables made from the log, emptied by a rebuild.
const AGGREGATES: &str = "analytics.activity_facts, analytics.stays, analytics.order_states, \
     analytics.attendees, analytics.interactions, analytics.watching";

/// The consumer group of generation `n` (the first keeps the original name).
pub fn group(n: i32) -> String {
    if n == 0 {
        GROUP.to_owned()
    } else {
        format!("{GROUP}.{n}")
    }
}

/// The generation consuming now.
pub async fn generation(pool: &PgPool) -> Result<i32> {
    Ok(
        sqlx::query_scalar("SELECT number FROM analytics.generation")
            .fetch_one(pool)
            .await?,
    )
}

/// Why a rebuild did not start.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// Another rebuild started meanwhile (it does the work).
    #[error("another rebuild started meanwhile; it rebuilds everything")]
    Busy,
    /// The log lost its first messages.
    #[error(
        "the log no longer holds its first messages (purged after their retention), so a \
         rebuild would lose what only the aggregates still hold; nothing was changed"
    )]
    TrimmedLog,
    /// The database or the bus.
    #[error(transparent)]
    Other(#[from] crate::Error),
}

impl From<sqlx::Error> for Refusal {
    fn from(e: sqlx::Error) -> Self {
        Refusal::Other(e.into())
    }
}

/// Empties the aggregates (in `pool`, analytics' database) and starts the
/// next generation, placed on `bus` (whose embedded log lives in `log`, the
/// main database); returns its number.
pub async fn start(pool: &PgPool, log: &PgPool, bus: &bus::Bus) -> Result<i32, Refusal> {
    let old = generation(pool).await?;
    let next = group(old + 1);
    // Placed first, so that the purge cannot trim the log between the check
    // and the new group's first read.
    bus.open_group(log, &next)
        .await
        .map_err(crate::Error::from)?;
    if !bus
        .is_whole(log, TOPICS)
        .await
        .map_err(crate::Error::from)?
    {
        bus.forget_group(log, &next)
            .await
            .map_err(crate::Error::from)?;
        return Err(Refusal::TrimmedLog);
    }
    let mut tx = pool.begin().await?;
    let now: i32 = sqlx::query_scalar("SELECT number FROM analytics.generation FOR UPDATE")
        .fetch_one(&mut *tx)
        .await?;
    if now != old {
        return Err(Refusal::Busy);
    }
    sqlx::query(&format!("TRUNCATE {AGGREGATES}"))
        .execute(&mut *tx)
        .await?;
    let new: i32 = sqlx::query_scalar(
        "UPDATE analytics.generation SET number = number + 1, rebuilt_at = now() RETURNING number",
    )
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    // A worker that starts the old group's membership in the meantime
    // writes its row again; workers forget it too when they move on.
    bus.forget_group(log, &group(old))
        .await
        .map_err(crate::Error::from)?;
    tracing::info!(generation = new, "analytics rebuild started");
    Ok(new)
}

/// Why a generation's consumption ended.
pub(crate) enum Ended {
    /// Shutdown.
    Shutdown,
    /// A rebuild started generation `.0`.
    Rebuilt(i32),
}

/// Waits until shutdown or a generation other than `current`, then flips
/// `stop` (the consumer's own shutdown) and says which.
pub(crate) async fn watch_generation(
    pool: &PgPool,
    current: i32,
    mut shutdown: watch::Receiver<bool>,
    stop: &watch::Sender<bool>,
) -> Ended {
    let ended = loop {
        tokio::select! {
            _ = shutdown.wait_for(|s| *s) => break Ended::Shutdown,
            _ = tokio::time::sleep(WATCH_EVERY) => {}
        }
        match generation(pool).await {
            Ok(n) if n != current => break Ended::Rebuilt(n),
            Ok(_) => {}
            // The consumer meets the same database and retries; so do we.
            Err(e) => tracing::warn!(error = %e, "reading the analytics generation failed"),
        }
    };
    let _ = stop.send(true);
    ended
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generations_are_groups_of_their_own_and_the_first_keeps_the_old_name() {
        assert_eq!(group(0), "convene-analytics");
        assert_eq!(group(1), "convene-analytics.1");
        assert_ne!(group(1), group(2));
    }
}
