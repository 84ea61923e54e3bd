//! Server-side sessions (owner of `sessions`): the cookie carries a random
//! token, the table only its SHA-256, with the kind of principal and expiry.
//!
//! A session ends at its expiry ([`SESSION_TTL`] after sign-in), when its
//! owner logs out, or after [`idle_timeout`] without a request. Using a
//! session records that it was seen, at most once a minute (a write per
//! request would cost more than the check).

use chrono::{Duration, Utc};
use protocol::states::SessionKind;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::tokens::{hash_token, new_token};
use crate::Result;

/// How long an organiser or attendee session lasts.
pub const SESSION_TTL: Duration = Duration::days(14);

/// How long a session may go unused before it ends: an organiser's (who can
/// refund orders and invite people) sooner than an attendee's (whose event
/// may span days with nights between).
pub fn idle_timeout(kind: SessionKind) -> Duration {
    match kind {
        SessionKind::Organiser => Duration::hours(12),
        SessionKind::Attendee => Duration::days(3),
    }
}

/// Someone who just signed in, with the bearer token of their new session (the
/// cookie's value; the table keeps only its hash).
#[derive(Debug)]
pub struct SignedIn<T> {
    /// The organiser or attendee.
    pub who: T,
    /// The new session's bearer token.
    pub token: String,
}

/// Stores a new session for `subject` and returns its bearer token.
pub async fn insert(conn: &mut PgConnection, kind: SessionKind, subject: Uuid) -> Result<String> {
    let token = new_token();
    sqlx::query(
        "INSERT INTO sessions (token_hash, kind, subject_id, expires_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(hash_token(&token))
    .bind(kind)
    .bind(subject)
    .bind(Utc::now() + SESSION_TTL)
    .execute(conn)
    .await?;
    Ok(token)
}

/// The subject of a live session of `kind`, if the token is valid (not
/// expired, not idle too long); records that the session was seen.
pub async fn subject(pool: &PgPool, kind: SessionKind, token: &str) -> Result<Option<Uuid>> {
    Ok(sqlx::query_scalar(
        "WITH live AS (
             SELECT subject_id, last_seen_at FROM sessions
             WHERE token_hash = $1 AND kind = $2 AND expires_at > now()
               AND last_seen_at > now() - $3 * interval '1 second'),
         seen AS (
             UPDATE sessions SET last_seen_at = now()
             WHERE token_hash = $1
               AND EXISTS (SELECT 1 FROM live WHERE last_seen_at < now() - interval '1 minute'))
         SELECT subject_id FROM live",
    )
    .bind(hash_token(token))
    .bind(kind)
    .bind(idle_timeout(kind).num_seconds() as f64)
    .fetch_optional(pool)
    .await?)
}

/// Whether the session behind `token` still stands (not ended, not idle too
/// long), without recording a use: an open socket is not activity that keeps
/// a session alive.
pub async fn stands(pool: &PgPool, kind: SessionKind, token: &str) -> Result<bool> {
    Ok(sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM sessions
             WHERE token_hash = $1 AND kind = $2 AND expires_at > now()
               AND last_seen_at > now() - $3 * interval '1 second')",
    )
    .bind(hash_token(token))
    .bind(kind)
    .bind(idle_timeout(kind).num_seconds() as f64)
    .fetch_one(pool)
    .await?)
}

/// Deletes sessions that have ended (expired or idle too long); returns how many.
pub async fn purge(pool: &PgPool) -> Result<u64> {
    let done = sqlx::query(
        "DELETE FROM sessions WHERE expires_at < now()
            OR (kind = 'organiser' AND last_seen_at < now() - $1 * interval '1 second')
            OR (kind = 'attendee' AND last_seen_at < now() - $2 * interval '1 second')",
    )
    .bind(idle_timeout(SessionKind::Organiser).num_seconds() as f64)
    .bind(idle_timeout(SessionKind::Attendee).num_seconds() as f64)
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}

/// Ends a session (log out). Unknown tokens are ignored.
pub async fn end(pool: &PgPool, token: &str) -> Result<()> {
    sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
        .bind(hash_token(token))
        .execute(pool)
        .await?;
    Ok(())
}

/// Ends every session of `subject` (a removed team member).
pub async fn end_all(conn: &mut PgConnection, kind: SessionKind, subject: Uuid) -> Result<()> {
    sqlx::query("DELETE FROM sessions WHERE kind = $1 AND subject_id = $2")
        .bind(kind)
        .bind(subject)
        .execute(conn)
        .await?;
    Ok(())
}
