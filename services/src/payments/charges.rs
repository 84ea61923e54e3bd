//! Charge attempts (owner of `payments`): one row per attempt to pay an order,
//! declined ones included, with the provider's reference and the platform fee.
//!
//! ```text
//! processing ──answer──▶ succeeded ──refund──▶ refunding ──▶ refunded
//!      │                     ▲
//!      ├──▶ requires_action ─┴─ webhook / reconciliation
//!      └──▶ failed (declined, abandoned, never reached the provider)
//! ```

use chrono::{DateTime, Utc};
use protocol::ids::{OrderId, PaymentId};
use protocol::states::PaymentStatus;
use sqlx::{PgConnection, PgPool};

use crate::Result;

/// A charge attempt to record before the provider is asked.
#[derive(Debug, Clone)]
pub struct NewAttempt<'a> {
    /// The order it pays.
    pub order_id: OrderId,
    /// The provider's name.
    pub provider: &'a str,
    /// Amount in minor units.
    pub amount_minor: i64,
    /// ISO currency.
    pub currency: &'a str,
    /// The platform's fee.
    pub platform_fee_minor: i64,
}

/// Records an attempt as `processing`, before the provider is called; its id
/// is the provider's idempotency key. One attempt per order at a time: while
/// one waits for the provider's answer, another is refused.
pub async fn start(conn: &mut PgConnection, a: NewAttempt<'_>) -> Result<PaymentId> {
    let id = PaymentId::new();
    let inserted = sqlx::query(
        "INSERT INTO payments (id, order_id, provider, amount_minor, currency, status, platform_fee_minor)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(id)
    .bind(a.order_id)
    .bind(a.provider)
    .bind(a.amount_minor)
    .bind(a.currency)
    .bind(PaymentStatus::Processing)
    .bind(a.platform_fee_minor)
    .execute(conn)
    .await;
    match inserted {
        Ok(_) => Ok(id),
        Err(sqlx::Error::Database(e)) if e.constraint() == Some("payments_one_processing_per_order") => {
            Err(crate::Error::Conflict(
                "a payment of this order is being processed; wait a moment and look at the order again".into(),
            ))
        }
        Err(e) => Err(e.into()),
    }
}

/// Records the provider's answer to a `processing` attempt: its reference,
/// its status and why it failed.
pub async fn answer(
    conn: &mut PgConnection,
    id: PaymentId,
    provider_ref: Option<&str>,
    status: PaymentStatus,
    failure: Option<&str>,
) -> Result<()> {
    sqlx::query(
        "UPDATE payments SET provider_ref = coalesce($2, provider_ref), status = $3, failure = $4, updated_at = now()
         WHERE id = $1",
    )
    .bind(id)
    .bind(provider_ref)
    .bind(status)
    .bind(failure)
    .execute(conn)
    .await?;
    Ok(())
}

/// Records that the bank holds attempt `id` until the buyer confirms it at
/// `action_url` (3-D Secure).
pub async fn await_action(
    conn: &mut PgConnection,
    id: PaymentId,
    provider_ref: Option<&str>,
    action_url: &str,
) -> Result<()> {
    sqlx::query(
        "UPDATE payments SET provider_ref = coalesce($2, provider_ref), status = $3, action_url = $4,
                failure = NULL, updated_at = now()
         WHERE id = $1",
    )
    .bind(id)
    .bind(provider_ref)
    .bind(PaymentStatus::RequiresAction)
    .bind(action_url)
    .execute(conn)
    .await?;
    Ok(())
}

/// Where the buyer confirms the newest attempt of order `order_id` that
/// their bank still holds, if one does.
pub async fn waiting_action_url(pool: &PgPool, order_id: OrderId) -> Result<Option<String>> {
    Ok(sqlx::query_scalar(
        "SELECT action_url FROM payments
         WHERE order_id = $1 AND status = $2 AND action_url IS NOT NULL
         ORDER BY created_at DESC LIMIT 1",
    )
    .bind(order_id)
    .bind(PaymentStatus::RequiresAction)
    .fetch_optional(pool)
    .await?)
}

/// Attempts of `provider` still `processing` after `older_than`: their
/// answer was lost (a crash, a timeout); the reconciliation asks again.
pub async fn stale_processing(
    pool: &PgPool,
    provider: &str,
    older_than: chrono::Duration,
) -> Result<Vec<PaymentId>> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM payments WHERE status = $1 AND provider = $2 AND updated_at < now() - $3
         ORDER BY updated_at LIMIT 100",
    )
    .bind(PaymentStatus::Processing)
    .bind(provider)
    .bind(older_than)
    .fetch_all(pool)
    .await?)
}

/// Attempts of `provider` waiting for the buyer's extra step for longer than
/// `older_than` (up to a day): their webhook may have been lost.
pub async fn stale_waiting(
    pool: &PgPool,
    provider: &str,
    older_than: chrono::Duration,
) -> Result<Vec<(PaymentId, String)>> {
    Ok(sqlx::query_as(
        "SELECT id, provider_ref FROM payments
         WHERE status = $1 AND provider = $2 AND provider_ref IS NOT NULL
           AND updated_at < now() - $3 AND updated_at > now() - interval '1 day'
         ORDER BY updated_at LIMIT 100",
    )
    .bind(PaymentStatus::RequiresAction)
    .bind(provider)
    .bind(older_than)
    .fetch_all(pool)
    .await?)
}

/// The order an attempt pays.
pub async fn order_of(conn: &mut PgConnection, id: PaymentId) -> Result<OrderId> {
    Ok(
        sqlx::query_scalar("SELECT order_id FROM payments WHERE id = $1")
            .bind(id)
            .fetch_one(conn)
            .await?,
    )
}

/// The attempt `id`, locked until the transaction ends.
pub async fn lock(conn: &mut PgConnection, id: PaymentId) -> Result<Payment> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM payments WHERE id = $1 FOR UPDATE"
    ))
    .bind(id)
    .fetch_one(conn)
    .await?)
}

/// A recorded charge, locked for settling.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Payment {
    /// Id.
    pub id: PaymentId,
    /// The order it pays.
    pub order_id: OrderId,
    /// Where it stands.
    pub status: PaymentStatus,
    /// Amount in minor units.
    pub amount_minor: i64,
    /// The platform's fee.
    pub platform_fee_minor: i64,
    /// The provider that took it (only it can give it back).
    pub provider: String,
    /// The provider's reference (none before its answer).
    pub provider_ref: Option<String>,
    /// Why it failed, when it did.
    pub failure: Option<String>,
}

const COLUMNS: &str =
    "id, order_id, status, amount_minor, platform_fee_minor, provider, provider_ref, failure";

/// The provider's payment `provider_ref`, locked until the transaction ends.
pub async fn lock_by_ref(
    conn: &mut PgConnection,
    provider: &str,
    provider_ref: &str,
) -> Result<Option<Payment>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM payments WHERE provider = $1 AND provider_ref = $2 FOR UPDATE"
    ))
    .bind(provider)
    .bind(provider_ref)
    .fetch_optional(conn)
    .await?)
}

/// The order's succeeded payments, whichever provider took them, oldest
/// first, locked.
pub async fn lock_succeeded(conn: &mut PgConnection, order_id: OrderId) -> Result<Vec<Payment>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM payments WHERE order_id = $1 AND status = $2
         ORDER BY created_at FOR UPDATE"
    ))
    .bind(order_id)
    .bind(PaymentStatus::Succeeded)
    .fetch_all(conn)
    .await?)
}

/// The order that the provider's payment `provider_ref` pays (to lock the
/// order before the payment: the order that `pay` locks first).
pub async fn order_of_ref(
    conn: &mut PgConnection,
    provider: &str,
    provider_ref: &str,
) -> Result<Option<OrderId>> {
    Ok(sqlx::query_scalar(
        "SELECT order_id FROM payments WHERE provider = $1 AND provider_ref = $2",
    )
    .bind(provider)
    .bind(provider_ref)
    .fetch_optional(conn)
    .await?)
}

/// Gives up the order's attempts still waiting for the buyer's extra step (a
/// new attempt replaces them); returns how many. Should one of them succeed
/// after all, its webhook refunds it.
pub async fn abandon_waiting(conn: &mut PgConnection, order_id: OrderId) -> Result<u64> {
    Ok(sqlx::query(
        "UPDATE payments SET status = $2, failure = 'abandoned: a newer attempt replaced it', updated_at = now()
         WHERE order_id = $1 AND status = $3",
    )
    .bind(order_id)
    .bind(PaymentStatus::Failed)
    .bind(PaymentStatus::RequiresAction)
    .execute(conn)
    .await?
    .rows_affected())
}

/// How many payments of the order hold money not yet given back (succeeded,
/// or being refunded).
pub async fn unrefunded_count(conn: &mut PgConnection, order_id: OrderId) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT count(*) FROM payments WHERE order_id = $1 AND status IN ($2, $3)",
    )
    .bind(order_id)
    .bind(PaymentStatus::Succeeded)
    .bind(PaymentStatus::Refunding)
    .fetch_one(conn)
    .await?)
}

/// Moves a payment to `status`.
pub async fn set_status(
    conn: &mut PgConnection,
    id: PaymentId,
    status: PaymentStatus,
) -> Result<()> {
    sqlx::query("UPDATE payments SET status = $2, updated_at = now() WHERE id = $1")
        .bind(id)
        .bind(status)
        .execute(conn)
        .await?;
    Ok(())
}

/// A payment as the organiser's order view lists it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PaymentLine {
    /// Where it stands.
    pub status: PaymentStatus,
    /// Amount in minor units.
    pub amount_minor: i64,
    /// When it was attempted.
    pub created_at: DateTime<Utc>,
}

/// Every payment attempt of an order, oldest first.
pub async fn of_order(pool: &PgPool, order_id: OrderId) -> Result<Vec<PaymentLine>> {
    Ok(sqlx::query_as(
        "SELECT status, amount_minor, created_at FROM payments WHERE order_id = $1 ORDER BY created_at",
    )
    .bind(order_id)
    .fetch_all(pool)
    .await?)
}
