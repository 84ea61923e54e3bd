//! Paying a pending order by card, and settling an order's payment from the
//! provider's webhook (the 3-D Secure step). Declines are `PaymentFailed`; the
//! order stays pending and the attempt is recorded.
//!
//! An order is paid at most once (a unique index on its succeeded payments):
//! a new attempt abandons the ones still waiting for the bank, and a success
//! that arrives for an abandoned attempt, or for an order that is no longer
//! pending, is refunded — that payment only. Both paths lock the order before
//! its payments, so they never deadlock.

use protocol::events::{Fact, OrderPaid};
use protocol::ids::PaymentId;
use protocol::states::{OrderStatus, PaymentOutcome, PaymentStatus};
use sqlx::{PgConnection, PgPool};
use tracing::instrument;

use super::orders::{self, Order};
use crate::events;
use crate::payments::charges::{self, NewCharge};
use crate::payments::provider::{ChargeRequest, Outcome, PaymentProvider, WebhookEvent};
use crate::payments::{refunds, FeePolicy};
use crate::{domain_events, Error, Result};

/// A payment's state as the buyer sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentState {
    /// Paid; the order is confirmed.
    Confirmed,
    /// Waiting for the buyer's extra step at this URL.
    ActionRequired(String),
}

/// Confirms a paid order and tells everyone. The caller holds the order's
/// lock and has seen it pending, so it cannot have closed meanwhile.
async fn confirm(
    conn: &mut PgConnection,
    order: &Order,
    payment: PaymentId,
    fee: i64,
) -> Result<()> {
    if !orders::confirm_paid(&mut *conn, order.id, fee).await? {
        return Err(Error::Internal(format!(
            "order {} was not pending under its lock",
            order.id
        )));
    }
    let event = events::get(&mut *conn, order.event_id).await?;
    let fact = Fact::OrderPaid(OrderPaid {
        order_id: order.id,
        payment_id: payment,
        amount_minor: order.total_minor,
        currency: order.currency.clone(),
        platform_fee_minor: fee,
    });
    domain_events::record(conn, &event, fact).await?;
    Ok(())
}

/// Pays a pending order by card.
#[instrument(skip(pool, provider, fees, card_number))]
pub async fn pay(
    pool: &PgPool,
    provider: &dyn PaymentProvider,
    fees: FeePolicy,
    order_code: &str,
    card_number: &str,
) -> Result<PaymentState> {
    let mut tx = pool.begin().await?;
    let order = orders::lock_by_code(&mut tx, None, order_code).await?;
    if order.status != OrderStatus::Pending || order.total_minor == 0 {
        return Err(Error::Conflict(format!(
            "this order is {}; nothing to pay",
            order.status
        )));
    }
    charges::abandon_waiting(&mut tx, order.id).await?;
    let charge = provider
        .charge(ChargeRequest {
            amount_minor: order.total_minor,
            currency: order.currency.clone(),
            reference: order.code.clone(),
            card_number: card_number.into(),
        })
        .await?;
    let fee = fees.fee(order.total_minor);
    let (status, failure) = match &charge.outcome {
        Outcome::Succeeded => (PaymentStatus::Succeeded, None),
        Outcome::Declined(why) => (PaymentStatus::Failed, Some(why.as_str())),
        Outcome::RequiresAction { .. } => (PaymentStatus::RequiresAction, None),
    };
    let payment = charges::record(
        &mut tx,
        NewCharge {
            order_id: order.id,
            provider: provider.name(),
            provider_ref: &charge.provider_ref,
            amount_minor: order.total_minor,
            currency: &order.currency,
            status,
            failure,
            platform_fee_minor: fee,
        },
    )
    .await?;
    let result = match charge.outcome {
        Outcome::Succeeded => {
            confirm(&mut tx, &order, payment, fee).await?;
            Ok(PaymentState::Confirmed)
        }
        Outcome::RequiresAction { action_url } => Ok(PaymentState::ActionRequired(action_url)),
        Outcome::Declined(why) => Err(Error::PaymentFailed(why)),
    };
    // The attempt is recorded even when declined.
    tx.commit().await?;
    result
}

/// Settles an order's payment that waited for the buyer's extra step, from a
/// verified webhook. False when the provider's reference is not an order's
/// payment. Idempotent: a redelivered webhook changes nothing. A success for an
/// attempt that was abandoned, or for an order that is no longer pending
/// (expired, cancelled, or paid by another attempt), is refunded.
pub async fn settle(
    pool: &PgPool,
    provider: &dyn PaymentProvider,
    hook: &WebhookEvent,
) -> Result<bool> {
    let mut tx = pool.begin().await?;
    let Some(order_id) =
        charges::order_of_ref(&mut tx, provider.name(), &hook.provider_ref).await?
    else {
        return Ok(false);
    };
    let order = orders::lock_by_id(&mut tx, order_id).await?;
    let Some(payment) = charges::lock_by_ref(&mut tx, provider.name(), &hook.provider_ref).await?
    else {
        return Ok(false);
    };
    let why = match (payment.status, hook.status) {
        (PaymentStatus::RequiresAction, PaymentOutcome::Failed) => {
            charges::set_status(&mut tx, payment.id, PaymentStatus::Failed).await?;
            tx.commit().await?;
            return Ok(true);
        }
        (PaymentStatus::RequiresAction, PaymentOutcome::Succeeded)
            if order.status == OrderStatus::Pending =>
        {
            charges::set_status(&mut tx, payment.id, PaymentStatus::Succeeded).await?;
            confirm(&mut tx, &order, payment.id, payment.platform_fee_minor).await?;
            tx.commit().await?;
            return Ok(true);
        }
        (PaymentStatus::RequiresAction, PaymentOutcome::Succeeded) => {
            "order no longer open when payment completed"
        }
        // The bank took the money for an attempt a newer one replaced.
        (PaymentStatus::Failed, PaymentOutcome::Succeeded) => {
            "attempt abandoned before the bank confirmed it"
        }
        // Final already: a redelivered webhook.
        _ => return Ok(true),
    };
    // The money must not be kept: refund this payment, and only this one.
    refunds::refund_payment(&mut tx, provider, &payment, why).await?;
    tx.commit().await?;
    tracing::warn!(order = %order.id, payment = %payment.id, reason = why, "late payment refunded");
    Ok(true)
}
