//! Registrations: attendees, QR codes of tickets, and single-use sign-in links.
//! Buying tickets (orders, quotas) is in [`crate::ticketing`].

use chrono::Duration;
use qrcode::render::svg;
use qrcode::QrCode;
use sqlx::PgPool;
use uuid::Uuid;

use crate::accounts::{insert_session, session_subject, SessionKind};
use crate::events::{self, Event};
use crate::tokens::hash_token;
use crate::{Error, Result};

/// How long a sign-in link stays valid.
pub const LINK_TTL: Duration = Duration::hours(48);

/// A signed-in attendee.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Attendee {
    /// Attendee id.
    pub id: Uuid,
    /// The event registered for.
    pub event_id: Uuid,
    /// Name.
    pub name: String,
    /// Email.
    pub email: String,
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

/// Redeems a sign-in link for the event `slug`: marks it used and opens an attendee session.
pub async fn redeem_link(pool: &PgPool, slug: &str, token: &str) -> Result<(Attendee, String)> {
    let event = events::get_public(pool, slug).await?;
    let mut tx = pool.begin().await?;
    let attendee: Option<Attendee> = sqlx::query_as(
        "UPDATE magic_links m SET used_at = now()
         FROM attendees a
         WHERE m.token_hash = $1 AND m.used_at IS NULL AND m.expires_at > now()
           AND a.id = m.attendee_id AND a.event_id = $2
         RETURNING a.id, a.event_id, a.name, a.email::text AS email",
    )
    .bind(hash_token(token))
    .bind(event.id)
    .fetch_optional(&mut *tx)
    .await?;
    let attendee = attendee.ok_or_else(|| {
        Error::Unauthorized("this sign-in link is invalid, expired or already used".into())
    })?;
    let session = insert_session(&mut tx, SessionKind::Attendee, attendee.id).await?;
    tx.commit().await?;
    Ok((attendee, session))
}

/// The attendee behind a session token, who must belong to `event`.
pub async fn attendee_from_session(
    pool: &PgPool,
    event: &Event,
    token: Option<&str>,
) -> Result<Attendee> {
    let unauth =
        || Error::Unauthorized("please sign in with the link from your registration".into());
    let token = token.ok_or_else(unauth)?;
    let id = session_subject(pool, SessionKind::Attendee, token)
        .await?
        .ok_or_else(unauth)?;
    // Only attendees holding a valid ticket of a confirmed order may enter (not
    // voided, not waiting for payment or approval).
    let attendee: Attendee = sqlx::query_as(
        "SELECT id, event_id, name, email::text AS email FROM attendees a WHERE id = $1
           AND EXISTS (SELECT 1 FROM tickets t LEFT JOIN orders o ON o.id = t.order_id
                       WHERE t.attendee_id = a.id AND t.voided_at IS NULL
                         AND (o.id IS NULL OR o.status = 'confirmed'))",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?
    .ok_or_else(unauth)?;
    if attendee.event_id != event.id {
        return Err(Error::Forbidden("your ticket is for another event".into()));
    }
    Ok(attendee)
}

/// Number of registrations of an event (straight from the registrations table).
pub async fn count(pool: &PgPool, event_id: Uuid) -> Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT count(*) FROM attendees WHERE event_id = $1")
            .bind(event_id)
            .fetch_one(pool)
            .await?,
    )
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
