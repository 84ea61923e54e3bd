//! The purchase: a buyer becomes an attendee with an order and tickets.
//!
//! Exactly the quota's seats can be sold; everyone after gets "sold out". The
//! attendee, order, tickets, answers, promo use, sign-in link, domain events
//! and confirmation job commit in one transaction. Requests carry an
//! idempotency key: requests with the same key wait for each other (an
//! advisory lock on event and key) and a retry returns the first order, never
//! a second one. A retry must ask for the same thing (the order keeps a hash
//! of its request; another request with the key is refused with 422), and it
//! gets no new sign-in link: the key is in the page's HTML, and whoever holds
//! it must not get a credential for the buyer.

use std::collections::HashMap;

use chrono::Utc;
use protocol::events::{AttendeeRegistered, Fact, OrderPlaced};
use protocol::ids::{AttendeeId, OrderId, TicketTypeId};
use protocol::states::{OrderStatus, PromoKind, Visibility};
use tracing::instrument;

use super::orders::{self, NewOrder};
use super::quotas::{self, QuotaLocking};
use super::{attendees, promo, questions, ticket_types, waitlist};
use crate::billing::plans;
use crate::domain::{parse_name, Email};
use crate::events;
use crate::jobs::{self, OrderEmail, SignInLinkEmail};
use crate::{domain_events, Error, Result};

/// A purchase request.
#[derive(Debug)]
pub struct Purchase<'a> {
    /// Event slug.
    pub slug: &'a str,
    /// Ticket type to buy.
    pub ticket_type_id: TicketTypeId,
    /// Number of tickets.
    pub quantity: i32,
    /// Buyer's name.
    pub name: &'a str,
    /// Buyer's email.
    pub email: &'a str,
    /// Client-chosen key; the same key returns the same order.
    pub idempotency_key: &'a str,
    /// Answers to the event's custom questions: question id → value.
    pub answers: &'a HashMap<String, String>,
    /// Promo code (discount, or access to a hidden ticket type).
    pub promo_code: Option<&'a str>,
    /// Waiting-list offer token: buys the seat held for this person (one ticket).
    pub waitlist_offer: Option<&'a str>,
}

/// What a purchase request comes to.
#[derive(Debug, Clone)]
pub enum Purchased {
    /// An order (new, or the one an earlier request with the key placed).
    Order(Receipt),
    /// The address was already registered: a new sign-in link is emailed to
    /// it, and the answer says to check the inbox.
    CheckInbox,
}

/// What a purchase returns.
#[derive(Debug, Clone)]
pub struct Receipt {
    /// Order id.
    pub order_id: OrderId,
    /// Short order code.
    pub order_code: String,
    /// Confirmed (free), pending (awaiting payment) or awaiting approval.
    pub status: OrderStatus,
    /// Total in minor units.
    pub total_minor: i64,
    /// Currency.
    pub currency: String,
    /// The buyer as attendee.
    pub attendee_id: AttendeeId,
    /// Ticket codes (each also a QR code).
    pub ticket_codes: Vec<String>,
    /// A single-use sign-in token for the buyer; none when this repeats an
    /// earlier answer (the buyer has the first one, and the email's).
    pub sign_in_token: Option<String>,
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

/// The receipt of an existing order, if `hash` says the retry asks for the
/// same thing.
fn replay(placed: orders::OrderWithCodes, hash: &[u8]) -> Result<Receipt> {
    let orders::OrderWithCodes {
        order,
        codes,
        request_hash,
    } = placed;
    if request_hash.is_some_and(|h| h != hash) {
        return Err(Error::KeyReused(
            "this idempotency key was already used for a different order".into(),
        ));
    }
    Ok(Receipt {
        order_id: order.id,
        order_code: order.code,
        status: order.status,
        total_minor: order.total_minor,
        currency: order.currency,
        attendee_id: order.attendee_id,
        ticket_codes: codes,
        sign_in_token: None,
        replayed: true,
    })
}

/// SHA-256 of what a purchase asks for, in a canonical form (answers sorted,
/// the email as parsed, codes trimmed).
fn request_hash(p: &Purchase<'_>, name: &str, email: &Email) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    let answers: std::collections::BTreeMap<&String, &String> = p.answers.iter().collect();
    let canonical = serde_json::json!({
        "ticket_type": p.ticket_type_id,
        "quantity": p.quantity,
        "name": name,
        "email": email.as_str(),
        "answers": answers,
        "promo": p.promo_code.map(|c| c.trim().to_uppercase()).filter(|c| !c.is_empty()),
        "offer": p.waitlist_offer.map(str::trim).filter(|t| !t.is_empty()),
    });
    Sha256::digest(canonical.to_string().as_bytes()).to_vec()
}

/// Buys tickets.
#[instrument(skip_all, fields(slug = p.slug, ticket_type = %p.ticket_type_id, quantity = p.quantity))]
pub async fn purchase(
    pool: &sqlx::PgPool,
    p: Purchase<'_>,
    locking: QuotaLocking,
) -> Result<Purchased> {
    let event = events::get_public(pool, p.slug).await?;
    let key = parse_key(p.idempotency_key)?;
    let name = parse_name("name", p.name, 100)?;
    let email = Email::parse(p.email)?;
    let asked = questions::list(pool, event.id).await?;
    let answers = questions::validate(&asked, p.answers)?;
    let hash = request_hash(&p, &name, &email);

    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
        .bind(format!("order:{}:{key}", event.id))
        .execute(&mut *tx)
        .await?;
    if let Some(placed) = orders::by_idempotency_key(&mut tx, event.id, key).await? {
        return replay(placed, &hash).map(Purchased::Order);
    }

    // A code is redeemed (and counted) under its row lock; a failed order rolls it back.
    let promo = match p.promo_code.map(str::trim).filter(|c| !c.is_empty()) {
        Some(code) => Some(promo::redeem(&mut tx, event.id, code).await?),
        None => None,
    };
    let no_such = || Error::not_found("no such ticket type");
    let tt = ticket_types::get(&mut tx, event.id, p.ticket_type_id)
        .await?
        .ok_or_else(no_such)?;
    let unlocked = promo
        .as_ref()
        .is_some_and(|c| c.kind == PromoKind::Unlock && c.ticket_type_id == Some(tt.id));
    if tt.visibility == Visibility::Hidden && !unlocked {
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
            waitlist::claim(&mut tx, token, tt.id).await?;
        }
        None => quotas::take(&mut tx, tt.id, p.quantity, locking).await?,
    }
    // Registrations of one event are counted one purchase at a time (only
    // buyers who got their seats get this far: a sold-out sale stays cheap).
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 1))")
        .bind(format!("registrations:{}", event.id))
        .execute(&mut *tx)
        .await?;
    let plan = plans::of_org(&mut tx, event.org_id).await?;
    plan.check_registrations(orders::active_tickets(&mut tx, event.id).await?, p.quantity)?;

    let Some(attendee_id) = attendees::insert(&mut tx, event.id, &email, &name).await? else {
        // Registered already (found by the insert itself, no query of its own
        // on the hot path): nothing of this purchase is kept, and the address
        // hears from us.
        tx.rollback().await?;
        let mut conn = pool.acquire().await?;
        if let Some(registered) = attendees::with_live_order(&mut conn, event.id, &email).await? {
            jobs::enqueue(
                &mut conn,
                &SignInLinkEmail {
                    attendee_id: registered,
                },
            )
            .await?;
        }
        tracing::info!(event = %event.id, "registration for a registered address: link emailed");
        return Ok(Purchased::CheckInbox);
    };
    questions::store(&mut tx, attendee_id, &answers).await?;
    let full_price = tt.price_minor * i64::from(p.quantity);
    let discount_minor = match &promo {
        Some(code) => promo::discount(code, tt.id, &tt.currency, full_price)?,
        None => 0,
    };
    let total_minor = full_price - discount_minor;
    let status = if tt.requires_approval {
        OrderStatus::AwaitingApproval
    } else if total_minor == 0 {
        OrderStatus::Confirmed
    } else {
        OrderStatus::Pending
    };
    let order = orders::insert(
        &mut tx,
        NewOrder {
            event_id: event.id,
            attendee_id,
            status,
            total_minor,
            currency: &tt.currency,
            idempotency_key: key,
            request_hash: &hash,
            promo_code_id: promo.as_ref().map(|c| c.id),
            discount_minor,
        },
    )
    .await?;
    let order_id = order.id;
    let ticket_codes = orders::issue_tickets(&mut tx, &order, tt.id, p.quantity).await?;
    let sign_in_token =
        attendees::issue_sign_in_link(&mut tx, attendee_id, attendees::Delivery::ToBrowser).await?;
    let facts = [
        Fact::AttendeeRegistered(AttendeeRegistered {
            attendee_id,
            order_id,
            name: name.clone(),
            email: email.as_str().to_owned(),
            answers: questions::as_asked(&asked, &answers),
        }),
        Fact::OrderPlaced(OrderPlaced {
            order_id,
            order_code: order.code.clone(),
            attendee_id,
            ticket_type_id: tt.id,
            quantity: p.quantity,
            status,
            total_minor,
            currency: tt.currency.clone(),
            discount_minor,
            promo_code_id: promo.as_ref().map(|c| c.id),
        }),
    ];
    domain_events::record_all(&mut tx, &event, facts).await?;
    // Confirmed orders get their tickets by email now; paid ones when the payment
    // succeeds; orders awaiting approval hear back when the organiser decides.
    if status != OrderStatus::Pending {
        jobs::enqueue(&mut tx, &OrderEmail { order_id }).await?;
    }
    tx.commit().await?;
    tracing::info!(event = %event.id, order = %order_id, tickets = p.quantity, "order placed");
    Ok(Purchased::Order(Receipt {
        order_id,
        order_code: order.code,
        status,
        total_minor,
        currency: order.currency,
        attendee_id,
        ticket_codes,
        sign_in_token: Some(sign_in_token),
        replayed: false,
    }))
}

#[cfg(test)]
mod tests {
    use super::parse_key;

    #[test]
    fn idempotency_keys_are_plain_tokens() {
        assert!(parse_key("abcDEF-123_x").is_ok());
        assert!(parse_key("short").is_err());
        assert!(parse_key("has space here").is_err());
        assert!(parse_key(&"k".repeat(101)).is_err());
    }
}
