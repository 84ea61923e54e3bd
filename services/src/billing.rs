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

/// Buys (upgrades to) a plan by card. Downgrades and same-plan purchases are refused.
pub async fn buy_plan(
    pool: &PgPool,
    provider: &dyn PaymentProvider,
    by: &Organiser,
    plan_id: &str,
    card_number: &str,
) -> Result<Plan> {
    let mut tx = pool.begin().await?;
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
    match charge.outcome {
        Outcome::Succeeded => {}
        Outcome::Declined(why) => return Err(Error::PaymentFailed(why)),
        Outcome::RequiresAction { .. } => {
            return Err(Error::PaymentFailed(
                "this card needs a confirmation step, which plan checkout does not support yet"
                    .into(),
            ))
        }
    }
    sqlx::query(
        "INSERT INTO plan_purchases (id, org_id, plan_id, amount_minor, currency, provider, provider_ref)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(Uuid::new_v4())
    .bind(by.org_id)
    .bind(&target.id)
    .bind(target.price_minor)
    .bind(&target.currency)
    .bind(provider.name())
    .bind(&charge.provider_ref)
    .execute(&mut *tx)
    .await?;
    sqlx::query("UPDATE organisations SET plan_id = $2 WHERE id = $1")
        .bind(by.org_id)
        .bind(&target.id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    tracing::info!(org = %by.org_id, plan = %target.id, "plan purchased");
    Ok(target)
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
