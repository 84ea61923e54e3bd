//! The organiser's registrations list (search, filters, CSV export) and one
//! order in full. Read-only views over the registration tables.

use chrono::{DateTime, Utc};
use protocol::ids::{AttendeeId, EventId, OrderId};
use protocol::states::OrderStatus;
use sqlx::PgPool;
use tracing::instrument;

use super::questions::{self, Answer};
use crate::accounts::Organiser;
use crate::error::parse_state;
use crate::events;
use crate::payments::charges::{self, PaymentLine};
use crate::payments::refunds;
use crate::{Error, Result};

/// One order in the organiser's registrations list.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RegistrationRow {
    /// The order.
    pub order_id: OrderId,
    /// The buyer's attendee id (answers are keyed by it).
    pub attendee_id: AttendeeId,
    /// Order code.
    pub order_code: String,
    /// Buyer's name.
    pub name: String,
    /// Buyer's email.
    pub email: String,
    /// Ticket type name.
    pub ticket_type: String,
    /// Tickets in the order.
    pub quantity: i64,
    /// Where the order stands.
    pub status: OrderStatus,
    /// Total in minor units.
    pub total_minor: i64,
    /// Currency.
    pub currency: String,
    /// Discount in minor units.
    pub discount_minor: i64,
    /// Promo code used.
    pub promo_code: Option<String>,
    /// When ordered.
    pub created_at: DateTime<Utc>,
}

/// Filters of the registrations list (all optional).
#[derive(Debug, Default, Clone)]
pub struct RegistrationFilter {
    /// Matches name, email or order code (case-insensitive substring).
    pub search: Option<String>,
    /// Only this ticket type (by name).
    pub ticket_type: Option<String>,
    /// Only this order status (as typed; checked here).
    pub status: Option<String>,
}

fn clean(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// Where a page of orders ends: its last order's time and code (the next
/// page starts after it, so pages never overlap or skip, however many rows).
pub type Cursor = (DateTime<Utc>, String);

impl RegistrationRow {
    /// The cursor after this row.
    pub fn cursor(&self) -> Cursor {
        (self.created_at, self.order_code.clone())
    }
}

/// How many orders the dashboard's list shows at once.
pub const LIST_PAGE: i64 = 500;

/// Orders of `event` matching the filter (and the order `code`, when given),
/// newest first, after `after`, at most `limit`.
async fn rows(
    pool: &PgPool,
    event: EventId,
    filter: &RegistrationFilter,
    code: Option<&str>,
    after: Option<&Cursor>,
    limit: i64,
) -> Result<Vec<RegistrationRow>> {
    let search = clean(&filter.search).map(|s| {
        let escaped = s
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        format!("%{escaped}%")
    });
    let status: Option<OrderStatus> = match clean(&filter.status) {
        Some(s) => Some(parse_state(&s, &format!("unknown status '{s}'"))?),
        None => None,
    };
    Ok(sqlx::query_as::<_, RegistrationRow>(
        "SELECT o.id AS order_id, a.id AS attendee_id, o.code AS order_code, a.name, a.email::text AS email,
                min(tt.name) AS ticket_type, count(t.id) AS quantity, o.status, o.total_minor, o.currency,
                o.discount_minor, min(p.code::text) AS promo_code, o.created_at
         FROM orders o
         JOIN attendees a ON a.id = o.attendee_id
         JOIN tickets t ON t.order_id = o.id
         JOIN ticket_types tt ON tt.id = t.ticket_type_id
         LEFT JOIN promo_codes p ON p.id = o.promo_code_id
         WHERE o.event_id = $1
           AND ($2::text IS NULL OR a.name ILIKE $2 OR a.email::text ILIKE $2 OR o.code ILIKE $2)
           AND ($3::text IS NULL OR tt.name = $3)
           AND ($4::text IS NULL OR o.status = $4)
           AND ($5::text IS NULL OR o.code = $5)
           AND ($6::timestamptz IS NULL OR (o.created_at, o.code) < ($6, $7))
         GROUP BY o.id, a.id
         ORDER BY o.created_at DESC, o.code DESC
         LIMIT $8",
    )
    .bind(event)
    .bind(search)
    .bind(clean(&filter.ticket_type))
    .bind(status)
    .bind(code)
    .bind(after.map(|c| c.0))
    .bind(after.map(|c| c.1.as_str()))
    .bind(limit)
    .fetch_all(pool)
    .await?)
}

/// A page of the orders of `event` (already checked to be the caller's)
/// matching the filter, newest first, after `after`: for exports that walk
/// every order a page at a time.
pub async fn page(
    pool: &PgPool,
    event: EventId,
    filter: &RegistrationFilter,
    after: Option<&Cursor>,
    limit: i64,
) -> Result<Vec<RegistrationRow>> {
    rows(pool, event, filter, None, after, limit).await
}

/// A page of the orders of one of the organiser's events, newest first
/// ([`LIST_PAGE`] at most), after `after`.
#[instrument(skip(pool, by, filter), fields(org = %by.org_id))]
pub async fn registrations(
    pool: &PgPool,
    by: &Organiser,
    slug: &str,
    filter: &RegistrationFilter,
    after: Option<&Cursor>,
) -> Result<Vec<RegistrationRow>> {
    let event = events::get_for_org(pool, by, slug).await?;
    rows(pool, event.id, filter, None, after, LIST_PAGE).await
}

/// A ticket of an order, as the detail view lists it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TicketLine {
    /// Ticket code.
    pub code: String,
    /// Ticket type name.
    pub ticket_type: String,
    /// Voided (its order was cancelled).
    pub voided: bool,
}

/// One order in full, for the organiser's detail view.
#[derive(Debug, Clone)]
pub struct OrderDetail {
    /// The order's row in the list.
    pub row: RegistrationRow,
    /// Its tickets.
    pub tickets: Vec<TicketLine>,
    /// The buyer's answers.
    pub answers: Vec<Answer>,
    /// Payment attempts.
    pub payments: Vec<PaymentLine>,
    /// Refunded in minor units.
    pub refunded_minor: i64,
}

/// An order of one of the organiser's events, with tickets, answers and payments.
#[instrument(skip(pool, by), fields(org = %by.org_id))]
pub async fn order_detail(
    pool: &PgPool,
    by: &Organiser,
    slug: &str,
    order_code: &str,
) -> Result<OrderDetail> {
    let event = events::get_for_org(pool, by, slug).await?;
    let code = order_code.trim().to_uppercase();
    let row = rows(
        pool,
        event.id,
        &RegistrationFilter::default(),
        Some(&code),
        None,
        1,
    )
    .await?
    .into_iter()
    .next()
    .ok_or_else(|| Error::not_found("no such order"))?;
    let tickets = sqlx::query_as(
        "SELECT t.code, tt.name AS ticket_type, t.voided_at IS NOT NULL AS voided
         FROM tickets t JOIN ticket_types tt ON tt.id = t.ticket_type_id
         WHERE t.order_id = $1 ORDER BY t.code",
    )
    .bind(row.order_id)
    .fetch_all(pool)
    .await?;
    let answers = questions::answers_of(pool, row.attendee_id).await?;
    let payments = charges::of_order(pool, row.order_id).await?;
    let refunded_minor = refunds::refunded_total(pool, row.order_id).await?;
    Ok(OrderDetail {
        row,
        tickets,
        answers,
        payments,
        refunded_minor,
    })
}
