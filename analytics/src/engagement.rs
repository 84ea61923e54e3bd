//! Engagement: what attendees did besides being somewhere. Chat messages,
//! poll voters and questions per area, networking meetings and connections
//! (`analytics.interactions`, one row per thing counted), and watch time as
//! attendees' pages and replay players reported it (`analytics.watching`).
//!
//! Every write is idempotent. An interaction is keyed by what it counts
//! (a message, a poll and its voter, a meeting), so a redelivered fact, a
//! changed vote or a connection told twice (both pressed Connect at once)
//! counts once; a watch report is keyed by its message.

use protocol::events::{DataPoints, Envelope, Fact, ReplayWatched};
use protocol::ids::{AttendeeId, EventId};
use protocol::Area;
use sqlx::{PgConnection, PgPool};

use crate::Result;

/// The area replay watch time counts in.
pub const REPLAY: &str = "replay";

/// The area networking meetings and connections count in.
fn networking() -> String {
    Area::Networking.to_string()
}

/// The interaction row a fact becomes: kind, key, area and attendee.
fn interaction(fact: &Fact) -> Option<(&'static str, String, String, AttendeeId)> {
    Some(match fact {
        Fact::MessagePosted(f) => (
            "message",
            f.message_id.to_string(),
            Area::from(f.channel).to_string(),
            f.author_id,
        ),
        Fact::PollVoted(f) => (
            "vote",
            format!("{}:{}", f.poll_id, f.attendee_id),
            Area::from(f.channel).to_string(),
            f.attendee_id,
        ),
        Fact::QuestionAsked(f) => (
            "question",
            f.question_id.to_string(),
            Area::from(f.channel).to_string(),
            f.attendee_id,
        ),
        Fact::Met(m) => (
            "meeting",
            m.meeting_id.to_string(),
            networking(),
            m.first_id,
        ),
        Fact::Connected(m) => (
            "connection",
            m.meeting_id.to_string(),
            networking(),
            m.first_id,
        ),
        _ => return None,
    })
}

/// A watch report's row: attendee, area, watched, hidden, quality changes
/// and the lowest height played.
fn watch(fact: &Fact) -> Option<(AttendeeId, String, i64, i64, i32, Option<i32>)> {
    match fact {
        Fact::DataPoints(DataPoints {
            attendee_id,
            area,
            watched_ms,
            hidden_ms,
            heights,
            ..
        }) => Some((
            *attendee_id,
            area.to_string(),
            (*watched_ms).clamp(0, DataPoints::MAX_MS),
            (*hidden_ms).clamp(0, DataPoints::MAX_MS),
            heights.len().min(DataPoints::MAX_HEIGHTS) as i32,
            heights.iter().min().map(|h| i32::from(*h)),
        )),
        Fact::ReplayWatched(r) => Some((
            r.attendee_id,
            REPLAY.to_owned(),
            r.watched_ms.clamp(0, ReplayWatched::MAX_MS),
            0,
            0,
            None,
        )),
        _ => None,
    }
}

/// Applies one fact; facts of other kinds change nothing.
pub async fn apply(conn: &mut PgConnection, env: &Envelope) -> Result<()> {
    if let Some((kind, key, area, attendee)) = interaction(&env.fact) {
        sqlx::query(
            "INSERT INTO analytics.interactions (kind, key, event_id, area, attendee_id, occurred_at)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
        )
        .bind(kind)
        .bind(key)
        .bind(env.event_id)
        .bind(area)
        .bind(attendee)
        .bind(env.occurred_at)
        .execute(&mut *conn)
        .await?;
    }
    if let Some((attendee, area, watched, hidden, changes, lowest)) = watch(&env.fact) {
        sqlx::query(
            "INSERT INTO analytics.watching
                (message_id, event_id, attendee_id, area, watched_ms, hidden_ms, quality_changes, lowest_height, occurred_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING",
        )
        .bind(env.id)
        .bind(env.event_id)
        .bind(attendee)
        .bind(area)
        .bind(watched)
        .bind(hidden)
        .bind(changes)
        .bind(lowest)
        .bind(env.occurred_at)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// What attendees did in one area of an event.
#[derive(Debug, Clone, PartialEq, Eq, Default, sqlx::FromRow)]
pub struct AreaEngagement {
    /// The area (`stage:<id>`, `session:<id>`, `reception`, `networking`,
    /// `replay`).
    pub area: String,
    /// Chat messages posted there.
    pub messages: i64,
    /// Votes in its polls (a voter once per poll).
    pub votes: i64,
    /// Questions asked there.
    pub questions: i64,
    /// Networking meetings (in `networking`).
    pub meetings: i64,
    /// Meetings after which both exchanged cards (in `networking`).
    pub connections: i64,
    /// Attendees whose video played there.
    pub watchers: i64,
    /// Time videos played there, all attendees together, in whole seconds.
    pub watched_seconds: i64,
    /// Times the picture's quality changed.
    pub quality_changes: i64,
    /// The lowest picture height anyone played (none: nobody reported one).
    pub lowest_height: Option<i32>,
}

impl AreaEngagement {
    /// Average watch time per attendee who watched, in whole seconds.
    pub fn average_watch_seconds(&self) -> i64 {
        if self.watchers == 0 {
            0
        } else {
            self.watched_seconds / self.watchers
        }
    }
}

/// Every area of `event` where something was done or watched, by area name.
pub async fn per_area(pool: &PgPool, event: EventId) -> Result<Vec<AreaEngagement>> {
    Ok(sqlx::query_as(
        "WITH i AS (
            SELECT area,
                   count(*) FILTER (WHERE kind = 'message') AS messages,
                   count(*) FILTER (WHERE kind = 'vote') AS votes,
                   count(*) FILTER (WHERE kind = 'question') AS questions,
                   count(*) FILTER (WHERE kind = 'meeting') AS meetings,
                   count(*) FILTER (WHERE kind = 'connection') AS connections
            FROM analytics.interactions WHERE event_id = $1 GROUP BY area
         ), w AS (
            SELECT area,
                   count(DISTINCT attendee_id) FILTER (WHERE watched_ms > 0) AS watchers,
                   div(sum(watched_ms), 1000)::bigint AS watched_seconds,
                   sum(quality_changes)::bigint AS quality_changes,
                   min(lowest_height) AS lowest_height
            FROM analytics.watching WHERE event_id = $1 GROUP BY area
         )
         SELECT coalesce(i.area, w.area) AS area,
                coalesce(messages, 0) AS messages, coalesce(votes, 0) AS votes,
                coalesce(questions, 0) AS questions, coalesce(meetings, 0) AS meetings,
                coalesce(connections, 0) AS connections, coalesce(watchers, 0) AS watchers,
                coalesce(watched_seconds, 0) AS watched_seconds,
                coalesce(quality_changes, 0) AS quality_changes, lowest_height
         FROM i FULL JOIN w ON i.area = w.area
         ORDER BY 1",
    )
    .bind(event)
    .fetch_all(pool)
    .await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::events::{Meeting, PollVoted};
    use protocol::ids::{ConnectionId, MeetingId, PollId, StageId};
    use protocol::Channel;

    #[test]
    fn a_voter_counts_once_per_poll_and_a_meeting_once_per_kind() {
        let (poll, who) = (PollId::new(), AttendeeId::new());
        let stage = StageId::new();
        let vote = Fact::PollVoted(PollVoted {
            poll_id: poll,
            channel: Channel::Stage(stage),
            attendee_id: who,
        });
        let (kind, key, area, _) = interaction(&vote).unwrap();
        assert_eq!((kind, key), ("vote", format!("{poll}:{who}")));
        assert_eq!(area, format!("stage:{stage}"));
        let pair = Meeting {
            meeting_id: MeetingId::new(),
            first_id: who,
            second_id: AttendeeId::new(),
        };
        let met = interaction(&Fact::Met(pair.clone())).unwrap();
        let connected = interaction(&Fact::Connected(pair)).unwrap();
        assert_eq!(met.1, connected.1, "one meeting");
        assert_ne!(met.0, connected.0, "two kinds");
        assert_eq!(met.2, "networking");
    }

    #[test]
    fn a_report_that_claims_too_much_is_cut() {
        let seen = Fact::DataPoints(DataPoints {
            attendee_id: AttendeeId::new(),
            area: Area::Reception,
            connection_id: ConnectionId::new(),
            watched_ms: 10 * DataPoints::MAX_MS,
            hidden_ms: -5,
            heights: vec![720, 360, 1080],
        });
        let (_, area, watched, hidden, changes, lowest) = watch(&seen).unwrap();
        assert_eq!(area, "reception");
        assert_eq!((watched, hidden), (DataPoints::MAX_MS, 0));
        assert_eq!((changes, lowest), (3, Some(360)));
    }
}
