//! Plans (owner of `plans`) and the limits they set. The limits are checked by
//! the modules that own what is counted (events, registrations, the team),
//! under their own locks, with the pure checks here.

use protocol::ids::OrgId;
use sqlx::{PgConnection, PgPool};

use crate::accounts::orgs;
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
    /// Bytes per uploaded video (None = unlimited).
    pub max_upload_bytes: Option<i64>,
}

const COLUMNS: &str =
    "id, name, rank, price_minor, currency, max_events, max_registrations, max_seats, max_upload_bytes";

/// Every plan, smallest first.
pub async fn list(pool: &PgPool) -> Result<Vec<Plan>> {
    Ok(
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM plans ORDER BY rank"))
            .fetch_all(pool)
            .await?,
    )
}

/// The plan `id`, if it exists.
pub async fn get(conn: &mut PgConnection, id: &str) -> Result<Option<Plan>> {
    Ok(
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM plans WHERE id = $1"))
            .bind(id.trim())
            .fetch_optional(conn)
            .await?,
    )
}

/// The organisation's plan.
pub async fn of_org(conn: &mut PgConnection, org_id: OrgId) -> Result<Plan> {
    let id = orgs::plan_id(&mut *conn, org_id).await?;
    get(conn, &id)
        .await?
        .ok_or_else(|| Error::Internal(format!("organisation {org_id} is on unknown plan {id}")))
}

fn plural(n: i32) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

impl Plan {
    /// Fails with `PlanLimit` when an organisation with `events` events may not make another.
    pub fn check_new_event(&self, events: i64) -> Result<()> {
        match self.max_events {
            Some(max) if events >= i64::from(max) => Err(Error::PlanLimit(format!(
                "your {} plan allows {max} event{}; upgrade at /checkout",
                self.name,
                plural(max)
            ))),
            _ => Ok(()),
        }
    }

    /// Fails with `PlanLimit` when `more` registrations on top of `active` pass the limit.
    pub fn check_registrations(&self, active: i64, more: i32) -> Result<()> {
        match self.max_registrations {
            Some(max) if active + i64::from(more) > i64::from(max) => Err(Error::PlanLimit(
                "registration for this event is closed: it is full".into(),
            )),
            _ => Ok(()),
        }
    }

    /// Fails with `PlanLimit` when `taken` seats leave none for one more person.
    pub fn check_new_seat(&self, taken: i64) -> Result<()> {
        match self.max_seats {
            Some(max) if taken >= i64::from(max) => Err(Error::PlanLimit(format!(
                "your {} plan includes {max} team seat{}; upgrade at /checkout",
                self.name,
                plural(max)
            ))),
            _ => Ok(()),
        }
    }
}

/// Grants an organisation a plan directly, without end (demo data, operators).
pub async fn set_plan(pool: &PgPool, org_id: OrgId, plan_id: &str) -> Result<()> {
    let mut conn = pool.acquire().await?;
    orgs::set_plan(&mut conn, org_id, plan_id, None).await
}

/// The plan everyone has without paying.
pub const FREE: &str = "free";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_say_what_to_do() {
        let free = Plan {
            id: "free".into(),
            name: "Free".into(),
            rank: 0,
            price_minor: 0,
            currency: "EUR".into(),
            max_events: Some(1),
            max_registrations: Some(50),
            max_seats: Some(1),
            max_upload_bytes: Some(512 * 1024 * 1024),
        };
        assert!(free.check_new_event(0).is_ok());
        let e = free.check_new_event(1).unwrap_err().to_string();
        assert_eq!(e, "your Free plan allows 1 event; upgrade at /checkout");
        assert!(free.check_registrations(49, 1).is_ok());
        assert!(free.check_registrations(49, 2).is_err());
        assert!(free.check_new_seat(1).is_err());
        let unlimited = Plan {
            max_events: None,
            max_registrations: None,
            max_seats: None,
            ..free
        };
        assert!(unlimited.check_new_event(1_000).is_ok());
    }
}
