//! Organisers (owner of `organisers`): sign-up with a new organisation, log-in,
//! the organiser behind a session, and the members of an organisation.

use protocol::ids::{OrgId, OrganiserId};
use protocol::states::{OrganiserRole, SessionKind};
use sqlx::{PgConnection, PgPool};
use tracing::instrument;

use super::sessions::{self, SignedIn};
use super::{orgs, passwords};
use crate::domain::{parse_name, Email, Password};
use crate::error::is_unique_violation;
use crate::{Error, Result};

/// A signed-in organiser.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Organiser {
    /// Organiser id.
    pub id: OrganiserId,
    /// The organisation the organiser belongs to.
    pub org_id: OrgId,
    /// Normalised email.
    pub email: String,
    /// Display name.
    pub name: String,
    /// Owner or member of the organisation.
    pub role: OrganiserRole,
}

impl Organiser {
    /// Fails with `Forbidden` unless this organiser owns their organisation.
    pub fn require_owner(&self) -> Result<()> {
        match self.role {
            OrganiserRole::Owner => Ok(()),
            OrganiserRole::Member => Err(Error::Forbidden(
                "only an owner of the organisation can do this".into(),
            )),
        }
    }
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

const COLUMNS: &str = "id, org_id, email::text AS email, name, role";

/// Creates an organisation and its first organiser (its owner); returns the
/// organiser and a session token.
#[instrument(skip_all)]
pub async fn sign_up(pool: &PgPool, input: SignUp<'_>) -> Result<SignedIn<Organiser>> {
    let name = parse_name("name", input.name, 100)?;
    let org_name = parse_name("organisation", input.organisation, 200)?;
    let email = Email::parse(input.email)?;
    let password = Password::parse(input.password)?;
    let hash = passwords::hash(&password).await?;

    let mut tx = pool.begin().await?;
    let org_id = OrgId::new();
    orgs::insert(&mut tx, org_id, &org_name).await?;
    let organiser = Organiser {
        id: OrganiserId::new(),
        org_id,
        email: email.as_str().to_owned(),
        name,
        role: OrganiserRole::Owner,
    };
    insert(&mut tx, &organiser, &hash).await?;
    let token = sessions::insert(&mut tx, SessionKind::Organiser, organiser.id.uuid()).await?;
    tx.commit().await?;
    tracing::info!(organiser = %organiser.id, org = %org_id, "organiser signed up");
    Ok(SignedIn {
        who: organiser,
        token,
    })
}

/// Inserts an organiser account with its password hash and role.
pub async fn insert(conn: &mut PgConnection, o: &Organiser, password_hash: &str) -> Result<()> {
    sqlx::query(
        "INSERT INTO organisers (id, org_id, email, name, password_hash, role) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(o.id)
    .bind(o.org_id)
    .bind(&o.email)
    .bind(&o.name)
    .bind(password_hash)
    .bind(o.role)
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
#[instrument(skip_all)]
pub async fn log_in(pool: &PgPool, email: &str, password: &str) -> Result<SignedIn<Organiser>> {
    let wrong = || Error::Unauthorized("wrong email or password".into());
    let email = Email::parse(email).map_err(|_| wrong())?;
    #[derive(sqlx::FromRow)]
    struct WithHash {
        #[sqlx(flatten)]
        organiser: Organiser,
        password_hash: String,
    }
    let row: Option<WithHash> = sqlx::query_as(&format!(
        "SELECT {COLUMNS}, password_hash FROM organisers WHERE email = $1"
    ))
    .bind(email.as_str())
    .fetch_optional(pool)
    .await?;
    let phc = row
        .as_ref()
        .map(|r| r.password_hash.clone())
        .unwrap_or_else(|| passwords::DUMMY_HASH.to_owned());
    let ok = passwords::verify(password.to_owned(), phc).await?;
    let organiser = match (ok, row) {
        (true, Some(r)) => r.organiser,
        _ => return Err(wrong()),
    };
    let mut tx = pool.begin().await?;
    let token = sessions::insert(&mut tx, SessionKind::Organiser, organiser.id.uuid()).await?;
    tx.commit().await?;
    Ok(SignedIn {
        who: organiser,
        token,
    })
}

/// Replaces an organiser's password hash (inside a reset's transaction).
pub async fn set_password_hash(
    conn: &mut PgConnection,
    id: OrganiserId,
    password_hash: &str,
) -> Result<()> {
    sqlx::query("UPDATE organisers SET password_hash = $2 WHERE id = $1")
        .bind(id)
        .bind(password_hash)
        .execute(conn)
        .await?;
    Ok(())
}

/// An organiser by id.
pub async fn get(pool: &PgPool, id: OrganiserId) -> Result<Organiser> {
    sqlx::query_as::<_, Organiser>(&format!("SELECT {COLUMNS} FROM organisers WHERE id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| Error::not_found("no such organiser"))
}

/// The organiser behind a session token, or `Unauthorized`.
pub async fn from_session(pool: &PgPool, token: Option<&str>) -> Result<Organiser> {
    let unauth = || Error::Unauthorized("please log in".into());
    let token = token.ok_or_else(unauth)?;
    let id = sessions::subject(pool, SessionKind::Organiser, token)
        .await?
        .ok_or_else(unauth)?;
    sqlx::query_as::<_, Organiser>(&format!("SELECT {COLUMNS} FROM organisers WHERE id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await?
        .ok_or_else(unauth)
}

/// Whether an organiser account uses this address.
pub async fn email_taken(conn: &mut PgConnection, email: &Email) -> Result<bool> {
    Ok(
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM organisers WHERE email = $1::citext)")
            .bind(email.as_str())
            .fetch_one(conn)
            .await?,
    )
}

/// The organisation's organisers, owners first.
pub async fn of_org(pool: &PgPool, org_id: OrgId) -> Result<Vec<Organiser>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM organisers WHERE org_id = $1 ORDER BY role = 'owner' DESC, created_at"
    ))
    .bind(org_id)
    .fetch_all(pool)
    .await?)
}

/// How many organisers the organisation has.
pub async fn count(conn: &mut PgConnection, org_id: OrgId) -> Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT count(*) FROM organisers WHERE org_id = $1")
            .bind(org_id)
            .fetch_one(conn)
            .await?,
    )
}

/// The name of an organiser, if they still exist.
pub async fn name(conn: &mut PgConnection, id: OrganiserId) -> Result<Option<String>> {
    Ok(
        sqlx::query_scalar("SELECT name FROM organisers WHERE id = $1")
            .bind(id)
            .fetch_optional(conn)
            .await?,
    )
}

/// Removes a member of the organisation (not an owner) and ends their sessions.
pub async fn remove_member(
    conn: &mut PgConnection,
    org_id: OrgId,
    id: OrganiserId,
) -> Result<String> {
    let role: Option<OrganiserRole> =
        sqlx::query_scalar("SELECT role FROM organisers WHERE id = $1 AND org_id = $2")
            .bind(id)
            .bind(org_id)
            .fetch_optional(&mut *conn)
            .await?;
    match role {
        None => return Err(Error::not_found("no such team member")),
        Some(OrganiserRole::Owner) => {
            return Err(Error::Conflict("owners cannot be removed".into()))
        }
        Some(OrganiserRole::Member) => {}
    }
    sessions::end_all(&mut *conn, SessionKind::Organiser, id.uuid()).await?;
    let email: String =
        sqlx::query_scalar("DELETE FROM organisers WHERE id = $1 RETURNING email::text")
            .bind(id)
            .fetch_one(&mut *conn)
            .await?;
    Ok(email)
}
