//! Registrations: attendees, tickets with QR codes, and single-use sign-in links.

use chrono::{Duration, Utc};
use qrcode::render::svg;
use qrcode::QrCode;
use sqlx::PgPool;
use uuid::Uuid;

use crate::accounts::{insert_session, session_subject, SessionKind};
use crate::activity::{self, Action, Area};
use crate::domain::{parse_name, Email};
use crate::error::is_unique_violation;
use crate::events::{self, Event};
use crate::tokens::{hash_token, new_token};
use crate::{Error, Result};

/// How long a sign-in link stays valid.
pub const LINK_TTL: Duration = Duration::hours(48);

/// The result of a registration, shown once to the attendee.
#[derive(Debug, Clone)]
pub struct Registration {
    /// New attendee id.
    pub attendee_id: Uuid,
    /// Ticket code encoded in the QR code.
    pub ticket_code: String,
    /// QR code of the ticket code, as an SVG document.
    pub qr_svg: String,
    /// Single-use sign-in token (goes into the sign-in link).
    pub sign_in_token: String,
}

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

/// A ticket code: 20 random characters, URL-safe.
fn ticket_code() -> String {
    new_token()[..20].to_owned()
}

/// Registers `name`/`email` for the event with its free ticket type.
/// The attendee, ticket, sign-in link, activity fact and outbox row commit together.
pub async fn register(pool: &PgPool, slug: &str, name: &str, email: &str) -> Result<Registration> {
    let event = events::get_public(pool, slug).await?;
    let name = parse_name("name", name, 100)?;
    let email = Email::parse(email)?;

    let mut tx = pool.begin().await?;
    let ticket_type: Uuid = sqlx::query_scalar(
        "SELECT id FROM ticket_types WHERE event_id = $1 AND price_minor = 0 ORDER BY created_at LIMIT 1",
    )
    .bind(event.id)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| Error::Conflict("this event has no free tickets".into()))?;

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
    let code = ticket_code();
    sqlx::query(
        "INSERT INTO tickets (id, event_id, attendee_id, ticket_type_id, code) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(Uuid::new_v4())
    .bind(event.id)
    .bind(attendee_id)
    .bind(ticket_type)
    .bind(&code)
    .execute(&mut *tx)
    .await?;
    let token = new_token();
    sqlx::query(
        "INSERT INTO magic_links (token_hash, attendee_id, expires_at) VALUES ($1, $2, $3)",
    )
    .bind(hash_token(&token))
    .bind(attendee_id)
    .bind(Utc::now() + LINK_TTL)
    .execute(&mut *tx)
    .await?;
    activity::record(
        &mut tx,
        event.id,
        attendee_id,
        Area::Registration,
        Action::Registered,
    )
    .await?;
    tx.commit().await?;
    tracing::info!(event = %event.id, attendee = %attendee_id, "attendee registered");
    Ok(Registration {
        attendee_id,
        qr_svg: qr_svg(&code)?,
        ticket_code: code,
        sign_in_token: token,
    })
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
    let attendee: Attendee = sqlx::query_as(
        "SELECT id, event_id, name, email::text AS email FROM attendees WHERE id = $1",
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
        assert_eq!(ticket_code().len(), 20);
    }
}
