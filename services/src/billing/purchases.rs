//! Plan purchases (owner of `plan_purchases`): an owner buys a plan for one
//! period ([`PERIOD_MONTHS`]) by card. Buying a bigger plan moves up at once
//! with a fresh period; buying the plan one is on renews it (the period is
//! added to the one running). Nothing is charged without the owner: a plan
//! whose period ended lapses to Free ([`lapse`]).
//!
//! The provider is called as for orders (see `registrations::payment`): the
//! purchase is recorded `processing` first (one per organisation at a time),
//! the provider is asked outside any transaction on a task of its own with
//! the purchase's id as idempotency key, and its answer is recorded after;
//! [`reconcile`] asks the provider about answers that never came. A newer
//! attempt abandons the ones waiting for the bank, and a success that arrives
//! for an abandoned attempt, or for a plan smaller than the one bought
//! meanwhile, is refunded: two confirmations never buy twice. Every path
//! locks the organisation before its purchases.

use std::sync::Arc;

use chrono::{DateTime, Months, Utc};
use protocol::ids::{OrgId, PlanPurchaseId};
use protocol::states::{PaymentOutcome, PlanPurchaseStatus};
use sqlx::{PgConnection, PgPool};
use tracing::instrument;

use super::plans::{self, Plan};
use crate::accounts::{orgs, Organiser};
use crate::payments::provider::{
    check_taken_by, detached, in_time, is_final, outcome_unknown, Charge, ChargeRequest, Outcome,
    PaymentProvider, WebhookEvent,
};
use crate::{Error, Result};

/// How long one purchase keeps the organisation on its plan.
pub const PERIOD_MONTHS: u32 = 1;

/// The result of buying a plan.
#[derive(Debug, Clone)]
pub enum PlanPurchase {
    /// Paid; the organisation is on the plan until the end of the period.
    Done(Plan, DateTime<Utc>),
    /// The card needs a confirmation step at this URL; the plan changes when the
    /// provider's webhook reports success.
    ActionRequired(String),
}

/// A purchase as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
struct Purchase {
    org_id: OrgId,
    plan_id: String,
    status: PlanPurchaseStatus,
    amount_minor: i64,
    provider: String,
    provider_ref: Option<String>,
    failure: Option<String>,
}

const COLUMNS: &str = "org_id, plan_id, status, amount_minor, provider, provider_ref, failure";

/// Buys a plan by card for one period (owners only): a bigger plan, or the
/// one the organisation is on (a renewal). Smaller plans and Free are refused.
#[instrument(skip(pool, provider, by, card_number), fields(org = %by.org_id))]
pub async fn buy(
    pool: &PgPool,
    provider: &Arc<dyn PaymentProvider>,
    by: &Organiser,
    plan_id: &str,
    card_number: &str,
) -> Result<PlanPurchase> {
    by.require_owner()?;
    let mut tx = pool.begin().await?;
    orgs::lock(&mut tx, by.org_id).await?;
    let current = plans::of_org(&mut tx, by.org_id).await?;
    let until = orgs::plan_until(&mut tx, by.org_id).await?;
    let target = plans::get(&mut tx, plan_id)
        .await?
        .ok_or_else(|| Error::not_found("no such plan"))?;
    if target.price_minor == 0 {
        return Err(Error::Conflict(format!(
            "the {} plan is free; nothing to buy",
            target.name
        )));
    }
    if target.rank < current.rank {
        return Err(Error::Conflict(format!(
            "you are on {}; choose a bigger plan or renew yours",
            current.name
        )));
    }
    if target.id == current.id && until.is_none() {
        return Err(Error::Conflict(format!(
            "your {} plan was granted without an end; there is nothing to renew",
            current.name
        )));
    }
    sqlx::query(
        "UPDATE plan_purchases SET status = $2, failure = 'abandoned: a newer attempt replaced it', updated_at = now()
         WHERE org_id = $1 AND status = $3",
    )
    .bind(by.org_id)
    .bind(PlanPurchaseStatus::Failed)
    .bind(PlanPurchaseStatus::RequiresAction)
    .execute(&mut *tx)
    .await?;
    let id = PlanPurchaseId::new();
    let inserted = sqlx::query(
        "INSERT INTO plan_purchases (id, org_id, plan_id, amount_minor, currency, provider, status)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(id)
    .bind(by.org_id)
    .bind(&target.id)
    .bind(target.price_minor)
    .bind(&target.currency)
    .bind(provider.name())
    .bind(PlanPurchaseStatus::Processing)
    .execute(&mut *tx)
    .await;
    match inserted {
        Ok(_) => {}
        Err(sqlx::Error::Database(e))
            if e.constraint() == Some("plan_purchases_one_processing_per_org") =>
        {
            return Err(Error::Conflict(
                "a plan purchase is being processed; wait a moment and reload".into(),
            ))
        }
        Err(e) => return Err(e.into()),
    }
    tx.commit().await?;
    let request = ChargeRequest {
        amount_minor: target.price_minor,
        currency: target.currency.clone(),
        reference: format!("plan:{}:{}", by.org_id, target.id),
        card_number: card_number.into(),
        idempotency_key: id.to_string(),
    };
    let (pool, provider) = (pool.clone(), provider.clone());
    detached(async move {
        match in_time(provider.charge(request)).await {
            Ok(charge) => apply(&pool, provider.as_ref(), id, charge).await,
            Err(e) if is_final(&e) => {
                set_status(&pool, id, PlanPurchaseStatus::Failed, Some(&e.to_string())).await?;
                Err(e)
            }
            Err(e) => {
                tracing::warn!(purchase = %id, error = %e, "plan payment outcome unknown");
                Err(outcome_unknown())
            }
        }
    })
    .await
}

async fn org_of(pool: &PgPool, id: PlanPurchaseId) -> Result<OrgId> {
    Ok(
        sqlx::query_scalar("SELECT org_id FROM plan_purchases WHERE id = $1")
            .bind(id)
            .fetch_one(pool)
            .await?,
    )
}

async fn lock(conn: &mut PgConnection, id: PlanPurchaseId) -> Result<Purchase> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM plan_purchases WHERE id = $1 FOR UPDATE"
    ))
    .bind(id)
    .fetch_one(conn)
    .await?)
}

async fn set_status(
    pool: &PgPool,
    id: PlanPurchaseId,
    status: PlanPurchaseStatus,
    failure: Option<&str>,
) -> Result<()> {
    let mut conn = pool.acquire().await?;
    record(&mut conn, id, None, status, failure, None).await
}

async fn record(
    conn: &mut PgConnection,
    id: PlanPurchaseId,
    provider_ref: Option<&str>,
    status: PlanPurchaseStatus,
    failure: Option<&str>,
    period_end: Option<DateTime<Utc>>,
) -> Result<()> {
    sqlx::query(
        "UPDATE plan_purchases SET provider_ref = coalesce($2, provider_ref), status = $3,
                failure = coalesce($4, failure), period_end = coalesce($5, period_end), updated_at = now()
         WHERE id = $1",
    )
    .bind(id)
    .bind(provider_ref)
    .bind(status)
    .bind(failure)
    .bind(period_end)
    .execute(conn)
    .await?;
    Ok(())
}

/// Puts the organisation (locked by the caller) on the purchase's plan for a
/// period: a bigger plan from now, the same plan after the running period.
/// `None` when the organisation moved to a bigger plan meanwhile (the money
/// goes back).
async fn grant(conn: &mut PgConnection, p: &Purchase) -> Result<Option<(Plan, DateTime<Utc>)>> {
    let current = plans::of_org(&mut *conn, p.org_id).await?;
    let bought = plans::get(&mut *conn, &p.plan_id)
        .await?
        .ok_or_else(|| Error::Internal(format!("purchase of unknown plan {}", p.plan_id)))?;
    let now = Utc::now();
    let from = if bought.id == current.id {
        orgs::plan_until(&mut *conn, p.org_id)
            .await?
            .map_or(now, |u| u.max(now))
    } else if bought.rank > current.rank {
        now
    } else {
        return Ok(None);
    };
    let until = from
        .checked_add_months(Months::new(PERIOD_MONTHS))
        .ok_or_else(|| Error::Internal("period end out of range".into()))?;
    orgs::set_plan(&mut *conn, p.org_id, &bought.id, Some(until)).await?;
    tracing::info!(org = %p.org_id, plan = %bought.id, %until, "plan purchased");
    Ok(Some((bought, until)))
}

/// Applies the provider's answer to a `processing` purchase.
async fn apply(
    pool: &PgPool,
    provider: &dyn PaymentProvider,
    id: PlanPurchaseId,
    charge: Charge,
) -> Result<PlanPurchase> {
    let org = org_of(pool, id).await?;
    let mut tx = pool.begin().await?;
    orgs::lock(&mut tx, org).await?;
    let p = lock(&mut tx, id).await?;
    if p.status != PlanPurchaseStatus::Processing {
        // Settled meanwhile by the reconciliation.
        return match (p.status, charge.outcome) {
            (PlanPurchaseStatus::Succeeded, _) => {
                let plan = plans::of_org(&mut tx, org).await?;
                let until = orgs::plan_until(&mut tx, org)
                    .await?
                    .unwrap_or_else(Utc::now);
                Ok(PlanPurchase::Done(plan, until))
            }
            (PlanPurchaseStatus::RequiresAction, Outcome::RequiresAction { action_url }) => {
                Ok(PlanPurchase::ActionRequired(action_url))
            }
            _ => Err(Error::PaymentFailed(
                p.failure.unwrap_or_else(|| "the payment failed".into()),
            )),
        };
    }
    let provider_ref = Some(charge.provider_ref.as_str());
    match charge.outcome {
        Outcome::Succeeded => match grant(&mut tx, &p).await? {
            Some((plan, until)) => {
                let status = PlanPurchaseStatus::Succeeded;
                record(&mut tx, id, provider_ref, status, None, Some(until)).await?;
                tx.commit().await?;
                Ok(PlanPurchase::Done(plan, until))
            }
            None => {
                let why = Some("a bigger plan was bought meanwhile");
                record(
                    &mut tx,
                    id,
                    provider_ref,
                    PlanPurchaseStatus::Refunding,
                    why,
                    None,
                )
                .await?;
                tx.commit().await?;
                let _ = refund(pool, provider, id).await;
                Err(Error::Conflict(
                    "a bigger plan was bought meanwhile; this payment is refunded".into(),
                ))
            }
        },
        Outcome::Declined(why) => {
            let status = PlanPurchaseStatus::Failed;
            record(&mut tx, id, provider_ref, status, Some(&why), None).await?;
            tx.commit().await?;
            Err(Error::PaymentFailed(why))
        }
        Outcome::RequiresAction { action_url } => {
            let status = PlanPurchaseStatus::RequiresAction;
            record(&mut tx, id, provider_ref, status, None, None).await?;
            tx.commit().await?;
            Ok(PlanPurchase::ActionRequired(action_url))
        }
    }
}

/// Settles a plan purchase that waited for a confirmation step, from a
/// verified webhook; false when no such purchase exists. Idempotent. A
/// success grants the period, unless the attempt was abandoned for a newer
/// one or a bigger plan was bought meanwhile: then the money goes back.
pub async fn settle(
    pool: &PgPool,
    provider: &dyn PaymentProvider,
    hook: &WebhookEvent,
) -> Result<bool> {
    let found: Option<(PlanPurchaseId, OrgId)> = sqlx::query_as(
        "SELECT id, org_id FROM plan_purchases WHERE provider = $1 AND provider_ref = $2",
    )
    .bind(provider.name())
    .bind(&hook.provider_ref)
    .fetch_optional(pool)
    .await?;
    let Some((id, org)) = found else {
        return Ok(false);
    };
    let mut tx = pool.begin().await?;
    orgs::lock(&mut tx, org).await?;
    let p = lock(&mut tx, id).await?;
    let why = match (p.status, hook.status) {
        (PlanPurchaseStatus::RequiresAction, PaymentOutcome::Failed) => {
            let why = Some("declined at the bank's confirmation step");
            record(&mut tx, id, None, PlanPurchaseStatus::Failed, why, None).await?;
            tx.commit().await?;
            return Ok(true);
        }
        (PlanPurchaseStatus::RequiresAction, PaymentOutcome::Succeeded) => {
            match grant(&mut tx, &p).await? {
                Some((_, until)) => {
                    let status = PlanPurchaseStatus::Succeeded;
                    record(&mut tx, id, None, status, None, Some(until)).await?;
                    tx.commit().await?;
                    return Ok(true);
                }
                None => "a bigger plan was bought meanwhile",
            }
        }
        (PlanPurchaseStatus::Failed, PaymentOutcome::Succeeded) => {
            "attempt abandoned before the bank confirmed it"
        }
        _ => return Ok(true), // a redelivered webhook
    };
    record(
        &mut tx,
        id,
        None,
        PlanPurchaseStatus::Refunding,
        Some(why),
        None,
    )
    .await?;
    tx.commit().await?;
    tracing::warn!(org = %org, purchase = %id, reason = why, "late plan payment refunded");
    // A failure stays `refunding`; the reconciliation retries it.
    let _ = refund(pool, provider, id).await;
    Ok(true)
}

/// Gives back a `refunding` purchase's money (outside any transaction, keyed
/// so that it never refunds twice) and records it.
async fn refund(pool: &PgPool, provider: &dyn PaymentProvider, id: PlanPurchaseId) -> Result<()> {
    let p: Purchase = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM plan_purchases WHERE id = $1"
    ))
    .bind(id)
    .fetch_one(pool)
    .await?;
    if p.status != PlanPurchaseStatus::Refunding {
        return Ok(());
    }
    let answer = match (check_taken_by(&p.provider, provider), &p.provider_ref) {
        (Err(e), _) => Err(e),
        (Ok(()), Some(r)) => {
            in_time(provider.refund(r, p.amount_minor, &format!("{id}-refund"))).await
        }
        (Ok(()), None) => Err(Error::Internal(
            "the purchase has no provider reference".into(),
        )),
    };
    match answer {
        Ok(refund_ref) => {
            sqlx::query(
                "UPDATE plan_purchases SET status = $2, refund_ref = $3, updated_at = now() WHERE id = $1",
            )
            .bind(id)
            .bind(PlanPurchaseStatus::Refunded)
            .bind(refund_ref)
            .execute(pool)
            .await?;
            Ok(())
        }
        Err(e) => {
            sqlx::query("UPDATE plan_purchases SET updated_at = now() WHERE id = $1")
                .bind(id)
                .execute(pool)
                .await?;
            tracing::warn!(purchase = %id, error = %e, "plan refund failed; retried later");
            Err(e)
        }
    }
}

/// Finds out what became of purchases whose answer never came (asking the
/// provider by idempotency key), settles ones whose webhook was lost, and
/// retries refunds; only rows untouched for `older_than`. Returns how many
/// it settled.
pub async fn reconcile(
    pool: &PgPool,
    provider: &dyn PaymentProvider,
    older_than: chrono::Duration,
) -> Result<usize> {
    let stale: Vec<(PlanPurchaseId, PlanPurchaseStatus, Option<String>)> = sqlx::query_as(
        "SELECT id, status, provider_ref FROM plan_purchases
         WHERE provider = $1 AND updated_at < now() - $2
           AND (status IN ($3, $4) OR (status = $5 AND updated_at > now() - interval '1 day'))
         ORDER BY updated_at LIMIT 100",
    )
    .bind(provider.name())
    .bind(older_than)
    .bind(PlanPurchaseStatus::Processing)
    .bind(PlanPurchaseStatus::Refunding)
    .bind(PlanPurchaseStatus::RequiresAction)
    .fetch_all(pool)
    .await?;
    let mut settled = 0;
    for (id, status, provider_ref) in stale {
        if status == PlanPurchaseStatus::Refunding {
            if refund(pool, provider, id).await.is_ok() {
                settled += 1;
            }
            continue;
        }
        let found = in_time(provider.find_charge(&id.to_string())).await;
        match (status, found) {
            (PlanPurchaseStatus::Processing, Ok(Some(charge))) => {
                let _ = apply(pool, provider, id, charge).await;
                settled += 1;
            }
            (PlanPurchaseStatus::Processing, Ok(None)) => {
                let why = Some("the payment provider never received this attempt");
                set_status(pool, id, PlanPurchaseStatus::Failed, why).await?;
                settled += 1;
            }
            (PlanPurchaseStatus::RequiresAction, Ok(Some(charge))) => {
                let Some(status) = charge.outcome.settled() else {
                    continue;
                };
                let Some(provider_ref) = provider_ref else {
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
            (_, Err(e)) => {
                tracing::warn!(purchase = %id, error = %e, "reconciliation: provider unavailable")
            }
            _ => {}
        }
    }
    Ok(settled)
}

/// Moves organisations whose paid period ended back to Free; returns how many.
pub async fn lapse(pool: &PgPool) -> Result<usize> {
    let lapsed = orgs::lapse_ended(pool, plans::FREE).await?;
    for org in &lapsed {
        tracing::info!(%org, "paid period ended; back on the Free plan");
    }
    Ok(lapsed.len())
}
