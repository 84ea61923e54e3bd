//! What a recording token names: a stage's broadcast
//! ([`super::stages::recording`]) or a session's recording
//! ([`super::sessions::recording`]). Media nodes hand parts over under it
//! without saying which; this finds out and says what the part is.

use chrono::{DateTime, Utc};
use protocol::ids::AssetId;
use sqlx::PgPool;

use crate::assets::{NewRecording, RecordingOf};
use crate::{events, Result};

/// The part `part` of recording `id`, titled for organisers and Replay
/// ("<stage or session> · <when the recording started, in the event's
/// zone>"), on air from `started` (when the media node says the part
/// started; a later part starts after the recording did). None: no
/// broadcast or session named such a recording.
pub async fn part(
    pool: &PgPool,
    id: AssetId,
    part: AssetId,
    started: Option<DateTime<Utc>>,
) -> Result<Option<NewRecording>> {
    let (event, of, name, at) = match super::stages::recording(pool, id).await? {
        Some(r) => (
            r.event_id,
            RecordingOf::Stage(r.stage_id),
            r.stage_name,
            r.live_at,
        ),
        None => match super::sessions::recording(pool, id).await? {
            Some(r) => (
                r.event_id,
                RecordingOf::Session(r.session_id),
                r.session_title,
                r.started_at,
            ),
            None => return Ok(None),
        },
    };
    let zone = events::get(pool, event).await?.time_zone;
    Ok(Some(NewRecording {
        id: part,
        recording: id,
        event,
        of,
        title: format!("{name} · {}", crate::time::local_time(at, &zone)),
        live_at: part_start(at, started, Utc::now()),
    }))
}

/// When a part of a recording that started `at` went on air: when the media
/// node says it started, unless that is before the recording or after
/// `now` (a node whose clock is off by more than a minute).
pub fn part_start(
    at: DateTime<Utc>,
    started: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> DateTime<Utc> {
    let slack = chrono::Duration::minutes(1);
    match started {
        Some(s) if s + slack >= at && s <= now + slack => s.max(at),
        _ => at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_part_starts_when_the_node_says_within_reason() {
        let at = DateTime::parse_from_rfc3339("2027-05-03T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let now = at + chrono::Duration::hours(2);
        let later = at + chrono::Duration::minutes(40);
        assert_eq!(part_start(at, Some(later), now), later);
        assert_eq!(part_start(at, None, now), at);
        // A little early (clocks apart): the recording's start.
        assert_eq!(
            part_start(at, Some(at - chrono::Duration::seconds(20)), now),
            at
        );
        // Far off either way: not believed.
        assert_eq!(
            part_start(at, Some(at - chrono::Duration::hours(3)), now),
            at
        );
        assert_eq!(
            part_start(at, Some(now + chrono::Duration::hours(3)), now),
            at
        );
    }
}
