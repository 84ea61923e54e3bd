//! Attendees (owner of `attendees` and `magic_links`): one person's
//! registration for one event, their role there, and the single-use sign-in
//! links that open an attendee session. Only attendees holding a valid ticket
//! of a confirmed order are admitted to the live event.
//!
//! Whoever submits the registration form gets a link at once (the fast path:
//! they may enter as they are), but the email address counts as theirs only
//! once a link *emailed* to it is opened: that verifies the attendee and ends
//! every session opened before (someone who registered with another
//! person's address loses it). Privileged roles go to verified attendees only.

use std::collections::HashMap;

use chrono::{Duration, Utc};
use protocol::ids::{AttendeeId, EventId};
use protocol::states::{AttendeeRole, SessionKind};
use sqlx::{PgConnection, PgPool};
use tracing::instrument;

use crate::accounts::sessions::{self, SignedIn};
use crate::domain::Email;
use crate::events::{self, Event};
use crate::jobs::{self, SignInLinkEmail};
use crate::tokens::{hash_token, new_token};
use crate::{Error, Result};

/// How long a sign-in link stays valid.
pub const LINK_TTL: Duration = Duration::hours(48);

/// An attendee of an event.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Attendee {
    /// Attendee id.
    pub id: AttendeeId,
    /// The event registered for.
    pub event_id: EventId,
    /// Name.
    pub name: String,
    /// Email.
    pub email: String,
    /// Attendee or moderator.
    pub role: AttendeeRole,
    /// Whether they opened a link emailed to their address.
    pub verified: bool,
    /// Version of their uploaded photo, if any (see `avatars`).
    pub avatar: Option<i64>,
}

/// An attendee and whether a ticket admits them.
#[derive(sqlx::FromRow)]
struct AttendeeAdmitted {
    #[sqlx(flatten)]
    attendee: Attendee,
    admitted: bool,
}

const COLUMNS: &str =
    "a.id, a.event_id, a.name, a.email::text AS email, a.role, a.verified_at IS NOT NULL AS verified,
     a.avatar_version AS avatar";

/// How a sign-in link reaches its holder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// In the answer to the browser that registered: it proves nothing about
    /// the address.
    ToBrowser,
    /// By email to the attendee's address: opening it verifies the address.
    ByEmail,
}

/// Who is admitted: a host (an organiser of the event, see [`enter_as_host`]),
/// or the holder of a ticket not voided, of a confirmed order (or of no order).
const ADMITTED: &str =
    "(a.host OR EXISTS (SELECT 1 FROM tickets t LEFT JOIN orders o ON o.id = t.order_id
                         WHERE t.attendee_id = a.id AND t.voided_at IS NULL
                           AND (o.id IS NULL OR o.status = 'confirmed')))";

/// Registers `email` for the event (inside the purchase's transaction). An
/// address registers once per event, except that someone whose every order
/// was cancelled or refunded may register again: they come back as the same
/// attendee (keeping any ban), with the name they give now. `None` when the
/// address holds a live order already.
pub async fn insert(
    conn: &mut PgConnection,
    event: EventId,
    email: &Email,
    name: &str,
) -> Result<Option<AttendeeId>> {
    // The conflicting row is locked by ON CONFLICT, so two returns of one
    // person cannot both pass the "no live order" check.
    let id: Option<AttendeeId> = sqlx::query_scalar(
        "INSERT INTO attendees (id, event_id, email, name) VALUES ($1, $2, $3, $4)
         ON CONFLICT (event_id, email) DO UPDATE SET name = EXCLUDED.name
           WHERE NOT EXISTS (SELECT 1 FROM orders o WHERE o.attendee_id = attendees.id
                               AND o.status NOT IN ('cancelled', 'refunded'))
         RETURNING id",
    )
    .bind(AttendeeId::new())
    .bind(event)
    .bind(email.as_str())
    .bind(name)
    .fetch_optional(conn)
    .await?;
    Ok(id)
}

/// The attendee registered for the event with this address who holds a live
/// order (not cancelled or refunded), if any.
pub async fn with_live_order(
    conn: &mut PgConnection,
    event: EventId,
    email: &Email,
) -> Result<Option<AttendeeId>> {
    Ok(sqlx::query_scalar(
        "SELECT a.id FROM attendees a WHERE a.event_id = $1 AND a.email = $2::citext
           AND EXISTS (SELECT 1 FROM orders o WHERE o.attendee_id = a.id
                         AND o.status NOT IN ('cancelled', 'refunded'))",
    )
    .bind(event)
    .bind(email.as_str())
    .fetch_optional(conn)
    .await?)
}

/// Issues a new single-use sign-in link for an attendee; returns its token.
pub async fn issue_sign_in_link(
    conn: &mut PgConnection,
    attendee: AttendeeId,
    delivery: Delivery,
) -> Result<String> {
    let token = new_token();
    sqlx::query(
        "INSERT INTO magic_links (token_hash, attendee_id, expires_at, verifies) VALUES ($1, $2, $3, $4)",
    )
    .bind(hash_token(&token))
    .bind(attendee)
    .bind(Utc::now() + LINK_TTL)
    .bind(delivery == Delivery::ByEmail)
    .execute(conn)
    .await?;
    Ok(token)
}

/// Like [`issue_sign_in_link`], on a connection of its own.
pub async fn new_sign_in_link(
    pool: &PgPool,
    attendee: AttendeeId,
    delivery: Delivery,
) -> Result<String> {
    let mut conn = pool.acquire().await?;
    issue_sign_in_link(&mut conn, attendee, delivery).await
}

/// Redeems a sign-in link for the event `slug`: marks it used and opens an
/// attendee session. The first emailed link opened verifies the attendee and
/// ends the sessions opened before it.
#[instrument(skip(pool, token))]
pub async fn redeem_link(pool: &PgPool, slug: &str, token: &str) -> Result<SignedIn<Attendee>> {
    let event = events::get_public(pool, slug).await?;
    let mut tx = pool.begin().await?;
    let redeemed: Option<(AttendeeId, bool)> = sqlx::query_as(&format!(
        "UPDATE magic_links m SET used_at = now()
         FROM attendees a
         WHERE m.token_hash = $1 AND m.used_at IS NULL AND m.expires_at > now()
           AND a.id = m.attendee_id AND a.event_id = $2 AND {ADMITTED}
         RETURNING a.id, m.verifies"
    ))
    .bind(hash_token(token))
    .bind(event.id)
    .fetch_optional(&mut *tx)
    .await?;
    let (id, verifies) = match redeemed {
        Some(r) => r,
        None => {
            // A valid link of an attendee whose order is not confirmed yet is
            // kept for later, so that pressing "Enter" before paying costs nothing.
            let waiting: bool = sqlx::query_scalar(&format!(
                "SELECT EXISTS (SELECT 1 FROM magic_links m JOIN attendees a ON a.id = m.attendee_id
                 WHERE m.token_hash = $1 AND m.used_at IS NULL AND m.expires_at > now()
                   AND a.event_id = $2 AND NOT {ADMITTED})"
            ))
            .bind(hash_token(token))
            .bind(event.id)
            .fetch_one(&mut *tx)
            .await?;
            return Err(if waiting {
                Error::Conflict(
                    "your order is not confirmed yet: complete its payment (or wait for the \
                     organiser's approval), then use this link again"
                        .into(),
                )
            } else {
                Error::Unauthorized("this sign-in link is invalid, expired or already used".into())
            });
        }
    };
    if verifies {
        // Locks the attendee: of two first verifications, one ends the other's sessions first.
        let first: bool = sqlx::query_scalar(
            "UPDATE attendees SET verified_at = coalesce(verified_at, now()) WHERE id = $1
             RETURNING verified_at = now()",
        )
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
        if first {
            // Whoever entered before through the registration form may not be
            // the owner of the address: their sessions end.
            sessions::end_all(&mut tx, SessionKind::Attendee, id.uuid()).await?;
        }
    }
    let attendee: Attendee = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM attendees a WHERE a.id = $1"
    ))
    .bind(id)
    .fetch_one(&mut *tx)
    .await?;
    let session = sessions::insert(&mut tx, SessionKind::Attendee, attendee.id.uuid()).await?;
    tx.commit().await?;
    Ok(SignedIn {
        who: attendee,
        token: session,
    })
}

/// Lets an organiser of the event's organisation (the caller checked that)
/// into the live event as a host: their attendee record there, made on first
/// entry with their organiser name and address, is a moderator admitted
/// without a ticket, and verified (their organiser session proves the
/// address). Opens an attendee session for them.
#[instrument(skip(pool, email, name))]
pub async fn enter_as_host(
    pool: &PgPool,
    event: EventId,
    email: &str,
    name: &str,
) -> Result<SignedIn<Attendee>> {
    let email = Email::parse(email)?;
    let mut tx = pool.begin().await?;
    let attendee: Attendee = sqlx::query_as(&format!(
        "INSERT INTO attendees AS a (id, event_id, email, name, role, host, verified_at)
         VALUES ($1, $2, $3, $4, $5, true, now())
         ON CONFLICT (event_id, email) DO UPDATE
           SET role = EXCLUDED.role, host = true, verified_at = coalesce(a.verified_at, now())
         RETURNING {COLUMNS}"
    ))
    .bind(AttendeeId::new())
    .bind(event)
    .bind(email.as_str())
    .bind(name)
    .bind(AttendeeRole::Moderator)
    .fetch_one(&mut *tx)
    .await?;
    let session = sessions::insert(&mut tx, SessionKind::Attendee, attendee.id.uuid()).await?;
    tx.commit().await?;
    Ok(SignedIn {
        who: attendee,
        token: session,
    })
}

/// Opens an attendee session for the browser that just registered (the
/// fast path: it proves nothing about the address, like a link shown to that
/// browser). The session admits them once their order is confirmed.
pub async fn open_session(pool: &PgPool, attendee: AttendeeId) -> Result<String> {
    let mut conn = pool.acquire().await?;
    sessions::insert(&mut conn, SessionKind::Attendee, attendee.uuid()).await
}

/// The attendee an attendee session belongs to, admitted or not (None for
/// an unknown or ended session).
pub async fn signed_in_as(pool: &PgPool, token: Option<&str>) -> Result<Option<AttendeeId>> {
    let Some(token) = token else {
        return Ok(None);
    };
    Ok(sessions::subject(pool, SessionKind::Attendee, token)
        .await?
        .map(AttendeeId::from))
}

/// "Send me my link": emails a new sign-in link to `email` when it holds a
/// live order for the event `slug`, and does nothing otherwise. The caller
/// answers the same either way, so the form tells nobody who is registered.
#[instrument(skip(pool, email))]
pub async fn email_sign_in_link(pool: &PgPool, slug: &str, email: &str) -> Result<()> {
    let event = events::get_public(pool, slug).await?;
    let email = Email::parse(email)?;
    let mut conn = pool.acquire().await?;
    if let Some(attendee_id) = with_live_order(&mut conn, event.id, &email).await? {
        jobs::enqueue(&mut conn, &SignInLinkEmail { attendee_id }).await?;
        tracing::info!(event = %event.id, "sign-in link requested: emailed");
    } else {
        tracing::info!(event = %event.id, "sign-in link requested for an address without an order");
    }
    Ok(())
}

/// Deletes sign-in links that can no longer be used (used or expired) once a
/// day has passed, so "already used" can still be told apart from "unknown"
/// meanwhile; returns how many.
pub async fn purge_links(pool: &PgPool) -> Result<u64> {
    let done = sqlx::query(
        "DELETE FROM magic_links
         WHERE expires_at < now() - interval '1 day' OR used_at < now() - interval '1 day'",
    )
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}

/// The admitted attendee behind a session token, who must belong to `event`.
pub async fn from_session(pool: &PgPool, event: &Event, token: Option<&str>) -> Result<Attendee> {
    let unauth =
        || Error::Unauthorized("please sign in with the link from your registration".into());
    let token = token.ok_or_else(unauth)?;
    let id = sessions::subject(pool, SessionKind::Attendee, token)
        .await?
        .ok_or_else(unauth)?;
    let (attendee, admitted): (Attendee, bool) = sqlx::query_as(&format!(
        "SELECT {COLUMNS}, {ADMITTED} AS admitted FROM attendees a WHERE a.id = $1"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await?
    .map(|row: AttendeeAdmitted| (row.attendee, row.admitted))
    .ok_or_else(unauth)?;
    if attendee.event_id != event.id {
        return Err(Error::Forbidden("your ticket is for another event".into()));
    }
    if !admitted {
        // Signed in by registering, before the order was paid or approved
        // (or after it was cancelled).
        return Err(Error::Forbidden(
            "your order does not admit you yet: it needs to be paid or approved first \
             (see your order's page or your email)"
                .into(),
        ));
    }
    Ok(attendee)
}

/// The attendee's role while they hold a valid ticket (a confirmed order, not
/// voided); None once it is cancelled or refunded.
pub async fn admitted_role(pool: &PgPool, id: AttendeeId) -> Result<Option<AttendeeRole>> {
    Ok(sqlx::query_scalar(&format!(
        "SELECT a.role FROM attendees a WHERE a.id = $1 AND {ADMITTED}"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await?)
}

/// An attendee by id.
pub async fn get(pool: &PgPool, id: AttendeeId) -> Result<Attendee> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM attendees a WHERE a.id = $1"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await?
    .ok_or_else(|| Error::not_found("no such attendee"))
}

/// An attendee of `event` by id, if they belong to it.
pub async fn in_event(pool: &PgPool, event: EventId, id: AttendeeId) -> Result<Option<Attendee>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM attendees a WHERE a.id = $1 AND a.event_id = $2"
    ))
    .bind(id)
    .bind(event)
    .fetch_optional(pool)
    .await?)
}

/// Gives attendee `id` of `event` `role`. A privileged role needs a verified
/// attendee.
pub async fn set_role(
    conn: &mut PgConnection,
    event: EventId,
    id: AttendeeId,
    role: AttendeeRole,
) -> Result<()> {
    let verified: Option<bool> = sqlx::query_scalar(
        "SELECT verified_at IS NOT NULL FROM attendees WHERE id = $1 AND event_id = $2 FOR UPDATE",
    )
    .bind(id)
    .bind(event)
    .fetch_optional(&mut *conn)
    .await?;
    match verified {
        None => return Err(Error::not_found("no such attendee")),
        Some(false) if role != AttendeeRole::Attendee => {
            return Err(Error::Conflict(
                "only attendees who opened a sign-in link from their email can get a role; ask them to use the link in their confirmation email".into(),
            ))
        }
        Some(_) => {}
    }
    sqlx::query("UPDATE attendees SET role = $2 WHERE id = $1")
        .bind(id)
        .bind(role)
        .execute(conn)
        .await?;
    Ok(())
}

/// The event's admitted, verified attendees, by name: who can be given a
/// role (at most `limit`).
pub async fn verified(pool: &PgPool, event: EventId, limit: i64) -> Result<Vec<Attendee>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM attendees a
         WHERE a.event_id = $1 AND a.verified_at IS NOT NULL AND {ADMITTED}
         ORDER BY lower(a.name), a.id LIMIT $2"
    ))
    .bind(event)
    .bind(limit)
    .fetch_all(pool)
    .await?)
}

/// Names of attendees by id (for messages and questions shown with their author).
pub async fn names(pool: &PgPool, ids: &[AttendeeId]) -> Result<HashMap<AttendeeId, String>> {
    let rows: Vec<(AttendeeId, String)> =
        sqlx::query_as("SELECT id, name FROM attendees WHERE id = ANY($1)")
            .bind(ids)
            .fetch_all(pool)
            .await?;
    Ok(rows.into_iter().collect())
}

/// Attendees of the event that `@word` mentions name: their name without
/// spaces, or their first name, lower-cased (at most 20).
pub async fn mentioned(pool: &PgPool, event: EventId, words: &[String]) -> Result<Vec<AttendeeId>> {
    if words.is_empty() {
        return Ok(Vec::new());
    }
    Ok(sqlx::query_scalar(
        "SELECT id FROM attendees WHERE event_id = $1
           AND (lower(replace(name, ' ', '')) = ANY($2) OR lower(split_part(name, ' ', 1)) = ANY($2))
         LIMIT 20",
    )
    .bind(event)
    .bind(words)
    .fetch_all(pool)
    .await?)
}

/// A page of the event's admitted attendees by name: those whose name
/// contains `search` (any case), after attendee `after` in that order, at
/// most `limit`.
pub async fn admitted(
    pool: &PgPool,
    event: EventId,
    search: Option<&str>,
    after: Option<AttendeeId>,
    limit: i64,
) -> Result<Vec<Attendee>> {
    let pattern = search.map(str::trim).filter(|s| !s.is_empty()).map(|s| {
        format!(
            "%{}%",
            s.replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        )
    });
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM attendees a WHERE a.event_id = $1 AND {ADMITTED}
           AND ($2::text IS NULL OR a.name ILIKE $2)
           AND ($3::uuid IS NULL OR (lower(a.name), a.id) >
                (SELECT lower(name), id FROM attendees WHERE id = $3 AND event_id = $1))
         ORDER BY lower(a.name), a.id LIMIT $4"
    ))
    .bind(event)
    .bind(pattern)
    .bind(after)
    .bind(limit)
    .fetch_all(pool)
    .await?)
}

/// Gives attendee `id`'s photo a new version (from a sequence: never reused)
/// and returns it; `avatars` stores the picture in the same transaction.
pub async fn renew_avatar(conn: &mut PgConnection, id: AttendeeId) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "UPDATE attendees SET avatar_version = nextval('avatar_versions') WHERE id = $1
         RETURNING avatar_version",
    )
    .bind(id)
    .fetch_one(conn)
    .await?)
}

/// Attendee `id` has no photo any more (their initials show).
pub async fn clear_avatar(conn: &mut PgConnection, id: AttendeeId) -> Result<()> {
    sqlx::query("UPDATE attendees SET avatar_version = NULL WHERE id = $1")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Ends the host rights of `email` in `events` (the events of an
/// organisation an organiser left): their host records there become plain
/// attendees (admitted only by a ticket of their own, if they have one) and
/// their attendee sessions end, so open live sockets close within a heartbeat.
pub async fn revoke_hosts(conn: &mut PgConnection, events: &[EventId], email: &str) -> Result<()> {
    let hosts: Vec<AttendeeId> = sqlx::query_scalar(
        "UPDATE attendees SET host = false, role = $3
         WHERE event_id = ANY($1) AND email = $2::citext AND host
         RETURNING id",
    )
    .bind(events)
    .bind(email)
    .bind(AttendeeRole::Attendee)
    .fetch_all(&mut *conn)
    .await?;
    for id in hosts {
        sessions::end_all(&mut *conn, SessionKind::Attendee, id.uuid()).await?;
    }
    Ok(())
}
