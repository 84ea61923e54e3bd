//! One consumer interface over both transports. A consumer group processes
//! each message of its topics at least once, in order per event, and never
//! moves past a message its handler failed on: the handler is retried with
//! back-off until it succeeds (or the consumer stops, leaving the message for
//! the next start). Handlers must be idempotent on the envelope id, because a
//! consumer that dies between processing and storing its offset sees the
//! message again.
//!
//! Messages that are not envelopes cannot be processed by anybody; they are
//! logged and skipped rather than stalling the group.

use std::future::Future;
use std::time::Duration;

use protocol::events::{Envelope, Topic};
use rdkafka::consumer::{CommitMode, Consumer as _, StreamConsumer};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::Message;
use sqlx::postgres::PgListener;
use sqlx::{Connection, PgPool};
use tokio::sync::watch;

use crate::relay::LOG_CHANNEL;
use crate::{back_off, Error, Result, RETRY_START};

/// A member of a consumer group, on Kafka or on the embedded log.
pub struct Consumer {
    group: String,
    source: Source,
}

enum Source {
    Kafka(Box<StreamConsumer>),
    Log { pool: PgPool, topics: Vec<Topic> },
}

/// What a message's processing came to.
enum Outcome {
    /// Processed (or skipped as malformed): store its offset.
    Done,
    /// Shutdown came while the handler was failing: leave the message.
    Stopped,
}

impl Consumer {
    pub(crate) fn kafka(group: &str, consumer: StreamConsumer) -> Self {
        Consumer {
            group: group.to_owned(),
            source: Source::Kafka(Box::new(consumer)),
        }
    }

    pub(crate) fn log(group: &str, pool: PgPool, topics: &[Topic]) -> Self {
        Consumer {
            group: group.to_owned(),
            source: Source::Log {
                pool,
                topics: topics.to_vec(),
            },
        }
    }

    /// Processes messages with `handle` until `shutdown` flips to true.
    pub async fn run<F, Fut, E>(
        self,
        mut shutdown: watch::Receiver<bool>,
        mut handle: F,
    ) -> Result<()>
    where
        F: FnMut(Envelope) -> Fut,
        Fut: Future<Output = std::result::Result<(), E>>,
        E: std::fmt::Display,
    {
        tracing::info!(group = %self.group, "consumer started");
        match self.source {
            Source::Kafka(consumer) => {
                run_kafka(&self.group, *consumer, &mut shutdown, &mut handle).await
            }
            Source::Log { pool, topics } => {
                run_log(&self.group, pool, &topics, &mut shutdown, &mut handle).await
            }
        }
    }
}

/// Decodes and handles one payload, retrying the handler until it succeeds.
async fn process<F, Fut, E>(
    group: &str,
    payload: &[u8],
    shutdown: &mut watch::Receiver<bool>,
    handle: &mut F,
) -> Outcome
where
    F: FnMut(Envelope) -> Fut,
    Fut: Future<Output = std::result::Result<(), E>>,
    E: std::fmt::Display,
{
    let env = match serde_json::from_slice::<Envelope>(payload) {
        Ok(env) => env,
        Err(e) => {
            tracing::warn!(group, error = %e, "skipping a message that is not a domain event");
            return Outcome::Done;
        }
    };
    let mut wait = RETRY_START;
    loop {
        match handle(env.clone()).await {
            Ok(()) => return Outcome::Done,
            Err(e) => {
                tracing::warn!(group, message = %env.id, kind = env.fact.type_name(), error = %e,
                    retry_in_ms = wait.as_millis() as u64, "handler failed; retrying the same message");
            }
        }
        if !back_off(&mut wait, shutdown).await {
            return Outcome::Stopped;
        }
    }
}

async fn run_kafka<F, Fut, E>(
    group: &str,
    consumer: StreamConsumer,
    shutdown: &mut watch::Receiver<bool>,
    handle: &mut F,
) -> Result<()>
where
    F: FnMut(Envelope) -> Fut,
    Fut: Future<Output = std::result::Result<(), E>>,
    E: std::fmt::Display,
{
    loop {
        if *shutdown.borrow() {
            break;
        }
        let received = tokio::select! {
            m = consumer.recv() => m.map(|m| {
                (m.topic().to_owned(), m.partition(), m.offset(), m.payload().unwrap_or_default().to_vec())
            }),
            _ = shutdown.changed() => continue,
        };
        let (topic, partition, offset, payload) = match received {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(group, error = %e, "kafka consumer error; retrying");
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            }
        };
        match process(group, &payload, shutdown, handle).await {
            Outcome::Done => {
                // Fails when a rebalance took the partition away meanwhile: its
                // new owner sees the message again (handlers are idempotent).
                if let Err(e) = consumer.store_offset(&topic, partition, offset) {
                    tracing::warn!(group, %topic, partition, offset, error = %e,
                        "could not store the offset; the message will be seen again");
                }
            }
            Outcome::Stopped => break,
        }
    }
    match consumer.commit_consumer_state(CommitMode::Sync) {
        // Nothing stored since the last commit.
        Ok(()) | Err(rdkafka::error::KafkaError::ConsumerCommit(RDKafkaErrorCode::NoOffset)) => {
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

/// The embedded log: the outbox's rows in `position` order, with one committed
/// position per group in `bus_offsets`. One member of a group reads at a time
/// (a session advisory lock on a connection of its own, released when the
/// member stops or dies); the others wait for it. A database error does not
/// end the consumer: it logs, waits with back-off, and starts over from the
/// stored position (handlers are idempotent, so a repeated batch is harmless).
async fn run_log<F, Fut, E>(
    group: &str,
    pool: PgPool,
    topics: &[Topic],
    shutdown: &mut watch::Receiver<bool>,
    handle: &mut F,
) -> Result<()>
where
    F: FnMut(Envelope) -> Fut,
    Fut: Future<Output = std::result::Result<(), E>>,
    E: std::fmt::Display,
{
    let topics: Vec<&str> = topics.iter().map(|t| t.as_str()).collect();
    let mut wait = RETRY_START;
    loop {
        match log_member(group, &pool, &topics, shutdown, handle).await {
            Ok(()) => return Ok(()),
            Err(e) => {
                tracing::warn!(group, error = %e, retry_in_ms = wait.as_millis() as u64,
                    "embedded log consumer failed; starting over from the stored position");
            }
        }
        if !back_off(&mut wait, shutdown).await {
            return Ok(());
        }
    }
}

/// One membership of the group on the embedded log, until shutdown (`Ok`) or
/// a database error. The position is read and written on the membership's
/// own connection: if that connection (and with it the lock) is lost, the
/// next write fails instead of going on beside a new member.
async fn log_member<F, Fut, E>(
    group: &str,
    pool: &PgPool,
    topics: &[&str],
    shutdown: &mut watch::Receiver<bool>,
    handle: &mut F,
) -> Result<()>
where
    F: FnMut(Envelope) -> Fut,
    Fut: Future<Output = std::result::Result<(), E>>,
    E: std::fmt::Display,
{
    // Detached from the pool: when this member dies, the connection closes and
    // PostgreSQL releases the lock (a pooled connection would keep it).
    let mut membership = pool.acquire().await?.detach();
    loop {
        let mine: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock(hashtextextended($1, 7))")
            .bind(format!("bus-group:{group}"))
            .fetch_one(&mut membership)
            .await?;
        if mine {
            break;
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = shutdown.wait_for(|s| *s) => return Ok(()),
        }
    }
    let mut offset: i64 = sqlx::query_scalar(
        "INSERT INTO bus_offsets (consumer_group) VALUES ($1)
         ON CONFLICT (consumer_group) DO UPDATE SET consumer_group = excluded.consumer_group
         RETURNING position",
    )
    .bind(group)
    .fetch_one(&mut membership)
    .await?;
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(LOG_CHANNEL).await?;
    loop {
        if *shutdown.borrow() {
            break;
        }
        let rows: Vec<(i64, String)> = sqlx::query_as(
            "SELECT position, payload::text FROM outbox
             WHERE position > $1 AND topic = ANY($2) ORDER BY position LIMIT 200",
        )
        .bind(offset)
        .bind(topics)
        .fetch_all(pool)
        .await?;
        if rows.is_empty() {
            tokio::select! {
                n = listener.recv() => { n?; }
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                _ = shutdown.changed() => {}
            }
            continue;
        }
        // The position is stored once per batch (and when stopping): a member
        // that dies mid-batch sees the rest of it again, which idempotent
        // handlers absorb, and a busy log costs one offset write per batch.
        let mut done = offset;
        let mut stopped = false;
        for (position, payload) in rows {
            match process(group, payload.as_bytes(), shutdown, handle).await {
                Outcome::Done => done = position,
                Outcome::Stopped => {
                    stopped = true;
                    break;
                }
            }
        }
        if done > offset {
            sqlx::query(
                "UPDATE bus_offsets SET position = $2, updated_at = now() WHERE consumer_group = $1",
            )
            .bind(group)
            .bind(done)
            .execute(&mut membership)
            .await?;
            offset = done;
        }
        if stopped {
            break;
        }
    }
    membership
        .close()
        .await
        .map_err(|e| Error::Other(format!("closing the group connection: {e}")))?;
    Ok(())
}
