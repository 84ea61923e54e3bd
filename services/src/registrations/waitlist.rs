//! Waiting lists for sold-out ticket types (owner of `waitlist_entries`).
//!
//! When seats free up (a cancelled order), they are not put back on sale while
//! people wait: each freed seat stays counted in its quotas and is *held* for the
//! next person in line, who gets an offer (a single-use token, emailed) valid for
//! [`OFFER_TTL`]. Buying with the token uses the held seat. An offer that expires
//! passes the seat to the next person, or back to sale when nobody waits.

use chrono::{DateTime, Duration, Utc};
use protocol::ids::{EventId, TicketTypeId, WaitlistEntryId};
use protocol::states::WaitlistStatus;
use sqlx::{PgConnection, PgPool};
use tracing::instrument;

use super::{quotas, ticket_types};
use crate::domain::{parse_name, Email};
use crate::error::is_unique_violation;
use crate::jobs::{self, WaitlistOfferEmail};
use crate::tokens::{hash_token, new_token};
use crate::{events, Error, Result};

/// How long a held seat waits for its buyer.
pub const OFFER_TTL: Duration = Duration::hours(24);

/// Joins the waiting list of a sold-out ticket type; returns the position in line.
#[instrument(skip(pool, name, email))]
pub async fn join(
    pool: &PgPool,
    slug: &str,
    ticket_type_id: TicketTypeId,
    name: &str,
    email: &str,
) -> Result<i64> {
    let event = events::get_public(pool, slug).await?;
    let name = parse_name("name", name, 100)?;
    let email = Email::parse(email)?;
    let offers = ticket_types::offers(pool, event.id, false, None).await?;
    let offer = offers
        .iter()
        .find(|o| o.ticket_type.id == ticket_type_id)
        .ok_or_else(|| Error::not_found("no such ticket type"))?;
    if offer.available != Some(0) {
        return Err(Error::Conflict(
            "this ticket is not sold out: you can buy it now".into(),
        ));
    }
    sqlx::query("INSERT INTO waitlist_entries (id, event_id, ticket_type_id, name, email) VALUES ($1, $2, $3, $4, $5)")
        .bind(WaitlistEntryId::new())
        .bind(event.id)
        .bind(ticket_type_id)
        .bind(&name)
        .bind(email.as_str())
        .execute(pool)
        .await
        .map_err(|e| {
            if is_unique_violation(&e, "waitlist_type_email_key") {
                Error::Conflict(format!("{} is already on the waiting list", email.as_str()))
            } else {
                e.into()
            }
        })?;
    Ok(sqlx::query_scalar(
        "SELECT count(*) FROM waitlist_entries WHERE ticket_type_id = $1 AND status = $2",
    )
    .bind(ticket_type_id)
    .bind(WaitlistStatus::Waiting)
    .fetch_one(pool)
    .await?)
}

/// Offers up to `seats` freed seats of a ticket type to the people next in line
/// (inside the transaction that freed them). Returns how many seats were NOT
/// offered, which the caller returns to sale.
pub async fn offer_freed(
    conn: &mut PgConnection,
    ticket_type_id: TicketTypeId,
    seats: i64,
) -> Result<i64> {
    let next: Vec<WaitlistEntryId> = sqlx::query_scalar(
        "SELECT id FROM waitlist_entries WHERE ticket_type_id = $1 AND status = $3
         ORDER BY created_at, id LIMIT $2 FOR UPDATE SKIP LOCKED",
    )
    .bind(ticket_type_id)
    .bind(seats)
    .bind(WaitlistStatus::Waiting)
    .fetch_all(&mut *conn)
    .await?;
    for id in &next {
        // The token is made when the email is sent (see `issue_offer_token`), so it
        // never sits in the job queue.
        sqlx::query(
            "UPDATE waitlist_entries SET status = $3, offer_token_hash = NULL, offer_expires_at = $2 WHERE id = $1",
        )
        .bind(id)
        .bind(Utc::now() + OFFER_TTL)
        .bind(WaitlistStatus::Offered)
        .execute(&mut *conn)
        .await?;
        jobs::enqueue(conn, &WaitlistOfferEmail { entry_id: *id }).await?;
    }
    Ok(seats - next.len() as i64)
}

/// An open offer with a fresh token, made as its email is sent (a resend
/// replaces the token of an earlier attempt).
#[derive(Debug, Clone)]
pub struct OfferToSend {
    /// The single-use token for the buy link.
    pub token: String,
    /// Person's name.
    pub name: String,
    /// Person's email.
    pub email: String,
    /// The event.
    pub event_id: EventId,
    /// Ticket type held.
    pub ticket_type_id: TicketTypeId,
    /// Until when the seat is held.
    pub offer_expires_at: DateTime<Utc>,
}

/// Gives the open offer `entry_id` a new token; None when the offer is no longer open.
pub async fn issue_offer_token(
    pool: &PgPool,
    entry_id: WaitlistEntryId,
) -> Result<Option<OfferToSend>> {
    let token = new_token();
    #[derive(sqlx::FromRow)]
    struct Offered {
        name: String,
        email: String,
        event_id: EventId,
        ticket_type_id: TicketTypeId,
        offer_expires_at: DateTime<Utc>,
    }
    let offer: Option<Offered> = sqlx::query_as(
        "UPDATE waitlist_entries SET offer_token_hash = $2
         WHERE id = $1 AND status = $3 AND offer_expires_at > now()
         RETURNING name, email::text, event_id, ticket_type_id, offer_expires_at",
    )
    .bind(entry_id)
    .bind(hash_token(&token))
    .bind(WaitlistStatus::Offered)
    .fetch_optional(pool)
    .await?;
    Ok(offer.map(|o| OfferToSend {
        token,
        name: o.name,
        email: o.email,
        event_id: o.event_id,
        ticket_type_id: o.ticket_type_id,
        offer_expires_at: o.offer_expires_at,
    }))
}

/// Claims a valid offer for `ticket_type_id` inside a purchase's transaction.
pub async fn claim(
    conn: &mut PgConnection,
    token: &str,
    ticket_type_id: TicketTypeId,
) -> Result<()> {
    let claimed = sqlx::query(
        "UPDATE waitlist_entries SET status = $3
         WHERE offer_token_hash = $1 AND ticket_type_id = $2 AND status = $4 AND offer_expires_at > now()",
    )
    .bind(hash_token(token))
    .bind(ticket_type_id)
    .bind(WaitlistStatus::Converted)
    .bind(WaitlistStatus::Offered)
    .execute(conn)
    .await?;
    if claimed.rows_affected() == 1 {
        Ok(())
    } else {
        Err(Error::Conflict(
            "this waiting-list offer is not valid any more".into(),
        ))
    }
}

/// Expires offers past their time: each seat goes to the next person, or back to sale.
/// Returns the number of offers expired.
pub async fn expire_offers(pool: &PgPool) -> Result<u64> {
    let mut tx = pool.begin().await?;
    let expired: Vec<TicketTypeId> = sqlx::query_scalar(
        "UPDATE waitlist_entries SET status = $1
         WHERE id IN (SELECT id FROM waitlist_entries WHERE status = $2 AND offer_expires_at <= now()
                      FOR UPDATE SKIP LOCKED)
         RETURNING ticket_type_id",
    )
    .bind(WaitlistStatus::Expired)
    .bind(WaitlistStatus::Offered)
    .fetch_all(&mut *tx)
    .await?;
    for ticket_type in &expired {
        let unoffered = offer_freed(&mut tx, *ticket_type, 1).await?;
        quotas::release(&mut tx, *ticket_type, unoffered).await?;
    }
    tx.commit().await?;
    Ok(expired.len() as u64)
}
