//! Replay (owner of `replay_progress`): the event's videos and recordings
//! that organisers published ([`crate::assets::set_replay`]), with chapters
//! and speakers from the agenda, and where each attendee left off.
//!
//! **Chapters.** A video that was on air on a stage (simulive, or a
//! recording of the stage) has an instant it started; every agenda session
//! of that stage that overlaps its length is a chapter, at the session's
//! start less the video's ([`chapters`]).
//!
//! **Watch time.** Players report while they play ([`report`]): the time
//! played since their last report and where they are. Each report moves the
//! attendee's resume position and adds a `replay.watched` fact to the
//! outbox in the same transaction, which analytics sums into watch time.

use chrono::{DateTime, Utc};
use protocol::events::{Fact, ReplayWatched};
use protocol::ids::{AssetId, AttendeeId};
use sqlx::PgPool;

use crate::assets::{self, Asset};
use crate::events::Event;
use crate::live::agenda;
use crate::{domain_events, Error, Result};

/// A chapter of a recording: an agenda session that was on air in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chapter {
    /// The agenda session's title.
    pub title: String,
    /// Its speakers.
    pub speakers: Vec<String>,
    /// Where it starts in the video, in milliseconds.
    pub at_ms: i64,
}

/// A published video as Replay lists it.
#[derive(Debug, Clone)]
pub struct Recording {
    /// The video.
    pub asset: Asset,
    /// The stage it was on air on.
    pub stage: Option<String>,
    /// The session it recorded.
    pub session: Option<String>,
    /// Its chapters, in order.
    pub chapters: Vec<Chapter>,
    /// Where the viewer left off (0 when new to them or finished).
    pub resume_ms: i64,
}

/// Everyone who speaks in `chapters`, each once, in chapter order.
pub fn speakers(chapters: &[Chapter]) -> Vec<String> {
    let mut all: Vec<String> = Vec::new();
    for name in chapters.iter().flat_map(|c| &c.speakers) {
        if !all.contains(name) {
            all.push(name.clone());
        }
    }
    all
}

/// The chapters of a video of `duration_ms` that went on air on a stage at
/// `aired_at`, from that stage's agenda `sessions` (any order).
pub fn chapters(
    sessions: &[agenda::Session],
    aired_at: DateTime<Utc>,
    duration_ms: i64,
) -> Vec<Chapter> {
    let ends = aired_at + chrono::Duration::milliseconds(duration_ms);
    let mut out: Vec<Chapter> = sessions
        .iter()
        .filter(|s| s.starts_at < ends && s.ends_at > aired_at)
        .map(|s| Chapter {
            title: s.title.clone(),
            speakers: s.speakers.clone(),
            at_ms: (s.starts_at - aired_at).num_milliseconds().max(0),
        })
        .collect();
    out.sort_by_key(|c| c.at_ms);
    out
}

/// Where a resume position is worth nothing: within this of the end, the
/// next visit starts from the beginning.
const FINISHED_WITHIN_MS: i64 = 5_000;

/// The recordings of `event` that `viewer` may watch: an attendee sees
/// those published to attendees and to the public; anyone else (None) the
/// public ones.
pub async fn list(
    pool: &PgPool,
    event: &Event,
    viewer: Option<AttendeeId>,
) -> Result<Vec<Recording>> {
    let published = assets::published(pool, event.id, viewer.is_none()).await?;
    if published.is_empty() {
        return Ok(Vec::new());
    }
    let agenda = agenda::sessions(pool, event.id).await?;
    let positions: Vec<(AssetId, i64)> = match viewer {
        Some(who) => {
            sqlx::query_as(
                "SELECT asset_id, position_ms FROM replay_progress
                 WHERE attendee_id = $1 AND asset_id = ANY($2)",
            )
            .bind(who)
            .bind(published.iter().map(|a| a.id).collect::<Vec<_>>())
            .fetch_all(pool)
            .await?
        }
        None => Vec::new(),
    };
    let stages = crate::live::stages::list(pool, event.id).await?;
    let sessions = crate::live::sessions::list(pool, event.id).await?;
    Ok(published
        .into_iter()
        .map(|asset| {
            let duration = asset.duration_ms.unwrap_or(0);
            // A session's recording: its agenda entry is its chapter.
            let session = asset
                .session_id
                .and_then(|id| sessions.iter().find(|s| s.id == id));
            let (stage, chapters) = match (asset.stage_id, asset.aired_at, session) {
                (None, Some(at), Some(session)) => {
                    let entry: Vec<agenda::Session> = agenda
                        .iter()
                        .filter(|s| Some(s.id) == session.agenda_session_id)
                        .cloned()
                        .collect();
                    (None, chapters(&entry, at, duration))
                }
                (Some(stage), Some(at), _) => {
                    let on_stage: Vec<agenda::Session> = agenda
                        .iter()
                        .filter(|s| s.stage_id == Some(stage))
                        .cloned()
                        .collect();
                    (
                        stages
                            .iter()
                            .find(|s| s.id == stage)
                            .map(|s| s.name.clone()),
                        chapters(&on_stage, at, duration),
                    )
                }
                _ => (None, Vec::new()),
            };
            let resume_ms = positions
                .iter()
                .find(|(id, _)| *id == asset.id)
                .map(|(_, at)| *at)
                .filter(|at| *at < duration - FINISHED_WITHIN_MS)
                .unwrap_or(0);
            Recording {
                asset,
                stage,
                session: session.map(|s| s.title.clone()),
                chapters,
                resume_ms,
            }
        })
        .collect())
}

/// One recording of `event` that `viewer` may watch.
pub async fn get(
    pool: &PgPool,
    event: &Event,
    viewer: Option<AttendeeId>,
    id: AssetId,
) -> Result<Recording> {
    list(pool, event, viewer)
        .await?
        .into_iter()
        .find(|r| r.asset.id == id)
        .ok_or_else(|| Error::not_found("no such recording in Replay"))
}

/// What a report may claim beyond the time since the previous one.
const REPORT_SLACK_MS: i64 = 5_000;

/// Takes a player's report: attendee `who` played `watched_ms` of replay
/// `asset` since their last report and is at `position_ms`. Moves their
/// resume position and records `replay.watched` in one transaction.
pub async fn report(
    pool: &PgPool,
    event: &Event,
    who: AttendeeId,
    asset: AssetId,
    position_ms: i64,
    watched_ms: i64,
) -> Result<()> {
    let recording = get(pool, event, Some(who), asset).await?;
    let duration = recording.asset.duration_ms.unwrap_or(0);
    if position_ms < 0 || watched_ms < 0 {
        return Err(Error::invalid("positions and times cannot be negative"));
    }
    let position_ms = position_ms.min(duration);
    let mut tx = pool.begin().await?;
    // No more than the time since the previous report (and a little for
    // the network): a player cannot claim an hour in a minute.
    let since_last: Option<i64> = sqlx::query_scalar(
        "SELECT (extract(epoch FROM now() - updated_at) * 1000)::bigint FROM replay_progress
         WHERE asset_id = $1 AND attendee_id = $2 FOR UPDATE",
    )
    .bind(asset)
    .bind(who)
    .fetch_optional(&mut *tx)
    .await?;
    let watched_ms = watched_ms
        .min(ReplayWatched::MAX_MS)
        .min(since_last.map_or(i64::MAX, |ms| ms + REPORT_SLACK_MS));
    sqlx::query(
        "INSERT INTO replay_progress (asset_id, attendee_id, position_ms, watched_ms)
         VALUES ($1, $2, $3, $4)
         ON CONFLICT (asset_id, attendee_id) DO UPDATE
         SET position_ms = $3, watched_ms = replay_progress.watched_ms + $4, updated_at = now()",
    )
    .bind(asset)
    .bind(who)
    .bind(position_ms)
    .bind(watched_ms)
    .execute(&mut *tx)
    .await?;
    if watched_ms > 0 {
        domain_events::record(
            &mut tx,
            event,
            Fact::ReplayWatched(ReplayWatched {
                attendee_id: who,
                asset_id: asset,
                watched_ms,
                position_ms,
            }),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Total time `who` spent playing `asset`, in milliseconds.
pub async fn watched(pool: &PgPool, asset: AssetId, who: AttendeeId) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT coalesce(sum(watched_ms), 0)::bigint FROM replay_progress WHERE asset_id = $1 AND attendee_id = $2",
    )
    .bind(asset)
    .bind(who)
    .fetch_one(pool)
    .await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::ids::AgendaSessionId;

    fn session(title: &str, from_min: i64, to_min: i64, at: DateTime<Utc>) -> agenda::Session {
        agenda::Session {
            id: AgendaSessionId::new(),
            title: title.into(),
            description: String::new(),
            starts_at: at + chrono::Duration::minutes(from_min),
            ends_at: at + chrono::Duration::minutes(to_min),
            stage_id: None,
            stage_name: None,
            speakers: vec![format!("{title} speaker")],
        }
    }

    #[test]
    fn chapters_are_the_sessions_on_air_at_their_offsets() {
        let aired: DateTime<Utc> = "2027-05-01T09:00:00Z".parse().unwrap();
        let sessions = [
            session("Closing", 50, 70, aired),
            session("Before", -30, -5, aired),
            session("Welcome", -5, 10, aired),
            session("Keynote", 10, 50, aired),
            session("After", 60, 90, aired),
        ];
        // An hour of video: "After" starts at its very end, so it is out.
        let got = chapters(&sessions, aired, 60 * 60_000);
        let titles: Vec<(&str, i64)> = got.iter().map(|c| (c.title.as_str(), c.at_ms)).collect();
        assert_eq!(
            titles,
            [("Welcome", 0), ("Keynote", 600_000), ("Closing", 3_000_000)]
        );
    }

    #[test]
    fn speakers_are_listed_once_in_order() {
        let chapter = |t: &str, who: &[&str]| Chapter {
            title: t.into(),
            speakers: who.iter().map(|s| s.to_string()).collect(),
            at_ms: 0,
        };
        let chapters = [chapter("a", &["Ada", "Bo"]), chapter("b", &["Bo", "Cy"])];
        assert_eq!(speakers(&chapters), ["Ada", "Bo", "Cy"]);
    }
}
