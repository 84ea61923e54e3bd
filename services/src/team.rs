//! Team (owner of `team_invites`): the organisers of an organisation. Owners
//! invite people by email; an invitation takes a seat of the plan until it is
//! accepted, revoked or expires. Invitation tokens are made when the email is
//! sent and only their hash is stored.

use chrono::{DateTime, Duration, Utc};
use protocol::ids::{InviteId, OrganiserId};
use protocol::states::{OrganiserRole, SessionKind};
use sqlx::{PgConnection, PgPool};
use tracing::instrument;

use crate::accounts::{organisers, orgs, passwords, sessions, Organiser, SignedIn};
use crate::billing::plans;
use crate::domain::{parse_name, Email, Password};
use crate::jobs::{self, TeamInviteEmail};
use crate::tokens::{hash_token, new_token};
use crate::{Error, Result};

/// How long an invitation stays valid.
pub const INVITE_TTL: Duration = Duration::days(7);

/// An open invitation.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Invite {
    /// Id.
    pub id: InviteId,
    /// Invited address.
    pub email: String,
    /// Valid until.
    pub expires_at: DateTime<Utc>,
}

/// The team and its seats.
#[derive(Debug, Clone)]
pub struct Team {
    /// Members, owners first.
    pub members: Vec<Organiser>,
    /// Open invitations.
    pub invites: Vec<Invite>,
    /// Seats of the plan (None = unlimited).
    pub seats: Option<i32>,
}

/// The organiser's team.
pub async fn team(pool: &PgPool, by: &Organiser) -> Result<Team> {
    let members = organisers::of_org(pool, by.org_id).await?;
    let invites = sqlx::query_as(
        "SELECT id, email::text AS email, expires_at FROM team_invites
         WHERE org_id = $1 AND accepted_at IS NULL AND expires_at > now() ORDER BY created_at",
    )
    .bind(by.org_id)
    .fetch_all(pool)
    .await?;
    let mut conn = pool.acquire().await?;
    let seats = plans::of_org(&mut conn, by.org_id).await?.max_seats;
    Ok(Team {
        members,
        invites,
        seats,
    })
}

/// Seats taken: members plus open invitations. The caller holds the org row lock.
async fn seats_taken(conn: &mut PgConnection, by: &Organiser) -> Result<i64> {
    let invites: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM team_invites WHERE org_id = $1 AND accepted_at IS NULL AND expires_at > now()",
    )
    .bind(by.org_id)
    .fetch_one(&mut *conn)
    .await?;
    Ok(organisers::count(conn, by.org_id).await? + invites)
}

/// Invites `email` to the team (owners only); the plan's seats are enforced.
/// Re-inviting an address with an open or expired invitation renews it.
#[instrument(skip(pool, by, email), fields(org = %by.org_id))]
pub async fn invite(pool: &PgPool, by: &Organiser, email: &str) -> Result<InviteId> {
    let email = Email::parse(email)?;
    by.require_owner()?;
    let mut tx = pool.begin().await?;
    orgs::lock(&mut tx, by.org_id).await?;
    if organisers::email_taken(&mut tx, &email).await? {
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
    let plan = plans::of_org(&mut tx, by.org_id).await?;
    plan.check_new_seat(seats_taken(&mut tx, by).await?)?;
    let id = InviteId::new();
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
    jobs::enqueue(&mut tx, &TeamInviteEmail { invite_id: id }).await?;
    tx.commit().await?;
    tracing::info!(org = %by.org_id, invite = %id, "team invitation created");
    Ok(id)
}

/// An open invitation with a fresh token, made as its email is sent.
#[derive(Debug, Clone)]
pub struct InviteToSend {
    /// Single-use token for the accept link.
    pub token: String,
    /// Invited address.
    pub email: String,
    /// Organisation name.
    pub org_name: String,
    /// Name of who invited.
    pub invited_by: Option<String>,
}

/// Gives the open invitation `id` a new token; None when it is no longer open.
pub async fn issue_invite_token(pool: &PgPool, id: InviteId) -> Result<Option<InviteToSend>> {
    let token = new_token();
    let mut tx = pool.begin().await?;
    #[derive(sqlx::FromRow)]
    struct Open {
        email: String,
        org_id: protocol::ids::OrgId,
        invited_by: Option<OrganiserId>,
    }
    let row: Option<Open> = sqlx::query_as(
        "UPDATE team_invites SET token_hash = $2
         WHERE id = $1 AND accepted_at IS NULL AND expires_at > now()
         RETURNING email::text, org_id, invited_by",
    )
    .bind(id)
    .bind(hash_token(&token))
    .fetch_optional(&mut *tx)
    .await?;
    let Some(Open {
        email,
        org_id,
        invited_by,
    }) = row
    else {
        return Ok(None);
    };
    let org_name = orgs::name(&mut tx, org_id).await?;
    let invited_by = match invited_by {
        Some(o) => organisers::name(&mut tx, o).await?,
        None => None,
    };
    tx.commit().await?;
    Ok(Some(InviteToSend {
        token,
        email,
        org_name,
        invited_by,
    }))
}

/// What an invitation link is for, shown before accepting.
#[derive(Debug, Clone)]
pub struct InviteDetails {
    /// The organisation's name.
    pub org_name: String,
    /// The invited address.
    pub email: String,
}

/// The organisation an invitation token is for (to show before accepting).
pub async fn invite_details(pool: &PgPool, token: &str) -> Result<InviteDetails> {
    let mut conn = pool.acquire().await?;
    let row: (protocol::ids::OrgId, String) = sqlx::query_as(
        "SELECT org_id, email::text FROM team_invites
         WHERE token_hash = $1 AND accepted_at IS NULL AND expires_at > now()",
    )
    .bind(hash_token(token))
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(invalid_invite)?;
    Ok(InviteDetails {
        org_name: orgs::name(&mut conn, row.0).await?,
        email: row.1,
    })
}

fn invalid_invite() -> Error {
    Error::Unauthorized("this invitation is invalid, expired or already used".into())
}

/// Accepts an invitation: creates the member's account and signs them in.
#[instrument(skip_all)]
pub async fn accept(
    pool: &PgPool,
    token: &str,
    name: &str,
    password: &str,
) -> Result<SignedIn<Organiser>> {
    let name = parse_name("name", name, 100)?;
    let password = Password::parse(password)?;
    // A wrong token costs one query, not a hash (hashing is the scarce resource).
    let open: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM team_invites
         WHERE token_hash = $1 AND accepted_at IS NULL AND expires_at > now())",
    )
    .bind(hash_token(token))
    .fetch_one(pool)
    .await?;
    if !open {
        return Err(invalid_invite());
    }
    let hash = passwords::hash(&password).await?;
    let mut tx = pool.begin().await?;
    let invite: Option<(protocol::ids::OrgId, String)> = sqlx::query_as(
        "UPDATE team_invites SET accepted_at = now(), token_hash = NULL
         WHERE token_hash = $1 AND accepted_at IS NULL AND expires_at > now()
         RETURNING org_id, email::text",
    )
    .bind(hash_token(token))
    .fetch_optional(&mut *tx)
    .await?;
    let (org_id, email) = invite.ok_or_else(invalid_invite)?;
    let organiser = Organiser {
        id: OrganiserId::new(),
        org_id,
        email,
        name,
        role: OrganiserRole::Member,
    };
    organisers::insert(&mut tx, &organiser, &hash).await?;
    let session = sessions::insert(&mut tx, SessionKind::Organiser, organiser.id.uuid()).await?;
    tx.commit().await?;
    tracing::info!(organiser = %organiser.id, org = %org_id, "team member joined");
    Ok(SignedIn {
        who: organiser,
        token: session,
    })
}

/// Removes a member (owners only; owners cannot be removed). Their sessions end.
#[instrument(skip(pool, by), fields(org = %by.org_id))]
pub async fn remove_member(pool: &PgPool, by: &Organiser, member: OrganiserId) -> Result<()> {
    by.require_owner()?;
    let mut tx = pool.begin().await?;
    let email = organisers::remove_member(&mut tx, by.org_id, member).await?;
    // Their host rights in the organisation's events go with them.
    let events: Vec<_> = crate::events::list_for_org(pool, by.org_id)
        .await?
        .into_iter()
        .map(|e| e.id)
        .collect();
    crate::registrations::attendees::revoke_hosts(&mut tx, &events, &email).await?;
    tx.commit().await?;
    Ok(())
}

/// Revokes an open invitation (owners only), freeing its seat.
#[instrument(skip(pool, by), fields(org = %by.org_id))]
pub async fn revoke_invite(pool: &PgPool, by: &Organiser, invite: InviteId) -> Result<()> {
    by.require_owner()?;
    let gone = sqlx::query(
        "DELETE FROM team_invites WHERE id = $1 AND org_id = $2 AND accepted_at IS NULL",
    )
    .bind(invite)
    .bind(by.org_id)
    .execute(pool)
    .await?;
    if gone.rows_affected() == 0 {
        return Err(Error::not_found("no such invitation"));
    }
    Ok(())
}
