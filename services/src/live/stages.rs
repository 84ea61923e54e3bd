//! Stages (owner of `stages`): each plays a stream source (an HLS URL, an
//! embeddable player URL, or one of the event's videos as simulive, see
//! [`protocol::simulive`]) and has its own channel for chat, polls, Q&A and
//! captions.

use chrono::{DateTime, Utc};
use protocol::ids::{AssetId, EventId, StageId};
use protocol::states::StageSourceKind;
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
}

const COLUMNS: &str = "id, name, source_kind, source_url, source_asset, starts_at";

/// Checks a stream source: none needs no URL; HLS and embeds need an http(s) URL.
pub fn parse_source(kind: &str, url: &str) -> Result<(StageSourceKind, String)> {
    let url = url.trim();
    let kind: StageSourceKind = parse_state(kind, "source must be hls, embed or none")?;
    match kind {
        StageSourceKind::None => Ok((kind, String::new())),
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
    Ok(sqlx::query_as(&format!(
        "INSERT INTO stages (id, event_id, name, source_kind, source_url, position)
         VALUES ($1, $2, $3, $4, $5, (SELECT coalesce(max(position), 0) + 1 FROM stages WHERE event_id = $2))
         RETURNING {COLUMNS}"
    ))
    .bind(StageId::new())
    .bind(event.id)
    .bind(&name)
    .bind(kind)
    .bind(&url)
    .fetch_one(pool)
    .await?)
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
    sqlx::query(
        "UPDATE stages SET source_kind = $3, source_url = $4, source_asset = NULL, starts_at = NULL
         WHERE id = $1 AND event_id = $2",
    )
    .bind(stage)
    .bind(event.id)
    .bind(kind)
    .bind(&url)
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
        "UPDATE stages SET source_kind = 'simulive', source_url = '', source_asset = $3, starts_at = $4
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
    let done = sqlx::query("DELETE FROM stages WHERE id = $1 AND event_id = $2")
        .bind(stage)
        .bind(event.id)
        .execute(pool)
        .await?;
    if done.rows_affected() == 0 {
        return Err(Error::not_found("no such stage"));
    }
    Ok(())
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
