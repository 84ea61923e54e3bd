//! Refunds (owner of `refunds`): money given back through the provider, one
//! row per refunded payment.
//!
//! A refund is recorded `pending` (and its payment `refunding`) in the
//! caller's transaction, then [`execute`]d outside any transaction with the
//! refund's id as the provider's idempotency key. A failure leaves it pending
//! with the error; asking again — a second cancel, the reconciliation — uses
//! the same key, so the money never goes back twice, and one refund that
//! fails never undoes another that succeeded.

use protocol::ids::{OrderId, PaymentId, RefundId};
use protocol::states::{PaymentStatus, RefundStatus};
use sqlx::{PgConnection, PgPool};

use super::charges::{self, Payment};
use super::provider::{check_taken_by, in_time, PaymentProvider};
use crate::{Error, Result};

/// Starts giving back a payment the caller has locked: the payment becomes
/// `refunding` and a pending refund is recorded (once per payment: starting
/// again returns the same refund). `closes_order` says whether its success
/// makes the (cancelled) order `refunded`. Refused, changing nothing, when
/// another provider took the payment (the platform's provider changed).
pub async fn begin(
    conn: &mut PgConnection,
    provider: &dyn PaymentProvider,
    payment: &Payment,
    reason: &str,
    closes_order: bool,
) -> Result<RefundId> {
    check_taken_by(&payment.provider, provider)?;
    charges::set_status(&mut *conn, payment.id, PaymentStatus::Refunding).await?;
    Ok(sqlx::query_scalar(
        "INSERT INTO refunds (id, payment_id, amount_minor, reason, status, closes_order)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (payment_id) DO UPDATE SET updated_at = now()
         RETURNING id",
    )
    .bind(RefundId::new())
    .bind(payment.id)
    .bind(payment.amount_minor)
    .bind(reason)
    .bind(RefundStatus::Pending)
    .bind(closes_order)
    .fetch_one(conn)
    .await?)
}

/// A refund as [`execute`] reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refunded {
    /// The order whose payment was given back.
    pub order_id: OrderId,
    /// Whether it makes its order `refunded`.
    pub closes_order: bool,
}

#[derive(sqlx::FromRow)]
struct Pending {
    status: RefundStatus,
    payment_id: PaymentId,
    order_id: OrderId,
    provider: String,
    payment_ref: Option<String>,
    amount_minor: i64,
    closes_order: bool,
}

/// Asks the provider to give the money back (never inside a transaction)
/// and records its answer; a refund already done is not asked again.
pub async fn execute(
    pool: &PgPool,
    provider: &dyn PaymentProvider,
    id: RefundId,
) -> Result<Refunded> {
    let r: Pending = sqlx::query_as(
        "SELECT r.status, r.payment_id, p.order_id, p.provider, p.provider_ref AS payment_ref,
                r.amount_minor, r.closes_order
         FROM refunds r JOIN payments p ON p.id = r.payment_id WHERE r.id = $1",
    )
    .bind(id)
    .fetch_one(pool)
    .await?;
    let done = Refunded {
        order_id: r.order_id,
        closes_order: r.closes_order,
    };
    if r.status == RefundStatus::Succeeded {
        return Ok(done);
    }
    let answer = match (check_taken_by(&r.provider, provider), &r.payment_ref) {
        (Err(e), _) => Err(e),
        (Ok(()), Some(payment_ref)) => {
            in_time(provider.refund(payment_ref, r.amount_minor, &id.to_string())).await
        }
        (Ok(()), None) => Err(Error::Internal(
            "the payment has no provider reference".into(),
        )),
    };
    match answer {
        Ok(refund_ref) => {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "UPDATE refunds SET status = $2, provider_ref = $3, last_error = NULL, updated_at = now()
                 WHERE id = $1",
            )
            .bind(id)
            .bind(RefundStatus::Succeeded)
            .bind(&refund_ref)
            .execute(&mut *tx)
            .await?;
            charges::set_status(&mut tx, r.payment_id, PaymentStatus::Refunded).await?;
            tx.commit().await?;
            Ok(done)
        }
        Err(e) => {
            sqlx::query(
                "UPDATE refunds SET attempts = attempts + 1, last_error = $2, updated_at = now() WHERE id = $1",
            )
            .bind(id)
            .bind(e.to_string())
            .execute(pool)
            .await?;
            tracing::warn!(refund = %id, error = %e, "refund failed; it stays pending");
            Err(e)
        }
    }
}

/// The order's refunds still pending, oldest first.
pub async fn pending_of_order(pool: &PgPool, order_id: OrderId) -> Result<Vec<RefundId>> {
    Ok(sqlx::query_scalar(
        "SELECT r.id FROM refunds r JOIN payments p ON p.id = r.payment_id
         WHERE p.order_id = $1 AND r.status = $2 ORDER BY r.created_at",
    )
    .bind(order_id)
    .bind(RefundStatus::Pending)
    .fetch_all(pool)
    .await?)
}

/// Refunds through `provider` left pending for longer than `older_than`.
pub async fn stale(
    pool: &PgPool,
    provider: &str,
    older_than: chrono::Duration,
) -> Result<Vec<RefundId>> {
    Ok(sqlx::query_scalar(
        "SELECT r.id FROM refunds r JOIN payments p ON p.id = r.payment_id
         WHERE r.status = $1 AND p.provider = $2 AND r.updated_at < now() - $3
         ORDER BY r.updated_at LIMIT 100",
    )
    .bind(RefundStatus::Pending)
    .bind(provider)
    .bind(older_than)
    .fetch_all(pool)
    .await?)
}

/// Money refunded on an order so far, in minor units.
pub async fn refunded_total(pool: &PgPool, order_id: OrderId) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT coalesce(sum(r.amount_minor), 0)::bigint FROM refunds r
         WHERE r.status = $2 AND r.payment_id IN (SELECT id FROM payments WHERE order_id = $1)",
    )
    .bind(order_id)
    .bind(RefundStatus::Succeeded)
    .fetch_one(pool)
    .await?)
}

/// Money given back on an order by the refunds that close it (its
/// cancellation), leaving out late payments returned because the order was
/// already paid or closed.
pub async fn closing_total(pool: &PgPool, order_id: OrderId) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT coalesce(sum(r.amount_minor), 0)::bigint FROM refunds r
         WHERE r.status = $2 AND r.closes_order
           AND r.payment_id IN (SELECT id FROM payments WHERE order_id = $1)",
    )
    .bind(order_id)
    .bind(RefundStatus::Succeeded)
    .fetch_one(pool)
    .await?)
}
