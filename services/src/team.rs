//! Team: the organisers of an organisation. Owners invite people by email; an
//! invitation takes a seat of the plan until it is accepted, revoked or expires.
//! Invitation tokens are made when the email is sent and only their hash is stored.

use chrono::{DateTime, Duration, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::accounts::{hash_password, insert_organiser, insert_session, Organiser, SessionKind};
use crate::domain::{parse_name, Email, Password};
use crate::tokens::{hash_token, new_token};
use crate::{billing, jobs, Error, Result};

/// How long an invitation stays valid.
pub const INVITE_TTL: Duration = Duration::days(7);

/// Job kind: email a team invitation.
pub const INVITE_EMAIL: &str = "team_invite";

/// A member of the team.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Member {
    /// Organiser id.
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// Email.
    pub email: String,
    /// `owner` or `member`.
    pub role: String,
}

/// An open invitation.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Invite {
    /// Id.
    pub id: Uuid,
    /// Invited address.
    pub email: String,
    /// Valid until.
    pub expires_at: DateTime<Utc>,
}

/// The team and its seats.
#[derive(Debug, Clone)]
pub struct Team {
    /// Members, owners first.
    pub members: Vec<Member>,
    /// Open invitations.
    pub invites: Vec<Invite>,
    /// Seats of the plan (None = unlimited).
    pub seats: Option<i32>,
}

/// Fails with `Forbidden` unless `by` is an owner of their organisation.
pub async fn require_owner(conn: &mut PgConnection, by: &Organiser) -> Result<()> {
    let role: Option<String> = sqlx::query_scalar("SELECT role FROM organisers WHERE id = $1")
        .bind(by.id)
        .fetch_optional(conn)
        .await?;
    match role.as_deref() {
        Some("owner") => Ok(()),
        _ => Err(Error::Forbidden(
            "only an owner of the organisation can do this".into(),
        )),
    }
}

/// The organiser's team.
pub async fn team(pool: &PgPool, by: &Organiser) -> Result<Team> {
    let members = sqlx::query_as(
        "SELECT id, name, email::text AS email, role FROM organisers WHERE org_id = $1
         ORDER BY role = 'owner' DESC, created_at",
    )
    .bind(by.org_id)
    .fetch_all(pool)
    .await?;
    let invites = sqlx::query_as(
        "SELECT id, email::text AS email, expires_at FROM team_invites
         WHERE org_id = $1 AND accepted_at IS NULL AND expires_at > now() ORDER BY created_at",
    )
    .bind(by.org_id)
    .fetch_all(pool)
    .await?;
    let mut conn = pool.acquire().await?;
    let seats = billing::plan_of(&mut conn, by.org_id).await?.max_seats;
    Ok(Team {
        members,
        invites,
        seats,
    })
}

/// Seats taken: members plus open invitations. The caller holds the org row lock.
async fn seats_taken(conn: &mut PgConnection, org_id: Uuid) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM organisers WHERE org_id = $1)
              + (SELECT count(*) FROM team_invites WHERE org_id = $1 AND accepted_at IS NULL AND expires_at > now())",
    )
    .bind(org_id)
    .fetch_one(conn)
    .await?)
}

/// Invites `email` to the team (owners only); the plan's seats are enforced.
/// Re-inviting an address with an open or expired invitation renews it.
pub async fn invite(pool: &PgPool, by: &Organiser, email: &str) -> Result<Uuid> {
    let email = Email::parse(email)?;
    let mut tx = pool.begin().await?;
    require_owner(&mut tx, by).await?;
    sqlx::query("SELECT 1 FROM organisations WHERE id = $1 FOR UPDATE")
        .bind(by.org_id)
        .execute(&mut *tx)
        .await?;
    let taken: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM organisers WHERE email = $1::citext)")
            .bind(email.as_str())
            .fetch_one(&mut *tx)
            .await?;
    if taken {
        return Err(Error::Conflict(format!(
            "{} already has a Convene account",
            email.as_str()
        )));
    }
    // Drop this address's old invitation first so it does not count against the seats.
    sqlx::query("DELETE FROM team_invites WHERE org_id = $1 AND email = $2::citext")
        .bind(by.org_id)
        .bind(email.as_str())
        .execute(&mut *tx)
        .await?;
    let plan = billing::plan_of(&mut tx, by.org_id).await?;
    if let Some(max) = plan.max_seats {
        if seats_taken(&mut tx, by.org_id).await? >= i64::from(max) {
            return Err(Error::PlanLimit(format!(
                "your {} plan includes {max} team seat{}; upgrade at /checkout",
                plan.name,
                if max == 1 { "" } else { "s" }
            )));
        }
    }
    let id = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO team_invites (id, org_id, email, invited_by, expires_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(id)
    .bind(by.org_id)
    .bind(email.as_str())
    .bind(by.id)
    .bind(Utc::now() + INVITE_TTL)
    .execute(&mut *tx)
    .await?;
    jobs::enqueue(
        &mut tx,
        INVITE_EMAIL,
        serde_json::json!({ "invite_id": id }),
    )
    .await?;
    tx.commit().await?;
    tracing::info!(org = %by.org_id, invite = %id, "team invitation created");
    Ok(id)
}

/// An open invitation with a fresh token, made as its email is sent.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct InviteToSend {
    /// Single-use token for the accept link.
    #[sqlx(skip)]
    pub token: String,
    /// Invited address.
    pub email: String,
    /// Organisation name.
    pub org_name: String,
    /// Name of who invited.
    pub invited_by: Option<String>,
}

/// Gives the open invitation `id` a new token; None when it is no longer open.
pub async fn issue_invite_token(pool: &PgPool, id: Uuid) -> Result<Option<InviteToSend>> {
    let token = new_token();
    let row: Option<InviteToSend> = sqlx::query_as(
        "UPDATE team_invites i SET token_hash = $2
         FROM organisations o
         WHERE i.id = $1 AND i.accepted_at IS NULL AND i.expires_at > now() AND o.id = i.org_id
         RETURNING i.email::text AS email, o.name AS org_name,
                   (SELECT name FROM organisers WHERE id = i.invited_by) AS invited_by",
    )
    .bind(id)
    .bind(hash_token(&token))
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|r| InviteToSend { token, ..r }))
}

/// The organisation an invitation token is for (to show before accepting).
pub async fn invite_details(pool: &PgPool, token: &str) -> Result<(String, String)> {
    sqlx::query_as(
        "SELECT o.name, i.email::text FROM team_invites i JOIN organisations o ON o.id = i.org_id
         WHERE i.token_hash = $1 AND i.accepted_at IS NULL AND i.expires_at > now()",
    )
    .bind(hash_token(token))
    .fetch_optional(pool)
    .await?
    .ok_or_else(invalid_invite)
}

fn invalid_invite() -> Error {
    Error::Unauthorized("this invitation is invalid, expired or already used".into())
}

/// Accepts an invitation: creates the member's account and signs them in.
pub async fn accept(
    pool: &PgPool,
    token: &str,
    name: &str,
    password: &str,
) -> Result<(Organiser, String)> {
    let name = parse_name("name", name, 100)?;
    let password = Password::parse(password)?;
    let hash = hash_password(&password).await?;
    let mut tx = pool.begin().await?;
    let invite: Option<(Uuid, Uuid, String)> = sqlx::query_as(
        "UPDATE team_invites SET accepted_at = now(), token_hash = NULL
         WHERE token_hash = $1 AND accepted_at IS NULL AND expires_at > now()
         RETURNING id, org_id, email::text",
    )
    .bind(hash_token(token))
    .fetch_optional(&mut *tx)
    .await?;
    let (_, org_id, email) = invite.ok_or_else(invalid_invite)?;
    let organiser = Organiser {
        id: Uuid::new_v4(),
        org_id,
        email,
        name,
    };
    insert_organiser(&mut tx, &organiser, &hash, "member").await?;
    let session = insert_session(&mut tx, SessionKind::Organiser, organiser.id).await?;
    tx.commit().await?;
    tracing::info!(organiser = %organiser.id, org = %org_id, "team member joined");
    Ok((organiser, session))
}

/// Removes a member (owners only; owners cannot be removed). Their sessions end.
pub async fn remove_member(pool: &PgPool, by: &Organiser, member: Uuid) -> Result<()> {
    let mut tx = pool.begin().await?;
    require_owner(&mut tx, by).await?;
    let role: Option<String> =
        sqlx::query_scalar("SELECT role FROM organisers WHERE id = $1 AND org_id = $2")
            .bind(member)
            .bind(by.org_id)
            .fetch_optional(&mut *tx)
            .await?;
    match role.as_deref() {
        None => return Err(Error::not_found("no such team member")),
        Some("owner") => return Err(Error::Conflict("owners cannot be removed".into())),
        _ => {}
    }
    sqlx::query("DELETE FROM sessions WHERE kind = 'organiser' AND subject_id = $1")
        .bind(member)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM organisers WHERE id = $1")
        .bind(member)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// Revokes an open invitation (owners only), freeing its seat.
pub async fn revoke_invite(pool: &PgPool, by: &Organiser, invite: Uuid) -> Result<()> {
    let mut tx = pool.begin().await?;
    require_owner(&mut tx, by).await?;
    let gone = sqlx::query(
        "DELETE FROM team_invites WHERE id = $1 AND org_id = $2 AND accepted_at IS NULL",
    )
    .bind(invite)
    .bind(by.org_id)
    .execute(&mut *tx)
    .await?;
    if gone.rows_affected() == 0 {
        return Err(Error::not_found("no such invitation"));
    }
    tx.commit().await?;
    Ok(())
}
