//! Direct messages between two attendees of an event (owner of `direct_messages`).

use chrono::{DateTime, Utc};
use protocol::ids::{AttendeeId, DmId};
use protocol::live::{DmView, Person};
use redis::aio::ConnectionManager;
use sqlx::PgPool;
use tracing::instrument;

use super::chat::MAX_LEN;
use super::moderation;
use super::participants::Actor;
use crate::domain::clean_text;
use crate::registrations::attendees;
use crate::{Error, Result};

/// A direct message.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DirectMessage {
    /// Id.
    pub id: DmId,
    /// Order.
    pub seq: i64,
    /// Sender.
    pub sender_id: AttendeeId,
    /// Sender's name.
    #[sqlx(default)]
    pub sender_name: String,
    /// Recipient.
    pub recipient_id: AttendeeId,
    /// Plain text.
    pub body: String,
    /// When.
    pub created_at: DateTime<Utc>,
}

impl DirectMessage {
    /// The message as the live protocol carries it.
    pub fn view(&self) -> DmView {
        DmView {
            id: self.id,
            seq: self.seq,
            from: Person {
                id: self.sender_id,
                name: self.sender_name.clone(),
                avatar: None,
            },
            to: self.recipient_id,
            body: self.body.clone(),
            at: self.created_at.to_rfc3339(),
        }
    }
}

/// Sends a direct message to another attendee of the same event.
#[instrument(skip(pool, redis, ns, by, body), fields(event = %by.event_id, by = %by.id))]
pub async fn send(
    pool: &PgPool,
    redis: &mut ConnectionManager,
    ns: &str,
    by: &Actor,
    to: AttendeeId,
    body: &str,
) -> Result<DirectMessage> {
    let body = clean_text("message", body, MAX_LEN)?;
    if to == by.id {
        return Err(Error::invalid("you cannot message yourself"));
    }
    if attendees::in_event(pool, by.event_id, to).await?.is_none() {
        return Err(Error::not_found("no such attendee"));
    }
    moderation::may_post(pool, redis, ns, by).await?;
    let mut dm: DirectMessage = sqlx::query_as(
        "INSERT INTO direct_messages (id, event_id, sender_id, recipient_id, body) VALUES ($1, $2, $3, $4, $5)
         RETURNING id, seq, sender_id, recipient_id, body, created_at",
    )
    .bind(DmId::new())
    .bind(by.event_id)
    .bind(by.id)
    .bind(to)
    .bind(&body)
    .fetch_one(pool)
    .await?;
    dm.sender_name = by.name.clone();
    Ok(dm)
}

/// The conversation of `by` with `other`, up to `limit` messages before
/// `before_seq`, oldest first.
pub async fn history(
    pool: &PgPool,
    by: &Actor,
    other: AttendeeId,
    before_seq: Option<i64>,
    limit: i64,
) -> Result<Vec<DirectMessage>> {
    let mut page: Vec<DirectMessage> = sqlx::query_as(
        "SELECT id, seq, sender_id, recipient_id, body, created_at
         FROM direct_messages
         WHERE event_id = $1
           AND ((sender_id = $2 AND recipient_id = $3) OR (sender_id = $3 AND recipient_id = $2))
           AND ($4::bigint IS NULL OR seq < $4)
         ORDER BY seq DESC LIMIT $5",
    )
    .bind(by.event_id)
    .bind(by.id)
    .bind(other)
    .bind(before_seq)
    .bind(limit.clamp(1, 200))
    .fetch_all(pool)
    .await?;
    page.reverse();
    let names = attendees::names(pool, &[by.id, other]).await?;
    for m in &mut page {
        m.sender_name = names.get(&m.sender_id).cloned().unwrap_or_default();
    }
    Ok(page)
}
