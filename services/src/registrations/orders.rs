//! Orders and their tickets (owner of `orders` and `tickets`): storing them,
//! finding and locking them, the status moves (the flows that decide them are
//! in [`super::lifecycle`]), voiding, and what the buyer and their email see.

use protocol::events::{Fact, OrderCancelled};
use protocol::ids::{AttendeeId, EventId, OrderId, PromoCodeId, TicketId, TicketTypeId};
use protocol::states::{CancelReason, OrderStatus};
use qrcode::render::svg;
use qrcode::QrCode;
use sqlx::{PgConnection, PgPool};

use super::{attendees, promo, quotas, waitlist};
use crate::events::{self, Event};
use crate::jobs::{self, OrderEmail};
use crate::tokens::new_token;
use crate::{domain_events, Error, Result};

/// Minutes an unpaid order holds its seats before it is cancelled.
pub const PENDING_ORDER_TTL_MINUTES: i64 = 30;
/// Days an order may await the organiser's approval, holding its seats,
/// before it is cancelled.
pub const APPROVAL_TTL_DAYS: i64 = 7;

/// An order as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Order {
    /// Id.
    pub id: OrderId,
    /// Event.
    pub event_id: EventId,
    /// The buyer.
    pub attendee_id: AttendeeId,
    /// Short code the buyer and the organiser use.
    pub code: String,
    /// Where it stands.
    pub status: OrderStatus,
    /// Total after discount, in minor units.
    pub total_minor: i64,
    /// ISO currency.
    pub currency: String,
    /// The promo code the order used (its use is given back if the order is voided).
    pub promo_code_id: Option<PromoCodeId>,
}

const COLUMNS: &str =
    "id, event_id, attendee_id, code, status, total_minor, currency, promo_code_id";

/// A new order, as the purchase makes it.
#[derive(Debug, Clone)]
pub struct NewOrder<'a> {
    /// Event.
    pub event_id: EventId,
    /// The buyer.
    pub attendee_id: AttendeeId,
    /// Where it starts.
    pub status: OrderStatus,
    /// Total after discount.
    pub total_minor: i64,
    /// ISO currency.
    pub currency: &'a str,
    /// The request's idempotency key.
    pub idempotency_key: &'a str,
    /// What the request asked for (a retry with the key must ask the same).
    pub request_hash: &'a [u8],
    /// Promo code used.
    pub promo_code_id: Option<PromoCodeId>,
    /// Discount in minor units.
    pub discount_minor: i64,
}

/// Stores an order.
pub async fn insert(conn: &mut PgConnection, o: NewOrder<'_>) -> Result<Order> {
    let id = OrderId::new();
    let code = new_token()[..10].to_uppercase().replace(['-', '_'], "X");
    sqlx::query(
        "INSERT INTO orders (id, event_id, attendee_id, code, status, total_minor, currency, idempotency_key,
                             promo_code_id, discount_minor, request_hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(id)
    .bind(o.event_id)
    .bind(o.attendee_id)
    .bind(&code)
    .bind(o.status)
    .bind(o.total_minor)
    .bind(o.currency)
    .bind(o.idempotency_key)
    .bind(o.promo_code_id)
    .bind(o.discount_minor)
    .bind(o.request_hash)
    .execute(conn)
    .await?;
    Ok(Order {
        id,
        event_id: o.event_id,
        attendee_id: o.attendee_id,
        code,
        status: o.status,
        total_minor: o.total_minor,
        currency: o.currency.to_owned(),
        promo_code_id: o.promo_code_id,
    })
}

/// Issues `quantity` tickets of an order (one multi-row insert); returns their
/// codes, sorted (the order a replay lists them in).
pub async fn issue_tickets(
    conn: &mut PgConnection,
    order: &Order,
    ticket_type: TicketTypeId,
    quantity: i32,
) -> Result<Vec<String>> {
    let n = quantity.max(0) as usize;
    let ids: Vec<TicketId> = (0..n).map(|_| TicketId::new()).collect();
    let mut codes: Vec<String> = (0..n).map(|_| new_token()[..20].to_owned()).collect();
    sqlx::query(
        "INSERT INTO tickets (id, event_id, attendee_id, ticket_type_id, code, order_id)
         SELECT t.id, $3, $4, $5, t.code, $6 FROM unnest($1::uuid[], $2::text[]) AS t(id, code)",
    )
    .bind(&ids)
    .bind(&codes)
    .bind(order.event_id)
    .bind(order.attendee_id)
    .bind(ticket_type)
    .bind(order.id)
    .execute(conn)
    .await?;
    codes.sort();
    Ok(codes)
}

/// An order with the codes of its tickets, sorted.
#[derive(Debug)]
pub struct OrderWithCodes {
    /// The order.
    pub order: Order,
    /// Its tickets' codes, sorted.
    pub codes: Vec<String>,
    /// What its request asked for (None for orders placed before it was kept).
    pub request_hash: Option<Vec<u8>>,
}

/// The order a request with `key` already made, with its ticket codes.
pub async fn by_idempotency_key(
    conn: &mut PgConnection,
    event: EventId,
    key: &str,
) -> Result<Option<OrderWithCodes>> {
    #[derive(sqlx::FromRow)]
    struct Keyed {
        #[sqlx(flatten)]
        order: Order,
        request_hash: Option<Vec<u8>>,
    }
    let keyed: Option<Keyed> = sqlx::query_as(&format!(
        "SELECT {COLUMNS}, request_hash FROM orders WHERE event_id = $1 AND idempotency_key = $2"
    ))
    .bind(event)
    .bind(key)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(Keyed {
        order,
        request_hash,
    }) = keyed
    else {
        return Ok(None);
    };
    let codes: Vec<String> =
        sqlx::query_scalar("SELECT code FROM tickets WHERE order_id = $1 ORDER BY code")
            .bind(order.id)
            .fetch_all(&mut *conn)
            .await?;
    Ok(Some(OrderWithCodes {
        order,
        codes,
        request_hash,
    }))
}

/// The ticket types an attendee holds (tickets not voided).
pub async fn ticket_types_of(pool: &PgPool, attendee: AttendeeId) -> Result<Vec<TicketTypeId>> {
    Ok(sqlx::query_scalar(
        "SELECT DISTINCT ticket_type_id FROM tickets WHERE attendee_id = $1 AND voided_at IS NULL",
    )
    .bind(attendee)
    .fetch_all(pool)
    .await?)
}

/// Tickets of the event that still count (not voided): what plan limits count.
pub async fn active_tickets(conn: &mut PgConnection, event: EventId) -> Result<i64> {
    Ok(
        sqlx::query_scalar(
            "SELECT count(*) FROM tickets WHERE event_id = $1 AND voided_at IS NULL",
        )
        .bind(event)
        .fetch_one(conn)
        .await?,
    )
}

/// The order `code` (of `event`, when given), locked until the transaction ends.
pub async fn lock_by_code(
    conn: &mut PgConnection,
    event: Option<EventId>,
    code: &str,
) -> Result<Order> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM orders WHERE code = $1 AND ($2::uuid IS NULL OR event_id = $2) FOR UPDATE"
    ))
    .bind(code.trim().to_uppercase())
    .bind(event)
    .fetch_optional(conn)
    .await?
    .ok_or_else(|| Error::not_found("no such order"))
}

/// The order `id`, locked until the transaction ends.
pub async fn lock_by_id(conn: &mut PgConnection, id: OrderId) -> Result<Order> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM orders WHERE id = $1 FOR UPDATE"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await?
    .ok_or_else(|| Error::not_found("no such order"))
}

/// Confirms a pending order that has been paid; false when it is not pending
/// any more (cancelled meanwhile). The buyer's tickets go out by email.
pub async fn confirm_paid(
    conn: &mut PgConnection,
    id: OrderId,
    platform_fee_minor: i64,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE orders SET status = $3, paid_at = now(), platform_fee_minor = $2
         WHERE id = $1 AND status = $4",
    )
    .bind(id)
    .bind(platform_fee_minor)
    .bind(OrderStatus::Confirmed)
    .bind(OrderStatus::Pending)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        return Ok(false);
    }
    jobs::enqueue(conn, &OrderEmail { order_id: id }).await?;
    Ok(true)
}

/// Moves an order to `status` (the caller holds its lock and knows the move is allowed).
pub async fn set_status(conn: &mut PgConnection, id: OrderId, status: OrderStatus) -> Result<()> {
    sqlx::query("UPDATE orders SET status = $2 WHERE id = $1")
        .bind(id)
        .bind(status)
        .execute(conn)
        .await?;
    Ok(())
}

/// Voids an order's tickets, returns their seats (to the waiting list first) and
/// marks it cancelled; the caller holds the order row's lock.
pub async fn void(
    conn: &mut PgConnection,
    event: &Event,
    order: &Order,
    reason: CancelReason,
) -> Result<()> {
    let per_type: Vec<(TicketTypeId, i64)> = sqlx::query_as(
        "SELECT ticket_type_id, count(*) FROM tickets WHERE order_id = $1 GROUP BY ticket_type_id",
    )
    .bind(order.id)
    .fetch_all(&mut *conn)
    .await?;
    // The promo row before the quotas: the order a purchase locks them in
    // (the other order could deadlock with a purchase using the code).
    if let Some(code) = order.promo_code_id {
        promo::give_back(&mut *conn, code).await?;
    }
    for (ticket_type, n) in per_type {
        // People on the waiting list get the freed seats first; the rest go back on sale.
        let unoffered = waitlist::offer_freed(&mut *conn, ticket_type, n).await?;
        quotas::release(&mut *conn, ticket_type, unoffered).await?;
    }
    sqlx::query("UPDATE tickets SET voided_at = now() WHERE order_id = $1")
        .bind(order.id)
        .execute(&mut *conn)
        .await?;
    set_status(&mut *conn, order.id, OrderStatus::Cancelled).await?;
    let fact = Fact::OrderCancelled(OrderCancelled {
        order_id: order.id,
        reason,
    });
    domain_events::record(conn, event, fact).await?;
    Ok(())
}

/// Approves an order (the caller checked it awaited approval): it moves to
/// `next` and its payment window starts now.
pub async fn mark_approved(conn: &mut PgConnection, id: OrderId, next: OrderStatus) -> Result<()> {
    sqlx::query("UPDATE orders SET status = $2, approved_at = now() WHERE id = $1")
        .bind(id)
        .bind(next)
        .execute(conn)
        .await?;
    Ok(())
}

/// Orders in `status` that have been in it longer than `age` (counted from
/// approval, when approved), locked; orders other workers hold are skipped.
pub async fn lock_stale(
    conn: &mut PgConnection,
    status: OrderStatus,
    age: chrono::Duration,
) -> Result<Vec<Order>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM orders WHERE status = $1
           AND coalesce(approved_at, created_at) < now() - $2 * interval '1 second'
         ORDER BY created_at LIMIT 500 FOR UPDATE SKIP LOCKED"
    ))
    .bind(status)
    .bind(age.num_seconds() as f64)
    .fetch_all(conn)
    .await?)
}

/// What the buyer sees of an order (by its code, which only the buyer and the
/// organiser know).
#[derive(Debug, Clone)]
pub struct OrderSummary {
    /// Order code.
    pub code: String,
    /// Where it stands.
    pub status: OrderStatus,
    /// Total in minor units.
    pub total_minor: i64,
    /// Currency.
    pub currency: String,
    /// Event name.
    pub event_name: String,
    /// The buyer.
    pub attendee_id: AttendeeId,
    /// What was bought, one line per ticket type.
    pub lines: Vec<OrderLine>,
    /// Discount from a promo code, in minor units.
    pub discount_minor: i64,
    /// Codes of its tickets that still count.
    pub tickets: Vec<String>,
    /// Where the buyer confirms a payment their bank holds (3-D Secure),
    /// while the order awaits payment.
    pub bank_step: Option<String>,
}

/// One line of an order: tickets of one type.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OrderLine {
    /// Ticket type name.
    pub name: String,
    /// How many.
    pub quantity: i64,
    /// Price of one, in minor units.
    pub unit_minor: i64,
}

/// The order `code` of the event `slug`.
pub async fn summary(pool: &PgPool, slug: &str, code: &str) -> Result<OrderSummary> {
    let event = events::get_public(pool, slug).await?;
    #[derive(sqlx::FromRow)]
    struct WithDiscount {
        #[sqlx(flatten)]
        order: Order,
        discount_minor: i64,
    }
    let WithDiscount {
        order,
        discount_minor,
    } = sqlx::query_as(&format!(
        "SELECT {COLUMNS}, discount_minor FROM orders WHERE event_id = $1 AND code = $2"
    ))
    .bind(event.id)
    .bind(code.trim().to_uppercase())
    .fetch_optional(pool)
    .await?
    .ok_or_else(|| Error::not_found("no such order"))?;
    let lines: Vec<OrderLine> = sqlx::query_as(
        "SELECT tt.name, count(*) AS quantity, tt.price_minor AS unit_minor
         FROM tickets t JOIN ticket_types tt ON tt.id = t.ticket_type_id
         WHERE t.order_id = $1 GROUP BY tt.id, tt.name, tt.price_minor ORDER BY tt.name",
    )
    .bind(order.id)
    .fetch_all(pool)
    .await?;
    let tickets: Vec<String> = sqlx::query_scalar(
        "SELECT code FROM tickets WHERE order_id = $1 AND voided_at IS NULL ORDER BY created_at, code",
    )
    .bind(order.id)
    .fetch_all(pool)
    .await?;
    let bank_step = match order.status {
        OrderStatus::Pending => {
            crate::payments::charges::waiting_action_url(pool, order.id).await?
        }
        _ => None,
    };
    Ok(OrderSummary {
        bank_step,
        code: order.code,
        status: order.status,
        total_minor: order.total_minor,
        currency: order.currency,
        event_name: event.name,
        attendee_id: order.attendee_id,
        lines,
        discount_minor,
        tickets,
    })
}

/// An order with what its status email needs.
#[derive(Debug, Clone)]
pub struct OrderForEmail {
    /// The order.
    pub order: Order,
    /// The buyer's name.
    pub name: String,
    /// The buyer's email.
    pub email: String,
    /// Codes of its tickets that still count.
    pub tickets: Vec<String>,
}

/// The order `id` with its buyer and valid tickets.
pub async fn for_email(pool: &PgPool, id: OrderId) -> Result<OrderForEmail> {
    let order: Order = sqlx::query_as(&format!("SELECT {COLUMNS} FROM orders WHERE id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| Error::not_found("no such order"))?;
    let buyer = attendees::get(pool, order.attendee_id).await?;
    let (name, email) = (buyer.name, buyer.email);
    let tickets = sqlx::query_scalar(
        "SELECT code FROM tickets WHERE order_id = $1 AND voided_at IS NULL ORDER BY code",
    )
    .bind(id)
    .fetch_all(pool)
    .await?;
    Ok(OrderForEmail {
        order,
        name,
        email,
        tickets,
    })
}

/// Renders `data` as a QR code in SVG.
pub fn qr_svg(data: &str) -> Result<String> {
    let code = QrCode::new(data.as_bytes()).map_err(|e| Error::Internal(format!("qr: {e}")))?;
    Ok(code
        .render::<svg::Color<'_>>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qr_is_svg() {
        let svg = qr_svg("abc123").unwrap();
        assert!(svg.starts_with("<?xml") || svg.starts_with("<svg"));
        assert!(svg.contains("<rect") || svg.contains("<path"));
    }
}
