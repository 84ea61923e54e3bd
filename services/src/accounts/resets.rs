//! "Forgot your password?" (owner of `password_resets`): a single-use link,
//! valid for an hour, emailed to an organiser's address; following it sets a
//! new password and ends every session of the account (whoever knew the old
//! password is signed out). The request answers the same whether the address
//! has an account or not.

use chrono::{Duration, Utc};
use protocol::ids::OrganiserId;
use protocol::states::SessionKind;
use sqlx::PgPool;
use tracing::instrument;

use super::{passwords, sessions};
use crate::domain::{Email, Password};
use crate::jobs::{self, PasswordResetEmail};
use crate::tokens::{hash_token, new_token};
use crate::{Error, Result};

/// How long a reset link stays valid.
pub const RESET_TTL: Duration = Duration::hours(1);

/// Emails a reset link to `email` if an organiser account uses it; does
/// nothing otherwise (the caller answers the same either way).
#[instrument(skip_all)]
pub async fn request(pool: &PgPool, email: &str) -> Result<()> {
    let email = Email::parse(email)?;
    let organiser: Option<OrganiserId> =
        sqlx::query_scalar("SELECT id FROM organisers WHERE email = $1")
            .bind(email.as_str())
            .fetch_optional(pool)
            .await?;
    match organiser {
        Some(organiser_id) => {
            let mut conn = pool.acquire().await?;
            jobs::enqueue(&mut conn, &PasswordResetEmail { organiser_id }).await?;
            tracing::info!("password reset requested: emailed");
        }
        None => tracing::info!("password reset requested for an address without an account"),
    }
    Ok(())
}

/// A new reset token for the organiser (made as its email is sent, so it
/// never sits in the job queue).
pub async fn issue(pool: &PgPool, organiser: OrganiserId) -> Result<String> {
    let token = new_token();
    sqlx::query(
        "INSERT INTO password_resets (token_hash, organiser_id, expires_at) VALUES ($1, $2, $3)",
    )
    .bind(hash_token(&token))
    .bind(organiser)
    .bind(Utc::now() + RESET_TTL)
    .execute(pool)
    .await?;
    Ok(token)
}

/// Sets a new password with a reset link's token: the link and every other
/// open one of the account are used up, and every session of the account ends.
#[instrument(skip_all)]
pub async fn reset(pool: &PgPool, token: &str, new_password: &str) -> Result<()> {
    let password = Password::parse(new_password)?;
    let phc = passwords::hash(&password).await?;
    let mut tx = pool.begin().await?;
    let organiser: OrganiserId = sqlx::query_scalar(
        "UPDATE password_resets SET used_at = now()
         WHERE token_hash = $1 AND used_at IS NULL AND expires_at > now()
         RETURNING organiser_id",
    )
    .bind(hash_token(token))
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| {
        Error::Unauthorized(
            "this reset link is invalid, expired or already used; ask for a new one".into(),
        )
    })?;
    sqlx::query(
        "UPDATE password_resets SET used_at = now() WHERE organiser_id = $1 AND used_at IS NULL",
    )
    .bind(organiser)
    .execute(&mut *tx)
    .await?;
    super::organisers::set_password_hash(&mut tx, organiser, &phc).await?;
    sessions::end_all(&mut tx, SessionKind::Organiser, organiser.uuid()).await?;
    tx.commit().await?;
    Ok(())
}
