//! The Polls app (owner of `polls` and `poll_votes`): single- or multi-choice
//! polls in a channel, opened and closed by moderators, with live results.

use protocol::events::{Fact, PollVoted};
use protocol::ids::{AttendeeId, EventId, PollId};
use protocol::live::PollView;
use protocol::states::{AppKind, PollStatus};
use protocol::Channel;
use sqlx::PgPool;
use tracing::instrument;

use super::participants::Actor;
use super::{apps, moderation, stages};
use crate::domain::clean_text;
use crate::{domain_events, Error, Result};

/// A poll with its results.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Poll {
    /// Id.
    pub id: PollId,
    /// Channel.
    pub channel: Channel,
    /// Question.
    pub question: String,
    /// Options.
    pub options: Vec<String>,
    /// Several choices allowed.
    pub multi: bool,
    /// Open or closed.
    pub status: PollStatus,
    /// Votes per option.
    #[sqlx(skip)]
    pub counts: Vec<i64>,
    /// People who voted.
    #[sqlx(skip)]
    pub voters: i64,
}

const COLUMNS: &str = "id, channel, question, options, multi, status";

impl Poll {
    /// The poll as the live protocol carries it.
    pub fn view(&self) -> PollView {
        PollView {
            id: self.id,
            channel: self.channel,
            question: self.question.clone(),
            options: self.options.clone(),
            multi: self.multi,
            status: self.status,
            counts: self.counts.clone(),
            voters: self.voters,
        }
    }
}

async fn with_results(pool: &PgPool, mut poll: Poll) -> Result<Poll> {
    let votes: Vec<Vec<i32>> =
        sqlx::query_scalar("SELECT choices FROM poll_votes WHERE poll_id = $1")
            .bind(poll.id)
            .fetch_all(pool)
            .await?;
    let mut counts = vec![0i64; poll.options.len()];
    for choices in &votes {
        for c in choices {
            if let Some(n) = counts.get_mut(*c as usize) {
                *n += 1;
            }
        }
    }
    poll.counts = counts;
    poll.voters = votes.len() as i64;
    Ok(poll)
}

/// Starts a poll (moderators; the Polls app must be installed).
#[instrument(skip(pool, by, question, options), fields(event = %by.event_id, by = %by.id))]
pub async fn create(
    pool: &PgPool,
    by: &Actor,
    channel: Channel,
    question: &str,
    options: &[String],
    multi: bool,
) -> Result<Poll> {
    by.require_moderator()?;
    apps::require_installed(pool, by.event_id, AppKind::Polls).await?;
    stages::check_channel(pool, by.event_id, channel).await?;
    let question = clean_text("question", question, 300)?;
    let options: Vec<String> = options
        .iter()
        .filter(|o| !o.trim().is_empty())
        .map(|o| clean_text("option", o, 100))
        .collect::<Result<_>>()?;
    if !(2..=10).contains(&options.len()) {
        return Err(Error::invalid("a poll needs 2 to 10 options"));
    }
    let poll: Poll = sqlx::query_as(&format!(
        "INSERT INTO polls (id, event_id, channel, question, options, multi) VALUES ($1, $2, $3, $4, $5, $6)
         RETURNING {COLUMNS}"
    ))
    .bind(PollId::new())
    .bind(by.event_id)
    .bind(channel)
    .bind(&question)
    .bind(&options)
    .bind(multi)
    .fetch_one(pool)
    .await?;
    with_results(pool, poll).await
}

async fn get(pool: &PgPool, event: EventId, id: PollId) -> Result<Poll> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM polls WHERE id = $1 AND event_id = $2"
    ))
    .bind(id)
    .bind(event)
    .fetch_optional(pool)
    .await?
    .ok_or_else(|| Error::not_found("no such poll"))
}

/// Votes (or changes one's vote) in an open poll.
#[instrument(skip(pool, by), fields(event = %by.event_id, by = %by.id))]
pub async fn vote(pool: &PgPool, by: &Actor, id: PollId, choices: &[u32]) -> Result<Poll> {
    moderation::ensure_not_muted(pool, by).await?;
    let poll = get(pool, by.event_id, id).await?;
    if poll.status != PollStatus::Open {
        return Err(Error::Conflict("this poll is closed".into()));
    }
    let mut choices: Vec<i32> = choices.iter().map(|c| *c as i32).collect();
    choices.sort_unstable();
    choices.dedup();
    if choices.is_empty() || choices.iter().any(|c| *c as usize >= poll.options.len()) {
        return Err(Error::invalid("choose one of the poll's options"));
    }
    if !poll.multi && choices.len() > 1 {
        return Err(Error::invalid("this poll takes one choice"));
    }
    let mut tx = pool.begin().await?;
    sqlx::query(
        "INSERT INTO poll_votes (poll_id, attendee_id, choices) VALUES ($1, $2, $3)
         ON CONFLICT (poll_id, attendee_id) DO UPDATE SET choices = EXCLUDED.choices, created_at = now()",
    )
    .bind(id)
    .bind(by.id)
    .bind(&choices)
    .execute(&mut *tx)
    .await?;
    let fact = Fact::PollVoted(PollVoted {
        poll_id: id,
        channel: poll.channel,
        attendee_id: by.id,
    });
    domain_events::record(&mut tx, by.scope(), fact).await?;
    tx.commit().await?;
    with_results(pool, poll).await
}

/// Closes a poll (moderators).
#[instrument(skip(pool, by), fields(event = %by.event_id, by = %by.id))]
pub async fn close(pool: &PgPool, by: &Actor, id: PollId) -> Result<Poll> {
    by.require_moderator()?;
    let mut poll = get(pool, by.event_id, id).await?;
    sqlx::query("UPDATE polls SET status = $2 WHERE id = $1")
        .bind(id)
        .bind(PollStatus::Closed)
        .execute(pool)
        .await?;
    poll.status = PollStatus::Closed;
    with_results(pool, poll).await
}

/// The polls of a channel that `attendee` has voted in (their page shows
/// "You voted" there).
pub async fn voted_in(
    pool: &PgPool,
    event: EventId,
    channel: Channel,
    attendee: AttendeeId,
) -> Result<Vec<PollId>> {
    Ok(sqlx::query_scalar(
        "SELECT v.poll_id FROM poll_votes v JOIN polls p ON p.id = v.poll_id
         WHERE p.event_id = $1 AND p.channel = $2 AND v.attendee_id = $3",
    )
    .bind(event)
    .bind(channel)
    .bind(attendee)
    .fetch_all(pool)
    .await?)
}

/// The event's polls in a channel, oldest first.
pub async fn list(pool: &PgPool, event: EventId, channel: Channel) -> Result<Vec<Poll>> {
    let polls: Vec<Poll> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM polls WHERE event_id = $1 AND channel = $2 ORDER BY created_at LIMIT 100"
    ))
    .bind(event)
    .bind(channel)
    .fetch_all(pool)
    .await?;
    let mut out = Vec::with_capacity(polls.len());
    for p in polls {
        out.push(with_results(pool, p).await?);
    }
    Ok(out)
}
