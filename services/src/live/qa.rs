//! The Q&A app (owner of `qa_questions` and `qa_votes`): attendees ask and
//! upvote; moderators approve, answer or hide. With the app's `premoderate`
//! setting, new questions wait for approval and are seen only by moderators and
//! their author until then.

use protocol::events::{Fact, QuestionAsked};
use protocol::ids::{AttendeeId, EventId, QaQuestionId};
use protocol::live::QuestionView;
use protocol::states::{AppKind, QaStatus};
use protocol::Channel;
use sqlx::PgPool;
use tracing::instrument;

use super::log::Audience;
use super::participants::Actor;
use super::{apps, moderation, stages};
use crate::domain::clean_text;
use crate::registrations::attendees;
use crate::{domain_events, Error, Result};

/// A question.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Question {
    /// Id.
    pub id: QaQuestionId,
    /// Channel.
    pub channel: Channel,
    /// Author.
    pub author_id: AttendeeId,
    /// Author's name.
    #[sqlx(default)]
    pub author_name: String,
    /// Text.
    pub body: String,
    /// Where it stands.
    pub status: QaStatus,
    /// Upvotes.
    pub votes: i32,
}

const SELECT: &str = "SELECT id, channel, author_id, body, status, votes FROM qa_questions";

impl Question {
    /// The question as the live protocol carries it.
    pub fn view(&self) -> QuestionView {
        QuestionView {
            id: self.id,
            channel: self.channel,
            body: self.body.clone(),
            author: self.author_name.clone(),
            status: self.status,
            votes: i64::from(self.votes),
        }
    }

    /// Who sees it: everyone once visible; moderators and the author while
    /// pending or hidden.
    pub fn audience(&self) -> Audience {
        match self.status {
            QaStatus::Open | QaStatus::Answered => Audience::All,
            QaStatus::Pending | QaStatus::Hidden => Audience::Moderators {
                ids: vec![self.author_id],
            },
        }
    }
}

async fn with_authors(pool: &PgPool, mut qs: Vec<Question>) -> Result<Vec<Question>> {
    let authors: Vec<AttendeeId> = qs.iter().map(|q| q.author_id).collect();
    let names = attendees::names(pool, &authors).await?;
    for q in &mut qs {
        q.author_name = names.get(&q.author_id).cloned().unwrap_or_default();
    }
    Ok(qs)
}

async fn get(pool: &PgPool, event: EventId, id: QaQuestionId) -> Result<Question> {
    let q: Question = sqlx::query_as(&format!("{SELECT} WHERE id = $1 AND event_id = $2"))
        .bind(id)
        .bind(event)
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| Error::not_found("no such question"))?;
    Ok(with_authors(pool, vec![q]).await?.remove(0))
}

/// Asks a question (the Q&A app must be installed).
#[instrument(skip(pool, by, body), fields(event = %by.event_id, by = %by.id))]
pub async fn ask(pool: &PgPool, by: &Actor, channel: Channel, body: &str) -> Result<Question> {
    moderation::ensure_not_muted(pool, by).await?;
    let install = apps::require_installed(pool, by.event_id, AppKind::Qa).await?;
    stages::check_channel(pool, by.event_id, channel).await?;
    let body = clean_text("question", body, 500)?;
    let premoderate = install.config["premoderate"].as_bool().unwrap_or(false);
    let id = QaQuestionId::new();
    let mut tx = pool.begin().await?;
    sqlx::query(
        "INSERT INTO qa_questions (id, event_id, channel, author_id, body, status) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id)
    .bind(by.event_id)
    .bind(channel)
    .bind(by.id)
    .bind(&body)
    .bind(if premoderate {
        QaStatus::Pending
    } else {
        QaStatus::Open
    })
    .execute(&mut *tx)
    .await?;
    let fact = Fact::QuestionAsked(QuestionAsked {
        question_id: id,
        channel,
        attendee_id: by.id,
    });
    domain_events::record(&mut tx, by.scope(), fact).await?;
    tx.commit().await?;
    get(pool, by.event_id, id).await
}

/// Upvotes a visible question, once per person (a repeat changes nothing).
#[instrument(skip(pool, by), fields(event = %by.event_id, by = %by.id))]
pub async fn upvote(pool: &PgPool, by: &Actor, id: QaQuestionId) -> Result<Question> {
    moderation::ensure_not_muted(pool, by).await?;
    let q = get(pool, by.event_id, id).await?;
    if q.status != QaStatus::Open {
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
#[instrument(skip(pool, by), fields(event = %by.event_id, by = %by.id))]
pub async fn moderate(
    pool: &PgPool,
    by: &Actor,
    id: QaQuestionId,
    status: QaStatus,
) -> Result<Question> {
    by.require_moderator()?;
    if status == QaStatus::Pending {
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

/// The questions of a channel that `attendee` has upvoted.
pub async fn upvoted_by(
    pool: &PgPool,
    event: EventId,
    channel: Channel,
    attendee: AttendeeId,
) -> Result<Vec<QaQuestionId>> {
    Ok(sqlx::query_scalar(
        "SELECT v.question_id FROM qa_votes v JOIN qa_questions q ON q.id = v.question_id
         WHERE q.event_id = $1 AND q.channel = $2 AND v.attendee_id = $3",
    )
    .bind(event)
    .bind(channel)
    .bind(attendee)
    .fetch_all(pool)
    .await?)
}

/// The questions `viewer` may see in a channel, most votes first.
pub async fn list(pool: &PgPool, viewer: &Actor, channel: Channel) -> Result<Vec<Question>> {
    let qs = sqlx::query_as(&format!(
        "{SELECT} WHERE event_id = $1 AND channel = $2
           AND (status IN ('open', 'answered') OR $3 OR author_id = $4)
         ORDER BY status = 'answered', votes DESC, created_at LIMIT 500"
    ))
    .bind(viewer.event_id)
    .bind(channel)
    .bind(viewer.moderator())
    .bind(viewer.id)
    .fetch_all(pool)
    .await?;
    with_authors(pool, qs).await
}
