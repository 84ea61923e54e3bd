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
use crate::jobs::{self, WaitlistJoinedEmail, WaitlistOfferEmail};
use crate::tokens::{hash_token, new_token};
use crate::{events, Error, Result};

/// How long a held seat waits for its buyer.
pub const OFFER_TTL: Duration = Duration::hours(24);

/// Joins the waiting list of a sold-out ticket type. The answer is the same
/// whether the address was already waiting or not (nobody learns who
/// waits): the address is emailed its place in line.
#[instrument(skip(pool, name, email))]
pub async fn join(
    pool: &PgPool,
    slug: &str,
    ticket_type_id: TicketTypeId,
    name: &str,
    email: &str,
) -> Result<()> {
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
    let mut tx = pool.begin().await?;
    let entry: WaitlistEntryId = sqlx::query_scalar(
        "INSERT INTO waitlist_entries (id, event_id, ticket_type_id, name, email) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT ON CONSTRAINT waitlist_type_email_key DO UPDATE SET
             -- Someone whose offer expired goes back to the end of the line.
             status = CASE WHEN waitlist_entries.status = 'expired' THEN 'waiting' ELSE waitlist_entries.status END,
             created_at = CASE WHEN waitlist_entries.status = 'expired' THEN now() ELSE waitlist_entries.created_at END,
             offer_token_hash = CASE WHEN waitlist_entries.status = 'expired' THEN NULL ELSE waitlist_entries.offer_token_hash END,
             offer_expires_at = CASE WHEN waitlist_entries.status = 'expired' THEN NULL ELSE waitlist_entries.offer_expires_at END
         RETURNING id",
    )
    .bind(WaitlistEntryId::new())
    .bind(event.id)
    .bind(ticket_type_id)
    .bind(&name)
    .bind(email.as_str())
    .fetch_one(&mut *tx)
    .await?;
    jobs::enqueue(&mut tx, &WaitlistJoinedEmail { entry_id: entry }).await?;
    tx.commit().await?;
    Ok(())
}

/// Someone's place in a waiting list, for the email that tells them.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Place {
    /// The event.
    pub event_id: EventId,
    /// The ticket type's name.
    pub ticket_type: String,
    /// Their name.
    pub name: String,
    /// Their address.
    pub email: String,
    /// 1 for the next in line.
    pub position: i64,
}

/// The place in line of entry `id`, while it waits.
pub async fn place(pool: &PgPool, id: WaitlistEntryId) -> Result<Option<Place>> {
    Ok(sqlx::query_as(
        "SELECT w.event_id, t.name AS ticket_type, w.name, w.email::text AS email,
                (SELECT count(*) FROM waitlist_entries o
                  WHERE o.ticket_type_id = w.ticket_type_id AND o.status = $2
                    AND (o.created_at, o.id) <= (w.created_at, w.id)) AS position
         FROM waitlist_entries w JOIN ticket_types t ON t.id = w.ticket_type_id
         WHERE w.id = $1 AND w.status = $2",
    )
    .bind(id)
    .bind(WaitlistStatus::Waiting)
    .fetch_optional(pool)
    .await?)
}

/// Offers up to `seats` freed seats of a ticket type to the people next in
/// line for it or for another type counted in the same quotas (inside the
/// transaction that freed them). Returns how many seats were NOT
/// offered, which the caller returns to sale.
pub async fn offer_freed(
    conn: &mut PgConnection,
    ticket_type_id: TicketTypeId,
    seats: i64,
) -> Result<i64> {
    // The seat counts in exactly the quotas of its ticket type: it can go to
    // whoever waits for a ticket type counted in the same quotas (types that
    // share one quota), first come first served.
    let next: Vec<WaitlistEntryId> = sqlx::query_scalar(
        "WITH mine AS (SELECT array_agg(quota_id ORDER BY quota_id) AS quotas
                       FROM ticket_type_quotas WHERE ticket_type_id = $1),
              alike AS (SELECT q.ticket_type_id FROM ticket_type_quotas q
                        GROUP BY q.ticket_type_id
                        HAVING array_agg(q.quota_id ORDER BY q.quota_id) = (SELECT quotas FROM mine))
         SELECT w.id FROM waitlist_entries w
         WHERE w.status = $3
           AND (w.ticket_type_id = $1 OR w.ticket_type_id IN (SELECT ticket_type_id FROM alike))
         ORDER BY w.created_at, w.id LIMIT $2 FOR UPDATE OF w SKIP LOCKED",
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

/// Offers the seats of a ticket type that are on sale while people wait for
/// it (its quota grew): each goes to the next in line and is held for them,
/// as [`offer_freed`] does with a freed seat. Returns how many were offered.
#[instrument(skip(pool))]
pub async fn offer_open_seats(pool: &PgPool, ticket_type_id: TicketTypeId) -> Result<i64> {
    let mut tx = pool.begin().await?;
    let offered = match quotas::lock_available(&mut tx, ticket_type_id).await? {
        Some(open) if open > 0 => {
            let offered = open - offer_freed(&mut tx, ticket_type_id, open).await?;
            quotas::hold(&mut tx, ticket_type_id, offered).await?;
            offered
        }
        _ => 0,
    };
    tx.commit().await?;
    Ok(offered)
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
