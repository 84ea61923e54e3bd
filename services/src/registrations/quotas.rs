//! Quotas (owner of `quotas` and `ticket_type_quotas`): numbers of seats that
//! ticket types draw from. Ticket types naming the same quota share its seats.
//!
//! A seat is taken only under a row lock on every quota of the ticket type,
//! locked in id order so that concurrent buyers of types sharing quotas never
//! deadlock; `CHECK (sold <= size)` is the last line of defence.

use protocol::ids::{EventId, QuotaId, TicketTypeId};
use sqlx::{PgConnection, PgPool};

use crate::{Error, Result};

/// How quotas are guarded. Only `Locked` is correct; `UnsafeUnlocked` exists so that
/// the concurrency test can show the race it prevents (a test-only switch).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum QuotaLocking {
    /// `SELECT … FOR UPDATE` on every quota, then an atomic increment.
    #[default]
    Locked,
    /// Read without a lock, check, then write back what was read plus the order
    /// (a lost update). Never use outside tests.
    UnsafeUnlocked,
}

/// Links a ticket type to the quota `name` of its event, creating the quota
/// with `size` seats if it does not exist yet (its size is the one given first).
pub async fn attach(
    conn: &mut PgConnection,
    event: EventId,
    ticket_type: TicketTypeId,
    name: &str,
    size: i32,
) -> Result<()> {
    let quota_id: QuotaId = sqlx::query_scalar(
        "INSERT INTO quotas (id, event_id, name, size) VALUES ($1, $2, $3, $4)
         ON CONFLICT (event_id, name) DO UPDATE SET name = EXCLUDED.name RETURNING id",
    )
    .bind(QuotaId::new())
    .bind(event)
    .bind(name)
    .bind(size)
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query("INSERT INTO ticket_type_quotas (ticket_type_id, quota_id) VALUES ($1, $2)")
        .bind(ticket_type)
        .bind(quota_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Sets the seats of a ticket type's quota (`None`: unlimited, the type
/// leaves its quota; a type without one gets a quota of its own, named
/// `name`). Under the quota's lock, never below the seats sold.
pub async fn resize(
    conn: &mut PgConnection,
    event: EventId,
    ticket_type: TicketTypeId,
    name: &str,
    size: Option<i32>,
) -> Result<()> {
    let current: Option<(QuotaId, i32)> = sqlx::query_as(
        "SELECT q.id, q.sold FROM quotas q JOIN ticket_type_quotas tq ON tq.quota_id = q.id
         WHERE tq.ticket_type_id = $1 ORDER BY q.id LIMIT 1 FOR UPDATE OF q",
    )
    .bind(ticket_type)
    .fetch_optional(&mut *conn)
    .await?;
    match (current, size) {
        (None, None) => Ok(()),
        (None, Some(size)) => attach(conn, event, ticket_type, name, size).await,
        (Some(_), None) => detach(conn, ticket_type).await,
        (Some((id, sold)), Some(size)) => {
            if size < sold {
                return Err(Error::Conflict(format!(
                    "{sold} seats are sold already: the quota cannot be smaller"
                )));
            }
            sqlx::query("UPDATE quotas SET size = $2 WHERE id = $1")
                .bind(id)
                .bind(size)
                .execute(&mut *conn)
                .await?;
            Ok(())
        }
    }
}

/// Seats of a ticket type on sale now (the tightest of its quotas), under
/// the quotas' locks; None when it is unlimited.
pub async fn lock_available(
    conn: &mut PgConnection,
    ticket_type: TicketTypeId,
) -> Result<Option<i64>> {
    let left: Vec<i32> = sqlx::query_scalar(
        "SELECT q.size - q.sold FROM quotas q JOIN ticket_type_quotas tq ON tq.quota_id = q.id
         WHERE tq.ticket_type_id = $1 ORDER BY q.id FOR UPDATE OF q",
    )
    .bind(ticket_type)
    .fetch_all(&mut *conn)
    .await?;
    Ok(left.into_iter().min().map(|n| i64::from(n.max(0))))
}

/// Counts `seats` of a ticket type as taken in every quota it draws from
/// (seats held for people on the waiting list), under their locks.
pub async fn hold(conn: &mut PgConnection, ticket_type: TicketTypeId, seats: i64) -> Result<()> {
    if seats <= 0 {
        return Ok(());
    }
    let quotas = lock_ids(conn, ticket_type).await?;
    sqlx::query("UPDATE quotas SET sold = sold + $2 WHERE id = ANY($1)")
        .bind(&quotas)
        .bind(seats as i32)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Locks every quota of a ticket type, in id order (the order purchases
/// lock them in, so the two never deadlock); returns their ids.
async fn lock_ids(conn: &mut PgConnection, ticket_type: TicketTypeId) -> Result<Vec<QuotaId>> {
    Ok(sqlx::query_scalar(
        "SELECT q.id FROM quotas q JOIN ticket_type_quotas tq ON tq.quota_id = q.id
         WHERE tq.ticket_type_id = $1 ORDER BY q.id FOR UPDATE",
    )
    .bind(ticket_type)
    .fetch_all(&mut *conn)
    .await?)
}

/// Unlinks a ticket type from its quotas, deleting those no other type uses.
pub async fn detach(conn: &mut PgConnection, ticket_type: TicketTypeId) -> Result<()> {
    let left: Vec<QuotaId> = sqlx::query_scalar(
        "DELETE FROM ticket_type_quotas WHERE ticket_type_id = $1 RETURNING quota_id",
    )
    .bind(ticket_type)
    .fetch_all(&mut *conn)
    .await?;
    sqlx::query(
        "DELETE FROM quotas q WHERE q.id = ANY($1)
           AND NOT EXISTS (SELECT 1 FROM ticket_type_quotas tq WHERE tq.quota_id = q.id)",
    )
    .bind(&left)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// What is left of a ticket type's quotas.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Limit {
    /// The ticket type.
    pub ticket_type_id: TicketTypeId,
    /// Seats left in its tightest quota.
    pub available: i64,
    /// Seats sold of its fullest quota.
    pub sold: i64,
    /// Seats of its smallest quota.
    pub size: i64,
    /// Name of its quota (the first, when it has several).
    pub quota_name: String,
}

/// The limits of every limited ticket type of the event.
pub async fn limits(pool: &PgPool, event: EventId) -> Result<Vec<Limit>> {
    Ok(sqlx::query_as(
        "SELECT tq.ticket_type_id, min(q.size - q.sold)::bigint AS available, max(q.sold)::bigint AS sold,
                min(q.size)::bigint AS size, min(q.name) AS quota_name
         FROM ticket_type_quotas tq JOIN quotas q ON q.id = tq.quota_id
         WHERE q.event_id = $1 GROUP BY tq.ticket_type_id",
    )
    .bind(event)
    .fetch_all(pool)
    .await?)
}

/// Takes `quantity` seats from every quota of the ticket type, or fails with "sold out".
pub async fn take(
    conn: &mut PgConnection,
    ticket_type: TicketTypeId,
    quantity: i32,
    locking: QuotaLocking,
) -> Result<()> {
    let lock = match locking {
        QuotaLocking::Locked => "FOR UPDATE",
        QuotaLocking::UnsafeUnlocked => "",
    };
    let quotas: Vec<(QuotaId, i32, i32)> = sqlx::query_as(&format!(
        "SELECT q.id, q.size, q.sold FROM quotas q JOIN ticket_type_quotas tq ON tq.quota_id = q.id
         WHERE tq.ticket_type_id = $1 ORDER BY q.id {lock}"
    ))
    .bind(ticket_type)
    .fetch_all(&mut *conn)
    .await?;
    for (_, size, sold) in &quotas {
        let left = size - sold;
        if left <= 0 {
            return Err(Error::Conflict("sold out".into()));
        }
        if quantity > left {
            return Err(Error::Conflict(format!("sold out: only {left} left")));
        }
    }
    for (id, _, sold) in &quotas {
        match locking {
            QuotaLocking::Locked => {
                sqlx::query("UPDATE quotas SET sold = sold + $2 WHERE id = $1")
                    .bind(id)
                    .bind(quantity)
                    .execute(&mut *conn)
                    .await?;
            }
            QuotaLocking::UnsafeUnlocked => {
                // Widen the window between read and write so the race shows reliably.
                sqlx::query("SELECT pg_sleep(0.02)")
                    .execute(&mut *conn)
                    .await?;
                sqlx::query("UPDATE quotas SET sold = $2 WHERE id = $1")
                    .bind(id)
                    .bind(sold + quantity)
                    .execute(&mut *conn)
                    .await?;
            }
        }
    }
    Ok(())
}

/// Returns `seats` of a ticket type to every quota it draws from (under their locks).
pub async fn release(conn: &mut PgConnection, ticket_type: TicketTypeId, seats: i64) -> Result<()> {
    if seats <= 0 {
        return Ok(());
    }
    let quotas = lock_ids(conn, ticket_type).await?;
    sqlx::query("UPDATE quotas SET sold = greatest(sold - $2, 0) WHERE id = ANY($1)")
        .bind(&quotas)
        .bind(seats as i32)
        .execute(&mut *conn)
        .await?;
    Ok(())
}
