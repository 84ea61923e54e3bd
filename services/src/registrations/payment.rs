//! Paying a pending order by card, and settling an order's payment from the
//! provider's webhook (the 3-D Secure step). Declines are `PaymentFailed`; the
//! order stays pending and the attempt is recorded.

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

/// Confirms a paid order and tells everyone; false when the order was no
/// longer pending (cancelled meanwhile).
async fn confirm(
    pool: &PgPool,
    conn: &mut PgConnection,
    order: &Order,
    payment: PaymentId,
    fee: i64,
) -> Result<bool> {
    if !orders::confirm_paid(&mut *conn, order.id, fee).await? {
        return Ok(false);
    }
    let event = events::get(pool, order.event_id).await?;
    let fact = Fact::OrderPaid(OrderPaid {
        order_id: order.id,
        payment_id: payment,
        amount_minor: order.total_minor,
        currency: order.currency.clone(),
        platform_fee_minor: fee,
    });
    domain_events::record(conn, &event, fact).await?;
    Ok(true)
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
            confirm(pool, &mut tx, &order, payment, fee).await?;
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
/// payment. Idempotent: a redelivered webhook changes nothing. A success that
/// arrives after the order was cancelled (it expired meanwhile) is refunded.
pub async fn settle(
    pool: &PgPool,
    provider: &dyn PaymentProvider,
    hook: &WebhookEvent,
) -> Result<bool> {
    let mut tx = pool.begin().await?;
    let Some(payment) = charges::lock_by_ref(&mut tx, provider.name(), &hook.provider_ref).await?
    else {
        return Ok(false);
    };
    if payment.status != PaymentStatus::RequiresAction {
        return Ok(true); // already final: a redelivered webhook
    }
    let status = match hook.status {
        PaymentOutcome::Succeeded => PaymentStatus::Succeeded,
        PaymentOutcome::Failed => PaymentStatus::Failed,
    };
    charges::set_status(&mut tx, payment.id, status).await?;
    if status == PaymentStatus::Succeeded {
        let order = orders::lock_by_id(&mut tx, payment.order_id).await?;
        if !confirm(
            pool,
            &mut tx,
            &order,
            payment.id,
            payment.platform_fee_minor,
        )
        .await?
        {
            // The order closed before the buyer finished the extra step: the
            // money must not be kept.
            tx.commit().await?;
            refunds::refund_order(
                pool,
                provider,
                order.id,
                "order no longer open when payment completed",
            )
            .await?;
            tracing::warn!(order = %order.id, "late payment of a closed order refunded");
            return Ok(true);
        }
    }
    tx.commit().await?;
    Ok(true)
}
