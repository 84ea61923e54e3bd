//! Server-side sessions (owner of `sessions`): the cookie carries a random
//! token, the table only its SHA-256, with the kind of principal and expiry.

use chrono::{Duration, Utc};
use protocol::states::SessionKind;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::tokens::{hash_token, new_token};
use crate::Result;

/// How long an organiser or attendee session lasts.
pub const SESSION_TTL: Duration = Duration::days(14);

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

/// The subject of a live session of `kind`, if the token is valid.
pub async fn subject(pool: &PgPool, kind: SessionKind, token: &str) -> Result<Option<Uuid>> {
    Ok(sqlx::query_scalar(
        "SELECT subject_id FROM sessions WHERE token_hash = $1 AND kind = $2 AND expires_at > now()",
    )
    .bind(hash_token(token))
    .bind(kind)
    .fetch_optional(pool)
    .await?)
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
