//! The Polls app: single- or multi-choice polls in a channel, opened and closed
//! by moderators, with live results.

use sqlx::PgPool;
use uuid::Uuid;

use crate::chat::{check_channel, clean_text, Actor};
use crate::{apps, Error, Result};

/// A poll with its results.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Poll {
    /// Id.
    pub id: Uuid,
    /// Channel.
    pub channel: String,
    /// Question.
    pub question: String,
    /// Options.
    pub options: Vec<String>,
    /// Several choices allowed.
    pub multi: bool,
    /// `open` or `closed`.
    pub status: String,
    /// Votes per option.
    #[sqlx(skip)]
    pub counts: Vec<i64>,
    /// People who voted.
    #[sqlx(skip)]
    pub voters: i64,
}

const COLUMNS: &str = "id, channel, question, options, multi, status";

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
pub async fn create(
    pool: &PgPool,
    by: &Actor,
    channel: &str,
    question: &str,
    options: &[String],
    multi: bool,
) -> Result<Poll> {
    by.require_moderator()?;
    apps::require_installed(pool, by.event_id, apps::POLLS).await?;
    check_channel(pool, by.event_id, channel).await?;
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
    .bind(Uuid::new_v4())
    .bind(by.event_id)
    .bind(channel)
    .bind(&question)
    .bind(&options)
    .bind(multi)
    .fetch_one(pool)
    .await?;
    with_results(pool, poll).await
}

async fn get(pool: &PgPool, event: Uuid, id: Uuid) -> Result<Poll> {
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
pub async fn vote(pool: &PgPool, by: &Actor, id: Uuid, choices: &[u32]) -> Result<Poll> {
    let poll = get(pool, by.event_id, id).await?;
    if poll.status != "open" {
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
    sqlx::query(
        "INSERT INTO poll_votes (poll_id, attendee_id, choices) VALUES ($1, $2, $3)
         ON CONFLICT (poll_id, attendee_id) DO UPDATE SET choices = EXCLUDED.choices, created_at = now()",
    )
    .bind(id)
    .bind(by.id)
    .bind(&choices)
    .execute(pool)
    .await?;
    with_results(pool, poll).await
}

/// Closes a poll (moderators).
pub async fn close(pool: &PgPool, by: &Actor, id: Uuid) -> Result<Poll> {
    by.require_moderator()?;
    let mut poll = get(pool, by.event_id, id).await?;
    sqlx::query("UPDATE polls SET status = 'closed' WHERE id = $1")
        .bind(id)
        .execute(pool)
        .await?;
    poll.status = "closed".into();
    with_results(pool, poll).await
}

/// The event's polls in a channel, oldest first.
pub async fn list(pool: &PgPool, event: Uuid, channel: &str) -> Result<Vec<Poll>> {
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
