//! Ticket types, quotas and orders.
//!
//! A seat is sold only under a row lock on every quota its ticket type draws
//! from (locked in id order, so concurrent buyers never deadlock). The order,
//! attendee, tickets (with QR codes), sign-in link, activity fact and outbox row
//! commit in the same transaction. Purchases carry an idempotency key: a retried
//! request returns the first order, never a second one.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::accounts::Organiser;
use crate::activity::{self, Action, Area};
use crate::domain::{parse_name, parse_price, Currency, Email};
use crate::error::is_unique_violation;
use crate::events;
use crate::payments::PaymentProvider;
use crate::registrations::LINK_TTL;
use crate::tokens::{hash_token, new_token};
use crate::{Error, Result};

/// How quotas are guarded. Only `Locked` is correct; `UnsafeUnlocked` exists so that
/// the concurrency test can show the race it prevents (a test-only switch).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum QuotaLocking {
    /// `SELECT … FOR UPDATE` on every quota, then an atomic increment.
    #[default]
    Locked,
    /// Read without a lock, check, then write back what was read plus the order
    /// (a lost update). Never use outside tests.
    UnsafeUnlocked,
}

/// A ticket type as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TicketType {
    /// Id.
    pub id: Uuid,
    /// Event.
    pub event_id: Uuid,
    /// Name shown to buyers.
    pub name: String,
    /// Description shown to buyers.
    pub description: String,
    /// Price in minor units (0 = free).
    pub price_minor: i64,
    /// ISO currency code.
    pub currency: String,
    /// `public` or `hidden`.
    pub visibility: String,
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

/// A ticket type with what is left of it.
#[derive(Debug, Clone)]
pub struct Offer {
    /// The ticket type.
    pub ticket_type: TicketType,
    /// Seats left (the tightest of its quotas); None when unlimited.
    pub available: Option<i64>,
    /// Seats sold (from its tightest quota), when limited.
    pub sold: Option<i64>,
}

/// Organiser input for a new ticket type.
#[derive(Debug, Default)]
pub struct NewTicketType<'a> {
    /// Name.
    pub name: &'a str,
    /// Description.
    pub description: &'a str,
    /// Decimal price, e.g. `25.00`; empty or `0` for free.
    pub price: &'a str,
    /// Currency code.
    pub currency: &'a str,
    /// Seats; None for unlimited.
    pub quota_size: Option<i32>,
    /// Quota name: ticket types naming the same quota share its seats.
    pub quota_name: &'a str,
    /// Minimum per order.
    pub min_per_order: i32,
    /// Maximum per order.
    pub max_per_order: i32,
    /// Hidden types are not listed or sold (promo codes will unlock them).
    pub hidden: bool,
    /// Sales open at (None: now).
    pub sales_open_at: Option<DateTime<Utc>>,
    /// Sales close at (None: never).
    pub sales_close_at: Option<DateTime<Utc>>,
    /// Orders need the organiser's approval.
    pub requires_approval: bool,
}

const TICKET_TYPE_COLUMNS: &str =
    "id, event_id, name, description, price_minor, currency, visibility,
     sales_open_at, sales_close_at, min_per_order, max_per_order, requires_approval";

/// Adds a ticket type to one of the organiser's events.
pub async fn create_ticket_type(
    pool: &PgPool,
    by: &Organiser,
    slug: &str,
    input: NewTicketType<'_>,
) -> Result<TicketType> {
    let event = events::get_for_org(pool, by.org_id, slug).await?;
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
    let mut tx = pool.begin().await?;
    let tt: TicketType = sqlx::query_as(&format!(
        "INSERT INTO ticket_types (id, event_id, name, description, price_minor, currency, visibility, min_per_order,
                                   max_per_order, sales_open_at, sales_close_at, requires_approval)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING {TICKET_TYPE_COLUMNS}"
    ))
    .bind(Uuid::new_v4())
    .bind(event.id)
    .bind(&name)
    .bind(input.description.trim())
    .bind(price_minor)
    .bind(currency.as_str())
    .bind(if input.hidden { "hidden" } else { "public" })
    .bind(input.min_per_order)
    .bind(input.max_per_order)
    .bind(input.sales_open_at)
    .bind(input.sales_close_at)
    .bind(input.requires_approval)
    .fetch_one(&mut *tx)
    .await?;
    if let Some(size) = input.quota_size {
        let quota_name = if input.quota_name.trim().is_empty() {
            name.as_str()
        } else {
            input.quota_name.trim()
        };
        // Same name = shared quota; its size is the one given first.
        let quota_id: Uuid = sqlx::query_scalar(
            "INSERT INTO quotas (id, event_id, name, size) VALUES ($1, $2, $3, $4)
             ON CONFLICT (event_id, name) DO UPDATE SET name = EXCLUDED.name RETURNING id",
        )
        .bind(Uuid::new_v4())
        .bind(event.id)
        .bind(quota_name)
        .bind(size)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query("INSERT INTO ticket_type_quotas (ticket_type_id, quota_id) VALUES ($1, $2)")
            .bind(tt.id)
            .bind(quota_id)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(tt)
}

/// The event's ticket types with availability: public ones, the hidden one
/// `unlocked` (by a promo code), or all when `include_hidden`.
pub async fn offers(
    pool: &PgPool,
    event_id: Uuid,
    include_hidden: bool,
    unlocked: Option<Uuid>,
) -> Result<Vec<Offer>> {
    let types: Vec<TicketType> = sqlx::query_as(&format!(
        "SELECT {TICKET_TYPE_COLUMNS} FROM ticket_types
         WHERE event_id = $1 AND ($2 OR visibility = 'public' OR id = $3) ORDER BY price_minor, created_at"
    ))
    .bind(event_id)
    .bind(include_hidden)
    .bind(unlocked)
    .fetch_all(pool)
    .await?;
    let limits: Vec<(Uuid, i64, i64)> = sqlx::query_as(
        "SELECT tq.ticket_type_id, min(q.size - q.sold)::bigint, max(q.sold)::bigint
         FROM ticket_type_quotas tq JOIN quotas q ON q.id = tq.quota_id
         WHERE q.event_id = $1 GROUP BY tq.ticket_type_id",
    )
    .bind(event_id)
    .fetch_all(pool)
    .await?;
    Ok(types
        .into_iter()
        .map(|t| {
            let limit = limits.iter().find(|(id, _, _)| *id == t.id);
            Offer {
                available: limit.map(|l| l.1.max(0)),
                sold: limit.map(|l| l.2),
                ticket_type: t,
            }
        })
        .collect())
}

/// The event's first public free ticket type (what the simple registration form sells).
pub async fn default_free_ticket_type(pool: &PgPool, event_id: Uuid) -> Result<Uuid> {
    sqlx::query_scalar(
        "SELECT id FROM ticket_types WHERE event_id = $1 AND price_minor = 0 AND visibility = 'public'
         ORDER BY created_at LIMIT 1",
    )
    .bind(event_id)
    .fetch_optional(pool)
    .await?
    .ok_or_else(|| Error::Conflict("this event has no free tickets".into()))
}

/// A purchase request.
#[derive(Debug)]
pub struct Purchase<'a> {
    /// Event slug.
    pub slug: &'a str,
    /// Ticket type to buy.
    pub ticket_type_id: Uuid,
    /// Number of tickets.
    pub quantity: i32,
    /// Buyer's name.
    pub name: &'a str,
    /// Buyer's email.
    pub email: &'a str,
    /// Client-chosen key; the same key returns the same order.
    pub idempotency_key: &'a str,
    /// Answers to the event's custom questions: question id → value.
    pub answers: &'a std::collections::HashMap<String, String>,
    /// Promo code (discount, or access to a hidden ticket type).
    pub promo_code: Option<&'a str>,
    /// Waiting-list offer token: buys the seat held for this person (one ticket).
    pub waitlist_offer: Option<&'a str>,
}

/// What a purchase returns.
#[derive(Debug, Clone)]
pub struct Receipt {
    /// Order id.
    pub order_id: Uuid,
    /// Short order code.
    pub order_code: String,
    /// `confirmed` (free), `pending` (awaiting payment) or `awaiting_approval`.
    pub status: String,
    /// Total in minor units.
    pub total_minor: i64,
    /// Currency.
    pub currency: String,
    /// The buyer as attendee.
    pub attendee_id: Uuid,
    /// Ticket codes (each also a QR code).
    pub ticket_codes: Vec<String>,
    /// A fresh single-use sign-in token for the buyer.
    pub sign_in_token: String,
    /// True when this answers a retry of an earlier request.
    pub replayed: bool,
}

fn parse_key(raw: &str) -> Result<&str> {
    let ok = (8..=100).contains(&raw.len())
        && raw
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(raw)
    } else {
        Err(Error::invalid(
            "idempotency key must be 8-100 characters of a-z, A-Z, 0-9, - and _",
        ))
    }
}

/// Issues a new single-use sign-in link for an attendee; returns its token.
pub async fn new_sign_in_link(pool: &PgPool, attendee_id: Uuid) -> Result<String> {
    let mut conn = pool.acquire().await?;
    issue_link(&mut conn, attendee_id).await
}

async fn issue_link(conn: &mut PgConnection, attendee_id: Uuid) -> Result<String> {
    let token = new_token();
    sqlx::query(
        "INSERT INTO magic_links (token_hash, attendee_id, expires_at) VALUES ($1, $2, $3)",
    )
    .bind(hash_token(&token))
    .bind(attendee_id)
    .bind(Utc::now() + LINK_TTL)
    .execute(conn)
    .await?;
    Ok(token)
}

/// The receipt of an existing order for `key`, with a new sign-in link.
async fn replay(conn: &mut PgConnection, event_id: Uuid, key: &str) -> Result<Option<Receipt>> {
    let row: Option<(Uuid, String, String, i64, String, Uuid)> = sqlx::query_as(
        "SELECT id, code, status, total_minor, currency, attendee_id FROM orders
         WHERE event_id = $1 AND idempotency_key = $2",
    )
    .bind(event_id)
    .bind(key)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((order_id, order_code, status, total_minor, currency, attendee_id)) = row else {
        return Ok(None);
    };
    let ticket_codes: Vec<String> =
        sqlx::query_scalar("SELECT code FROM tickets WHERE order_id = $1 ORDER BY code")
            .bind(order_id)
            .fetch_all(&mut *conn)
            .await?;
    let sign_in_token = issue_link(conn, attendee_id).await?;
    Ok(Some(Receipt {
        order_id,
        order_code,
        status,
        total_minor,
        currency,
        attendee_id,
        ticket_codes,
        sign_in_token,
        replayed: true,
    }))
}

/// Buys tickets. Exactly the quota's seats can be sold; everyone after gets "sold out".
pub async fn purchase(pool: &PgPool, p: Purchase<'_>, locking: QuotaLocking) -> Result<Receipt> {
    let event = events::get_public(pool, p.slug).await?;
    let key = parse_key(p.idempotency_key)?;
    let name = parse_name("name", p.name, 100)?;
    let email = Email::parse(p.email)?;
    let answers =
        crate::questions::validate(&crate::questions::list(pool, event.id).await?, p.answers)?;

    let mut tx = pool.begin().await?;
    // Requests with the same key wait for each other; the later one replays the first.
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
        .bind(format!("order:{}:{key}", event.id))
        .execute(&mut *tx)
        .await?;
    if let Some(receipt) = replay(&mut tx, event.id, key).await? {
        tx.commit().await?;
        return Ok(receipt);
    }

    // A code is redeemed (and counted) under its row lock; a failed order rolls it back.
    let promo = match p.promo_code.map(str::trim).filter(|c| !c.is_empty()) {
        Some(code) => Some(crate::promo::redeem(&mut tx, event.id, code).await?),
        None => None,
    };
    let no_such = || Error::not_found("no such ticket type");
    let tt: TicketType = sqlx::query_as(&format!(
        "SELECT {TICKET_TYPE_COLUMNS} FROM ticket_types WHERE id = $1 AND event_id = $2"
    ))
    .bind(p.ticket_type_id)
    .bind(event.id)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(no_such)?;
    let unlocked = promo
        .as_ref()
        .is_some_and(|c| c.kind == "unlock" && c.ticket_type_id == Some(tt.id));
    if tt.visibility == "hidden" && !unlocked {
        return Err(no_such());
    }
    let now = Utc::now();
    if tt.sales_open_at.is_some_and(|t| now < t) {
        return Err(Error::Conflict(
            "sales for this ticket have not opened yet".into(),
        ));
    }
    if tt.sales_close_at.is_some_and(|t| now >= t) {
        return Err(Error::Conflict("sales for this ticket have closed".into()));
    }
    if p.quantity < tt.min_per_order || p.quantity > tt.max_per_order {
        return Err(Error::invalid(format!(
            "order between {} and {} tickets of this type",
            tt.min_per_order, tt.max_per_order
        )));
    }

    match p.waitlist_offer.map(str::trim).filter(|t| !t.is_empty()) {
        Some(token) => {
            if p.quantity != 1 {
                return Err(Error::invalid("a waiting-list offer is for one ticket"));
            }
            // The seat was held for this offer when it was made.
            crate::waitlist::claim(&mut tx, token, tt.id).await?;
        }
        None => take_seats(&mut tx, tt.id, p.quantity, locking).await?,
    }
    crate::billing::check_registration_limit(&mut tx, event.id, p.quantity).await?;

    let attendee_id = Uuid::new_v4();
    sqlx::query("INSERT INTO attendees (id, event_id, email, name) VALUES ($1, $2, $3, $4)")
        .bind(attendee_id)
        .bind(event.id)
        .bind(email.as_str())
        .bind(&name)
        .execute(&mut *tx)
        .await
        .map_err(|e| {
            if is_unique_violation(&e, "attendees_event_email_key") {
                Error::Conflict(format!(
                    "{} is already registered for this event",
                    email.as_str()
                ))
            } else {
                e.into()
            }
        })?;
    crate::questions::store(&mut tx, attendee_id, &answers).await?;
    let full_price = tt.price_minor * i64::from(p.quantity);
    let discount_minor = match &promo {
        Some(code) => crate::promo::discount(code, tt.id, full_price)?,
        None => 0,
    };
    let total_minor = full_price - discount_minor;
    let status = if tt.requires_approval {
        "awaiting_approval"
    } else if total_minor == 0 {
        "confirmed"
    } else {
        "pending"
    };
    let order_id = Uuid::new_v4();
    let order_code = new_token()[..10].to_uppercase().replace(['-', '_'], "X");
    sqlx::query(
        "INSERT INTO orders (id, event_id, attendee_id, code, status, total_minor, currency, idempotency_key,
                             promo_code_id, discount_minor)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(order_id)
    .bind(event.id)
    .bind(attendee_id)
    .bind(&order_code)
    .bind(status)
    .bind(total_minor)
    .bind(&tt.currency)
    .bind(key)
    .bind(promo.as_ref().map(|c| c.id))
    .bind(discount_minor)
    .execute(&mut *tx)
    .await?;
    let mut ticket_codes = Vec::with_capacity(p.quantity as usize);
    for _ in 0..p.quantity {
        let code = new_token()[..20].to_owned();
        sqlx::query(
            "INSERT INTO tickets (id, event_id, attendee_id, ticket_type_id, code, order_id) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(Uuid::new_v4())
        .bind(event.id)
        .bind(attendee_id)
        .bind(tt.id)
        .bind(&code)
        .bind(order_id)
        .execute(&mut *tx)
        .await?;
        ticket_codes.push(code);
    }
    ticket_codes.sort(); // the order a replay lists them in
    let sign_in_token = issue_link(&mut tx, attendee_id).await?;
    activity::record(
        &mut tx,
        event.id,
        attendee_id,
        Area::Registration,
        Action::Registered,
    )
    .await?;
    // Confirmed orders get their tickets by email now; paid ones when the payment
    // succeeds; orders awaiting approval hear back when the organiser decides.
    if status != "pending" {
        let job = serde_json::json!({ "order_id": order_id });
        crate::jobs::enqueue(&mut tx, crate::jobs::ORDER_CONFIRMATION, job).await?;
    }
    tx.commit().await?;
    tracing::info!(event = %event.id, order = %order_id, tickets = p.quantity, "order placed");
    Ok(Receipt {
        order_id,
        order_code,
        status: status.into(),
        total_minor,
        currency: tt.currency,
        attendee_id,
        ticket_codes,
        sign_in_token,
        replayed: false,
    })
}

/// Takes `quantity` seats from every quota of the ticket type, or fails with "sold out".
async fn take_seats(
    conn: &mut PgConnection,
    ticket_type: Uuid,
    quantity: i32,
    locking: QuotaLocking,
) -> Result<()> {
    let lock = match locking {
        QuotaLocking::Locked => "FOR UPDATE",
        QuotaLocking::UnsafeUnlocked => "",
    };
    let quotas: Vec<(Uuid, i32, i32)> = sqlx::query_as(&format!(
        "SELECT q.id, q.size, q.sold FROM quotas q JOIN ticket_type_quotas tq ON tq.quota_id = q.id
         WHERE tq.ticket_type_id = $1 ORDER BY q.id {lock}"
    ))
    .bind(ticket_type)
    .fetch_all(&mut *conn)
    .await?;
    for (_, size, sold) in &quotas {
        let left = size - sold;
        if left <= 0 {
            return Err(Error::Conflict("sold out".into()));
        }
        if quantity > left {
            return Err(Error::Conflict(format!("sold out: only {left} left")));
        }
    }
    for (id, _, sold) in &quotas {
        match locking {
            QuotaLocking::Locked => {
                sqlx::query("UPDATE quotas SET sold = sold + $2 WHERE id = $1")
                    .bind(id)
                    .bind(quantity)
                    .execute(&mut *conn)
                    .await?;
            }
            QuotaLocking::UnsafeUnlocked => {
                // Widen the window between read and write so the race shows reliably.
                sqlx::query("SELECT pg_sleep(0.02)")
                    .execute(&mut *conn)
                    .await?;
                sqlx::query("UPDATE quotas SET sold = $2 WHERE id = $1")
                    .bind(id)
                    .bind(sold + quantity)
                    .execute(&mut *conn)
                    .await?;
            }
        }
    }
    Ok(())
}

/// One order in the organiser's registrations list.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RegistrationRow {
    /// The buyer's attendee id (answers are keyed by it).
    pub attendee_id: Uuid,
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
    /// Order status.
    pub status: String,
    /// Total in minor units.
    pub total_minor: i64,
    /// Currency.
    pub currency: String,
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
    /// Only this order status.
    pub status: Option<String>,
}

/// The orders of one of the organiser's events, newest first.
pub async fn registrations(
    pool: &PgPool,
    by: &Organiser,
    slug: &str,
    filter: &RegistrationFilter,
) -> Result<Vec<RegistrationRow>> {
    let event = events::get_for_org(pool, by.org_id, slug).await?;
    let clean = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let search = clean(&filter.search).map(|s| {
        let escaped = s
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        format!("%{escaped}%")
    });
    let status = clean(&filter.status);
    if let Some(s) = &status {
        if !ORDER_STATUSES.contains(&s.as_str()) {
            return Err(Error::invalid(format!("unknown status '{s}'")));
        }
    }
    Ok(sqlx::query_as::<_, RegistrationRow>(
        "SELECT a.id AS attendee_id, o.code AS order_code, a.name, a.email::text AS email, min(tt.name) AS ticket_type,
                count(t.id) AS quantity, o.status, o.total_minor, o.currency, o.created_at
         FROM orders o
         JOIN attendees a ON a.id = o.attendee_id
         JOIN tickets t ON t.order_id = o.id
         JOIN ticket_types tt ON tt.id = t.ticket_type_id
         WHERE o.event_id = $1
           AND ($2::text IS NULL OR a.name ILIKE $2 OR a.email::text ILIKE $2 OR o.code ILIKE $2)
           AND ($3::text IS NULL OR tt.name = $3)
           AND ($4::text IS NULL OR o.status = $4)
         GROUP BY o.id, a.id
         ORDER BY o.created_at DESC, o.code
         LIMIT 5000",
    )
    .bind(event.id)
    .bind(search)
    .bind(clean(&filter.ticket_type))
    .bind(status)
    .fetch_all(pool)
    .await?)
}

/// One order in full, for the organiser's detail view.
#[derive(Debug, Clone)]
pub struct OrderDetail {
    /// The order's row in the list.
    pub row: RegistrationRow,
    /// Discount in minor units.
    pub discount_minor: i64,
    /// Promo code used.
    pub promo_code: Option<String>,
    /// Tickets: code, ticket type, voided.
    pub tickets: Vec<(String, String, bool)>,
    /// Answers: question label, value.
    pub answers: Vec<(String, String)>,
    /// Payments: status, amount in minor units, when.
    pub payments: Vec<(String, i64, DateTime<Utc>)>,
    /// Refunded in minor units.
    pub refunded_minor: i64,
}

/// An order of one of the organiser's events, with tickets, answers and payments.
pub async fn order_detail(
    pool: &PgPool,
    by: &Organiser,
    slug: &str,
    order_code: &str,
) -> Result<OrderDetail> {
    let event = events::get_for_org(pool, by.org_id, slug).await?;
    let code = order_code.trim().to_uppercase();
    let row: RegistrationRow = sqlx::query_as(
        "SELECT a.id AS attendee_id, o.code AS order_code, a.name, a.email::text AS email, min(tt.name) AS ticket_type,
                count(t.id) AS quantity, o.status, o.total_minor, o.currency, o.created_at
         FROM orders o
         JOIN attendees a ON a.id = o.attendee_id
         JOIN tickets t ON t.order_id = o.id
         JOIN ticket_types tt ON tt.id = t.ticket_type_id
         WHERE o.event_id = $1 AND o.code = $2
         GROUP BY o.id, a.id",
    )
    .bind(event.id)
    .bind(&code)
    .fetch_optional(pool)
    .await?
    .ok_or_else(|| Error::not_found("no such order"))?;
    let (order_id, discount_minor, promo_code): (Uuid, i64, Option<String>) = sqlx::query_as(
        "SELECT o.id, o.discount_minor, p.code::text FROM orders o LEFT JOIN promo_codes p ON p.id = o.promo_code_id
         WHERE o.event_id = $1 AND o.code = $2",
    )
    .bind(event.id)
    .bind(&code)
    .fetch_one(pool)
    .await?;
    let tickets = sqlx::query_as(
        "SELECT t.code, tt.name, t.voided_at IS NOT NULL FROM tickets t JOIN ticket_types tt ON tt.id = t.ticket_type_id
         WHERE t.order_id = $1 ORDER BY t.code",
    )
    .bind(order_id)
    .fetch_all(pool)
    .await?;
    let answers = sqlx::query_as(
        "SELECT q.label, a.value FROM answers a JOIN questions q ON q.id = a.question_id
         WHERE a.attendee_id = $1 ORDER BY q.position, q.created_at",
    )
    .bind(row.attendee_id)
    .fetch_all(pool)
    .await?;
    let payments = sqlx::query_as(
        "SELECT status, amount_minor, created_at FROM payments WHERE order_id = $1 ORDER BY created_at",
    )
    .bind(order_id)
    .fetch_all(pool)
    .await?;
    let refunded_minor: i64 = sqlx::query_scalar(
        "SELECT coalesce(sum(r.amount_minor), 0)::bigint FROM refunds r JOIN payments p ON p.id = r.payment_id
         WHERE p.order_id = $1",
    )
    .bind(order_id)
    .fetch_one(pool)
    .await?;
    Ok(OrderDetail {
        row,
        discount_minor,
        promo_code,
        tickets,
        answers,
        payments,
        refunded_minor,
    })
}

/// Returns `seats` of a ticket type to every quota it draws from (under their locks).
pub async fn release_seats(conn: &mut PgConnection, ticket_type: Uuid, seats: i64) -> Result<()> {
    if seats <= 0 {
        return Ok(());
    }
    let quotas: Vec<Uuid> = sqlx::query_scalar(
        "SELECT q.id FROM quotas q JOIN ticket_type_quotas tq ON tq.quota_id = q.id
         WHERE tq.ticket_type_id = $1 ORDER BY q.id FOR UPDATE",
    )
    .bind(ticket_type)
    .fetch_all(&mut *conn)
    .await?;
    sqlx::query("UPDATE quotas SET sold = greatest(sold - $2, 0) WHERE id = ANY($1)")
        .bind(&quotas)
        .bind(seats as i32)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Every order status, in lifecycle order.
pub const ORDER_STATUSES: [&str; 5] = [
    "awaiting_approval",
    "pending",
    "confirmed",
    "cancelled",
    "refunded",
];

/// Cancels an order of one of the organiser's events: its tickets are voided (their
/// holder can no longer enter), their seats go back to every quota they drew from
/// (under the quotas' locks, waiting list first), and a paid order is refunded
/// through the provider. Returns the order's new status (`cancelled` or
/// `refunded`). Cancelling a cancelled order whose refund failed retries the refund.
pub async fn cancel_order(
    pool: &PgPool,
    provider: &dyn PaymentProvider,
    by: &Organiser,
    slug: &str,
    order_code: &str,
) -> Result<String> {
    let event = events::get_for_org(pool, by.org_id, slug).await?;
    let mut tx = pool.begin().await?;
    let order: Option<(Uuid, String)> = sqlx::query_as(
        "SELECT id, status FROM orders WHERE event_id = $1 AND code = $2 FOR UPDATE",
    )
    .bind(event.id)
    .bind(order_code.trim().to_uppercase())
    .fetch_optional(&mut *tx)
    .await?;
    let (order_id, status) = order.ok_or_else(|| Error::not_found("no such order"))?;
    let paid: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM payments WHERE order_id = $1 AND status = 'succeeded'",
    )
    .bind(order_id)
    .fetch_one(&mut *tx)
    .await?;
    match status.as_str() {
        "refunded" => return Err(Error::Conflict("this order is already refunded".into())),
        "cancelled" if paid == 0 => {
            return Err(Error::Conflict("this order is already cancelled".into()))
        }
        "cancelled" => {} // a refund to retry
        _ => void_order(&mut tx, order_id).await?,
    }
    if status != "cancelled" {
        // The buyer hears of it (declined, cancelled, or refunded once that is done).
        let job = serde_json::json!({ "order_id": order_id });
        crate::jobs::enqueue(&mut tx, crate::jobs::ORDER_CONFIRMATION, job).await?;
    }
    tx.commit().await?;
    tracing::info!(order = %order_id, "order cancelled");
    if paid == 0 {
        return Ok("cancelled".into());
    }
    crate::payments::refund_payments(pool, provider, order_id, "cancelled by the organiser")
        .await
        .map_err(|e| {
            Error::Conflict(format!(
                "the order is cancelled but its refund failed ({e}); cancel it again to retry"
            ))
        })?;
    sqlx::query("UPDATE orders SET status = 'refunded' WHERE id = $1")
        .bind(order_id)
        .execute(pool)
        .await?;
    tracing::info!(order = %order_id, "order refunded");
    Ok("refunded".into())
}

/// Approves an order that awaits approval: a free order is confirmed (tickets
/// emailed), a paid one waits for payment (the buyer is emailed a payment link).
/// Returns the new status.
pub async fn approve_order(
    pool: &PgPool,
    by: &Organiser,
    slug: &str,
    order_code: &str,
) -> Result<String> {
    let event = events::get_for_org(pool, by.org_id, slug).await?;
    let mut tx = pool.begin().await?;
    let order: Option<(Uuid, String, i64)> = sqlx::query_as(
        "SELECT id, status, total_minor FROM orders WHERE event_id = $1 AND code = $2 FOR UPDATE",
    )
    .bind(event.id)
    .bind(order_code.trim().to_uppercase())
    .fetch_optional(&mut *tx)
    .await?;
    let (order_id, status, total) = order.ok_or_else(|| Error::not_found("no such order"))?;
    if status != "awaiting_approval" {
        return Err(Error::Conflict(format!(
            "this order is {status}, not awaiting approval"
        )));
    }
    let next = if total == 0 { "confirmed" } else { "pending" };
    sqlx::query("UPDATE orders SET status = $2, approved_at = now() WHERE id = $1")
        .bind(order_id)
        .bind(next)
        .execute(&mut *tx)
        .await?;
    let job = serde_json::json!({ "order_id": order_id });
    crate::jobs::enqueue(&mut tx, crate::jobs::ORDER_CONFIRMATION, job).await?;
    tx.commit().await?;
    tracing::info!(order = %order_id, status = next, "order approved");
    Ok(next.into())
}

/// What the buyer sees of an order (by its code, which only the buyer and the
/// organiser know).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OrderSummary {
    /// Order code.
    pub code: String,
    /// Status.
    pub status: String,
    /// Total in minor units.
    pub total_minor: i64,
    /// Currency.
    pub currency: String,
    /// Event name.
    pub event_name: String,
}

/// The order `code` of the event `slug`.
pub async fn order_summary(pool: &PgPool, slug: &str, code: &str) -> Result<OrderSummary> {
    sqlx::query_as(
        "SELECT o.code, o.status, o.total_minor, o.currency, e.name AS event_name
         FROM orders o JOIN events e ON e.id = o.event_id WHERE e.slug = $1 AND o.code = $2",
    )
    .bind(slug)
    .bind(code.trim().to_uppercase())
    .fetch_optional(pool)
    .await?
    .ok_or_else(|| Error::not_found("no such order"))
}

/// Voids an order's tickets, returns their seats (to the waiting list first) and
/// marks it cancelled; the caller holds the order row's lock.
async fn void_order(conn: &mut PgConnection, order_id: Uuid) -> Result<()> {
    let per_type: Vec<(Uuid, i64)> = sqlx::query_as(
        "SELECT ticket_type_id, count(*) FROM tickets WHERE order_id = $1 GROUP BY ticket_type_id",
    )
    .bind(order_id)
    .fetch_all(&mut *conn)
    .await?;
    for (ticket_type, n) in per_type {
        // People on the waiting list get the freed seats first; the rest go back on sale.
        let unoffered = crate::waitlist::offer_freed(&mut *conn, ticket_type, n).await?;
        release_seats(&mut *conn, ticket_type, unoffered).await?;
    }
    sqlx::query("UPDATE tickets SET voided_at = now() WHERE order_id = $1")
        .bind(order_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query("UPDATE orders SET status = 'cancelled' WHERE id = $1")
        .bind(order_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Minutes an unpaid order holds its seats before it is cancelled.
pub const PENDING_ORDER_TTL_MINUTES: i64 = 30;

/// Cancels unpaid orders older than `ttl_minutes`, releasing their seats.
/// Returns how many were cancelled. Run periodically by the jobs worker.
pub async fn expire_pending_orders(pool: &PgPool, ttl_minutes: i64) -> Result<u64> {
    let mut tx = pool.begin().await?;
    let stale: Vec<Uuid> = sqlx::query_scalar(
        "SELECT id FROM orders WHERE status = 'pending'
           AND coalesce(approved_at, created_at) < now() - make_interval(mins => $1)
         ORDER BY created_at LIMIT 500 FOR UPDATE SKIP LOCKED",
    )
    .bind(ttl_minutes as i32)
    .fetch_all(&mut *tx)
    .await?;
    for id in &stale {
        void_order(&mut tx, *id).await?;
        tracing::info!(order = %id, "unpaid order expired");
    }
    tx.commit().await?;
    Ok(stale.len() as u64)
}
