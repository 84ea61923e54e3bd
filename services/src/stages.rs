//! Stages of an event: each has a stream source (an HLS URL or an embeddable
//! player URL; WebRTC broadcast comes with the media work) and its own chat
//! channel `stage:<id>`. Also the Translations app's caption lines.

use sqlx::PgPool;
use uuid::Uuid;

use crate::accounts::Organiser;
use crate::chat::{check_channel, clean_text};
use crate::{apps, events, Error, Result};

/// A stage.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Stage {
    /// Id.
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// `hls`, `embed` or `none`.
    pub source_kind: String,
    /// Stream or player URL.
    pub source_url: String,
}

/// Checks a stream source: `none` needs no URL; `hls` and `embed` need an http(s) URL.
pub fn parse_source(kind: &str, url: &str) -> Result<(String, String)> {
    let url = url.trim();
    match kind {
        "none" => Ok(("none".into(), String::new())),
        "hls" | "embed" => {
            if !(url.starts_with("https://") || url.starts_with("http://"))
                || url.len() > 1000
                || url.contains(char::is_whitespace)
            {
                return Err(Error::invalid(
                    "the stream URL must start with https:// (or http://)",
                ));
            }
            Ok((kind.into(), url.into()))
        }
        _ => Err(Error::invalid("source must be hls, embed or none")),
    }
}

/// Adds a stage to one of the organiser's events.
pub async fn create(
    pool: &PgPool,
    by: &Organiser,
    slug: &str,
    name: &str,
    kind: &str,
    url: &str,
) -> Result<Stage> {
    let event = events::get_for_org(pool, by.org_id, slug).await?;
    let name = crate::domain::parse_name("stage name", name, 100)?;
    let (kind, url) = parse_source(kind, url)?;
    Ok(sqlx::query_as(
        "INSERT INTO stages (id, event_id, name, source_kind, source_url, position)
         VALUES ($1, $2, $3, $4, $5, (SELECT coalesce(max(position), 0) + 1 FROM stages WHERE event_id = $2))
         RETURNING id, name, source_kind, source_url",
    )
    .bind(Uuid::new_v4())
    .bind(event.id)
    .bind(&name)
    .bind(&kind)
    .bind(&url)
    .fetch_one(pool)
    .await?)
}

/// Changes a stage's stream source.
pub async fn set_source(
    pool: &PgPool,
    by: &Organiser,
    slug: &str,
    stage: Uuid,
    kind: &str,
    url: &str,
) -> Result<()> {
    let event = events::get_for_org(pool, by.org_id, slug).await?;
    let (kind, url) = parse_source(kind, url)?;
    let done = sqlx::query(
        "UPDATE stages SET source_kind = $3, source_url = $4 WHERE id = $1 AND event_id = $2",
    )
    .bind(stage)
    .bind(event.id)
    .bind(&kind)
    .bind(&url)
    .execute(pool)
    .await?;
    if done.rows_affected() == 0 {
        return Err(Error::not_found("no such stage"));
    }
    Ok(())
}

/// The event's stages in order.
pub async fn list(pool: &PgPool, event: Uuid) -> Result<Vec<Stage>> {
    Ok(sqlx::query_as(
        "SELECT id, name, source_kind, source_url FROM stages WHERE event_id = $1 ORDER BY position, created_at",
    )
    .bind(event)
    .fetch_all(pool)
    .await?)
}

/// One stage of the event.
pub async fn get(pool: &PgPool, event: Uuid, id: Uuid) -> Result<Stage> {
    sqlx::query_as(
        "SELECT id, name, source_kind, source_url FROM stages WHERE id = $1 AND event_id = $2",
    )
    .bind(id)
    .bind(event)
    .fetch_optional(pool)
    .await?
    .ok_or_else(|| Error::not_found("no such stage"))
}

/// Adds a caption line in `language` to a channel (organisers; the Translations
/// app must be installed and list the language).
pub async fn add_caption(
    pool: &PgPool,
    by: &Organiser,
    slug: &str,
    channel: &str,
    language: &str,
    body: &str,
) -> Result<(Uuid, String)> {
    let event = events::get_for_org(pool, by.org_id, slug).await?;
    let install = apps::require_installed(pool, event.id, apps::TRANSLATIONS).await?;
    check_channel(pool, event.id, channel).await?;
    let language = language.trim().to_lowercase();
    let languages = install.config["languages"].as_str().unwrap_or_default();
    if !languages
        .split(',')
        .any(|l| l.trim().eq_ignore_ascii_case(&language))
    {
        return Err(Error::invalid(format!(
            "'{language}' is not one of this event's caption languages ({languages})"
        )));
    }
    let body = clean_text("caption", body, 1000)?;
    sqlx::query("INSERT INTO captions (event_id, channel, language, body) VALUES ($1, $2, $3, $4)")
        .bind(event.id)
        .bind(channel)
        .bind(&language)
        .bind(&body)
        .execute(pool)
        .await?;
    Ok((event.id, body))
}

/// The newest caption lines of a channel in a language, oldest first.
pub async fn captions(
    pool: &PgPool,
    event: Uuid,
    channel: &str,
    language: &str,
) -> Result<Vec<String>> {
    let mut lines: Vec<String> = sqlx::query_scalar(
        "SELECT body FROM captions WHERE event_id = $1 AND channel = $2 AND language = $3 ORDER BY id DESC LIMIT 20",
    )
    .bind(event)
    .bind(channel)
    .bind(language)
    .fetch_all(pool)
    .await?;
    lines.reverse();
    Ok(lines)
}
