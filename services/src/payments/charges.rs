//! Charge attempts (owner of `payments`): one row per attempt to pay an order,
//! declined ones included, with the provider's reference and the platform fee.

use chrono::{DateTime, Utc};
use protocol::ids::{OrderId, PaymentId};
use protocol::states::PaymentStatus;
use sqlx::{PgConnection, PgPool};

use crate::Result;

/// A charge attempt to record.
#[derive(Debug, Clone)]
pub struct NewCharge<'a> {
    /// The order it pays.
    pub order_id: OrderId,
    /// The provider's name.
    pub provider: &'a str,
    /// The provider's reference.
    pub provider_ref: &'a str,
    /// Amount in minor units.
    pub amount_minor: i64,
    /// ISO currency.
    pub currency: &'a str,
    /// Where it stands.
    pub status: PaymentStatus,
    /// Why it failed, when it did.
    pub failure: Option<&'a str>,
    /// The platform's fee.
    pub platform_fee_minor: i64,
}

/// Records a charge attempt; returns its id.
pub async fn record(conn: &mut PgConnection, c: NewCharge<'_>) -> Result<PaymentId> {
    let id = PaymentId::new();
    sqlx::query(
        "INSERT INTO payments (id, order_id, provider, provider_ref, amount_minor, currency, status, failure, platform_fee_minor)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(id)
    .bind(c.order_id)
    .bind(c.provider)
    .bind(c.provider_ref)
    .bind(c.amount_minor)
    .bind(c.currency)
    .bind(c.status)
    .bind(c.failure)
    .bind(c.platform_fee_minor)
    .execute(conn)
    .await?;
    Ok(id)
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
    /// The provider's reference.
    pub provider_ref: String,
}

const COLUMNS: &str =
    "id, order_id, status, amount_minor, platform_fee_minor, provider, provider_ref";

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

/// How many payments of the order succeeded (and were not refunded).
pub async fn succeeded_count(conn: &mut PgConnection, order_id: OrderId) -> Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT count(*) FROM payments WHERE order_id = $1 AND status = $2")
            .bind(order_id)
            .bind(PaymentStatus::Succeeded)
            .fetch_one(conn)
            .await?,
    )
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
