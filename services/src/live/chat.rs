//! Channel chat (owner of `chat_messages`): the Reception's and each stage's.
//! Bodies are stored and shown as plain text (the browser renders them as
//! text, never as HTML). Posting is refused to muted and too-fast senders;
//! moderators delete messages.

use chrono::{DateTime, Utc};
use protocol::events::{Fact, MessageDeleted, MessagePosted};
use protocol::ids::{AttendeeId, EventId, MessageId};
use protocol::live::{ChatView, Person};
use protocol::Channel;
use redis::aio::ConnectionManager;
use sqlx::PgPool;
use tracing::instrument;

use super::participants::Actor;
use super::{moderation, stages};
use crate::domain::clean_text;
use crate::registrations::attendees;
use crate::{domain_events, Error, Result};

/// Longest message.
pub const MAX_LEN: usize = 2000;

/// A chat message.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ChatMessage {
    /// Id.
    pub id: MessageId,
    /// Order.
    pub seq: i64,
    /// Channel.
    pub channel: Channel,
    /// Author.
    pub author_id: AttendeeId,
    /// Author's name.
    #[sqlx(default)]
    pub author_name: String,
    /// Plain text.
    pub body: String,
    /// Mentioned attendees.
    pub mentions: Vec<AttendeeId>,
    /// When.
    pub created_at: DateTime<Utc>,
}

impl ChatMessage {
    /// The message as the live protocol carries it.
    pub fn view(&self) -> ChatView {
        ChatView {
            id: self.id,
            seq: self.seq,
            channel: self.channel,
            author: Person {
                id: self.author_id,
                name: self.author_name.clone(),
                avatar: None,
            },
            body: self.body.clone(),
            mentions: self.mentions.clone(),
            at: self.created_at.to_rfc3339(),
        }
    }
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
#[instrument(skip(pool, redis, ns, by, body), fields(event = %by.event_id, by = %by.id))]
pub async fn post(
    pool: &PgPool,
    redis: &mut ConnectionManager,
    ns: &str,
    by: &Actor,
    channel: Channel,
    body: &str,
) -> Result<ChatMessage> {
    let body = clean_text("message", body, MAX_LEN)?;
    stages::check_channel(pool, by.event_id, channel).await?;
    moderation::may_post(pool, redis, ns, by).await?;
    // `@ada` mentions attendees whose name, without spaces, or first name is "ada".
    let mentions = attendees::mentioned(pool, by.event_id, &mention_words(&body)).await?;
    let mut tx = pool.begin().await?;
    let mut msg: ChatMessage = sqlx::query_as(
        "INSERT INTO chat_messages (id, event_id, channel, author_id, body, mentions)
         VALUES ($1, $2, $3, $4, $5, $6)
         RETURNING id, seq, channel, author_id, body, mentions, created_at",
    )
    .bind(MessageId::new())
    .bind(by.event_id)
    .bind(channel)
    .bind(by.id)
    .bind(&body)
    .bind(&mentions)
    .fetch_one(&mut *tx)
    .await?;
    let fact = Fact::MessagePosted(MessagePosted {
        message_id: msg.id,
        channel,
        author_id: by.id,
    });
    domain_events::record(&mut tx, by.scope(), fact).await?;
    tx.commit().await?;
    msg.author_name = by.name.clone();
    Ok(msg)
}

/// Removes a message (moderators only); returns its id.
#[instrument(skip(pool, by), fields(event = %by.event_id, by = %by.id))]
pub async fn delete(pool: &PgPool, by: &Actor, id: MessageId) -> Result<MessageId> {
    by.require_moderator()?;
    let mut tx = pool.begin().await?;
    let channel: Option<Channel> = sqlx::query_scalar(
        "UPDATE chat_messages SET deleted_at = now(), deleted_by = $3
         WHERE id = $1 AND event_id = $2 AND deleted_at IS NULL RETURNING channel",
    )
    .bind(id)
    .bind(by.event_id)
    .bind(by.id)
    .fetch_optional(&mut *tx)
    .await?;
    let channel = channel.ok_or_else(|| Error::not_found("no such message"))?;
    let fact = Fact::MessageDeleted(MessageDeleted {
        message_id: id,
        channel,
        by: by.id,
    });
    domain_events::record(&mut tx, by.scope(), fact).await?;
    tx.commit().await?;
    Ok(id)
}

/// A page of a channel's history: up to `limit` messages before `before_seq`
/// (or the newest), oldest first. Deleted messages are left out.
pub async fn history(
    pool: &PgPool,
    event: EventId,
    channel: Channel,
    before_seq: Option<i64>,
    limit: i64,
) -> Result<Vec<ChatMessage>> {
    stages::check_channel(pool, event, channel).await?;
    let mut page: Vec<ChatMessage> = sqlx::query_as(
        "SELECT id, seq, channel, author_id, body, mentions, created_at
         FROM chat_messages
         WHERE event_id = $1 AND channel = $2 AND deleted_at IS NULL
           AND ($3::bigint IS NULL OR seq < $3)
         ORDER BY seq DESC LIMIT $4",
    )
    .bind(event)
    .bind(channel)
    .bind(before_seq)
    .bind(limit.clamp(1, 200))
    .fetch_all(pool)
    .await?;
    page.reverse();
    let authors: Vec<AttendeeId> = page.iter().map(|m| m.author_id).collect();
    let names = attendees::names(pool, &authors).await?;
    for m in &mut page {
        m.author_name = names.get(&m.author_id).cloned().unwrap_or_default();
    }
    Ok(page)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_are_words_after_at() {
        assert_eq!(
            mention_words("hi @Ada, ask @bob! and @ada again; mail@x"),
            vec!["ada".to_string(), "bob".to_string()]
        );
    }
}
