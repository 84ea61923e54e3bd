//! Plan purchases (owner of `plan_purchases`): an owner buys a bigger plan by
//! card; a card that needs a confirmation step leaves the purchase waiting for
//! the provider's webhook.

use protocol::ids::PlanPurchaseId;
use protocol::states::{PaymentOutcome, PlanPurchaseStatus};
use sqlx::{PgConnection, PgPool};
use tracing::instrument;

use super::plans::{self, Plan};
use crate::accounts::{orgs, Organiser};
use crate::payments::provider::{ChargeRequest, Outcome, PaymentProvider};
use crate::{Error, Result};

/// The result of buying a plan.
#[derive(Debug, Clone)]
pub enum PlanPurchase {
    /// Paid; the organisation is on the new plan.
    Done(Plan),
    /// The card needs a confirmation step at this URL; the plan changes when the
    /// provider's webhook reports success.
    ActionRequired(String),
}

/// Buys (upgrades to) a plan by card (owners only). Downgrades and same-plan
/// purchases are refused.
#[instrument(skip(pool, provider, by, card_number), fields(org = %by.org_id))]
pub async fn buy(
    pool: &PgPool,
    provider: &dyn PaymentProvider,
    by: &Organiser,
    plan_id: &str,
    card_number: &str,
) -> Result<PlanPurchase> {
    by.require_owner()?;
    let mut tx = pool.begin().await?;
    orgs::lock(&mut tx, by.org_id).await?;
    let current = plans::of_org(&mut tx, by.org_id).await?;
    let target = plans::get(&mut tx, plan_id)
        .await?
        .ok_or_else(|| Error::not_found("no such plan"))?;
    if target.rank <= current.rank {
        return Err(Error::Conflict(format!(
            "you are already on {}; choose a bigger plan",
            current.name
        )));
    }
    let charge = provider
        .charge(ChargeRequest {
            amount_minor: target.price_minor,
            currency: target.currency.clone(),
            reference: format!("plan:{}:{}", by.org_id, target.id),
            card_number: card_number.into(),
        })
        .await?;
    let (status, result) = match charge.outcome {
        Outcome::Succeeded => (
            PlanPurchaseStatus::Succeeded,
            PlanPurchase::Done(target.clone()),
        ),
        Outcome::Declined(why) => return Err(Error::PaymentFailed(why)),
        Outcome::RequiresAction { action_url } => (
            PlanPurchaseStatus::RequiresAction,
            PlanPurchase::ActionRequired(action_url),
        ),
    };
    sqlx::query(
        "INSERT INTO plan_purchases (id, org_id, plan_id, amount_minor, currency, provider, provider_ref, status)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(PlanPurchaseId::new())
    .bind(by.org_id)
    .bind(&target.id)
    .bind(target.price_minor)
    .bind(&target.currency)
    .bind(provider.name())
    .bind(&charge.provider_ref)
    .bind(status)
    .execute(&mut *tx)
    .await?;
    if status == PlanPurchaseStatus::Succeeded {
        orgs::set_plan(&mut tx, by.org_id, &target.id).await?;
        tracing::info!(org = %by.org_id, plan = %target.id, "plan purchased");
    }
    tx.commit().await?;
    Ok(result)
}

/// Settles a plan purchase that waited for a confirmation step, from a verified
/// webhook; false when no such purchase exists. Idempotent. A success moves the
/// organisation up to the plan (never down, if it bought a bigger one meanwhile).
pub async fn settle(
    conn: &mut PgConnection,
    provider: &str,
    provider_ref: &str,
    outcome: PaymentOutcome,
) -> Result<bool> {
    #[derive(sqlx::FromRow)]
    struct Purchase {
        id: PlanPurchaseId,
        org_id: protocol::ids::OrgId,
        plan_id: String,
        status: PlanPurchaseStatus,
    }
    let row: Option<Purchase> = sqlx::query_as(
        "SELECT id, org_id, plan_id, status FROM plan_purchases
             WHERE provider = $1 AND provider_ref = $2 FOR UPDATE",
    )
    .bind(provider)
    .bind(provider_ref)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(Purchase {
        id,
        org_id,
        plan_id,
        status: current,
    }) = row
    else {
        return Ok(false);
    };
    if current != PlanPurchaseStatus::RequiresAction {
        return Ok(true); // a redelivered webhook
    }
    let status = match outcome {
        PaymentOutcome::Succeeded => PlanPurchaseStatus::Succeeded,
        PaymentOutcome::Failed => PlanPurchaseStatus::Failed,
    };
    sqlx::query("UPDATE plan_purchases SET status = $2 WHERE id = $1")
        .bind(id)
        .bind(status)
        .execute(&mut *conn)
        .await?;
    if status == PlanPurchaseStatus::Succeeded {
        orgs::lock(&mut *conn, org_id).await?;
        let current = plans::of_org(&mut *conn, org_id).await?;
        let bought = plans::get(&mut *conn, &plan_id).await?;
        if bought.as_ref().is_some_and(|b| b.rank > current.rank) {
            orgs::set_plan(&mut *conn, org_id, &plan_id).await?;
        }
        tracing::info!(org = %org_id, plan = %plan_id, "plan purchased after confirmation");
    }
    Ok(true)
}
