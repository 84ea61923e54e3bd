//! Custom questions of an event's registration form (owner of `questions` and
//! `answers`); answers are validated here and stored with the order (see
//! [`super::purchase`]).

use std::collections::HashMap;

use protocol::events::RegistrationAnswer;
use protocol::ids::{AttendeeId, EventId, QuestionId};
use protocol::states::QuestionKind;
use sqlx::{PgConnection, PgPool};
use tracing::instrument;

use crate::accounts::Organiser;
use crate::domain::parse_name;
use crate::error::parse_state;
use crate::events;
use crate::{Error, Result};

/// A question as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Question {
    /// Id (also the form field key).
    pub id: QuestionId,
    /// Label shown to buyers.
    pub label: String,
    /// Text, choice or checkbox.
    pub kind: QuestionKind,
    /// Choices of a `choice` question.
    pub options: Vec<String>,
    /// Must be answered (checked, for a checkbox).
    pub required: bool,
}

/// Checks a choice question's comma-separated `options` (none for other kinds).
fn parse_options(kind: QuestionKind, options: &str) -> Result<Vec<String>> {
    if kind != QuestionKind::Choice {
        return Ok(Vec::new());
    }
    let opts: Vec<String> = options
        .split(',')
        .map(|o| o.trim().to_owned())
        .filter(|o| !o.is_empty())
        .collect();
    if opts.len() < 2 {
        return Err(Error::invalid(
            "a choice question needs at least two comma-separated options",
        ));
    }
    if opts.iter().any(|o| o.chars().count() > 100) {
        return Err(Error::invalid("options must be at most 100 characters"));
    }
    Ok(opts)
}

/// Adds a question to one of the organiser's events. `options` is comma-separated.
#[instrument(skip(pool, by, label, options), fields(org = %by.org_id))]
pub async fn create(
    pool: &PgPool,
    by: &Organiser,
    slug: &str,
    label: &str,
    kind: &str,
    options: &str,
    required: bool,
) -> Result<Question> {
    let event = events::get_for_org(pool, by, slug).await?;
    let label = parse_name("question", label, 200)?;
    let kind: QuestionKind = parse_state(kind, "question type must be text, choice or checkbox")?;
    let options = parse_options(kind, options)?;
    Ok(sqlx::query_as(
        "INSERT INTO questions (id, event_id, label, kind, options, required, position)
         VALUES ($1, $2, $3, $4, $5, $6, (SELECT count(*) FROM questions WHERE event_id = $2))
         RETURNING id, label, kind, options, required",
    )
    .bind(QuestionId::new())
    .bind(event.id)
    .bind(&label)
    .bind(kind)
    .bind(&options)
    .bind(required)
    .fetch_one(pool)
    .await?)
}

/// Changes a question's label, options and whether it is required (its
/// type stays: earlier answers were given to it). Applies to registrations
/// from now on.
#[instrument(skip(pool, by, label, options), fields(org = %by.org_id))]
pub async fn update(
    pool: &PgPool,
    by: &Organiser,
    slug: &str,
    id: QuestionId,
    label: &str,
    options: &str,
    required: bool,
) -> Result<Question> {
    let event = events::get_for_org(pool, by, slug).await?;
    let label = parse_name("question", label, 200)?;
    let kind: QuestionKind = sqlx::query_scalar(
        "SELECT kind FROM questions WHERE id = $1 AND event_id = $2 AND retired_at IS NULL",
    )
    .bind(id)
    .bind(event.id)
    .fetch_optional(pool)
    .await?
    .ok_or_else(|| Error::not_found("no such question"))?;
    let options = parse_options(kind, options)?;
    Ok(sqlx::query_as(
        "UPDATE questions SET label = $2, options = $3, required = $4 WHERE id = $1
         RETURNING id, label, kind, options, required",
    )
    .bind(id)
    .bind(&label)
    .bind(&options)
    .bind(required)
    .fetch_one(pool)
    .await?)
}

/// What removing a question did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removed {
    /// Nobody had answered it: it is gone.
    Deleted,
    /// It has answers, which stay in registrations and exports: it only
    /// leaves the form.
    Retired,
}

/// Removes a question from the registration form of one of the organiser's events.
#[instrument(skip(pool, by), fields(org = %by.org_id))]
pub async fn remove(pool: &PgPool, by: &Organiser, slug: &str, id: QuestionId) -> Result<Removed> {
    let event = events::get_for_org(pool, by, slug).await?;
    let mut tx = pool.begin().await?;
    let answered: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM answers WHERE question_id = q.id) FROM questions q
         WHERE q.id = $1 AND q.event_id = $2 AND q.retired_at IS NULL FOR UPDATE",
    )
    .bind(id)
    .bind(event.id)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| Error::not_found("no such question"))?;
    let removed = if answered {
        sqlx::query("UPDATE questions SET retired_at = now() WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        Removed::Retired
    } else {
        sqlx::query("DELETE FROM questions WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        Removed::Deleted
    };
    tx.commit().await?;
    Ok(removed)
}

/// The questions of the event's registration form, in form order.
pub async fn list(pool: &PgPool, event_id: EventId) -> Result<Vec<Question>> {
    Ok(sqlx::query_as(
        "SELECT id, label, kind, options, required FROM questions
         WHERE event_id = $1 AND retired_at IS NULL ORDER BY position, created_at",
    )
    .bind(event_id)
    .fetch_all(pool)
    .await?)
}

/// Every question the event ever asked, retired ones too (for exports of
/// the answers), in form order.
pub async fn ever_asked(pool: &PgPool, event_id: EventId) -> Result<Vec<Question>> {
    Ok(sqlx::query_as(
        "SELECT id, label, kind, options, required FROM questions
         WHERE event_id = $1 ORDER BY position, created_at",
    )
    .bind(event_id)
    .fetch_all(pool)
    .await?)
}

/// A checked answer, ready to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidAnswer {
    /// The question.
    pub question: QuestionId,
    /// The answer, normalised (`yes` for a ticked checkbox).
    pub value: String,
}

/// An answer as the organiser's views show it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Answer {
    /// The question's label.
    pub label: String,
    /// The answer.
    pub value: String,
}

/// An answer of one of the event's attendees (for exports).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AnswerRow {
    /// Who answered.
    pub attendee_id: AttendeeId,
    /// The question.
    pub question_id: QuestionId,
    /// The answer.
    pub value: String,
}

/// Checks `raw` (question id → value) against the questions; returns what to store.
pub fn validate(questions: &[Question], raw: &HashMap<String, String>) -> Result<Vec<ValidAnswer>> {
    let known: Vec<String> = questions.iter().map(|q| q.id.to_string()).collect();
    if let Some(unknown) = raw.keys().find(|k| !known.contains(k)) {
        return Err(Error::invalid(format!("unknown question '{unknown}'")));
    }
    let mut out = Vec::new();
    for q in questions {
        let value = raw
            .get(&q.id.to_string())
            .map(|v| v.trim())
            .filter(|v| !v.is_empty());
        let value = match (q.kind, value) {
            (_, None) if q.required => {
                return Err(Error::invalid(format!("please answer \"{}\"", q.label)));
            }
            (_, None) => continue,
            (QuestionKind::Checkbox, Some(v)) => match v {
                "on" | "true" | "yes" => "yes".to_owned(),
                _ => {
                    return Err(Error::invalid(format!(
                        "\"{}\" takes yes or nothing",
                        q.label
                    )))
                }
            },
            (QuestionKind::Choice, Some(v)) if !q.options.iter().any(|o| o == v) => {
                return Err(Error::invalid(format!(
                    "\"{v}\" is not an option of \"{}\"",
                    q.label
                )));
            }
            (_, Some(v)) if v.chars().count() > 1000 => {
                return Err(Error::invalid(format!(
                    "the answer to \"{}\" is too long (1000 characters at most)",
                    q.label
                )));
            }
            (_, Some(v)) => v.to_owned(),
        };
        out.push(ValidAnswer {
            question: q.id,
            value,
        });
    }
    Ok(out)
}

/// Validated answers with their questions as asked (`questions` in the
/// form's order), for `attendee.registered`.
pub fn as_asked(questions: &[Question], answers: &[ValidAnswer]) -> Vec<RegistrationAnswer> {
    answers
        .iter()
        .filter_map(|a| {
            let (position, q) = questions
                .iter()
                .enumerate()
                .find(|(_, q)| q.id == a.question)?;
            Some(RegistrationAnswer {
                question_id: q.id,
                question: q.label.clone(),
                position: position as i32,
                value: a.value.clone(),
            })
        })
        .collect()
}

/// Stores validated answers of an attendee (inside the order's transaction).
pub async fn store(
    conn: &mut PgConnection,
    attendee_id: AttendeeId,
    answers: &[ValidAnswer],
) -> Result<()> {
    for a in answers {
        sqlx::query("INSERT INTO answers (attendee_id, question_id, value) VALUES ($1, $2, $3)")
            .bind(attendee_id)
            .bind(a.question)
            .bind(&a.value)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// The answers of these attendees, by (attendee, question): a lookup built
/// once per page of an export.
pub async fn answers_of_attendees(
    pool: &PgPool,
    attendees: &[AttendeeId],
) -> Result<HashMap<(AttendeeId, QuestionId), String>> {
    let rows: Vec<AnswerRow> = sqlx::query_as(
        "SELECT attendee_id, question_id, value FROM answers WHERE attendee_id = ANY($1)",
    )
    .bind(attendees)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|a| ((a.attendee_id, a.question_id), a.value))
        .collect())
}

/// An attendee's answer to one question, if they gave one.
pub async fn answer_to(
    pool: &PgPool,
    attendee_id: AttendeeId,
    question: QuestionId,
) -> Result<Option<String>> {
    Ok(
        sqlx::query_scalar("SELECT value FROM answers WHERE attendee_id = $1 AND question_id = $2")
            .bind(attendee_id)
            .bind(question)
            .fetch_optional(pool)
            .await?,
    )
}

/// One attendee's answers: question label and value, in form order.
pub async fn answers_of(pool: &PgPool, attendee_id: AttendeeId) -> Result<Vec<Answer>> {
    Ok(sqlx::query_as(
        "SELECT q.label, a.value FROM answers a JOIN questions q ON q.id = a.question_id
         WHERE a.attendee_id = $1 ORDER BY q.position, q.created_at",
    )
    .bind(attendee_id)
    .fetch_all(pool)
    .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(kind: QuestionKind, required: bool, options: &[&str]) -> Question {
        Question {
            id: QuestionId::new(),
            label: "Q".into(),
            kind,
            options: options.iter().map(|s| s.to_string()).collect(),
            required,
        }
    }

    #[test]
    fn answers_are_checked_against_their_questions() {
        let text = q(QuestionKind::Text, true, &[]);
        let choice = q(QuestionKind::Choice, false, &["Veg", "Vegan"]);
        let terms = q(QuestionKind::Checkbox, true, &[]);
        let qs = vec![text.clone(), choice.clone(), terms.clone()];
        let map = |pairs: &[(&Question, &str)]| -> HashMap<String, String> {
            pairs
                .iter()
                .map(|(q, v)| (q.id.to_string(), v.to_string()))
                .collect()
        };
        let ok = validate(
            &qs,
            &map(&[(&text, " ACME "), (&choice, "Vegan"), (&terms, "on")]),
        )
        .unwrap();
        let answer = |q: &Question, v: &str| ValidAnswer {
            question: q.id,
            value: v.into(),
        };
        assert_eq!(
            ok,
            vec![
                answer(&text, "ACME"),
                answer(&choice, "Vegan"),
                answer(&terms, "yes")
            ]
        );
        // Optional choice may be left out.
        assert_eq!(
            validate(&qs, &map(&[(&text, "x"), (&terms, "on")]))
                .unwrap()
                .len(),
            2
        );
        assert!(
            validate(&qs, &map(&[(&text, "x")])).is_err(),
            "required checkbox"
        );
        assert!(
            validate(&qs, &map(&[(&text, " "), (&terms, "on")])).is_err(),
            "blank required text"
        );
        assert!(validate(
            &qs,
            &map(&[(&text, "x"), (&terms, "on"), (&choice, "Meat")])
        )
        .is_err());
        assert!(validate(&qs, &map(&[(&text, &"x".repeat(1001)), (&terms, "on")])).is_err());
        let mut unknown = map(&[(&text, "x"), (&terms, "on")]);
        unknown.insert(QuestionId::new().to_string(), "?".into());
        assert!(validate(&qs, &unknown).is_err());
    }
}
