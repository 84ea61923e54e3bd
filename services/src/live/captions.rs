//! Caption lines of the Translations app (owner of `captions`): organisers post
//! lines per language to a channel; attendees pick a language.

use protocol::ids::EventId;
use protocol::states::AppKind;
use protocol::Channel;
use sqlx::PgPool;
use tracing::instrument;

use super::{apps, stages};
use crate::accounts::Organiser;
use crate::domain::clean_text;
use crate::events;
use crate::{Error, Result};

/// A caption line as stored: what the live log announces.
#[derive(Debug)]
pub struct AddedCaption {
    /// The event whose live log gets the line.
    pub event: EventId,
    /// Lower-cased language code, one of the app's languages.
    pub language: String,
    /// The line, cleaned.
    pub body: String,
}

/// Adds a caption line in `language` to a channel (organisers; the Translations
/// app must be installed and list the language).
#[instrument(skip(pool, by, body), fields(org = %by.org_id))]
pub async fn add(
    pool: &PgPool,
    by: &Organiser,
    slug: &str,
    channel: Channel,
    language: &str,
    body: &str,
) -> Result<AddedCaption> {
    let event = events::get_for_org(pool, by, slug).await?;
    let install = apps::require_installed(pool, event.id, AppKind::Translations).await?;
    stages::check_channel(pool, event.id, channel).await?;
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
    Ok(AddedCaption {
        event: event.id,
        language,
        body,
    })
}

/// The newest caption lines of a channel in a language, oldest first.
pub async fn recent(
    pool: &PgPool,
    event: EventId,
    channel: Channel,
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
