//! Moderation (owner of `attendee_sanctions`): moderators mute attendees (for a
//! while, or until lifted) or ban them from the live event; organisers appoint
//! moderators. Sanctions are enforced on every post and at connect; each
//! action is a domain event.

use chrono::{DateTime, Duration, Utc};
use protocol::events::{AttendeeSanctioned, Fact, RoleChanged};
use protocol::ids::{AttendeeId, EventId};
use protocol::states::{AttendeeRole, SanctionKind};
use redis::aio::ConnectionManager;
use sqlx::PgPool;
use tracing::instrument;

use super::participants::Actor;
use crate::accounts::Organiser;
use crate::registrations::attendees;
use crate::{domain_events, events, ratelimit, Error, Result};

/// Chat messages and direct messages a sender may post: 10 per 10 seconds.
pub const POSTS_PER_SENDER: ratelimit::Limit = ratelimit::Limit {
    name: "chat:sender",
    max: 10,
    window_secs: 10,
};

/// The attendee's active sanction of `kind`: `Some(until)` (`until` None:
/// until lifted), or None when there is none.
pub async fn sanction_of(
    pool: &PgPool,
    event: EventId,
    attendee: AttendeeId,
    kind: SanctionKind,
) -> Result<Option<Option<DateTime<Utc>>>> {
    Ok(sqlx::query_scalar(
        "SELECT until FROM attendee_sanctions
         WHERE event_id = $1 AND attendee_id = $2 AND kind = $3 AND (until IS NULL OR until > now())",
    )
    .bind(event)
    .bind(attendee)
    .bind(kind)
    .fetch_optional(pool)
    .await?)
}

/// What a banned attendee is told, wherever they are turned away.
pub const BANNED: &str = "a moderator removed you from this event";

/// Someone let into the live event: the event and who they are in it.
#[derive(Debug, Clone)]
pub struct Admission {
    /// The event.
    pub event: events::Event,
    /// The attendee as an actor.
    pub actor: Actor,
}

/// Lets the attendee behind a session token into the live event `slug`: a
/// valid ticket for this event and no ban.
pub async fn admit(pool: &PgPool, slug: &str, token: Option<&str>) -> Result<Admission> {
    let event = events::get_public(pool, slug).await?;
    let attendee = attendees::from_session(pool, &event, token).await?;
    if is_banned(pool, event.id, attendee.id).await? {
        return Err(Error::Forbidden(BANNED.into()));
    }
    let actor = Actor::of(&event, &attendee);
    Ok(Admission { event, actor })
}

/// Whether the attendee is banned from the event.
pub async fn is_banned(pool: &PgPool, event: EventId, attendee: AttendeeId) -> Result<bool> {
    Ok(sanction_of(pool, event, attendee, SanctionKind::Ban)
        .await?
        .is_some())
}

/// Whether someone connected may stay in the live event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Standing {
    /// Still admitted and not banned.
    Present,
    /// Must leave; the message says why.
    Removed(String),
}

/// Checks again that `actor` may be in the live event (their ticket still
/// valid, not banned) and reloads their role (an organiser may have appointed
/// or removed them as moderator). Sockets run it before every request and on
/// every heartbeat, since rights change while people are connected.
pub async fn recheck(pool: &PgPool, actor: &mut Actor) -> Result<Standing> {
    let Some(role) = attendees::admitted_role(pool, actor.id).await? else {
        return Ok(Standing::Removed(
            "your ticket is no longer valid for this event".into(),
        ));
    };
    actor.role = role;
    if is_banned(pool, actor.event_id, actor.id).await? {
        return Ok(Standing::Removed(BANNED.into()));
    }
    Ok(Standing::Present)
}

/// Fails when a moderator has muted `by`: muted people may read but not
/// chat, send messages, ask, vote or upvote.
pub async fn ensure_not_muted(pool: &PgPool, by: &Actor) -> Result<()> {
    match sanction_of(pool, by.event_id, by.id, SanctionKind::Mute).await? {
        None => Ok(()),
        Some(until) => Err(Error::Forbidden(match until {
            Some(t) => format!("a moderator muted you until {}", t.format("%H:%M UTC")),
            None => "a moderator muted you".into(),
        })),
    }
}

/// Fails unless `by` may post now: not muted, and not too fast (Redis counter
/// under the deployment's namespace `ns`).
pub async fn may_post(
    pool: &PgPool,
    redis: &mut ConnectionManager,
    ns: &str,
    by: &Actor,
) -> Result<()> {
    ensure_not_muted(pool, by).await?;
    ratelimit::hit(redis, ns, &POSTS_PER_SENDER, &by.id.to_string())
        .await
        .map_err(|_| {
            Error::RateLimited("you are sending messages too fast; wait a few seconds".into())
        })
}

/// Mutes (for `minutes`, or until lifted) or bans an attendee (moderators only).
/// Returns the sanction's end.
#[instrument(skip(pool, by), fields(event = %by.event_id, by = %by.id))]
pub async fn sanction(
    pool: &PgPool,
    by: &Actor,
    target: AttendeeId,
    kind: SanctionKind,
    minutes: Option<u32>,
) -> Result<Option<DateTime<Utc>>> {
    by.require_moderator()?;
    if target == by.id {
        return Err(Error::invalid("you cannot sanction yourself"));
    }
    let target_role = attendees::in_event(pool, by.event_id, target)
        .await?
        .map(|a| a.role);
    match target_role {
        None => return Err(Error::not_found("no such attendee")),
        Some(AttendeeRole::Moderator) => {
            return Err(Error::Forbidden(
                "moderators cannot sanction each other".into(),
            ))
        }
        Some(AttendeeRole::Attendee) => {}
    }
    let until = minutes.map(|m| Utc::now() + Duration::minutes(i64::from(m.clamp(1, 10_080))));
    let mut tx = pool.begin().await?;
    sqlx::query(
        "INSERT INTO attendee_sanctions (event_id, attendee_id, kind, until, created_by) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (event_id, attendee_id, kind) DO UPDATE SET until = EXCLUDED.until, created_by = EXCLUDED.created_by, created_at = now()",
    )
    .bind(by.event_id)
    .bind(target)
    .bind(kind)
    .bind(until)
    .bind(by.id)
    .execute(&mut *tx)
    .await?;
    let fact = Fact::AttendeeSanctioned(AttendeeSanctioned {
        attendee_id: target,
        sanction: kind,
        until,
        by: by.id,
    });
    domain_events::record(&mut tx, by.scope(), fact).await?;
    tx.commit().await?;
    tracing::info!(event = %by.event_id, target = %target, %kind, "attendee sanctioned");
    Ok(until)
}

/// Makes an attendee of one of the organiser's events a moderator, or not.
/// Moderators are picked from the event's verified attendees (see
/// [`attendees::verified`]), never named by a typed email.
#[instrument(skip(pool, by), fields(org = %by.org_id))]
pub async fn set_moderator(
    pool: &PgPool,
    by: &Organiser,
    slug: &str,
    attendee: AttendeeId,
    moderator: bool,
) -> Result<()> {
    let event = events::get_for_org(pool, by, slug).await?;
    let role = if moderator {
        AttendeeRole::Moderator
    } else {
        AttendeeRole::Attendee
    };
    let mut tx = pool.begin().await?;
    attendees::set_role(&mut tx, event.id, attendee, role).await?;
    let fact = Fact::RoleChanged(RoleChanged {
        attendee_id: attendee,
        role,
        by: by.id,
    });
    domain_events::record(&mut tx, &event, fact).await?;
    tx.commit().await?;
    Ok(())
}
