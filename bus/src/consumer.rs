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

/// Messages a batch handler ([`Consumer::run_batches`]) is given at most at
/// once: what the embedded log reads in one query, and what Kafka has
/// fetched already when the first of them is taken.
pub const MAX_BATCH: usize = 200;

/// Where a consumer's messages go: one at a time, each retried on its own
/// ([`OneByOne`]), or in batches, each retried whole ([`Batches`]).
trait Sink {
    /// Messages taken at once at most.
    const MAX: usize;

    /// Processes `payloads` in order, retrying until they succeed; how many
    /// are done (all, unless shutdown came while a handler was failing).
    async fn take(
        &mut self,
        group: &str,
        payloads: &[&[u8]],
        shutdown: &mut watch::Receiver<bool>,
    ) -> usize;
}

/// Decodes a payload; one that is not an envelope is logged and skipped.
fn decode(group: &str, payload: &[u8]) -> Option<Envelope> {
    match serde_json::from_slice::<Envelope>(payload) {
        Ok(env) => Some(env),
        Err(e) => {
            tracing::warn!(group, error = %e, "skipping a message that is not a domain event");
            None
        }
    }
}

/// A handler of one envelope at a time.
struct OneByOne<F>(F);

impl<F, Fut, E> Sink for OneByOne<F>
where
    F: FnMut(Envelope) -> Fut,
    Fut: Future<Output = std::result::Result<(), E>>,
    E: std::fmt::Display,
{
    const MAX: usize = 1;

    async fn take(
        &mut self,
        group: &str,
        payloads: &[&[u8]],
        shutdown: &mut watch::Receiver<bool>,
    ) -> usize {
        for (done, payload) in payloads.iter().enumerate() {
            let Some(env) = decode(group, payload) else {
                continue;
            };
            let handled = until_done(
                shutdown,
                || (self.0)(env.clone()),
                |e, wait| {
                    tracing::warn!(group, message = %env.id, kind = env.fact.type_name(), error = %e,
                    retry_in_ms = wait.as_millis() as u64, "handler failed; retrying the same message");
                },
            );
            if !handled.await {
                return done;
            }
        }
        payloads.len()
    }
}

/// A handler of envelopes in batches (in order, at most [`MAX_BATCH`]).
struct Batches<F>(F);

impl<F, Fut, E> Sink for Batches<F>
where
    F: FnMut(Vec<Envelope>) -> Fut,
    Fut: Future<Output = std::result::Result<(), E>>,
    E: std::fmt::Display,
{
    const MAX: usize = MAX_BATCH;

    async fn take(
        &mut self,
        group: &str,
        payloads: &[&[u8]],
        shutdown: &mut watch::Receiver<bool>,
    ) -> usize {
        let batch: Vec<Envelope> = payloads.iter().filter_map(|p| decode(group, p)).collect();
        if batch.is_empty() {
            return payloads.len();
        }
        let handled = until_done(
            shutdown,
            || (self.0)(batch.clone()),
            |e, wait| {
                tracing::warn!(group, messages = batch.len(), first = %batch[0].id, error = %e,
                retry_in_ms = wait.as_millis() as u64, "batch handler failed; retrying the same batch");
            },
        );
        if handled.await {
            payloads.len()
        } else {
            0
        }
    }
}

/// Runs `attempt` until it succeeds, backing off after each failure (which
/// `failed` logs with the wait before the next try); false when shutdown
/// came first.
async fn until_done<Fut, E>(
    shutdown: &mut watch::Receiver<bool>,
    mut attempt: impl FnMut() -> Fut,
    failed: impl Fn(&E, Duration),
) -> bool
where
    Fut: Future<Output = std::result::Result<(), E>>,
{
    let mut wait = RETRY_START;
    loop {
        match attempt().await {
            Ok(()) => return true,
            Err(e) => failed(&e, wait),
        }
        if !back_off(&mut wait, shutdown).await {
            return false;
        }
    }
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

    /// Processes messages with `handle` until `shutdown` flips to true, one
    /// at a time: a failing message is retried on its own.
    pub async fn run<F, Fut, E>(self, shutdown: watch::Receiver<bool>, handle: F) -> Result<()>
    where
        F: FnMut(Envelope) -> Fut,
        Fut: Future<Output = std::result::Result<(), E>>,
        E: std::fmt::Display,
    {
        self.drive(shutdown, OneByOne(handle)).await
    }

    /// Processes messages with `handle` until `shutdown` flips to true, in
    /// batches of what has arrived (up to [`MAX_BATCH`], in order): a
    /// handler can apply a batch in one transaction. A failing batch is
    /// retried whole, so its earlier messages are seen again (handlers are
    /// idempotent anyway).
    pub async fn run_batches<F, Fut, E>(
        self,
        shutdown: watch::Receiver<bool>,
        handle: F,
    ) -> Result<()>
    where
        F: FnMut(Vec<Envelope>) -> Fut,
        Fut: Future<Output = std::result::Result<(), E>>,
        E: std::fmt::Display,
    {
        self.drive(shutdown, Batches(handle)).await
    }

    async fn drive<S: Sink>(self, mut shutdown: watch::Receiver<bool>, mut sink: S) -> Result<()> {
        tracing::info!(group = %self.group, "consumer started");
        match self.source {
            Source::Kafka(consumer) => {
                run_kafka(&self.group, *consumer, &mut shutdown, &mut sink).await
            }
            Source::Log { pool, topics } => {
                run_log(&self.group, pool, &topics, &mut shutdown, &mut sink).await
            }
        }
    }
}

/// A message taken from Kafka: where it is, and its payload.
type Taken = (String, i32, i64, Vec<u8>);

fn taken(m: &rdkafka::message::BorrowedMessage<'_>) -> Taken {
    (
        m.topic().to_owned(),
        m.partition(),
        m.offset(),
        m.payload().unwrap_or_default().to_vec(),
    )
}

async fn run_kafka<S: Sink>(
    group: &str,
    consumer: StreamConsumer,
    shutdown: &mut watch::Receiver<bool>,
    sink: &mut S,
) -> Result<()> {
    loop {
        if *shutdown.borrow() {
            break;
        }
        let received = tokio::select! {
            m = consumer.recv() => m.map(|m| taken(&m)),
            _ = shutdown.changed() => continue,
        };
        let first = match received {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(group, error = %e, "kafka consumer error; retrying");
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            }
        };
        // What else has arrived already joins the batch (a zero timeout polls
        // the queue once and does not wait).
        let mut batch = vec![first];
        while batch.len() < S::MAX {
            match tokio::time::timeout(Duration::ZERO, consumer.recv()).await {
                Ok(Ok(m)) => batch.push(taken(&m)),
                _ => break,
            }
        }
        let payloads: Vec<&[u8]> = batch.iter().map(|t| t.3.as_slice()).collect();
        let done = sink.take(group, &payloads, shutdown).await;
        for (topic, partition, offset, _) in &batch[..done] {
            // Fails when a rebalance took the partition away meanwhile: its
            // new owner sees the message again (handlers are idempotent).
            if let Err(e) = consumer.store_offset(topic, *partition, *offset) {
                tracing::warn!(group, %topic, partition, offset, error = %e,
                    "could not store the offset; the message will be seen again");
            }
        }
        if done < batch.len() {
            break;
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
async fn run_log<S: Sink>(
    group: &str,
    pool: PgPool,
    topics: &[Topic],
    shutdown: &mut watch::Receiver<bool>,
    sink: &mut S,
) -> Result<()> {
    let topics: Vec<&str> = topics.iter().map(|t| t.as_str()).collect();
    let mut wait = RETRY_START;
    loop {
        match log_member(group, &pool, &topics, shutdown, sink).await {
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
async fn log_member<S: Sink>(
    group: &str,
    pool: &PgPool,
    topics: &[&str],
    shutdown: &mut watch::Receiver<bool>,
    sink: &mut S,
) -> Result<()> {
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
             WHERE position > $1 AND topic = ANY($2) ORDER BY position LIMIT $3",
        )
        .bind(offset)
        .bind(topics)
        .bind(MAX_BATCH as i64)
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
        for rows in rows.chunks(S::MAX) {
            let payloads: Vec<&[u8]> = rows.iter().map(|(_, p)| p.as_bytes()).collect();
            let n = sink.take(group, &payloads, shutdown).await;
            if n > 0 {
                done = rows[n - 1].0;
            }
            if n < rows.len() {
                stopped = true;
                break;
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
