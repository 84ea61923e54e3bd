//! The queue itself: enqueue, claim, record the outcome.

use std::future::Future;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;
use sqlx::{PgConnection, PgPool};

use crate::Result;

/// A kind of background job: its payload is the type itself.
pub trait Job: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// Stored in `jobs.kind`; never change it while rows of it may exist.
    const KIND: &'static str;
}

/// Why a job did not succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JobError {
    /// Worth trying again later (a relay or the database was unavailable).
    #[error("{0}")]
    Transient(String),
    /// Will never succeed (an unknown kind, a payload that does not parse).
    #[error("{0}")]
    Permanent(String),
}

impl From<crate::Error> for JobError {
    fn from(e: crate::Error) -> Self {
        match e {
            crate::Error::Invalid(m) | crate::Error::NotFound(m) => JobError::Permanent(m),
            other => JobError::Transient(other.to_string()),
        }
    }
}

/// Enqueues a job on `conn` (commit it with the work that caused it).
pub async fn enqueue<J: Job>(conn: &mut PgConnection, job: &J) -> Result<()> {
    sqlx::query("INSERT INTO jobs (kind, payload) VALUES ($1, $2)")
        .bind(J::KIND)
        .bind(serde_json::to_value(job)?)
        .execute(conn)
        .await?;
    Ok(())
}

/// A claimed job, before its payload is parsed.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Claimed {
    /// Row id.
    pub id: i64,
    /// Its [`Job::KIND`].
    pub kind: String,
    /// Its payload.
    pub payload: serde_json::Value,
    /// Attempts before this one.
    pub attempts: i32,
}

impl Claimed {
    /// The payload as job type `J`.
    pub fn parse<J: Job>(&self) -> std::result::Result<J, JobError> {
        serde_json::from_value(self.payload.clone())
            .map_err(|e| JobError::Permanent(format!("{} payload: {e}", J::KIND)))
    }
}

/// Back-off before attempt `n + 1`: 2^n seconds, at most an hour.
pub fn backoff(attempts: i32) -> Duration {
    Duration::from_secs(1u64 << attempts.clamp(0, 12)).min(Duration::from_secs(3600))
}

/// Runs one due job of one of `kinds` with `handle`; returns whether there
/// was one.
pub async fn run_once<F, Fut>(pool: &PgPool, kinds: &[&str], handle: F) -> Result<bool>
where
    F: FnOnce(Claimed) -> Fut,
    Fut: Future<Output = std::result::Result<(), JobError>>,
{
    let mut tx = pool.begin().await?;
    let job: Option<Claimed> = sqlx::query_as(
        "SELECT id, kind, payload, attempts FROM jobs
         WHERE done_at IS NULL AND run_at <= now() AND kind = ANY($1)
         ORDER BY run_at, id LIMIT 1 FOR UPDATE SKIP LOCKED",
    )
    .bind(kinds)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(job) = job else { return Ok(false) };
    let (id, attempts, kind) = (job.id, job.attempts, job.kind.clone());
    match handle(job).await {
        Ok(()) => {
            sqlx::query(
                "UPDATE jobs SET done_at = now(), attempts = attempts + 1, last_error = NULL WHERE id = $1",
            )
            .bind(id)
            .execute(&mut *tx)
            .await?;
        }
        Err(e) => {
            let permanent = matches!(e, JobError::Permanent(_));
            tracing::warn!(job = id, kind, attempt = attempts + 1, permanent, error = %e, "job failed");
            let delay = backoff(attempts).as_secs() as f64;
            sqlx::query(
                "UPDATE jobs SET attempts = attempts + 1, last_error = $2,
                        run_at = now() + make_interval(secs => $3),
                        done_at = CASE WHEN $4 OR attempts + 1 >= max_attempts THEN now() END,
                        failed = $4 OR attempts + 1 >= max_attempts
                 WHERE id = $1",
            )
            .bind(id)
            .bind(e.to_string())
            .bind(delay)
            .bind(permanent)
            .execute(&mut *tx)
            .await?;
        }
    }
    tx.commit().await?;
    Ok(true)
}

/// A job that has not succeeded: still to run (perhaps after a failed attempt), or given up.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Unfinished {
    /// Its kind.
    pub kind: String,
    /// The last attempt's error.
    pub last_error: Option<String>,
    /// Given up.
    pub failed: bool,
}

/// Every job that has not succeeded (tests assert there are none left).
pub async fn unfinished(pool: &PgPool) -> Result<Vec<Unfinished>> {
    Ok(sqlx::query_as(
        "SELECT kind, last_error, failed FROM jobs WHERE done_at IS NULL OR failed ORDER BY id",
    )
    .fetch_all(pool)
    .await?)
}

/// Deletes jobs that finished more than `keep` ago (failed ones too: their
/// error was logged when they failed); returns how many.
pub async fn purge(pool: &PgPool, keep: chrono::Duration) -> Result<u64> {
    let done = sqlx::query("DELETE FROM jobs WHERE done_at < now() - $1 * interval '1 second'")
        .bind(keep.num_seconds() as f64)
        .execute(pool)
        .await?;
    Ok(done.rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_caps() {
        assert_eq!(backoff(0).as_secs(), 1);
        assert_eq!(backoff(3).as_secs(), 8);
        assert_eq!(backoff(30).as_secs(), 3600);
    }
}
