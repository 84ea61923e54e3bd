//! Chat of the live event: channel messages (Reception, each stage), direct
//! messages between attendees, and moderation (delete, mute, ban).
//!
//! Bodies are stored and shown as plain text (the browser renders them as text,
//! never as HTML); control characters are stripped. Posting is rate-limited per
//! sender in Redis. Moderation rights are checked here, on the server.

use chrono::{DateTime, Duration, Utc};
use redis::aio::ConnectionManager;
use sqlx::PgPool;
use uuid::Uuid;

use crate::{Error, Result};

/// Messages a sender may post per window.
pub const RATE_MAX: u64 = 10;
/// Rate-limit window in seconds.
pub const RATE_WINDOW_SECS: u64 = 10;
/// Longest message.
pub const MAX_LEN: usize = 2000;

/// An attendee acting in the live event.
#[derive(Debug, Clone)]
pub struct Actor {
    /// Attendee id.
    pub id: Uuid,
    /// Event.
    pub event_id: Uuid,
    /// Name.
    pub name: String,
    /// May moderate (delete, mute, ban, run polls and Q&A).
    pub moderator: bool,
}

impl Actor {
    /// Fails with `Forbidden` unless the actor moderates.
    pub fn require_moderator(&self) -> Result<()> {
        if self.moderator {
            Ok(())
        } else {
            Err(Error::Forbidden("only moderators can do this".into()))
        }
    }
}

/// Loads an attendee as an actor (with their role).
pub async fn actor(pool: &PgPool, attendee: Uuid) -> Result<Actor> {
    let row: (Uuid, Uuid, String, String) =
        sqlx::query_as("SELECT id, event_id, name, role FROM attendees WHERE id = $1")
            .bind(attendee)
            .fetch_optional(pool)
            .await?
            .ok_or_else(|| Error::not_found("no such attendee"))?;
    Ok(Actor {
        id: row.0,
        event_id: row.1,
        name: row.2,
        moderator: row.3 == "moderator",
    })
}

/// A chat message.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ChatMessage {
    /// Id.
    pub id: Uuid,
    /// Order.
    pub seq: i64,
    /// Channel.
    pub channel: String,
    /// Author.
    pub author_id: Uuid,
    /// Author's name.
    pub author_name: String,
    /// Plain text.
    pub body: String,
    /// Mentioned attendees.
    pub mentions: Vec<Uuid>,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// A direct message.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DirectMessage {
    /// Id.
    pub id: Uuid,
    /// Order.
    pub seq: i64,
    /// Sender.
    pub sender_id: Uuid,
    /// Sender's name.
    pub sender_name: String,
    /// Recipient.
    pub recipient_id: Uuid,
    /// Plain text.
    pub body: String,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// Trims, strips control characters (keeps line breaks) and checks the length.
pub fn clean_text(field: &str, raw: &str, max: usize) -> Result<String> {
    let text: String = raw
        .trim()
        .chars()
        .filter(|c| *c == '\n' || !c.is_control())
        .filter(|c| !matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'))
        .collect();
    let text = text.trim().to_owned();
    if text.is_empty() {
        return Err(Error::invalid(format!("{field} is empty")));
    }
    if text.chars().count() > max {
        return Err(Error::invalid(format!(
            "{field} is longer than {max} characters"
        )));
    }
    Ok(text)
}

/// Checks a channel name: `reception` or `stage:<id>` of a stage of the event.
pub async fn check_channel(pool: &PgPool, event: Uuid, channel: &str) -> Result<()> {
    if channel == "reception" {
        return Ok(());
    }
    let stage = channel
        .strip_prefix("stage:")
        .and_then(|s| s.parse::<Uuid>().ok())
        .ok_or_else(|| Error::invalid("channel must be reception or stage:<id>"))?;
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

/// The attendee's active sanction of `kind` (`mute`/`ban`), with its end if any.
pub async fn sanction_of(
    pool: &PgPool,
    event: Uuid,
    attendee: Uuid,
    kind: &str,
) -> Result<Option<Option<DateTime<Utc>>>> {
    let row: Option<Option<DateTime<Utc>>> = sqlx::query_scalar(
        "SELECT until FROM attendee_sanctions
         WHERE event_id = $1 AND attendee_id = $2 AND kind = $3 AND (until IS NULL OR until > now())",
    )
    .bind(event)
    .bind(attendee)
    .bind(kind)
    .fetch_optional(pool)
    .await?;
    Ok(row)
}

async fn may_post(
    pool: &PgPool,
    redis: &mut ConnectionManager,
    ns: &str,
    by: &Actor,
) -> Result<()> {
    if let Some(until) = sanction_of(pool, by.event_id, by.id, "mute").await? {
        return Err(Error::Forbidden(match until {
            Some(t) => format!("a moderator muted you until {}", t.format("%H:%M UTC")),
            None => "a moderator muted you".into(),
        }));
    }
    let key = format!("{ns}chat:{}", by.id);
    crate::ratelimit::hit(redis, &key, RATE_MAX, RATE_WINDOW_SECS)
        .await
        .map_err(|_| {
            Error::RateLimited("you are sending messages too fast; wait a few seconds".into())
        })
}

/// The `@Name` words of a text (lower-cased, without the `@`).
pub fn mention_words(body: &str) -> Vec<String> {
    let mut words: Vec<String> = body
        .split(|c: char| {
            c.is_whitespace() || matches!(c, ',' | '.' | '!' | '?' | ':' | ';' | '(' | ')')
        })
        .filter_map(|w| w.strip_prefix('@'))
        .filter(|w| !w.is_empty())
        .map(|w| w.to_lowercase())
        .collect();
    words.sort();
    words.dedup();
    words
}

/// Posts to a channel. Muted senders and fast senders are refused.
pub async fn post(
    pool: &PgPool,
    redis: &mut ConnectionManager,
    ns: &str,
    by: &Actor,
    channel: &str,
    body: &str,
) -> Result<ChatMessage> {
    let body = clean_text("message", body, MAX_LEN)?;
    check_channel(pool, by.event_id, channel).await?;
    may_post(pool, redis, ns, by).await?;
    // `@ada` mentions attendees whose name, without spaces, or first name is "ada".
    let words = mention_words(&body);
    let mentions: Vec<Uuid> = if words.is_empty() {
        Vec::new()
    } else {
        sqlx::query_scalar(
            "SELECT id FROM attendees WHERE event_id = $1
               AND (lower(replace(name, ' ', '')) = ANY($2) OR lower(split_part(name, ' ', 1)) = ANY($2))
             LIMIT 20",
        )
        .bind(by.event_id)
        .bind(&words)
        .fetch_all(pool)
        .await?
    };
    let msg: ChatMessage = sqlx::query_as(
        "INSERT INTO chat_messages (id, event_id, channel, author_id, body, mentions)
         VALUES ($1, $2, $3, $4, $5, $6)
         RETURNING id, seq, channel, author_id, $7::text AS author_name, body, mentions, created_at",
    )
    .bind(Uuid::new_v4())
    .bind(by.event_id)
    .bind(channel)
    .bind(by.id)
    .bind(&body)
    .bind(&mentions)
    .bind(&by.name)
    .fetch_one(pool)
    .await?;
    Ok(msg)
}

/// Removes a message (moderators only); returns its id.
pub async fn delete(pool: &PgPool, by: &Actor, id: Uuid) -> Result<Uuid> {
    by.require_moderator()?;
    let done = sqlx::query(
        "UPDATE chat_messages SET deleted_at = now(), deleted_by = $3
         WHERE id = $1 AND event_id = $2 AND deleted_at IS NULL",
    )
    .bind(id)
    .bind(by.event_id)
    .bind(by.id)
    .execute(pool)
    .await?;
    if done.rows_affected() == 0 {
        return Err(Error::not_found("no such message"));
    }
    Ok(id)
}

/// A page of a channel's history: up to `limit` messages before `before_seq`
/// (or the newest), oldest first. Deleted messages are left out.
pub async fn history(
    pool: &PgPool,
    event: Uuid,
    channel: &str,
    before_seq: Option<i64>,
    limit: i64,
) -> Result<Vec<ChatMessage>> {
    check_channel(pool, event, channel).await?;
    let mut page: Vec<ChatMessage> = sqlx::query_as(
        "SELECT m.id, m.seq, m.channel, m.author_id, a.name AS author_name, m.body, m.mentions, m.created_at
         FROM chat_messages m JOIN attendees a ON a.id = m.author_id
         WHERE m.event_id = $1 AND m.channel = $2 AND m.deleted_at IS NULL
           AND ($3::bigint IS NULL OR m.seq < $3)
         ORDER BY m.seq DESC LIMIT $4",
    )
    .bind(event)
    .bind(channel)
    .bind(before_seq)
    .bind(limit.clamp(1, 200))
    .fetch_all(pool)
    .await?;
    page.reverse();
    Ok(page)
}

/// Mutes (for `minutes`, or until lifted) or bans an attendee (moderators only).
/// Returns the sanction's end.
pub async fn sanction(
    pool: &PgPool,
    by: &Actor,
    target: Uuid,
    kind: &str,
    minutes: Option<u32>,
) -> Result<Option<DateTime<Utc>>> {
    by.require_moderator()?;
    if !matches!(kind, "mute" | "ban") {
        return Err(Error::invalid("sanction must be mute or ban"));
    }
    if target == by.id {
        return Err(Error::invalid("you cannot sanction yourself"));
    }
    let target_role: Option<String> =
        sqlx::query_scalar("SELECT role FROM attendees WHERE id = $1 AND event_id = $2")
            .bind(target)
            .bind(by.event_id)
            .fetch_optional(pool)
            .await?;
    match target_role.as_deref() {
        None => return Err(Error::not_found("no such attendee")),
        Some("moderator") => {
            return Err(Error::Forbidden(
                "moderators cannot sanction each other".into(),
            ))
        }
        _ => {}
    }
    let until = minutes.map(|m| Utc::now() + Duration::minutes(i64::from(m.clamp(1, 10_080))));
    sqlx::query(
        "INSERT INTO attendee_sanctions (event_id, attendee_id, kind, until, created_by) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (event_id, attendee_id, kind) DO UPDATE SET until = EXCLUDED.until, created_by = EXCLUDED.created_by, created_at = now()",
    )
    .bind(by.event_id)
    .bind(target)
    .bind(kind)
    .bind(until)
    .bind(by.id)
    .execute(pool)
    .await?;
    tracing::info!(event = %by.event_id, target = %target, kind, "attendee sanctioned");
    Ok(until)
}

/// Sends a direct message to another attendee of the same event.
pub async fn send_dm(
    pool: &PgPool,
    redis: &mut ConnectionManager,
    ns: &str,
    by: &Actor,
    to: Uuid,
    body: &str,
) -> Result<DirectMessage> {
    let body = clean_text("message", body, MAX_LEN)?;
    if to == by.id {
        return Err(Error::invalid("you cannot message yourself"));
    }
    let same_event: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM attendees WHERE id = $1 AND event_id = $2)",
    )
    .bind(to)
    .bind(by.event_id)
    .fetch_one(pool)
    .await?;
    if !same_event {
        return Err(Error::not_found("no such attendee"));
    }
    may_post(pool, redis, ns, by).await?;
    Ok(sqlx::query_as(
        "INSERT INTO direct_messages (id, event_id, sender_id, recipient_id, body) VALUES ($1, $2, $3, $4, $5)
         RETURNING id, seq, sender_id, $6::text AS sender_name, recipient_id, body, created_at",
    )
    .bind(Uuid::new_v4())
    .bind(by.event_id)
    .bind(by.id)
    .bind(to)
    .bind(&body)
    .bind(&by.name)
    .fetch_one(pool)
    .await?)
}

/// The conversation of `by` with `other`, up to `limit` messages before `before_seq`, oldest first.
pub async fn dm_history(
    pool: &PgPool,
    by: &Actor,
    other: Uuid,
    before_seq: Option<i64>,
    limit: i64,
) -> Result<Vec<DirectMessage>> {
    let mut page: Vec<DirectMessage> = sqlx::query_as(
        "SELECT d.id, d.seq, d.sender_id, a.name AS sender_name, d.recipient_id, d.body, d.created_at
         FROM direct_messages d JOIN attendees a ON a.id = d.sender_id
         WHERE d.event_id = $1
           AND ((d.sender_id = $2 AND d.recipient_id = $3) OR (d.sender_id = $3 AND d.recipient_id = $2))
           AND ($4::bigint IS NULL OR d.seq < $4)
         ORDER BY d.seq DESC LIMIT $5",
    )
    .bind(by.event_id)
    .bind(by.id)
    .bind(other)
    .bind(before_seq)
    .bind(limit.clamp(1, 200))
    .fetch_all(pool)
    .await?;
    page.reverse();
    Ok(page)
}

/// Someone of the event's people list.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PersonRow {
    /// Attendee id.
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// `attendee` or `moderator`.
    pub role: String,
}

/// The event's people: attendees with a confirmed ticket, by name.
pub async fn people(pool: &PgPool, event: Uuid) -> Result<Vec<PersonRow>> {
    Ok(sqlx::query_as(
        "SELECT a.id, a.name, a.role FROM attendees a
         WHERE a.event_id = $1 AND EXISTS (
             SELECT 1 FROM tickets t LEFT JOIN orders o ON o.id = t.order_id
             WHERE t.attendee_id = a.id AND t.voided_at IS NULL AND (o.id IS NULL OR o.status = 'confirmed'))
         ORDER BY lower(a.name), a.id LIMIT 5000",
    )
    .bind(event)
    .fetch_all(pool)
    .await?)
}

/// Makes an attendee of one of the organiser's events a moderator, or not.
pub async fn set_moderator(
    pool: &PgPool,
    by: &crate::accounts::Organiser,
    slug: &str,
    email: &str,
    moderator: bool,
) -> Result<()> {
    let event = crate::events::get_for_org(pool, by.org_id, slug).await?;
    let done =
        sqlx::query("UPDATE attendees SET role = $3 WHERE event_id = $1 AND email = $2::citext")
            .bind(event.id)
            .bind(email.trim())
            .bind(if moderator { "moderator" } else { "attendee" })
            .execute(pool)
            .await?;
    if done.rows_affected() == 0 {
        return Err(Error::not_found("no attendee with this email"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_cleaned_and_bounded() {
        assert_eq!(
            clean_text("m", "  hi\u{0007}\u{202E}there \n", 10).unwrap(),
            "hithere"
        );
        assert_eq!(clean_text("m", "a\nb", 10).unwrap(), "a\nb");
        assert!(clean_text("m", " \u{200B} ", 10).is_err());
        assert!(clean_text("m", "elevenchars", 10).is_err());
        // Markup is kept as text: the browser shows it, never interprets it.
        assert_eq!(clean_text("m", "<b>x</b>", 20).unwrap(), "<b>x</b>");
    }

    #[test]
    fn mentions_are_words_after_at() {
        assert_eq!(
            mention_words("hi @Ada, ask @bob! and @ada again; mail@x"),
            vec!["ada".to_string(), "bob".to_string()]
        );
    }
}
