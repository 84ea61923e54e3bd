//! The attendee acting in the live event: who they are, in which event, and
//! whether they moderate it. Rights are checked here, on the server.

use protocol::events::{AreaVisit, Fact};
use protocol::ids::{AttendeeId, ConnectionId, EventId, OrgId};
use protocol::live::Person;
use protocol::states::AttendeeRole;
use protocol::Area;
use sqlx::PgPool;

use crate::domain_events::{self, Scope};
use crate::events::Event;
use crate::registrations::attendees::{self, Attendee};
use crate::{Error, Result};

/// An attendee acting in the live event.
#[derive(Debug, Clone)]
pub struct Actor {
    /// Attendee id.
    pub id: AttendeeId,
    /// Their event.
    pub event_id: EventId,
    /// The event's organisation.
    pub org_id: OrgId,
    /// Name.
    pub name: String,
    /// Attendee or moderator.
    pub role: AttendeeRole,
    /// Version of their photo, if any.
    pub avatar: Option<i64>,
}

impl Actor {
    /// The actor of an attendee of `event`.
    pub fn of(event: &Event, attendee: &Attendee) -> Self {
        Actor {
            id: attendee.id,
            event_id: event.id,
            org_id: event.org_id,
            name: attendee.name.clone(),
            role: attendee.role,
            avatar: attendee.avatar,
        }
    }

    /// May moderate (delete, mute, ban, run polls and Q&A).
    pub fn moderator(&self) -> bool {
        self.role == AttendeeRole::Moderator
    }

    /// Fails with `Forbidden` unless the actor moderates.
    pub fn require_moderator(&self) -> Result<()> {
        if self.moderator() {
            Ok(())
        } else {
            Err(Error::Forbidden("only moderators can do this".into()))
        }
    }

    /// Where the actor's facts happen.
    pub fn scope(&self) -> Scope {
        Scope {
            org_id: self.org_id,
            event_id: self.event_id,
        }
    }

    /// The actor as others see them.
    pub fn person(&self) -> Person {
        Person {
            id: self.id,
            name: self.name.clone(),
            avatar: self.avatar,
        }
    }
}

/// Someone in the event's people list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Participant {
    /// Who.
    pub person: Person,
    /// Attendee or moderator.
    pub role: AttendeeRole,
}

/// How many people one page of the people list holds.
pub const PEOPLE_PAGE: i64 = 100;

/// A page of the event's people (attendees with a confirmed ticket) by
/// name, matching `search`, after `after`: the list is never sent whole.
pub async fn people(
    pool: &PgPool,
    event: EventId,
    search: Option<&str>,
    after: Option<AttendeeId>,
) -> Result<Vec<Participant>> {
    Ok(attendees::admitted(pool, event, search, after, PEOPLE_PAGE)
        .await?
        .into_iter()
        .map(|a| Participant {
            person: Person {
                id: a.id,
                name: a.name,
                avatar: a.avatar,
            },
            role: a.role,
        })
        .collect())
}

/// Records that the actor's connection `conn` entered `area` (a domain event).
pub async fn entered(pool: &PgPool, by: &Actor, area: Area, conn: ConnectionId) -> Result<()> {
    visit(pool, by, area, conn, Fact::AttendeeEnteredArea).await
}

/// Records that the actor's connection `conn` left `area` (a domain event).
pub async fn left(pool: &PgPool, by: &Actor, area: Area, conn: ConnectionId) -> Result<()> {
    visit(pool, by, area, conn, Fact::AttendeeLeftArea).await
}

/// Records that the actor's connection `conn` is still open in `area` (the
/// heartbeat analytics ends a visit by when no leave comes).
pub async fn still_in(pool: &PgPool, by: &Actor, area: Area, conn: ConnectionId) -> Result<()> {
    visit(pool, by, area, conn, Fact::AttendeeStillInArea).await
}

async fn visit(
    pool: &PgPool,
    by: &Actor,
    area: Area,
    conn: ConnectionId,
    fact: fn(AreaVisit) -> Fact,
) -> Result<()> {
    let fact = fact(AreaVisit {
        attendee_id: by.id,
        area,
        connection_id: conn,
    });
    let mut conn = pool.acquire().await?;
    domain_events::record(&mut conn, by.scope(), fact).await?;
    Ok(())
}
