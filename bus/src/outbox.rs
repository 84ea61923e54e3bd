//! The transactional outbox (owner of the `outbox` table): writers append a
//! domain event on their own connection, inside the transaction that made the
//! fact true, so the fact and its message commit or roll back together.

use protocol::events::Envelope;
use protocol::ids::DomainEventId;
use sqlx::PgConnection;

use crate::Result;

/// NOTIFY channel raised by every append (wakes the relay).
pub const OUTBOX_CHANNEL: &str = "convene_outbox";

/// Appends `env` to the outbox on `conn` (call inside the causing transaction).
pub async fn append(conn: &mut PgConnection, env: &Envelope) -> Result<()> {
    append_all(conn, std::slice::from_ref(env)).await
}

/// Appends several envelopes, in order, and wakes the relay: one round trip.
pub async fn append_all(conn: &mut PgConnection, envs: &[Envelope]) -> Result<()> {
    let ids: Vec<DomainEventId> = envs.iter().map(|e| e.id).collect();
    let topics: Vec<&str> = envs.iter().map(|e| e.topic().as_str()).collect();
    let keys: Vec<String> = envs.iter().map(|e| e.event_id.to_string()).collect();
    let payloads = envs
        .iter()
        .map(serde_json::to_value)
        .collect::<std::result::Result<Vec<_>, _>>()?;
    // A data-modifying CTE always runs, so the insert and the NOTIFY (sent at
    // commit) share one statement.
    sqlx::query(
        "WITH added AS (
             INSERT INTO outbox (message_id, topic, key, payload)
             SELECT i, t, k, p FROM unnest($1::uuid[], $2::text[], $3::text[], $4::jsonb[]) WITH ORDINALITY AS m(i, t, k, p, n)
             ORDER BY n)
         SELECT pg_notify($5, '')",
    )
    .bind(&ids)
    .bind(&topics)
    .bind(&keys)
    .bind(&payloads)
    .bind(OUTBOX_CHANNEL)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Deletes messages relayed more than `keep_secs` ago that no consumer can
/// still need: on Kafka the broker holds them; on the embedded log only those
/// below every consumer group's position (and never the highest, which the
/// relay numbers the next batch from). Returns how many.
pub async fn purge(pool: &sqlx::PgPool, keep_secs: i64) -> Result<u64> {
    let done = sqlx::query(
        "DELETE FROM outbox
         WHERE published_at < now() - $1 * interval '1 second'
           AND (position IS NULL
                OR position < coalesce((SELECT min(position) FROM bus_offsets), 0))",
    )
    .bind(keep_secs as f64)
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}
