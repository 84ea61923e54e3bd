//! The outbox relay: publishes committed outbox rows to the bus, in order, at least once.

use std::time::Duration;

use sqlx::postgres::PgListener;
use sqlx::PgPool;
use tokio::sync::watch;
use uuid::Uuid;

use super::Bus;
use crate::Result;

/// Postgres NOTIFY channel raised by writers of the outbox.
pub const OUTBOX_CHANNEL: &str = "convene_outbox";

/// Publishes up to `batch` unpublished rows; returns how many were published.
/// Rows are locked with `SKIP LOCKED`, so several relays can run side by side.
pub async fn relay_once(pool: &PgPool, bus: &Bus, batch: i64) -> Result<usize> {
    let mut tx = pool.begin().await?;
    let rows: Vec<(i64, Uuid, String, String, serde_json::Value)> = sqlx::query_as(
        "SELECT id, message_id, topic, key, payload FROM outbox
         WHERE published_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED",
    )
    .bind(batch)
    .fetch_all(&mut *tx)
    .await?;
    let mut ids = Vec::with_capacity(rows.len());
    for (id, _message_id, topic, key, payload) in &rows {
        let bytes = serde_json::to_vec(payload)?;
        bus.publish(topic, key, &bytes).await?;
        ids.push(*id);
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

/// Runs the relay until `shutdown` flips to true. Wakes on NOTIFY or every second.
pub async fn run(pool: PgPool, bus: Bus, mut shutdown: watch::Receiver<bool>) -> Result<()> {
    let mut listener = PgListener::connect_with(&pool).await?;
    listener.listen(OUTBOX_CHANNEL).await?;
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
