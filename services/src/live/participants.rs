//! The attendee acting in the live event: who they are, in which event, and
//! whether they moderate it. Rights are checked here, on the server.

use protocol::events::{AreaVisit, DataPoints, Fact};
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

/// The shortest time between two data-point reports of one connection.
pub const REPORT_GAP: std::time::Duration = std::time::Duration::from_secs(1);

/// Slack for a report's times over the time since the previous one (the
/// page's clock and the server's start their intervals a network trip
/// apart): a tenth of the interval, 2 s at most, so that frequent reports
/// cannot add up to more than the time that passed.
fn report_slack_ms(since_last_ms: i64) -> i64 {
    (since_last_ms / 10).min(2_000)
}

/// What a page reported of its area (`ClientMsg::Seen`), before checking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    /// The area it reports on.
    pub area: Area,
    /// Video playing in the visible tab.
    pub watched_ms: u32,
    /// Tab hidden.
    pub hidden_ms: u32,
    /// Heights after each quality change.
    pub heights: Vec<u16>,
}

/// Checks a page's report against its connection: the area must be the one
/// the connection is in (`current`) and the report at least [`REPORT_GAP`]
/// after the previous one (`since_last` ago, or since entering the area);
/// its times together are cut to that time (and to `DataPoints::MAX_MS`),
/// watched time first. `None`: a report of nothing, not worth a fact.
pub fn data_points(
    by: &Actor,
    conn: ConnectionId,
    current: Area,
    seen: Seen,
    since_last: std::time::Duration,
) -> Result<Option<DataPoints>> {
    if seen.area != current {
        return Err(Error::invalid(
            "data points are for the area this connection is in",
        ));
    }
    if since_last < REPORT_GAP {
        return Err(Error::RateLimited(
            "data points come at most once a second".into(),
        ));
    }
    if seen.heights.len() > DataPoints::MAX_HEIGHTS
        || seen
            .heights
            .iter()
            .any(|h| *h == 0 || *h > DataPoints::MAX_HEIGHT)
    {
        return Err(Error::invalid(format!(
            "at most {} quality changes, each a height of 1 to {} pixels",
            DataPoints::MAX_HEIGHTS,
            DataPoints::MAX_HEIGHT
        )));
    }
    let since_last_ms = since_last.as_millis() as i64;
    let most = (since_last_ms + report_slack_ms(since_last_ms)).min(DataPoints::MAX_MS);
    let watched_ms = i64::from(seen.watched_ms).min(most);
    let hidden_ms = i64::from(seen.hidden_ms).min(most - watched_ms);
    if watched_ms == 0 && hidden_ms == 0 && seen.heights.is_empty() {
        return Ok(None);
    }
    Ok(Some(DataPoints {
        attendee_id: by.id,
        area: current,
        connection_id: conn,
        watched_ms,
        hidden_ms,
        heights: seen.heights,
    }))
}

/// Records a page's checked data points (a domain event).
pub async fn reported(pool: &PgPool, by: &Actor, points: DataPoints) -> Result<()> {
    let mut conn = pool.acquire().await?;
    domain_events::record(&mut conn, by.scope(), Fact::DataPoints(points)).await?;
    Ok(())
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn someone() -> Actor {
        Actor {
            id: AttendeeId::new(),
            event_id: EventId::new(),
            org_id: OrgId::new(),
            name: "Ada".into(),
            role: AttendeeRole::Attendee,
            avatar: None,
        }
    }

    fn seen(area: Area, watched_ms: u32, hidden_ms: u32, heights: Vec<u16>) -> Seen {
        Seen {
            area,
            watched_ms,
            hidden_ms,
            heights,
        }
    }

    #[test]
    fn a_report_claims_no_more_than_the_time_since_the_last_one() {
        let (me, conn) = (someone(), ConnectionId::new());
        let ten = Duration::from_secs(10);
        let p = data_points(
            &me,
            conn,
            Area::Reception,
            seen(Area::Reception, 30_000, 500, vec![]),
            ten,
        )
        .unwrap()
        .unwrap();
        // Ten seconds and a tenth: watched first, nothing left for hidden.
        assert_eq!((p.watched_ms, p.hidden_ms), (11_000, 0));
        let p = data_points(
            &me,
            conn,
            Area::Reception,
            seen(Area::Reception, 4_000, 30_000, vec![]),
            ten,
        )
        .unwrap()
        .unwrap();
        assert_eq!((p.watched_ms, p.hidden_ms), (4_000, 7_000));
        // A report a second after the last claims 1.1 s at most.
        let p = data_points(
            &me,
            conn,
            Area::Reception,
            seen(Area::Reception, 5_000, 0, vec![]),
            Duration::from_secs(1),
        )
        .unwrap()
        .unwrap();
        assert_eq!(p.watched_ms, 1_100);
        // An hour since the last: still a minute at most.
        let hour = Duration::from_secs(3600);
        let p = data_points(
            &me,
            conn,
            Area::Reception,
            seen(Area::Reception, u32::MAX, 0, vec![720]),
            hour,
        )
        .unwrap()
        .unwrap();
        assert_eq!((p.watched_ms, p.heights), (DataPoints::MAX_MS, vec![720]));
        // Nothing seen: no fact.
        let nothing = seen(Area::Reception, 0, 0, vec![]);
        assert_eq!(
            data_points(&me, conn, Area::Reception, nothing, ten).unwrap(),
            None
        );
    }

    #[test]
    fn a_report_of_another_area_too_soon_or_with_odd_heights_is_refused() {
        let (me, conn) = (someone(), ConnectionId::new());
        let ten = Duration::from_secs(10);
        let elsewhere = seen(Area::Networking, 1, 0, vec![]);
        assert!(matches!(
            data_points(&me, conn, Area::Reception, elsewhere, ten),
            Err(Error::Invalid(_))
        ));
        let soon = seen(Area::Reception, 1, 0, vec![]);
        assert!(matches!(
            data_points(&me, conn, Area::Reception, soon, Duration::from_millis(200)),
            Err(Error::RateLimited(_))
        ));
        for heights in [vec![0], vec![9000], vec![360; DataPoints::MAX_HEIGHTS + 1]] {
            let odd = seen(Area::Reception, 1, 0, heights);
            assert!(matches!(
                data_points(&me, conn, Area::Reception, odd, ten),
                Err(Error::Invalid(_))
            ));
        }
    }
}
