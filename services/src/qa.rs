//! The Q&A app: attendees ask and upvote; moderators approve, answer or hide.
//! With the app's `premoderate` setting, new questions wait for approval and are
//! seen only by moderators and their author until then.

use sqlx::PgPool;
use uuid::Uuid;

use crate::chat::{check_channel, clean_text, Actor};
use crate::{apps, Error, Result};

/// A question.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Question {
    /// Id.
    pub id: Uuid,
    /// Channel.
    pub channel: String,
    /// Author.
    pub author_id: Uuid,
    /// Author's name.
    pub author_name: String,
    /// Text.
    pub body: String,
    /// `pending`, `open`, `answered` or `hidden`.
    pub status: String,
    /// Upvotes.
    pub votes: i32,
}

const SELECT: &str =
    "SELECT q.id, q.channel, q.author_id, a.name AS author_name, q.body, q.status, q.votes
     FROM qa_questions q JOIN attendees a ON a.id = q.author_id";

async fn get(pool: &PgPool, event: Uuid, id: Uuid) -> Result<Question> {
    sqlx::query_as(&format!("{SELECT} WHERE q.id = $1 AND q.event_id = $2"))
        .bind(id)
        .bind(event)
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| Error::not_found("no such question"))
}

/// Asks a question (the Q&A app must be installed).
pub async fn ask(pool: &PgPool, by: &Actor, channel: &str, body: &str) -> Result<Question> {
    let install = apps::require_installed(pool, by.event_id, apps::QA).await?;
    check_channel(pool, by.event_id, channel).await?;
    let body = clean_text("question", body, 500)?;
    let premoderate = install.config["premoderate"].as_bool().unwrap_or(false);
    let id = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO qa_questions (id, event_id, channel, author_id, body, status) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id)
    .bind(by.event_id)
    .bind(channel)
    .bind(by.id)
    .bind(&body)
    .bind(if premoderate { "pending" } else { "open" })
    .execute(pool)
    .await?;
    get(pool, by.event_id, id).await
}

/// Upvotes a visible question, once per person (a repeat changes nothing).
pub async fn upvote(pool: &PgPool, by: &Actor, id: Uuid) -> Result<Question> {
    let q = get(pool, by.event_id, id).await?;
    if q.status != "open" {
        return Err(Error::Conflict("only open questions can be upvoted".into()));
    }
    let mut tx = pool.begin().await?;
    let added = sqlx::query(
        "INSERT INTO qa_votes (question_id, attendee_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
    )
    .bind(id)
    .bind(by.id)
    .execute(&mut *tx)
    .await?;
    if added.rows_affected() == 1 {
        sqlx::query("UPDATE qa_questions SET votes = votes + 1 WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    get(pool, by.event_id, id).await
}

/// Approves (`open`), answers or hides a question (moderators).
pub async fn moderate(pool: &PgPool, by: &Actor, id: Uuid, status: &str) -> Result<Question> {
    by.require_moderator()?;
    if !matches!(status, "open" | "answered" | "hidden") {
        return Err(Error::invalid("status must be open, answered or hidden"));
    }
    get(pool, by.event_id, id).await?;
    sqlx::query("UPDATE qa_questions SET status = $2 WHERE id = $1")
        .bind(id)
        .bind(status)
        .execute(pool)
        .await?;
    get(pool, by.event_id, id).await
}

/// The questions `viewer` may see in a channel, most votes first.
pub async fn list(pool: &PgPool, viewer: &Actor, channel: &str) -> Result<Vec<Question>> {
    Ok(sqlx::query_as(&format!(
        "{SELECT} WHERE q.event_id = $1 AND q.channel = $2
           AND (q.status IN ('open', 'answered') OR $3 OR q.author_id = $4)
         ORDER BY q.status = 'answered', q.votes DESC, q.created_at LIMIT 500"
    ))
    .bind(viewer.event_id)
    .bind(channel)
    .bind(viewer.moderator)
    .bind(viewer.id)
    .fetch_all(pool)
    .await?)
}
