//! Paying a pending order by card, and settling an order's payment from the
//! provider's webhook (the 3-D Secure step) or the reconciliation. Declines
//! are `PaymentFailed`; the order stays pending and the attempt is recorded.
//!
//! The provider is never called inside a transaction: the attempt is recorded
//! `processing` first (one per order at a time), the provider is asked with
//! the attempt's id as idempotency key on a task of its own (a buyer who
//! closes the tab does not cut it short), and its answer is recorded in a
//! second transaction. When the answer is lost, [`reconcile`] asks the
//! provider what became of the attempt.
//!
//! An order is paid at most once (a unique index on its succeeded payments):
//! a new attempt abandons the ones still waiting for the bank, and a success
//! that arrives for an abandoned attempt, or for an order that is no longer
//! pending, is refunded — that payment only. Every path locks the order
//! before its payments, so they never deadlock.

use std::sync::Arc;

use protocol::events::{Fact, OrderPaid};
use protocol::ids::PaymentId;
use protocol::states::{OrderStatus, PaymentOutcome, PaymentStatus};
use sqlx::{PgConnection, PgPool};
use tracing::instrument;

use super::lifecycle;
use super::orders::{self, Order};
use crate::events;
use crate::payments::charges::{self, NewAttempt, Payment};
use crate::payments::provider::{
    detached, in_time, is_final, outcome_unknown, Charge, ChargeRequest, Outcome, PaymentProvider,
    WebhookEvent,
};
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
    provider: &Arc<dyn PaymentProvider>,
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
    let attempt = charges::start(
        &mut tx,
        NewAttempt {
            order_id: order.id,
            provider: provider.name(),
            amount_minor: order.total_minor,
            currency: &order.currency,
            platform_fee_minor: fees.fee(order.total_minor),
        },
    )
    .await?;
    tx.commit().await?;
    let request = ChargeRequest {
        amount_minor: order.total_minor,
        currency: order.currency.clone(),
        reference: order.code.clone(),
        card_number: card_number.into(),
        idempotency_key: attempt.to_string(),
    };
    let (pool, provider) = (pool.clone(), provider.clone());
    detached(async move {
        let answer = in_time(provider.charge(request)).await;
        record_answer(&pool, provider.as_ref(), attempt, answer).await
    })
    .await
}

/// Records the provider's answer (or its failure to give one) to an attempt.
async fn record_answer(
    pool: &PgPool,
    provider: &dyn PaymentProvider,
    attempt: PaymentId,
    answer: Result<Charge>,
) -> Result<PaymentState> {
    match answer {
        Ok(charge) => apply(pool, provider, attempt, charge).await,
        Err(e) if is_final(&e) => {
            let mut conn = pool.acquire().await?;
            let why = e.to_string();
            charges::answer(&mut conn, attempt, None, PaymentStatus::Failed, Some(&why)).await?;
            Err(e)
        }
        Err(e) => {
            // Charged or not: the reconciliation finds out.
            tracing::warn!(payment = %attempt, error = %e, "payment outcome unknown");
            Err(outcome_unknown())
        }
    }
}

/// Applies the provider's answer to a `processing` attempt: confirms the
/// order, records the decline or the extra step, or — when the order closed
/// meanwhile — refunds the money at once. An attempt already settled (by a
/// concurrent reconciliation) is reported as it stands.
async fn apply(
    pool: &PgPool,
    provider: &dyn PaymentProvider,
    attempt: PaymentId,
    charge: Charge,
) -> Result<PaymentState> {
    let mut tx = pool.begin().await?;
    let order_id = charges::order_of(&mut tx, attempt).await?;
    let order = orders::lock_by_id(&mut tx, order_id).await?;
    let payment = charges::lock(&mut tx, attempt).await?;
    if payment.status != PaymentStatus::Processing {
        return as_it_stands(&payment, &order, &charge.outcome);
    }
    let provider_ref = Some(charge.provider_ref.as_str());
    match charge.outcome {
        Outcome::Succeeded if order.status == OrderStatus::Pending => {
            charges::answer(
                &mut tx,
                attempt,
                provider_ref,
                PaymentStatus::Succeeded,
                None,
            )
            .await?;
            confirm(&mut tx, &order, attempt, payment.platform_fee_minor).await?;
            tx.commit().await?;
            Ok(PaymentState::Confirmed)
        }
        Outcome::Succeeded => {
            // Money taken for a closed order: straight to refunding (never a
            // second `succeeded`).
            charges::answer(
                &mut tx,
                attempt,
                provider_ref,
                PaymentStatus::Refunding,
                None,
            )
            .await?;
            let payment = charges::lock(&mut tx, attempt).await?;
            let why = "order no longer open when payment completed";
            let refund = refunds::begin(&mut tx, provider, &payment, why, false).await?;
            tx.commit().await?;
            tracing::warn!(order = %order.id, payment = %attempt, reason = why, "late payment refunded");
            let _ = refunds::execute(pool, provider, refund).await;
            Err(Error::Conflict(format!(
                "this order is {} and can no longer be paid; the payment is refunded",
                order.status
            )))
        }
        Outcome::Declined(why) => {
            charges::answer(
                &mut tx,
                attempt,
                provider_ref,
                PaymentStatus::Failed,
                Some(&why),
            )
            .await?;
            tx.commit().await?;
            Err(Error::PaymentFailed(why))
        }
        Outcome::RequiresAction { action_url } => {
            charges::await_action(&mut tx, attempt, provider_ref, &action_url).await?;
            tx.commit().await?;
            Ok(PaymentState::ActionRequired(action_url))
        }
    }
}

/// What the buyer hears about an attempt someone else settled first.
fn as_it_stands(payment: &Payment, order: &Order, outcome: &Outcome) -> Result<PaymentState> {
    match (payment.status, outcome) {
        (PaymentStatus::RequiresAction, Outcome::RequiresAction { action_url }) => {
            Ok(PaymentState::ActionRequired(action_url.clone()))
        }
        (PaymentStatus::Failed, _) => Err(Error::PaymentFailed(
            payment
                .failure
                .clone()
                .unwrap_or_else(|| "the payment failed".into()),
        )),
        _ if order.status == OrderStatus::Confirmed => Ok(PaymentState::Confirmed),
        _ => Err(Error::Conflict(format!("this order is {}", order.status))),
    }
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
            let failure = Some("declined at the bank's confirmation step");
            charges::answer(&mut tx, payment.id, None, PaymentStatus::Failed, failure).await?;
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
    let refund = refunds::begin(&mut tx, provider, &payment, why, false).await?;
    tx.commit().await?;
    tracing::warn!(order = %order.id, payment = %payment.id, reason = why, "late payment refunded");
    // A failure stays pending; the reconciliation retries it.
    let _ = refunds::execute(pool, provider, refund).await;
    Ok(true)
}

/// Finds out what became of attempts whose answer never came: `processing`
/// ones older than `older_than` are asked about with their idempotency key
/// (settled as answered, or failed when the provider never received them),
/// and ones waiting for the bank are settled when the provider knows the
/// outcome but its webhook was lost. Then retries refunds left pending.
/// Returns how many attempts and refunds it settled.
pub async fn reconcile(
    pool: &PgPool,
    provider: &dyn PaymentProvider,
    older_than: chrono::Duration,
) -> Result<usize> {
    let mut settled = 0;
    for attempt in charges::stale_processing(pool, provider.name(), older_than).await? {
        let found = in_time(provider.find_charge(&attempt.to_string())).await;
        match found {
            Ok(Some(charge)) => {
                // The buyer's answer (confirmed, declined) is not ours to report.
                let _ = apply(pool, provider, attempt, charge).await;
                settled += 1;
            }
            Ok(None) => {
                let mut conn = pool.acquire().await?;
                let why = Some("the payment provider never received this attempt");
                charges::answer(&mut conn, attempt, None, PaymentStatus::Failed, why).await?;
                settled += 1;
            }
            Err(e) => {
                tracing::warn!(payment = %attempt, error = %e, "reconciliation: provider unavailable")
            }
        }
    }
    for (attempt, provider_ref) in charges::stale_waiting(pool, provider.name(), older_than).await?
    {
        let found = in_time(provider.find_charge(&attempt.to_string())).await;
        let Some(status) = found.ok().flatten().and_then(|c| c.outcome.settled()) else {
            continue;
        };
        settle(
            pool,
            provider,
            &WebhookEvent {
                provider_ref,
                status,
            },
        )
        .await?;
        settled += 1;
    }
    for refund in refunds::stale(pool, provider.name(), older_than).await? {
        if let Ok(done) = refunds::execute(pool, provider, refund).await {
            if done.closes_order {
                lifecycle::finish_refund(pool, done.order_id).await?;
            }
            settled += 1;
        }
    }
    Ok(settled)
}
