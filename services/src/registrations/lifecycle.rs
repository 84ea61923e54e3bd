//! An order's life after the purchase:
//!
//! ```text
//! awaiting_approval ──approve──▶ pending ──pay──▶ confirmed
//!        │   (free: straight to confirmed)   │            │
//!        └──────────── cancel / expire ──────┴──▶ cancelled ──refund──▶ refunded
//! ```
//!
//! Unpaid orders expire after [`orders::PENDING_ORDER_TTL_MINUTES`]; orders
//! nobody approved expire after [`orders::APPROVAL_TTL_DAYS`] (both hold seats).
//!
//! Cancelling voids the tickets (their holder can no longer enter) and returns
//! their seats: to the waiting list first, then to sale. Every change of
//! status emails the buyer and is a domain event. Paying is [`super::payment`].

use std::collections::hash_map::{Entry, HashMap};
use std::sync::Arc;

use protocol::events::{Fact, OrderApproved, OrderRefunded};
use protocol::ids::{EventId, OrderId};
use protocol::states::{CancelReason, OrderStatus};
use sqlx::PgPool;
use tracing::instrument;

use super::orders::{self, Order};
use crate::accounts::Organiser;
use crate::events::{self, Event};
use crate::jobs::{self, OrderEmail};
use crate::payments::provider::detached;
use crate::payments::{charges, refunds, PaymentProvider};
use crate::{domain_events, Error, Result};

/// Cancels an order of one of the organiser's events: its tickets are voided,
/// their seats go back, and a paid order is refunded through the provider.
/// Returns the order's new status (cancelled or refunded). Cancelling a
/// cancelled order whose refund failed retries the refund.
#[instrument(skip(pool, provider, by), fields(org = %by.org_id))]
pub async fn cancel(
    pool: &PgPool,
    provider: &Arc<dyn PaymentProvider>,
    by: &Organiser,
    slug: &str,
    code: &str,
) -> Result<OrderStatus> {
    let event = events::get_for_org(pool, by, slug).await?;
    let mut tx = pool.begin().await?;
    let order = orders::lock_by_code(&mut tx, Some(event.id), code).await?;
    let paid = charges::unrefunded_count(&mut tx, order.id).await?;
    match order.status {
        OrderStatus::Refunded => {
            return Err(Error::Conflict("this order is already refunded".into()))
        }
        OrderStatus::Cancelled if paid == 0 => {
            return Err(Error::Conflict("this order is already cancelled".into()))
        }
        OrderStatus::Cancelled => {} // a refund to retry
        _ => {
            orders::void(&mut tx, &event, &order, CancelReason::Organiser).await?;
            // The buyer hears of it (declined, cancelled, or refunded once that is done).
            jobs::enqueue(&mut tx, &OrderEmail { order_id: order.id }).await?;
        }
    }
    tx.commit().await?;
    tracing::info!(order = %order.id, "order cancelled");
    if paid == 0 {
        return Ok(OrderStatus::Cancelled);
    }
    refund(pool, provider, &order, "cancelled by the organiser")
        .await
        .map_err(|e| {
            Error::Conflict(format!(
                "the order is cancelled but its refund failed ({e}); cancel it again to retry"
            ))
        })?;
    Ok(OrderStatus::Refunded)
}

/// Refunds every payment of a cancelled order that holds money and marks the
/// order refunded. Each refund is recorded before the provider is asked and
/// asked outside any transaction, with its own idempotency key; one that
/// fails stays pending (the reconciliation retries it) without undoing
/// another that succeeded.
pub async fn refund(
    pool: &PgPool,
    provider: &Arc<dyn PaymentProvider>,
    order: &Order,
    reason: &str,
) -> Result<()> {
    let mut tx = pool.begin().await?;
    orders::lock_by_id(&mut tx, order.id).await?;
    for payment in charges::lock_succeeded(&mut tx, order.id).await? {
        refunds::begin(&mut tx, provider.as_ref(), &payment, reason, true).await?;
    }
    tx.commit().await?;
    for id in refunds::pending_of_order(pool, order.id).await? {
        let (pool, provider) = (pool.clone(), provider.clone());
        detached(async move { refunds::execute(&pool, provider.as_ref(), id).await }).await?;
    }
    finish_refund(pool, order.id).await
}

/// Marks a cancelled order `refunded` once none of its money is left to
/// give back (after the last of its refunds succeeded), telling everyone.
/// Idempotent.
pub async fn finish_refund(pool: &PgPool, order_id: OrderId) -> Result<()> {
    let mut tx = pool.begin().await?;
    let order = orders::lock_by_id(&mut tx, order_id).await?;
    if order.status != OrderStatus::Cancelled
        || charges::unrefunded_count(&mut tx, order.id).await? > 0
    {
        return Ok(());
    }
    let event = events::get(&mut *tx, order.event_id).await?;
    orders::set_status(&mut tx, order.id, OrderStatus::Refunded).await?;
    let amount = refunds::closing_total(pool, order.id).await?;
    let fact = Fact::OrderRefunded(OrderRefunded {
        order_id: order.id,
        amount_minor: amount,
        currency: order.currency.clone(),
    });
    domain_events::record(&mut tx, &event, fact).await?;
    tx.commit().await?;
    tracing::info!(order = %order.id, "order refunded");
    Ok(())
}

/// Approves an order that awaits approval: a free order is confirmed (tickets
/// emailed), a paid one waits for payment (the buyer is emailed a payment link).
/// Returns the new status.
#[instrument(skip(pool, by), fields(org = %by.org_id))]
pub async fn approve(pool: &PgPool, by: &Organiser, slug: &str, code: &str) -> Result<OrderStatus> {
    let event = events::get_for_org(pool, by, slug).await?;
    let mut tx = pool.begin().await?;
    let order = orders::lock_by_code(&mut tx, Some(event.id), code).await?;
    if order.status != OrderStatus::AwaitingApproval {
        return Err(Error::Conflict(format!(
            "this order is {}, not awaiting approval",
            order.status
        )));
    }
    let next = if order.total_minor == 0 {
        OrderStatus::Confirmed
    } else {
        OrderStatus::Pending
    };
    orders::mark_approved(&mut tx, order.id, next).await?;
    jobs::enqueue(&mut tx, &OrderEmail { order_id: order.id }).await?;
    let fact = Fact::OrderApproved(OrderApproved {
        order_id: order.id,
        status: next,
    });
    domain_events::record(&mut tx, &event, fact).await?;
    tx.commit().await?;
    tracing::info!(order = %order.id, status = %next, "order approved");
    Ok(next)
}

/// Cancels unpaid orders older than `ttl_minutes` (normally
/// [`orders::PENDING_ORDER_TTL_MINUTES`]), releasing their seats.
/// Returns how many were cancelled. Run periodically by the jobs worker.
pub async fn expire_pending(pool: &PgPool, ttl_minutes: i64) -> Result<u64> {
    let age = chrono::Duration::minutes(ttl_minutes);
    expire(pool, OrderStatus::Pending, age, CancelReason::Unpaid).await
}

/// Cancels orders that have awaited approval longer than `ttl_days`
/// (normally [`orders::APPROVAL_TTL_DAYS`]), releasing their seats, and
/// tells their buyers. Returns how many were cancelled.
pub async fn expire_unapproved(pool: &PgPool, ttl_days: i64) -> Result<u64> {
    let age = chrono::Duration::days(ttl_days);
    expire(
        pool,
        OrderStatus::AwaitingApproval,
        age,
        CancelReason::NotApproved,
    )
    .await
}

async fn expire(
    pool: &PgPool,
    status: OrderStatus,
    age: chrono::Duration,
    reason: CancelReason,
) -> Result<u64> {
    let mut tx = pool.begin().await?;
    let stale = orders::lock_stale(&mut tx, status, age).await?;
    // Each event read once, on the transaction's own connection.
    let mut events_of: HashMap<EventId, Event> = HashMap::new();
    for order in &stale {
        let event = match events_of.entry(order.event_id) {
            Entry::Occupied(known) => known.into_mut(),
            Entry::Vacant(slot) => slot.insert(events::get(&mut *tx, order.event_id).await?),
        };
        orders::void(&mut tx, event, order, reason).await?;
        if reason == CancelReason::NotApproved {
            // They were waiting for an answer; an unpaid order's buyer walked away.
            jobs::enqueue(&mut tx, &OrderEmail { order_id: order.id }).await?;
        }
        tracing::info!(order = %order.id, %reason, "stale order expired");
    }
    tx.commit().await?;
    Ok(stale.len() as u64)
}
