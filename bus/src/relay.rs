//! The relay takes committed outbox rows to their consumers, in order, at least once.
//!
//! - **Kafka**: publishes unpublished rows in order, each acknowledged
//!   before the next, then marks them published.
//! - **Embedded log**: gives unpublished rows their `position` in the log.
//!   Consumers read rows by position, so a row must never become visible at a
//!   position lower than one a consumer already passed. Outbox ids do not give
//!   that: a transaction holding id 9 can commit after one holding id 10. The
//!   relay therefore numbers only rows that are already committed: every batch
//!   commits before the next one is numbered, and gets positions above every
//!   earlier batch.
//!
//! In both modes one relay works at a time (a transaction-scoped advisory
//! lock; others wait), so batches never overtake each other.

use std::time::Duration;

use sqlx::postgres::PgListener;
use sqlx::PgPool;
use tokio::sync::watch;

use crate::outbox::OUTBOX_CHANNEL;
use crate::{back_off, Bus, Result, RETRY_START};

/// NOTIFY channel raised when rows get positions in the embedded log (wakes consumers).
pub const LOG_CHANNEL: &str = "convene_log";

/// Advisory lock key of the relay (and the embedded log's sequencer).
const SEQUENCER_LOCK: i64 = 0x636f_6e76_656e_6501;

/// Relays up to `batch` rows; returns how many.
pub async fn relay_once(pool: &PgPool, bus: &Bus, batch: i64) -> Result<usize> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(SEQUENCER_LOCK)
        .execute(&mut *tx)
        .await?;
    match bus {
        Bus::Kafka(kafka) => {
            #[derive(sqlx::FromRow)]
            struct Row {
                id: i64,
                topic: String,
                key: String,
                payload: String,
            }
            let rows: Vec<Row> = sqlx::query_as(
                "SELECT id, topic, key, payload::text AS payload FROM outbox
                 WHERE published_at IS NULL ORDER BY id LIMIT $1",
            )
            .bind(batch)
            .fetch_all(&mut *tx)
            .await?;
            // One at a time, each acknowledged before the next is sent.
            // Sending a batch at once (the idempotent producer pipelining
            // it) left a Tansu partition where a restarted group member read
            // nothing more: `kafka_a_consumer_killed_mid_stream_loses_nothing`.
            for row in &rows {
                kafka
                    .publish(&row.topic, &row.key, row.payload.as_bytes())
                    .await?;
            }
            let ids: Vec<i64> = rows.iter().map(|row| row.id).collect();
            if !ids.is_empty() {
                sqlx::query("UPDATE outbox SET published_at = now() WHERE id = ANY($1)")
                    .bind(&ids)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok(ids.len())
        }
        Bus::Log => {
            // Read after taking the lock: the previous batch is committed and visible.
            let numbered = sqlx::query(
                "WITH top AS (SELECT coalesce(max(position), 0) AS p FROM outbox),
                      next AS (SELECT id, row_number() OVER (ORDER BY id) AS n FROM outbox
                               WHERE published_at IS NULL ORDER BY id LIMIT $1)
                 UPDATE outbox o SET position = top.p + next.n, published_at = now()
                 FROM next, top WHERE o.id = next.id",
            )
            .bind(batch)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if numbered > 0 {
                sqlx::query("SELECT pg_notify($1, '')")
                    .bind(LOG_CHANNEL)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok(numbered as usize)
        }
    }
}

/// Runs the relay until `shutdown` flips to true. Wakes on NOTIFY or every second.
pub async fn run(pool: PgPool, bus: Bus, mut shutdown: watch::Receiver<bool>) -> Result<()> {
    let mut listener = PgListener::connect_with(&pool).await?;
    listener.listen(OUTBOX_CHANNEL).await?;
    tracing::info!(bus = bus.kind(), "outbox relay started");
    let mut backoff = RETRY_START;
    loop {
        if *shutdown.borrow() {
            return Ok(());
        }
        match relay_once(&pool, &bus, 500).await {
            Ok(n) if n > 0 => {
                backoff = RETRY_START;
                continue;
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "outbox relay failed; retrying");
                if !back_off(&mut backoff, &mut shutdown).await {
                    return Ok(());
                }
                continue;
            }
        }
        tokio::select! {
            _ = listener.recv() => {}
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = shutdown.changed() => {}
        }
    }
}
