//! Background jobs in PostgreSQL: enqueued inside the transaction that causes
//! them, claimed with `FOR UPDATE SKIP LOCKED` (several workers may run), retried
//! with exponential back-off, given up after `max_attempts`.

use std::future::Future;
use std::time::Duration;

use sqlx::{PgConnection, PgPool};
use tokio::sync::watch;

use crate::Result;

/// Job kind: send an order's confirmation email.
pub const ORDER_CONFIRMATION: &str = "order_confirmation";

/// A claimed job.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Job {
    /// Id.
    pub id: i64,
    /// Kind.
    pub kind: String,
    /// JSON payload.
    pub payload: serde_json::Value,
    /// Attempts before this one.
    pub attempts: i32,
}

/// Enqueues a job on `conn` (commit it with the work that caused it).
pub async fn enqueue(
    conn: &mut PgConnection,
    kind: &str,
    payload: serde_json::Value,
) -> Result<()> {
    sqlx::query("INSERT INTO jobs (kind, payload) VALUES ($1, $2)")
        .bind(kind)
        .bind(payload)
        .execute(conn)
        .await?;
    Ok(())
}

/// Back-off before attempt `n + 1`: 2^n seconds, at most an hour.
pub fn backoff(attempts: i32) -> Duration {
    Duration::from_secs(1u64 << attempts.clamp(0, 12)).min(Duration::from_secs(3600))
}

/// Runs one due job with `handle`; returns whether there was one.
pub async fn run_once<F, Fut>(pool: &PgPool, handle: F) -> Result<bool>
where
    F: FnOnce(Job) -> Fut,
    Fut: Future<Output = std::result::Result<(), String>>,
{
    let mut tx = pool.begin().await?;
    let job: Option<Job> = sqlx::query_as(
        "SELECT id, kind, payload, attempts FROM jobs WHERE done_at IS NULL AND run_at <= now()
         ORDER BY run_at, id LIMIT 1 FOR UPDATE SKIP LOCKED",
    )
    .fetch_optional(&mut *tx)
    .await?;
    let Some(job) = job else { return Ok(false) };
    let id = job.id;
    let attempts = job.attempts;
    match handle(job).await {
        Ok(()) => {
            sqlx::query("UPDATE jobs SET done_at = now(), attempts = attempts + 1, last_error = NULL WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        Err(e) => {
            tracing::warn!(job = id, attempt = attempts + 1, error = %e, "job failed");
            let delay = backoff(attempts).as_secs() as f64;
            sqlx::query(
                "UPDATE jobs SET attempts = attempts + 1, last_error = $2,
                        run_at = now() + make_interval(secs => $3),
                        done_at = CASE WHEN attempts + 1 >= max_attempts THEN now() END,
                        failed = attempts + 1 >= max_attempts
                 WHERE id = $1",
            )
            .bind(id)
            .bind(&e)
            .bind(delay)
            .execute(&mut *tx)
            .await?;
        }
    }
    tx.commit().await?;
    Ok(true)
}

/// Runs jobs until `shutdown` flips; polls every `poll` when idle.
pub async fn run<F, Fut>(
    pool: PgPool,
    poll: Duration,
    mut shutdown: watch::Receiver<bool>,
    handle: F,
) -> Result<()>
where
    F: Fn(Job) -> Fut,
    Fut: Future<Output = std::result::Result<(), String>>,
{
    loop {
        if *shutdown.borrow() {
            return Ok(());
        }
        match run_once(&pool, &handle).await {
            Ok(true) => continue,
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "job queue unavailable"),
        }
        tokio::select! {
            _ = tokio::time::sleep(poll) => {}
            _ = shutdown.changed() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn backoff_grows_and_caps() {
        assert_eq!(super::backoff(0).as_secs(), 1);
        assert_eq!(super::backoff(3).as_secs(), 8);
        assert_eq!(super::backoff(30).as_secs(), 3600);
    }
}
