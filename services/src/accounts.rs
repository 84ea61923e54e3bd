//! Organiser accounts, their organisations and server-side sessions.

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use chrono::{Duration, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use crate::domain::{parse_name, Email, Password};
use crate::error::is_unique_violation;
use crate::tokens::{hash_token, new_token};
use crate::{Error, Result};

/// How long an organiser or attendee session lasts.
pub const SESSION_TTL: Duration = Duration::days(14);

/// A signed-in organiser.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Organiser {
    /// Organiser id.
    pub id: Uuid,
    /// The organisation the organiser belongs to.
    pub org_id: Uuid,
    /// Normalised email.
    pub email: String,
    /// Display name.
    pub name: String,
}

/// Sign-up input as typed by the user.
#[derive(Debug)]
pub struct SignUp<'a> {
    /// Person's name.
    pub name: &'a str,
    /// Organisation's name.
    pub organisation: &'a str,
    /// Email address.
    pub email: &'a str,
    /// Password in clear (hashed with Argon2id here).
    pub password: &'a str,
}

/// Which principal a session belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionKind {
    /// An organiser (dashboard).
    Organiser,
    /// An attendee of one event.
    Attendee,
}

impl SessionKind {
    fn as_str(self) -> &'static str {
        match self {
            SessionKind::Organiser => "organiser",
            SessionKind::Attendee => "attendee",
        }
    }
}

/// Hashes a password with Argon2id (default parameters) on a blocking thread.
pub async fn hash_password(password: &Password) -> Result<String> {
    let pw = password.expose().to_owned();
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(pw.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| Error::Internal(format!("argon2: {e}")))
    })
    .await
    .map_err(|e| Error::Internal(format!("join: {e}")))?
}

/// Verifies a password against a PHC hash on a blocking thread.
async fn verify_password(password: String, phc: String) -> Result<bool> {
    tokio::task::spawn_blocking(move || {
        let parsed =
            PasswordHash::new(&phc).map_err(|e| Error::Internal(format!("argon2: {e}")))?;
        Ok(Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok())
    })
    .await
    .map_err(|e| Error::Internal(format!("join: {e}")))?
}

/// A valid Argon2id hash of a random string: verified against when the email is
/// unknown, so that a wrong email costs as much time as a wrong password.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$2Yb3ZbSnlJHZ2ms4GZzoNQ1sNT2pT9jLw3i2r3ZcZ0Q";

/// Creates an organisation and its first organiser; returns the organiser and a session token.
pub async fn sign_up(pool: &PgPool, input: SignUp<'_>) -> Result<(Organiser, String)> {
    let name = parse_name("name", input.name, 100)?;
    let org_name = parse_name("organisation", input.organisation, 200)?;
    let email = Email::parse(input.email)?;
    let password = Password::parse(input.password)?;
    let hash = hash_password(&password).await?;

    let mut tx = pool.begin().await?;
    let org_id = Uuid::new_v4();
    sqlx::query("INSERT INTO organisations (id, name) VALUES ($1, $2)")
        .bind(org_id)
        .bind(&org_name)
        .execute(&mut *tx)
        .await?;
    let organiser = Organiser {
        id: Uuid::new_v4(),
        org_id,
        email: email.as_str().to_owned(),
        name,
    };
    insert_organiser(&mut tx, &organiser, &hash, "owner").await?;
    let token = insert_session(&mut tx, SessionKind::Organiser, organiser.id).await?;
    tx.commit().await?;
    tracing::info!(organiser = %organiser.id, org = %org_id, "organiser signed up");
    Ok((organiser, token))
}

/// Inserts an organiser account with its password hash and role (`owner`/`member`).
pub(crate) async fn insert_organiser(
    conn: &mut sqlx::PgConnection,
    o: &Organiser,
    password_hash: &str,
    role: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO organisers (id, org_id, email, name, password_hash, role) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(o.id)
    .bind(o.org_id)
    .bind(&o.email)
    .bind(&o.name)
    .bind(password_hash)
    .bind(role)
    .execute(conn)
    .await
    .map_err(|e| {
        if is_unique_violation(&e, "organisers_email_key") {
            Error::Conflict("an account with this email already exists".into())
        } else {
            e.into()
        }
    })?;
    Ok(())
}

/// Checks email and password; returns the organiser and a new session token.
pub async fn log_in(pool: &PgPool, email: &str, password: &str) -> Result<(Organiser, String)> {
    let wrong = || Error::Unauthorized("wrong email or password".into());
    let email = Email::parse(email).map_err(|_| wrong())?;
    let row: Option<(Uuid, Uuid, String, String, String)> = sqlx::query_as(
        "SELECT id, org_id, email::text, name, password_hash FROM organisers WHERE email = $1",
    )
    .bind(email.as_str())
    .fetch_optional(pool)
    .await?;
    let (phc, organiser) = match row {
        Some((id, org_id, email, name, phc)) => (
            phc,
            Some(Organiser {
                id,
                org_id,
                email,
                name,
            }),
        ),
        None => (DUMMY_HASH.to_owned(), None),
    };
    let ok = verify_password(password.to_owned(), phc).await?;
    let organiser = match (ok, organiser) {
        (true, Some(o)) => o,
        _ => return Err(wrong()),
    };
    let mut tx = pool.begin().await?;
    let token = insert_session(&mut tx, SessionKind::Organiser, organiser.id).await?;
    tx.commit().await?;
    Ok((organiser, token))
}

/// Stores a new session for `subject` and returns its bearer token.
pub async fn insert_session(
    conn: &mut sqlx::PgConnection,
    kind: SessionKind,
    subject: Uuid,
) -> Result<String> {
    let token = new_token();
    sqlx::query(
        "INSERT INTO sessions (token_hash, kind, subject_id, expires_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(hash_token(&token))
    .bind(kind.as_str())
    .bind(subject)
    .bind(Utc::now() + SESSION_TTL)
    .execute(conn)
    .await?;
    Ok(token)
}

/// Returns the subject of a live session of `kind`, if the token is valid.
pub async fn session_subject(
    pool: &PgPool,
    kind: SessionKind,
    token: &str,
) -> Result<Option<Uuid>> {
    let id: Option<Uuid> = sqlx::query_scalar(
        "SELECT subject_id FROM sessions WHERE token_hash = $1 AND kind = $2 AND expires_at > now()",
    )
    .bind(hash_token(token))
    .bind(kind.as_str())
    .fetch_optional(pool)
    .await?;
    Ok(id)
}

/// The organiser behind a session token, or `Unauthorized`.
pub async fn organiser_from_session(pool: &PgPool, token: Option<&str>) -> Result<Organiser> {
    let unauth = || Error::Unauthorized("please log in".into());
    let token = token.ok_or_else(unauth)?;
    let id = session_subject(pool, SessionKind::Organiser, token)
        .await?
        .ok_or_else(unauth)?;
    sqlx::query_as::<_, Organiser>(
        "SELECT id, org_id, email::text AS email, name FROM organisers WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?
    .ok_or_else(unauth)
}

/// Ends a session (log out). Unknown tokens are ignored.
pub async fn end_session(pool: &PgPool, token: &str) -> Result<()> {
    sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
        .bind(hash_token(token))
        .execute(pool)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn argon2id_round_trip_and_dummy_hash_parses() {
        let pw = Password::parse("correct horse battery").unwrap();
        let h = hash_password(&pw).await.unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery".into(), h.clone())
            .await
            .unwrap());
        assert!(!verify_password("wrong horse battery".into(), h)
            .await
            .unwrap());
        assert!(!verify_password("anything".into(), DUMMY_HASH.into())
            .await
            .unwrap());
    }
}
