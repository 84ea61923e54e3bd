//! The relay takes committed outbox rows to their consumers, in order, at least once.
//!
//! - **Kafka**: publishes unpublished rows (locked with `SKIP LOCKED`, so
//!   several relays may run) and marks them published once the broker acked.
//! - **Embedded log**: gives unpublished rows their `position` in the log.
//!   Consumers read rows by position, so a row must never become visible at a
//!   position lower than one a consumer already passed. Outbox ids do not give
//!   that: a transaction holding id 9 can commit after one holding id 10. The
//!   relay therefore numbers only rows that are already committed, one relay at
//!   a time (a transaction-scoped advisory lock): every batch commits before the
//!   next one is numbered, and gets positions above every earlier batch.

use std::time::Duration;

use sqlx::postgres::PgListener;
use sqlx::PgPool;
use tokio::sync::watch;

use crate::outbox::OUTBOX_CHANNEL;
use crate::{Bus, Result};

/// NOTIFY channel raised when rows get positions in the embedded log (wakes consumers).
pub const LOG_CHANNEL: &str = "convene_log";

/// Advisory lock key of the embedded log's sequencer.
const SEQUENCER_LOCK: i64 = 0x636f_6e76_656e_6501;

/// Relays up to `batch` rows; returns how many.
pub async fn relay_once(pool: &PgPool, bus: &Bus, batch: i64) -> Result<usize> {
    match bus {
        Bus::Kafka(kafka) => {
            let mut tx = pool.begin().await?;
            #[derive(sqlx::FromRow)]
            struct Row {
                id: i64,
                topic: String,
                key: String,
                payload: serde_json::Value,
            }
            let rows: Vec<Row> = sqlx::query_as(
                "SELECT id, topic, key, payload FROM outbox
                 WHERE published_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED",
            )
            .bind(batch)
            .fetch_all(&mut *tx)
            .await?;
            let mut ids = Vec::with_capacity(rows.len());
            for row in &rows {
                kafka
                    .publish(&row.topic, &row.key, &serde_json::to_vec(&row.payload)?)
                    .await?;
                ids.push(row.id);
            }
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
            let mut tx = pool.begin().await?;
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(SEQUENCER_LOCK)
                .execute(&mut *tx)
                .await?;
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
    let mut backoff = Duration::from_millis(100);
    loop {
        if *shutdown.borrow() {
            return Ok(());
        }
        match relay_once(&pool, &bus, 500).await {
            Ok(n) if n > 0 => {
                backoff = Duration::from_millis(100);
                continue;
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "outbox relay failed; retrying");
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = shutdown.changed() => {}
                }
                backoff = (backoff * 2).min(Duration::from_secs(10));
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
