//! Checkout: self-serve plans, their purchase through the payment provider, and
//! the limits they set (events per organisation, registrations per event, seats).

use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::accounts::Organiser;
use crate::payments::{ChargeRequest, Outcome, PaymentProvider};
use crate::{Error, Result};

/// A plan as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Plan {
    /// Id (`free`, `starter`, `growth`).
    pub id: String,
    /// Display name.
    pub name: String,
    /// Order of plans (higher = bigger).
    pub rank: i32,
    /// Price in minor units.
    pub price_minor: i64,
    /// Currency.
    pub currency: String,
    /// Events per organisation (None = unlimited).
    pub max_events: Option<i32>,
    /// Registrations per event (None = unlimited).
    pub max_registrations: Option<i32>,
    /// Team seats (None = unlimited).
    pub max_seats: Option<i32>,
}

const COLUMNS: &str = "p.id, p.name, p.rank, p.price_minor, p.currency, p.max_events, p.max_registrations, p.max_seats";

/// Every plan, smallest first.
pub async fn plans(pool: &PgPool) -> Result<Vec<Plan>> {
    Ok(
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM plans p ORDER BY rank"))
            .fetch_all(pool)
            .await?,
    )
}

/// The organisation's plan.
pub async fn plan_of(conn: &mut PgConnection, org_id: Uuid) -> Result<Plan> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM plans p JOIN organisations o ON o.plan_id = p.id WHERE o.id = $1"
    ))
    .bind(org_id)
    .fetch_one(conn)
    .await?)
}

/// Fails with `PlanLimit` when the organisation may not create another event.
/// Call inside the creating transaction (the organisation row is locked).
pub async fn check_event_limit(conn: &mut PgConnection, org_id: Uuid) -> Result<()> {
    sqlx::query("SELECT 1 FROM organisations WHERE id = $1 FOR UPDATE")
        .bind(org_id)
        .execute(&mut *conn)
        .await?;
    let plan = plan_of(conn, org_id).await?;
    if let Some(max) = plan.max_events {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM events WHERE org_id = $1")
            .bind(org_id)
            .fetch_one(&mut *conn)
            .await?;
        if n >= i64::from(max) {
            return Err(Error::PlanLimit(format!(
                "your {} plan allows {max} event{}; upgrade at /checkout",
                plan.name,
                if max == 1 { "" } else { "s" }
            )));
        }
    }
    Ok(())
}

/// Fails when `quantity` more registrations would pass the event's plan limit.
/// Call inside the purchase transaction, after the quota locks.
pub async fn check_registration_limit(
    conn: &mut PgConnection,
    event_id: Uuid,
    quantity: i32,
) -> Result<()> {
    let org_id: Uuid = sqlx::query_scalar("SELECT org_id FROM events WHERE id = $1")
        .bind(event_id)
        .fetch_one(&mut *conn)
        .await?;
    // Serialise registrations of one event so the count below cannot race.
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 1))")
        .bind(format!("registrations:{event_id}"))
        .execute(&mut *conn)
        .await?;
    let plan = plan_of(conn, org_id).await?;
    if let Some(max) = plan.max_registrations {
        let n: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM tickets WHERE event_id = $1 AND voided_at IS NULL",
        )
        .bind(event_id)
        .fetch_one(&mut *conn)
        .await?;
        if n + i64::from(quantity) > i64::from(max) {
            return Err(Error::PlanLimit(
                "registration for this event is closed: it is full".into(),
            ));
        }
    }
    Ok(())
}

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
pub async fn buy_plan(
    pool: &PgPool,
    provider: &dyn PaymentProvider,
    by: &Organiser,
    plan_id: &str,
    card_number: &str,
) -> Result<PlanPurchase> {
    let mut tx = pool.begin().await?;
    crate::team::require_owner(&mut tx, by).await?;
    sqlx::query("SELECT 1 FROM organisations WHERE id = $1 FOR UPDATE")
        .bind(by.org_id)
        .execute(&mut *tx)
        .await?;
    let current = plan_of(&mut tx, by.org_id).await?;
    let target: Plan = sqlx::query_as(&format!("SELECT {COLUMNS} FROM plans p WHERE p.id = $1"))
        .bind(plan_id.trim())
        .fetch_optional(&mut *tx)
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
        Outcome::Succeeded => ("succeeded", PlanPurchase::Done(target.clone())),
        Outcome::Declined(why) => return Err(Error::PaymentFailed(why)),
        Outcome::RequiresAction { action_url } => {
            ("requires_action", PlanPurchase::ActionRequired(action_url))
        }
    };
    sqlx::query(
        "INSERT INTO plan_purchases (id, org_id, plan_id, amount_minor, currency, provider, provider_ref, status)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(Uuid::new_v4())
    .bind(by.org_id)
    .bind(&target.id)
    .bind(target.price_minor)
    .bind(&target.currency)
    .bind(provider.name())
    .bind(&charge.provider_ref)
    .bind(status)
    .execute(&mut *tx)
    .await?;
    if status == "succeeded" {
        sqlx::query("UPDATE organisations SET plan_id = $2 WHERE id = $1")
            .bind(by.org_id)
            .bind(&target.id)
            .execute(&mut *tx)
            .await?;
        tracing::info!(org = %by.org_id, plan = %target.id, "plan purchased");
    }
    tx.commit().await?;
    Ok(result)
}

/// Settles a plan purchase that waited for a confirmation step, from a verified
/// webhook; false when no such purchase exists. Idempotent. A success moves the
/// organisation up to the plan (never down, if it bought a bigger one meanwhile).
pub async fn settle_plan_purchase(
    conn: &mut PgConnection,
    provider: &str,
    provider_ref: &str,
    status: &str,
) -> Result<bool> {
    let row: Option<(Uuid, Uuid, String, String)> = sqlx::query_as(
        "SELECT id, org_id, plan_id, status FROM plan_purchases WHERE provider = $1 AND provider_ref = $2 FOR UPDATE",
    )
    .bind(provider)
    .bind(provider_ref)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((id, org_id, plan_id, current)) = row else {
        return Ok(false);
    };
    if current != "requires_action" {
        return Ok(true); // a redelivered webhook
    }
    sqlx::query("UPDATE plan_purchases SET status = $2 WHERE id = $1")
        .bind(id)
        .bind(status)
        .execute(&mut *conn)
        .await?;
    if status == "succeeded" {
        sqlx::query(
            "UPDATE organisations o SET plan_id = $2 FROM plans new, plans cur
             WHERE o.id = $1 AND new.id = $2 AND cur.id = o.plan_id AND new.rank > cur.rank",
        )
        .bind(org_id)
        .bind(&plan_id)
        .execute(&mut *conn)
        .await?;
        tracing::info!(org = %org_id, plan = %plan_id, "plan purchased after confirmation");
    }
    Ok(true)
}

/// Sets an organisation's plan directly (demo data, operators).
pub async fn set_plan(pool: &PgPool, org_id: Uuid, plan_id: &str) -> Result<()> {
    sqlx::query("UPDATE organisations SET plan_id = $2 WHERE id = $1")
        .bind(org_id)
        .bind(plan_id)
        .execute(pool)
        .await?;
    Ok(())
}
