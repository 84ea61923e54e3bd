//! Organisations (owner of `organisations`): the customer account that owns
//! events, a team and a plan.

use chrono::{DateTime, Utc};
use protocol::ids::OrgId;
use sqlx::{PgConnection, PgPool};

use crate::Result;

/// Creates an organisation on the Free plan.
pub async fn insert(conn: &mut PgConnection, id: OrgId, name: &str) -> Result<()> {
    sqlx::query("INSERT INTO organisations (id, name) VALUES ($1, $2)")
        .bind(id)
        .bind(name)
        .execute(conn)
        .await?;
    Ok(())
}

/// Locks the organisation's row until the transaction ends: serialises
/// changes that count against its plan (events, seats, plan purchases).
pub async fn lock(conn: &mut PgConnection, id: OrgId) -> Result<()> {
    sqlx::query("SELECT 1 FROM organisations WHERE id = $1 FOR UPDATE")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// The organisation's name.
pub async fn name(conn: &mut PgConnection, id: OrgId) -> Result<String> {
    Ok(
        sqlx::query_scalar("SELECT name FROM organisations WHERE id = $1")
            .bind(id)
            .fetch_one(conn)
            .await?,
    )
}

/// The id of the organisation's plan.
pub async fn plan_id(conn: &mut PgConnection, id: OrgId) -> Result<String> {
    Ok(
        sqlx::query_scalar("SELECT plan_id FROM organisations WHERE id = $1")
            .bind(id)
            .fetch_one(conn)
            .await?,
    )
}

/// Puts the organisation on `plan_id` until `until` (`None`: a grant that
/// does not lapse).
pub async fn set_plan(
    conn: &mut PgConnection,
    id: OrgId,
    plan_id: &str,
    until: Option<DateTime<Utc>>,
) -> Result<()> {
    sqlx::query("UPDATE organisations SET plan_id = $2, plan_until = $3 WHERE id = $1")
        .bind(id)
        .bind(plan_id)
        .bind(until)
        .execute(conn)
        .await?;
    Ok(())
}

/// When the organisation's paid period ends (`None`: it does not).
pub async fn plan_until(conn: &mut PgConnection, id: OrgId) -> Result<Option<DateTime<Utc>>> {
    Ok(
        sqlx::query_scalar("SELECT plan_until FROM organisations WHERE id = $1")
            .bind(id)
            .fetch_one(conn)
            .await?,
    )
}

/// Moves every organisation whose paid period ended back to `free_plan`;
/// returns them.
pub async fn lapse_ended(pool: &PgPool, free_plan: &str) -> Result<Vec<OrgId>> {
    Ok(sqlx::query_scalar(
        "UPDATE organisations SET plan_id = $1, plan_until = NULL
         WHERE plan_until IS NOT NULL AND plan_until <= now() RETURNING id",
    )
    .bind(free_plan)
    .fetch_all(pool)
    .await?)
}
