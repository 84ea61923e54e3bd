//! Refunds (owner of `refunds`): money given back through the provider, one
//! row per refunded payment.

use protocol::ids::{OrderId, RefundId};
use protocol::states::PaymentStatus;
use sqlx::{PgConnection, PgPool};

use super::charges::{self, Payment};
use super::provider::PaymentProvider;
use crate::{Error, Result};

/// Refunds every succeeded payment of an order (there is at most one) through the provider, recording
/// each refund; returns the amount refunded. Payments already refunded are
/// skipped, so a retry never refunds twice.
pub async fn refund_order(
    pool: &PgPool,
    provider: &dyn PaymentProvider,
    order_id: OrderId,
    reason: &str,
) -> Result<i64> {
    let mut tx = pool.begin().await?;
    let paid = charges::lock_succeeded(&mut tx, order_id).await?;
    let mut total = 0;
    for p in paid {
        refund_payment(&mut tx, provider, &p, reason).await?;
        total += p.amount_minor;
    }
    tx.commit().await?;
    Ok(total)
}

/// Gives back one payment (which the caller has locked) through the provider
/// and records the refund; the payment becomes `refunded`. Fails, changing
/// nothing, when another provider took it (the platform's provider changed).
pub async fn refund_payment(
    conn: &mut PgConnection,
    provider: &dyn PaymentProvider,
    payment: &Payment,
    reason: &str,
) -> Result<()> {
    if payment.provider != provider.name() {
        return Err(Error::Conflict(format!(
            "this payment was taken by the '{}' provider, not the configured '{}'; refund it there",
            payment.provider,
            provider.name()
        )));
    }
    let refund_ref = provider
        .refund(&payment.provider_ref, payment.amount_minor)
        .await?;
    charges::set_status(&mut *conn, payment.id, PaymentStatus::Refunded).await?;
    sqlx::query(
        "INSERT INTO refunds (id, payment_id, provider_ref, amount_minor, reason) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(RefundId::new())
    .bind(payment.id)
    .bind(&refund_ref)
    .bind(payment.amount_minor)
    .bind(reason)
    .execute(conn)
    .await?;
    Ok(())
}

/// Money refunded on an order so far, in minor units.
pub async fn refunded_total(pool: &PgPool, order_id: OrderId) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT coalesce(sum(r.amount_minor), 0)::bigint FROM refunds r
         WHERE r.payment_id IN (SELECT id FROM payments WHERE order_id = $1)",
    )
    .bind(order_id)
    .fetch_one(pool)
    .await?)
}
