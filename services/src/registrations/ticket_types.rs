//! Ticket types (owner of `ticket_types`): what an event sells, at what price,
//! how many per order, when, and to whom (public, or hidden until a promo
//! code unlocks it), with what is left of their quotas.

use chrono::{DateTime, Utc};
use protocol::ids::{EventId, TicketTypeId};
use protocol::states::Visibility;
use sqlx::{PgConnection, PgPool};
use tracing::instrument;

use super::quotas;
use crate::accounts::Organiser;
use crate::domain::{format_money, parse_name, parse_price, Currency};
use crate::events;
use crate::{Error, Result};

/// A ticket type as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TicketType {
    /// Id.
    pub id: TicketTypeId,
    /// Event.
    pub event_id: EventId,
    /// Name shown to buyers.
    pub name: String,
    /// Description shown to buyers.
    pub description: String,
    /// Price in minor units (0 = free).
    pub price_minor: i64,
    /// ISO currency code.
    pub currency: String,
    /// Listed, or sold only with an unlock code.
    pub visibility: Visibility,
    /// Sales open at (None: already open).
    pub sales_open_at: Option<DateTime<Utc>>,
    /// Sales close at (None: until the event).
    pub sales_close_at: Option<DateTime<Utc>>,
    /// Minimum tickets per order.
    pub min_per_order: i32,
    /// Maximum tickets per order.
    pub max_per_order: i32,
    /// Orders wait for the organiser's approval before payment/confirmation.
    pub requires_approval: bool,
}

impl TicketType {
    /// "Free", or the price with its currency.
    pub fn price_label(&self) -> String {
        if self.price_minor == 0 {
            "Free".into()
        } else {
            format_money(self.price_minor, &self.currency)
        }
    }
}

/// A ticket type with what is left of it.
#[derive(Debug, Clone)]
pub struct Offer {
    /// The ticket type.
    pub ticket_type: TicketType,
    /// Seats left (the tightest of its quotas); None when unlimited.
    pub available: Option<i64>,
    /// Seats sold (from its tightest quota), when limited.
    pub sold: Option<i64>,
    /// Its quota's name and seats, when limited.
    pub quota: Option<(String, i64)>,
}

/// Organiser input for a new ticket type.
#[derive(Debug)]
pub struct NewTicketType<'a> {
    /// Name.
    pub name: &'a str,
    /// Description.
    pub description: &'a str,
    /// Decimal price, e.g. `25.00`; empty or `0` for free.
    pub price: &'a str,
    /// Currency code (empty: EUR).
    pub currency: &'a str,
    /// Seats; None for unlimited.
    pub quota_size: Option<i32>,
    /// Quota name: ticket types naming the same quota share its seats.
    pub quota_name: &'a str,
    /// Minimum per order.
    pub min_per_order: i32,
    /// Maximum per order.
    pub max_per_order: i32,
    /// Listed, or hidden (sold only with an unlock code).
    pub visibility: Visibility,
    /// Sales open at (None: now).
    pub sales_open_at: Option<DateTime<Utc>>,
    /// Sales close at (None: never).
    pub sales_close_at: Option<DateTime<Utc>>,
    /// Orders need the organiser's approval.
    pub requires_approval: bool,
}

const COLUMNS: &str = "id, event_id, name, description, price_minor, currency, visibility,
     sales_open_at, sales_close_at, min_per_order, max_per_order, requires_approval";

/// A ticket type's settings, checked.
struct Checked {
    name: String,
    price_minor: i64,
    currency: Currency,
}

/// Checks the organiser's input (names, price, limits, window).
fn check(input: &NewTicketType<'_>) -> Result<Checked> {
    let name = parse_name("ticket name", input.name, 100)?;
    let currency = Currency::parse(if input.currency.trim().is_empty() {
        "EUR"
    } else {
        input.currency
    })?;
    let price_minor = parse_price(input.price, &currency)?;
    if !(1..=100).contains(&input.min_per_order)
        || input.max_per_order < input.min_per_order
        || input.max_per_order > 100
    {
        return Err(Error::invalid(
            "per-order limits must satisfy 1 ≤ minimum ≤ maximum ≤ 100",
        ));
    }
    if let Some(size) = input.quota_size {
        if !(0..=1_000_000).contains(&size) {
            return Err(Error::invalid("quota must be between 0 and 1000000 seats"));
        }
    }
    if let (Some(open), Some(close)) = (input.sales_open_at, input.sales_close_at) {
        if close <= open {
            return Err(Error::invalid("sales must close after they open"));
        }
    }
    Ok(Checked {
        name,
        price_minor,
        currency,
    })
}

/// Adds a ticket type to one of the organiser's events.
#[instrument(skip(pool, by, input), fields(org = %by.org_id))]
pub async fn create(
    pool: &PgPool,
    by: &Organiser,
    slug: &str,
    input: NewTicketType<'_>,
) -> Result<TicketType> {
    let event = events::get_for_org(pool, by, slug).await?;
    let Checked {
        name,
        price_minor,
        currency,
    } = check(&input)?;
    let mut tx = pool.begin().await?;
    let tt: TicketType = sqlx::query_as(&format!(
        "INSERT INTO ticket_types (id, event_id, name, description, price_minor, currency, visibility, min_per_order,
                                   max_per_order, sales_open_at, sales_close_at, requires_approval)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING {COLUMNS}"
    ))
    .bind(TicketTypeId::new())
    .bind(event.id)
    .bind(&name)
    .bind(input.description.trim())
    .bind(price_minor)
    .bind(currency.as_str())
    .bind(input.visibility)
    .bind(input.min_per_order)
    .bind(input.max_per_order)
    .bind(input.sales_open_at)
    .bind(input.sales_close_at)
    .bind(input.requires_approval)
    .fetch_one(&mut *tx)
    .await?;
    if let Some(size) = input.quota_size {
        let quota_name = match input.quota_name.trim() {
            "" => name.as_str(),
            given => given,
        };
        quotas::attach(&mut tx, event.id, tt.id, quota_name, size).await?;
    }
    tx.commit().await?;
    Ok(tt)
}

/// Changes a ticket type of one of the organiser's events. A new price
/// applies to orders placed from now on; the currency cannot change once
/// the type has sold. `quota_size` resizes its quota (shared with other types
/// if it is shared; never below the seats sold), `None` makes it unlimited.
/// `quota_name` is kept (a type does not move between quotas). Seats a larger
/// quota opens go to the waiting list with [`super::waitlist::offer_open_seats`].
#[instrument(skip(pool, by, input), fields(org = %by.org_id))]
pub async fn update(
    pool: &PgPool,
    by: &Organiser,
    slug: &str,
    id: TicketTypeId,
    input: NewTicketType<'_>,
) -> Result<TicketType> {
    let event = events::get_for_org(pool, by, slug).await?;
    let Checked {
        name,
        price_minor,
        currency,
    } = check(&input)?;
    let mut tx = pool.begin().await?;
    let before = lock(&mut tx, event.id, id).await?;
    if before.currency != currency.as_str() && has_sold(&mut tx, id).await? {
        return Err(Error::Conflict(
            "the currency of a ticket that has sold cannot change".into(),
        ));
    }
    let tt: TicketType = sqlx::query_as(&format!(
        "UPDATE ticket_types SET name = $2, description = $3, price_minor = $4, currency = $5,
             visibility = $6, min_per_order = $7, max_per_order = $8, sales_open_at = $9,
             sales_close_at = $10, requires_approval = $11
         WHERE id = $1 RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(&name)
    .bind(input.description.trim())
    .bind(price_minor)
    .bind(currency.as_str())
    .bind(input.visibility)
    .bind(input.min_per_order)
    .bind(input.max_per_order)
    .bind(input.sales_open_at)
    .bind(input.sales_close_at)
    .bind(input.requires_approval)
    .fetch_one(&mut *tx)
    .await?;
    quotas::resize(&mut tx, event.id, id, &name, input.quota_size).await?;
    tx.commit().await?;
    Ok(tt)
}

/// What removing a ticket type did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removed {
    /// It had never sold: it is gone (with promo codes made for it alone).
    Deleted,
    /// It has orders, which keep it: it is hidden from buyers instead.
    Hidden,
}

/// Removes a ticket type of one of the organiser's events: deleted when it
/// never sold, hidden otherwise (its orders and tickets keep naming it).
#[instrument(skip(pool, by), fields(org = %by.org_id))]
pub async fn remove(
    pool: &PgPool,
    by: &Organiser,
    slug: &str,
    id: TicketTypeId,
) -> Result<Removed> {
    let event = events::get_for_org(pool, by, slug).await?;
    let mut tx = pool.begin().await?;
    lock(&mut tx, event.id, id).await?;
    let removed = if has_sold(&mut tx, id).await? {
        sqlx::query("UPDATE ticket_types SET visibility = $2 WHERE id = $1")
            .bind(id)
            .bind(Visibility::Hidden)
            .execute(&mut *tx)
            .await?;
        Removed::Hidden
    } else {
        quotas::detach(&mut tx, id).await?;
        sqlx::query("DELETE FROM ticket_types WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        Removed::Deleted
    };
    tx.commit().await?;
    Ok(removed)
}

/// Locks a ticket type of the event (purchases of it wait), or "no such ticket".
async fn lock(conn: &mut PgConnection, event_id: EventId, id: TicketTypeId) -> Result<TicketType> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM ticket_types WHERE id = $1 AND event_id = $2 FOR UPDATE"
    ))
    .bind(id)
    .bind(event_id)
    .fetch_optional(conn)
    .await?
    .ok_or_else(|| Error::not_found("no such ticket"))
}

/// Whether any ticket of the type was ever issued (void or not).
async fn has_sold(conn: &mut PgConnection, id: TicketTypeId) -> Result<bool> {
    Ok(
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM tickets WHERE ticket_type_id = $1)")
            .bind(id)
            .fetch_one(conn)
            .await?,
    )
}

/// Adds the free, unlimited "General admission" ticket type every new event starts with.
pub async fn insert_general_admission(conn: &mut PgConnection, event: EventId) -> Result<()> {
    sqlx::query(
        "INSERT INTO ticket_types (id, event_id, name) VALUES ($1, $2, 'General admission')",
    )
    .bind(TicketTypeId::new())
    .bind(event)
    .execute(conn)
    .await?;
    Ok(())
}

/// The event's ticket types with availability: public ones, the hidden one
/// `unlocked` (by a promo code), or all when `include_hidden`.
pub async fn offers(
    pool: &PgPool,
    event_id: EventId,
    include_hidden: bool,
    unlocked: Option<TicketTypeId>,
) -> Result<Vec<Offer>> {
    let types: Vec<TicketType> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM ticket_types
         WHERE event_id = $1 AND ($2 OR visibility = 'public' OR id = $3) ORDER BY price_minor, created_at"
    ))
    .bind(event_id)
    .bind(include_hidden)
    .bind(unlocked)
    .fetch_all(pool)
    .await?;
    let limits = quotas::limits(pool, event_id).await?;
    Ok(types
        .into_iter()
        .map(|t| {
            let limit = limits.iter().find(|l| l.ticket_type_id == t.id);
            Offer {
                available: limit.map(|l| l.available.max(0)),
                sold: limit.map(|l| l.sold),
                quota: limit.map(|l| (l.quota_name.clone(), l.size)),
                ticket_type: t,
            }
        })
        .collect())
}

/// The event's first public free ticket type (what the simple registration form sells).
pub async fn default_free(pool: &PgPool, event_id: EventId) -> Result<TicketTypeId> {
    sqlx::query_scalar(
        "SELECT id FROM ticket_types WHERE event_id = $1 AND price_minor = 0 AND visibility = 'public'
         ORDER BY created_at LIMIT 1",
    )
    .bind(event_id)
    .fetch_optional(pool)
    .await?
    .ok_or_else(|| Error::Conflict("this event has no free tickets".into()))
}

/// A ticket type of the event (inside a purchase's transaction).
pub async fn get(
    conn: &mut PgConnection,
    event_id: EventId,
    id: TicketTypeId,
) -> Result<Option<TicketType>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM ticket_types WHERE id = $1 AND event_id = $2"
    ))
    .bind(id)
    .bind(event_id)
    .fetch_optional(conn)
    .await?)
}

/// A ticket type of the event by its name.
pub async fn by_name(pool: &PgPool, event_id: EventId, name: &str) -> Result<Option<TicketType>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM ticket_types WHERE event_id = $1 AND name = $2"
    ))
    .bind(event_id)
    .bind(name)
    .fetch_optional(pool)
    .await?)
}

/// The currencies the event's paid ticket types are priced in, sorted.
pub async fn paid_currencies(pool: &PgPool, event_id: EventId) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT DISTINCT currency FROM ticket_types WHERE event_id = $1 AND price_minor > 0 ORDER BY currency",
    )
    .bind(event_id)
    .fetch_all(pool)
    .await?)
}

/// The names of the event's ticket types, in the order buyers see them.
pub async fn names(pool: &PgPool, event_id: EventId) -> Result<Vec<String>> {
    Ok(offers(pool, event_id, true, None)
        .await?
        .into_iter()
        .map(|o| o.ticket_type.name)
        .collect())
}
