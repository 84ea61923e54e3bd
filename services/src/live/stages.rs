//! Stages (owner of `stages`): each plays a stream source (an HLS URL, an
//! embeddable player URL, one of the event's videos as simulive, see
//! [`protocol::simulive`], or a broadcast from its backstage) and has its
//! own channel for chat, polls, Q&A and captions.
//!
//! A broadcast: the stage's backstage is a video session only its hosts
//! (the speakers) enter ([`super::sessions::create_backstage`]). They choose
//! who is on air and the layout, go live and end ([`broadcast`]); the
//! state goes off → live → ended (and live again for a second part). The
//! audience watches those on air in the backstage's media room, receiving
//! nothing else.

use chrono::{DateTime, Utc};
use protocol::ids::{AssetId, AttendeeId, EventId, StageId, VideoSessionId};
use protocol::states::{StageLayout, StageLive, StageSourceKind};
use protocol::Channel;
use sqlx::PgPool;
use tracing::instrument;

use crate::accounts::Organiser;
use crate::error::parse_state;
use crate::{events, Error, Result};

/// A stage.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Stage {
    /// Id.
    pub id: StageId,
    /// Name.
    pub name: String,
    /// What it plays.
    pub source_kind: StageSourceKind,
    /// Stream or player URL (empty for none and simulive).
    pub source_url: String,
    /// The video a simulive stage plays.
    pub source_asset: Option<AssetId>,
    /// When its simulive video starts.
    pub starts_at: Option<DateTime<Utc>>,
    /// Its backstage (a video session), once it was given one; it stays
    /// when the stage plays something else.
    pub backstage: Option<VideoSessionId>,
    /// Where its broadcast from the backstage stands.
    pub live_state: StageLive,
    /// Who the audience sees, in the layout's order.
    pub on_air: Vec<AttendeeId>,
    /// How they are laid out.
    pub layout: StageLayout,
    /// When it last went live.
    pub live_at: Option<DateTime<Utc>>,
    /// When that broadcast ended.
    pub live_ended_at: Option<DateTime<Utc>>,
    /// The recording of its latest broadcast (the id its media asset takes).
    pub live_recording: Option<AssetId>,
}

impl Stage {
    /// Its backstage, when it broadcasts from there (its source is
    /// "backstage"; a backstage kept from an earlier source does not count).
    pub fn broadcasting_from(&self) -> Option<VideoSessionId> {
        self.backstage
            .filter(|_| self.source_kind == StageSourceKind::Backstage)
    }

    /// Whether its audience watches a broadcast now.
    pub fn on_air_now(&self) -> bool {
        self.broadcasting_from().is_some() && self.live_state == StageLive::Live
    }
}

const COLUMNS: &str = "id, name, source_kind, source_url, source_asset, starts_at, backstage, live_state, on_air, layout, live_at, live_ended_at, live_recording";

/// Most people on air at once.
pub const MAX_ON_AIR: usize = 9;

/// Checks a stream source: none needs no URL; HLS and embeds need an http(s) URL.
pub fn parse_source(kind: &str, url: &str) -> Result<(StageSourceKind, String)> {
    let url = url.trim();
    let kind: StageSourceKind = parse_state(kind, "source must be hls, embed, backstage or none")?;
    match kind {
        StageSourceKind::None | StageSourceKind::Backstage => Ok((kind, String::new())),
        StageSourceKind::Simulive => Err(Error::invalid(
            "to play one of the event's videos, choose it under Simulive",
        )),
        StageSourceKind::Hls | StageSourceKind::Embed => {
            if !(url.starts_with("https://") || url.starts_with("http://"))
                || url.len() > 1000
                || url.contains(char::is_whitespace)
            {
                return Err(Error::invalid(
                    "the stream URL must start with https:// (or http://)",
                ));
            }
            Ok((kind, url.into()))
        }
    }
}

/// Adds a stage to one of the organiser's events.
#[instrument(skip(pool, by, url), fields(org = %by.org_id))]
pub async fn create(
    pool: &PgPool,
    by: &Organiser,
    slug: &str,
    name: &str,
    kind: &str,
    url: &str,
) -> Result<Stage> {
    let event = events::get_for_org(pool, by, slug).await?;
    let name = crate::domain::parse_name("stage name", name, 100)?;
    let (kind, url) = parse_source(kind, url)?;
    let mut tx = pool.begin().await?;
    let backstage = match kind {
        StageSourceKind::Backstage => {
            Some(super::sessions::create_backstage(&mut tx, event.id, &name).await?)
        }
        _ => None,
    };
    let stage = sqlx::query_as(&format!(
        "INSERT INTO stages (id, event_id, name, source_kind, source_url, backstage, position)
         VALUES ($1, $2, $3, $4, $5, $6, (SELECT coalesce(max(position), 0) + 1 FROM stages WHERE event_id = $2))
         RETURNING {COLUMNS}"
    ))
    .bind(StageId::new())
    .bind(event.id)
    .bind(&name)
    .bind(kind)
    .bind(&url)
    .bind(backstage)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(stage)
}

/// Changes a stage's stream source.
#[instrument(skip(pool, by, url), fields(org = %by.org_id))]
pub async fn set_source(
    pool: &PgPool,
    by: &Organiser,
    slug: &str,
    stage: StageId,
    kind: &str,
    url: &str,
) -> Result<()> {
    let event = events::get_for_org(pool, by, slug).await?;
    let (kind, url) = parse_source(kind, url)?;
    let mut tx = pool.begin().await?;
    let was = unschedule(&mut tx, event.id, stage).await?;
    let (name, backstage): (String, Option<VideoSessionId>) =
        sqlx::query_as("SELECT name, backstage FROM stages WHERE id = $1")
            .bind(stage)
            .fetch_one(&mut *tx)
            .await?;
    let backstage = match (kind, backstage) {
        (StageSourceKind::Backstage, None) => {
            Some(super::sessions::create_backstage(&mut tx, event.id, &name).await?)
        }
        (_, b) => b,
    };
    // A new source starts a new broadcast: nobody on air, not live.
    sqlx::query(
        "UPDATE stages SET source_kind = $3, source_url = $4, source_asset = NULL, starts_at = NULL,
                backstage = $5, live_state = 'off', on_air = '{}'
         WHERE id = $1 AND event_id = $2",
    )
    .bind(stage)
    .bind(event.id)
    .bind(kind)
    .bind(&url)
    .bind(backstage)
    .execute(&mut *tx)
    .await?;
    forget_unaired(&mut tx, stage, was, None).await?;
    tx.commit().await?;
    Ok(())
}

/// The video a stage played as simulive and from when, the stage's row
/// locked until the transaction ends. Err: no such stage.
async fn unschedule(
    conn: &mut sqlx::PgConnection,
    event: EventId,
    stage: StageId,
) -> Result<(Option<AssetId>, Option<DateTime<Utc>>)> {
    sqlx::query_as(
        "SELECT source_asset, starts_at FROM stages WHERE id = $1 AND event_id = $2 FOR UPDATE",
    )
    .bind(stage)
    .bind(event)
    .fetch_optional(conn)
    .await?
    .ok_or_else(|| Error::not_found("no such stage"))
}

/// A video the stage no longer plays (other than `keep`) that had not yet
/// gone on air was never aired there: it loses that stage and time.
async fn forget_unaired(
    conn: &mut sqlx::PgConnection,
    stage: StageId,
    was: (Option<AssetId>, Option<DateTime<Utc>>),
    keep: Option<AssetId>,
) -> Result<()> {
    if let (Some(asset), Some(at)) = was {
        if at > Utc::now() && Some(asset) != keep {
            crate::assets::forget_aired(conn, asset, stage).await?;
        }
    }
    Ok(())
}

/// Makes a stage play the event's video `asset` as simulive from the local
/// time `starts_local` in the event's zone (empty: now). The video must be
/// ready; it is marked as aired on this stage at that time, which gives its
/// Replay chapters.
#[instrument(skip(pool, by), fields(org = %by.org_id))]
pub async fn set_simulive(
    pool: &PgPool,
    by: &Organiser,
    slug: &str,
    stage: StageId,
    asset: AssetId,
    starts_local: &str,
) -> Result<Stage> {
    let event = events::get_for_org(pool, by, slug).await?;
    let starts = crate::time::parse_local_opt("start", Some(starts_local), &event.time_zone)?
        .unwrap_or_else(Utc::now);
    let video = crate::assets::of_event(pool, event.id, asset).await?;
    if !video.playable() {
        return Err(Error::invalid(format!(
            "{} is not ready to play yet; wait until it is processed",
            video.title
        )));
    }
    let mut tx = pool.begin().await?;
    let was = unschedule(&mut tx, event.id, stage).await?;
    let updated: Option<Stage> = sqlx::query_as(&format!(
        "UPDATE stages SET source_kind = 'simulive', source_url = '', source_asset = $3, starts_at = $4,
                live_state = 'off', on_air = '{{}}'
         WHERE id = $1 AND event_id = $2 RETURNING {COLUMNS}"
    ))
    .bind(stage)
    .bind(event.id)
    .bind(video.id)
    .bind(starts)
    .fetch_optional(&mut *tx)
    .await?;
    let updated = updated.ok_or_else(|| Error::not_found("no such stage"))?;
    forget_unaired(&mut tx, stage, was, Some(video.id)).await?;
    crate::assets::mark_aired(&mut tx, video.id, stage, starts).await?;
    tx.commit().await?;
    Ok(updated)
}

/// Renames a stage of one of the organiser's events.
#[instrument(skip(pool, by, name), fields(org = %by.org_id))]
pub async fn rename(
    pool: &PgPool,
    by: &Organiser,
    slug: &str,
    stage: StageId,
    name: &str,
) -> Result<()> {
    let event = events::get_for_org(pool, by, slug).await?;
    let name = crate::domain::parse_name("stage name", name, 100)?;
    let done = sqlx::query("UPDATE stages SET name = $3 WHERE id = $1 AND event_id = $2")
        .bind(stage)
        .bind(event.id)
        .bind(&name)
        .execute(pool)
        .await?;
    if done.rows_affected() == 0 {
        return Err(Error::not_found("no such stage"));
    }
    Ok(())
}

/// Removes a stage of one of the organiser's events. Agenda sessions on it
/// stay, without a stage; its chat history stays in the moderation record.
#[instrument(skip(pool, by), fields(org = %by.org_id))]
pub async fn remove(pool: &PgPool, by: &Organiser, slug: &str, stage: StageId) -> Result<()> {
    let event = events::get_for_org(pool, by, slug).await?;
    let mut tx = pool.begin().await?;
    let gone: Option<Option<VideoSessionId>> = sqlx::query_scalar(
        "DELETE FROM stages WHERE id = $1 AND event_id = $2 RETURNING backstage",
    )
    .bind(stage)
    .bind(event.id)
    .fetch_optional(&mut *tx)
    .await?;
    match gone {
        None => return Err(Error::not_found("no such stage")),
        Some(Some(backstage)) => super::sessions::drop_backstage(&mut tx, backstage).await?,
        Some(None) => {}
    }
    tx.commit().await?;
    Ok(())
}

/// What a backstage host does to the broadcast.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Broadcast {
    /// Go live (from not started, or again after an end).
    GoLive,
    /// End the broadcast.
    End,
    /// Put these people on air, in this order, laid out so.
    OnAir(Vec<AttendeeId>, StageLayout),
}

/// A host of the stage's backstage changes its broadcast; the stage as it is
/// now. Only a stage live from its backstage broadcasts; only attendees of
/// the event go on air, at most [`MAX_ON_AIR`].
#[instrument(skip(pool, by), fields(attendee = %by.id))]
pub async fn broadcast(
    pool: &PgPool,
    by: &super::participants::Actor,
    stage: StageId,
    what: Broadcast,
) -> Result<Stage> {
    let s = get(pool, by.event_id, stage).await?;
    let backstage = s.broadcasting_from().ok_or_else(|| {
        Error::Conflict("this stage does not broadcast from its backstage".into())
    })?;
    if !super::sessions::is_host(pool, by, backstage).await? {
        return Err(Error::Forbidden(
            "only the stage's speakers run its broadcast".into(),
        ));
    }
    let updated: Option<Stage> = match &what {
        // Going live names the broadcast's recording (see [`recording`]).
        Broadcast::GoLive => {
            sqlx::query_as(&format!(
                "WITH s AS (
                    UPDATE stages SET live_state = 'live', live_at = now(), live_ended_at = NULL,
                                      live_recording = gen_random_uuid()
                    WHERE id = $1 AND live_state <> 'live' RETURNING *
                 ), r AS (
                    INSERT INTO stage_recordings (id, stage_id, stage_name, event_id, live_at)
                    SELECT live_recording, id, name, event_id, live_at FROM s
                 )
                 SELECT {COLUMNS} FROM s"
            ))
            .bind(stage)
            .fetch_optional(pool)
            .await?
        }
        Broadcast::End => {
            sqlx::query_as(&format!(
                "UPDATE stages SET live_state = 'ended', live_ended_at = now()
                 WHERE id = $1 AND live_state = 'live' RETURNING {COLUMNS}"
            ))
            .bind(stage)
            .fetch_optional(pool)
            .await?
        }
        Broadcast::OnAir(people, layout) => {
            let people = on_air_list(pool, by.event_id, people).await?;
            sqlx::query_as(&format!(
                "UPDATE stages SET on_air = $2, layout = $3 WHERE id = $1 RETURNING {COLUMNS}"
            ))
            .bind(stage)
            .bind(people)
            .bind(*layout)
            .fetch_optional(pool)
            .await?
        }
    };
    updated.ok_or_else(|| match what {
        Broadcast::End => Error::Conflict("the stage is not live".into()),
        Broadcast::GoLive => Error::Conflict("the stage is live already".into()),
        // Removed between the read and the update.
        Broadcast::OnAir(..) => Error::not_found("no such stage"),
    })
}

/// A broadcast's recording, as named when it went live.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StageRecording {
    /// The recording (its media asset's id to be).
    pub id: AssetId,
    /// The event.
    pub event_id: EventId,
    /// The stage (None: removed since).
    pub stage_id: Option<StageId>,
    /// The stage's name.
    pub stage_name: String,
    /// When the broadcast went live.
    pub live_at: DateTime<Utc>,
}

/// The broadcast recording `id` (None: no broadcast was named so).
pub async fn recording(pool: &PgPool, id: AssetId) -> Result<Option<StageRecording>> {
    Ok(sqlx::query_as(
        "SELECT id, event_id, stage_id, stage_name, live_at FROM stage_recordings WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?)
}

/// What the media node holding backstage `session`'s room should hear from
/// a host there, from the stage's stored state: who is on air (nobody
/// unless live) and, while live, the token to record under. None: the
/// session is no broadcasting stage's backstage, or `by` does not host it.
/// The web node sends it when a host joins the room and after every change
/// of the broadcast, so the browser never carries the recording token.
pub async fn air(
    pool: &PgPool,
    by: &super::participants::Actor,
    session: VideoSessionId,
) -> Result<Option<(StageId, protocol::media::ToNode)>> {
    let Some(s) = of_backstage(pool, by.event_id, session).await? else {
        return Ok(None);
    };
    if s.broadcasting_from().is_none() || !super::sessions::is_host(pool, by, session).await? {
        return Ok(None);
    }
    let live = s.on_air_now();
    let record = match (live, s.live_recording) {
        (true, Some(id)) => Some(crate::assets::recording_token(pool, id).await?),
        _ => None,
    };
    let participants = if live {
        s.on_air.iter().map(ToString::to_string).collect()
    } else {
        Vec::new()
    };
    Ok(Some((
        s.id,
        protocol::media::ToNode::OnAir {
            participants,
            record,
            layout: Some(s.layout),
        },
    )))
}

/// `people` without repeats, checked to be attendees of the event.
async fn on_air_list(
    pool: &PgPool,
    event: EventId,
    people: &[AttendeeId],
) -> Result<Vec<AttendeeId>> {
    let mut list: Vec<AttendeeId> = Vec::new();
    for p in people {
        if !list.contains(p) {
            list.push(*p);
        }
    }
    if list.len() > MAX_ON_AIR {
        return Err(Error::invalid(format!(
            "at most {MAX_ON_AIR} people are on air at once"
        )));
    }
    for p in &list {
        crate::registrations::attendees::in_event(pool, event, *p)
            .await?
            .ok_or_else(|| Error::not_found("no such attendee"))?;
    }
    Ok(list)
}

/// The event's stages in order.
pub async fn list(pool: &PgPool, event: EventId) -> Result<Vec<Stage>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM stages WHERE event_id = $1 ORDER BY position, created_at"
    ))
    .bind(event)
    .fetch_all(pool)
    .await?)
}

/// One stage of the event.
pub async fn get(pool: &PgPool, event: EventId, id: StageId) -> Result<Stage> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM stages WHERE id = $1 AND event_id = $2"
    ))
    .bind(id)
    .bind(event)
    .fetch_optional(pool)
    .await?
    .ok_or_else(|| Error::not_found("no such stage"))
}

/// The stage whose backstage is session `session` of the event, if any.
pub async fn of_backstage(
    pool: &PgPool,
    event: EventId,
    session: VideoSessionId,
) -> Result<Option<Stage>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM stages WHERE backstage = $1 AND event_id = $2"
    ))
    .bind(session)
    .bind(event)
    .fetch_optional(pool)
    .await?)
}

/// Checks that a channel exists in the event (the Reception, one of its
/// stages or video sessions).
pub async fn check_channel(pool: &PgPool, event: EventId, channel: Channel) -> Result<()> {
    let stage = match channel {
        Channel::Reception => return Ok(()),
        Channel::Session(id) => {
            return if super::sessions::exists(pool, event, id).await? {
                Ok(())
            } else {
                Err(Error::not_found("no such session"))
            }
        }
        Channel::Stage(stage) => stage,
    };
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM stages WHERE id = $1 AND event_id = $2)")
            .bind(stage)
            .bind(event)
            .fetch_one(pool)
            .await?;
    if exists {
        Ok(())
    } else {
        Err(Error::not_found("no such stage"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_need_a_web_url_unless_none() {
        assert_eq!(
            parse_source("none", "ignored").unwrap(),
            (StageSourceKind::None, String::new())
        );
        assert_eq!(
            parse_source("hls", " https://cdn.example.org/live.m3u8 ")
                .unwrap()
                .1,
            "https://cdn.example.org/live.m3u8"
        );
        assert!(parse_source("hls", "ftp://x").is_err());
        assert!(parse_source("rtmp", "https://x").is_err());
        // Simulive names a video, not a URL: it has its own form.
        assert!(parse_source("simulive", "https://x").is_err());
    }
}
