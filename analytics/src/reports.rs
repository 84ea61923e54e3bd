//! Reports organisers ask for: a CSV of every attendee's time per area, of
//! each area's figures, or of every registration with its answers
//! ([`ReportKind`]), made in the background while the dashboard shows its
//! progress, then downloaded until it expires.
//!
//! The model. A report is a typed job of analytics' own: a row of
//! `analytics.reports` (queued → running → ready or failed) that the
//! analytics worker claims with a lease ([`run`]; a worker that died
//! mid-report leaves it to be claimed again once the lease ends, one whose
//! making failed gives it back at once, at most [`ATTEMPTS`] times; each
//! claim is fenced by its attempt number, so a worker taken over writes
//! nothing more). One report per event is in the making at a time.
//! The maker walks the attendees a page at a time ([`PAGE`]) and writes CSV
//! into chunks of about [`CHUNK_BYTES`], each stored as it fills, with the
//! count of attendees done: memory stays bounded however large the event,
//! and the dashboard reads the progress from the row. A report made again
//! starts over (its chunks are replaced). The download streams the chunks
//! in order, one at a time. Reports are kept [`KEEP`], then purged.
//!
//! Everything in a report comes from analytics' own tables: attendees'
//! names, emails and answers from `attendee.registered`
//! (`analytics.attendees`), their orders from the order facts
//! (`analytics.order_states`), and the names of stages, sessions and ticket
//! types as the organiser's dashboard gave them when asking (they are not
//! domain events).

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use protocol::events::RegistrationAnswer;
use protocol::ids::{AttendeeId, EventId, OrgId, QuestionId, ReportId, TicketTypeId};
use protocol::states::{ReportKind, ReportStatus};
use sqlx::{PgConnection, PgPool};
use tokio::sync::watch;

use crate::Result;

/// Attendees per page of the walk.
pub const PAGE: i64 = 500;

/// A chunk is stored once it holds this much CSV.
pub const CHUNK_BYTES: usize = 256 * 1024;

/// How long a report can be downloaded.
pub const KEEP: chrono::TimeDelta = chrono::TimeDelta::hours(24);

/// How long a claim holds before another worker may take the report over.
const LEASE: chrono::TimeDelta = chrono::TimeDelta::minutes(10);

/// Claims a report gets before it is failed.
pub const ATTEMPTS: i32 = 3;

/// The columns of the time-per-area report.
pub const COLUMNS: [&str; 8] = [
    "name",
    "email",
    "area",
    "visits",
    "seconds",
    "time_spent",
    "first_entered_utc",
    "last_seen_utc",
];

/// What asking for a report can meet.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// One is being made already.
    #[error("a report of this event is being prepared; wait until it is ready")]
    Busy,
    /// No report by that id in the event (or it expired).
    #[error("no such report (reports are kept a day)")]
    NotFound,
    /// It is not made yet.
    #[error("this report is not ready yet")]
    NotReady,
    /// Its making failed every time.
    #[error("this report could not be prepared; ask for a new one")]
    Failed,
    /// The database.
    #[error(transparent)]
    Other(#[from] crate::Error),
}

impl From<sqlx::Error> for Refusal {
    fn from(e: sqlx::Error) -> Self {
        Refusal::Other(e.into())
    }
}

/// A report as the dashboard lists it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Report {
    /// Its id (in its download path).
    pub id: ReportId,
    /// What it holds.
    pub kind: ReportKind,
    /// Where the making stands.
    pub status: ReportStatus,
    /// Attendees (or areas) written so far.
    pub rows_done: i64,
    /// Attendees (or areas) to write, once counted.
    pub rows_total: Option<i64>,
    /// When it was asked for.
    pub created_at: DateTime<Utc>,
    /// When it can no longer be downloaded.
    pub expires_at: DateTime<Utc>,
}

/// Neutralises spreadsheet formulas in user-supplied cells (CSV injection).
pub fn safe_cell(s: &str) -> String {
    match s.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{s}"),
        _ => s.to_owned(),
    }
}

/// An area's name: the stage's or session's from `names` (area key to
/// name), else what kind of area it is ([`area_kind`]).
pub fn area_name(names: &HashMap<String, String>, area: &str) -> String {
    names
        .get(area)
        .cloned()
        .unwrap_or_else(|| area_kind(area).to_owned())
}

/// The name of an area that is not a stage or a session (one that was
/// removed is "A removed stage" or "A removed session").
pub fn area_kind(area: &str) -> &'static str {
    match area.split(':').next().unwrap_or_default() {
        "reception" => "Reception",
        "people" => "People",
        "check" => "Pre-event check",
        "networking" => "Networking",
        "replay" => "Replay",
        "stage" => "A removed stage",
        "session" => "A removed session",
        _ => "Elsewhere",
    }
}

/// Keeps an attendee's name, email, order and answers from their
/// `attendee.registered` (the same values again on a redelivery).
pub async fn apply(conn: &mut PgConnection, env: &protocol::events::Envelope) -> Result<()> {
    let protocol::events::Fact::AttendeeRegistered(f) = &env.fact else {
        return Ok(());
    };
    sqlx::query(
        "INSERT INTO analytics.attendees (attendee_id, event_id, name, email, order_id, registered_at, answers)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (attendee_id) DO UPDATE SET name = EXCLUDED.name, email = EXCLUDED.email,
            order_id = EXCLUDED.order_id, registered_at = EXCLUDED.registered_at,
            answers = CASE WHEN EXCLUDED.answers = '[]' THEN analytics.attendees.answers
                           ELSE EXCLUDED.answers END",
    )
    .bind(f.attendee_id)
    .bind(env.event_id)
    .bind(&f.name)
    .bind(&f.email)
    .bind(f.order_id)
    .bind(env.occurred_at)
    .bind(sqlx::types::Json(&f.answers))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Asks for a time-per-area report of `event`, its stages and sessions
/// named by `names` (area key to name). One in the making is [`Refusal::Busy`].
pub async fn request(
    pool: &PgPool,
    org: OrgId,
    event: EventId,
    kind: ReportKind,
    names: &HashMap<String, String>,
) -> Result<ReportId, Refusal> {
    let id = ReportId::new();
    let names = serde_json::to_value(names).map_err(|e| crate::Error::Internal(e.to_string()))?;
    // The partial unique index (one queued or running report per event)
    // settles two requests made at once.
    let inserted = sqlx::query(
        "INSERT INTO analytics.reports (id, org_id, event_id, status, area_names, expires_at, kind)
         VALUES ($1, $2, $3, $4, $5, now() + $6, $7)
         ON CONFLICT DO NOTHING",
    )
    .bind(id)
    .bind(org)
    .bind(event)
    .bind(ReportStatus::Queued)
    .bind(names)
    .bind(KEEP)
    .bind(kind)
    .execute(pool)
    .await?;
    if inserted.rows_affected() == 0 {
        return Err(Refusal::Busy);
    }
    Ok(id)
}

/// The event's reports that can still be downloaded or are in the making,
/// newest first.
pub async fn list(pool: &PgPool, event: EventId) -> Result<Vec<Report>> {
    Ok(sqlx::query_as(
        "SELECT id, kind, status, rows_done, rows_total, created_at, expires_at FROM analytics.reports
         WHERE event_id = $1 AND expires_at > now() ORDER BY created_at DESC LIMIT 10",
    )
    .bind(event)
    .fetch_all(pool)
    .await?)
}

/// A ready report of `event` that has not expired: how many chunks it has,
/// and what it holds.
pub async fn ready(
    pool: &PgPool,
    event: EventId,
    id: ReportId,
) -> Result<(i32, ReportKind), Refusal> {
    let found: Option<(ReportStatus, bool, i32, ReportKind)> = sqlx::query_as(
        "SELECT r.status, r.expires_at <= now(),
                (SELECT count(*)::int FROM analytics.report_chunks c WHERE c.report_id = r.id), r.kind
         FROM analytics.reports r WHERE r.id = $1 AND r.event_id = $2",
    )
    .bind(id)
    .bind(event)
    .fetch_optional(pool)
    .await?;
    match found {
        None | Some((_, true, ..)) => Err(Refusal::NotFound),
        Some((ReportStatus::Ready, false, chunks, kind)) => Ok((chunks, kind)),
        Some((ReportStatus::Failed, ..)) => Err(Refusal::Failed),
        Some(_) => Err(Refusal::NotReady),
    }
}

/// One chunk of a report's CSV.
pub async fn chunk(pool: &PgPool, id: ReportId, seq: i32) -> Result<Vec<u8>> {
    Ok(sqlx::query_scalar(
        "SELECT bytes FROM analytics.report_chunks WHERE report_id = $1 AND seq = $2",
    )
    .bind(id)
    .bind(seq)
    .fetch_one(pool)
    .await?)
}

/// A claim on a report: its id, and the attempt it is (the fencing token:
/// every write of the making checks that the report is still this
/// attempt's, so a worker whose lease ended and was taken over writes
/// nothing more).
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct Claim {
    /// The report.
    pub id: ReportId,
    /// Which claim of it this is (1 for the first).
    pub attempts: i32,
}

/// The condition that the report `$1` is still claim `$2`'s; `FOR SHARE`
/// makes a takeover wait for a write in progress, and the write see it.
const STILL_MINE: &str = "EXISTS (SELECT 1 FROM analytics.reports
    WHERE id = $1 AND attempts = $2 AND status = 'running' FOR SHARE)";

/// The error of a write that found the report taken over.
fn lost(claim: Claim) -> crate::Error {
    crate::Error::Internal(format!(
        "report {}: claim {} was taken over",
        claim.id, claim.attempts
    ))
}

/// The CSV being written: rows go in, full chunks go to the database.
struct Writer<'a> {
    pool: &'a PgPool,
    claim: Claim,
    seq: i32,
    out: csv::Writer<Vec<u8>>,
}

fn csv_error(e: impl std::fmt::Display) -> crate::Error {
    crate::Error::Internal(format!("csv: {e}"))
}

impl Writer<'_> {
    fn row(&mut self, record: &[String]) -> Result<()> {
        self.out.write_record(record).map_err(csv_error)
    }

    /// Stores what was written if it fills a chunk (or, with `all`, whatever
    /// there is).
    async fn flush(&mut self, all: bool) -> Result<()> {
        self.out.flush().map_err(csv_error)?;
        let held = self.out.get_ref().len();
        if held == 0 || (!all && held < CHUNK_BYTES) {
            return Ok(());
        }
        let bytes = std::mem::replace(&mut self.out, csv::Writer::from_writer(Vec::new()))
            .into_inner()
            .map_err(|e| csv_error(e.error()))?;
        let stored = sqlx::query(&format!(
            "INSERT INTO analytics.report_chunks (report_id, seq, bytes)
             SELECT $1, $3, $4 WHERE {STILL_MINE}"
        ))
        .bind(self.claim.id)
        .bind(self.claim.attempts)
        .bind(self.seq)
        .bind(bytes)
        .execute(self.pool)
        .await?;
        if stored.rows_affected() == 0 {
            return Err(lost(self.claim));
        }
        self.seq += 1;
        Ok(())
    }
}

/// `h:mm:ss` of whole seconds.
fn clock(seconds: i64) -> String {
    let s = seconds.max(0);
    format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

/// Claims the next report to make (queued, or running under a lease that
/// ended), or none.
pub async fn claim(pool: &PgPool) -> Result<Option<Claim>> {
    Ok(sqlx::query_as(
        "UPDATE analytics.reports SET status = $1, attempts = attempts + 1, leased_until = now() + $2
         WHERE id = (
            SELECT id FROM analytics.reports
            WHERE status = $3 OR (status = $1 AND leased_until < now())
            ORDER BY created_at FOR UPDATE SKIP LOCKED LIMIT 1)
         RETURNING id, attempts",
    )
    .bind(ReportStatus::Running)
    .bind(LEASE)
    .bind(ReportStatus::Queued)
    .fetch_optional(pool)
    .await?)
}

/// The condition (on `analytics.reports`) that the row is claim `$1`, `$2`'s.
const MINE: &str = "id = $1 AND attempts = $2 AND status = 'running'";

/// Runs `sql` (with the claim as `$1`, `$2`, then `more`), whose condition
/// includes [`MINE`]; a report taken over (no row changed) is an error.
async fn while_mine<T>(pool: &PgPool, claim: Claim, sql: &str, more: T) -> Result<()>
where
    T: for<'q> sqlx::Encode<'q, sqlx::Postgres> + sqlx::Type<sqlx::Postgres> + Send + 'static,
{
    let done = sqlx::query(sql)
        .bind(claim.id)
        .bind(claim.attempts)
        .bind(more)
        .execute(pool)
        .await?;
    if done.rows_affected() == 0 {
        return Err(lost(claim));
    }
    Ok(())
}

/// Makes a claimed report of its kind. One claimed too often is failed
/// instead.
pub async fn make(pool: &PgPool, claim: Claim) -> Result<()> {
    if claim.attempts > ATTEMPTS {
        return finish(pool, claim, ReportStatus::Failed).await;
    }
    let (event, names, kind): (
        EventId,
        sqlx::types::Json<HashMap<String, String>>,
        ReportKind,
    ) = sqlx::query_as("SELECT event_id, area_names, kind FROM analytics.reports WHERE id = $1")
        .bind(claim.id)
        .fetch_one(pool)
        .await?;
    // An earlier claim's chunks go (this one starts over).
    sqlx::query(&format!(
        "DELETE FROM analytics.report_chunks WHERE report_id = $1 AND {STILL_MINE}"
    ))
    .bind(claim.id)
    .bind(claim.attempts)
    .execute(pool)
    .await?;
    let mut w = Writer {
        pool,
        claim,
        seq: 0,
        out: csv::Writer::from_writer(Vec::new()),
    };
    let now = Utc::now();
    match kind {
        ReportKind::TimePerArea => time_per_area(&mut w, event, &names, now).await?,
        ReportKind::AreaSummary => area_summary(&mut w, event, &names, now).await?,
        ReportKind::Registrations => registrations(&mut w, event, &names).await?,
    }
    w.flush(true).await?;
    finish(pool, claim, ReportStatus::Ready).await
}

/// Sets the report's count of rows to write, none written yet.
async fn begin(w: &Writer<'_>, total: i64) -> Result<()> {
    while_mine(
        w.pool,
        w.claim,
        &format!("UPDATE analytics.reports SET rows_done = 0, rows_total = $3 WHERE {MINE}"),
        total,
    )
    .await
}

/// Sets the report's count of rows done, renewing the claim's lease.
async fn progress(w: &Writer<'_>, done: i64) -> Result<()> {
    while_mine(
        w.pool,
        w.claim,
        &format!(
            "UPDATE analytics.reports SET rows_done = $3, leased_until = now() + interval '{} seconds'
             WHERE {MINE}",
            LEASE.num_seconds()
        ),
        done,
    )
    .await
}

/// The columns of the per-area summary.
pub const SUMMARY_COLUMNS: [&str; 13] = [
    "area",
    "attendees",
    "visits",
    "seconds",
    "time_spent",
    "peak",
    "messages",
    "votes",
    "questions",
    "meetings",
    "connections",
    "watchers",
    "average_watch_seconds",
];

/// A row per area where someone was or did something: the areas people
/// were in first (most time first), then those with engagement only
/// (replay, for one).
async fn area_summary(
    w: &mut Writer<'_>,
    event: EventId,
    names: &HashMap<String, String>,
    now: DateTime<Utc>,
) -> Result<()> {
    let pool = w.pool;
    let visits = crate::visits::per_area(pool, event, now).await?;
    let mut engaged: HashMap<String, crate::engagement::AreaEngagement> =
        crate::engagement::per_area(pool, event)
            .await?
            .into_iter()
            .map(|a| (a.area.clone(), a))
            .collect();
    let mut rows: Vec<(String, Option<crate::visits::AreaFigures>)> = visits
        .into_iter()
        .map(|v| (v.area.clone(), Some(v)))
        .collect();
    let mut rest: Vec<String> = engaged
        .keys()
        .filter(|k| !rows.iter().any(|(area, _)| area == *k))
        .cloned()
        .collect();
    rest.sort();
    rows.extend(rest.into_iter().map(|area| (area, None)));
    begin(w, rows.len() as i64).await?;
    w.row(&SUMMARY_COLUMNS.map(String::from))?;
    for (area, figures) in &rows {
        let v = figures.clone().unwrap_or(crate::visits::AreaFigures {
            area: area.clone(),
            visitors: 0,
            visits: 0,
            seconds: 0,
            peak: 0,
            now: 0,
        });
        let e = engaged.remove(area).unwrap_or_default();
        w.row(&[
            safe_cell(&area_name(names, area)),
            v.visitors.to_string(),
            v.visits.to_string(),
            v.seconds.to_string(),
            clock(v.seconds),
            v.peak.to_string(),
            e.messages.to_string(),
            e.votes.to_string(),
            e.questions.to_string(),
            e.meetings.to_string(),
            e.connections.to_string(),
            e.watchers.to_string(),
            e.average_watch_seconds().to_string(),
        ])?;
    }
    w.flush(false).await?;
    progress(w, rows.len() as i64).await
}

/// Every attendee who entered the live event, a row per area they were in,
/// a page of [`PAGE`] attendees at a time.
async fn time_per_area(
    w: &mut Writer<'_>,
    event: EventId,
    names: &HashMap<String, String>,
    now: DateTime<Utc>,
) -> Result<()> {
    let pool = w.pool;
    let total = crate::journeys::count(pool, event, now).await?;
    begin(w, total).await?;
    w.row(&COLUMNS.map(String::from))?;
    let (mut after, mut done) = (None, 0i64);
    loop {
        let ids = crate::journeys::page(pool, event, now, after, PAGE).await?;
        let Some(last) = ids.last().copied() else {
            break;
        };
        let people = people(pool, &ids).await?;
        for j in crate::journeys::of(pool, event, now, &ids).await? {
            let (name, email) = people.get(&j.attendee_id).cloned().unwrap_or_default();
            let area = area_name(names, &j.area);
            w.row(&[
                safe_cell(&name),
                safe_cell(&email),
                safe_cell(&area),
                j.visits.to_string(),
                j.seconds.to_string(),
                clock(j.seconds),
                j.first_at
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                j.last_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            ])?;
        }
        w.flush(false).await?;
        done += ids.len() as i64;
        progress(w, done).await?;
        after = Some(last);
    }
    Ok(())
}

/// The columns of the registrations report, before one per question.
pub const REGISTRATION_COLUMNS: [&str; 8] = [
    "name",
    "email",
    "registered_utc",
    "ticket_type",
    "quantity",
    "status",
    "total_minor",
    "currency",
];

/// An attendee's row of the registrations report, as stored.
#[derive(sqlx::FromRow)]
struct Registration {
    attendee_id: AttendeeId,
    name: String,
    email: String,
    registered_at: Option<DateTime<Utc>>,
    answers: sqlx::types::Json<Vec<RegistrationAnswer>>,
    ticket_type_id: Option<TicketTypeId>,
    quantity: Option<i32>,
    status: Option<String>,
    total_minor: Option<i64>,
    currency: Option<String>,
}

/// The questions anyone of `event` answered, in the form's order: each with
/// the label of its latest answer (an organiser may have renamed it).
async fn questions_answered(pool: &PgPool, event: EventId) -> Result<Vec<(QuestionId, String)>> {
    let mut asked: Vec<(QuestionId, String, i32)> = sqlx::query_as(
        "SELECT DISTINCT ON (q->>'question_id') (q->>'question_id')::uuid, q->>'question', (q->>'position')::int
         FROM analytics.attendees a, jsonb_array_elements(a.answers) q
         WHERE a.event_id = $1
         ORDER BY q->>'question_id', a.registered_at DESC NULLS LAST",
    )
    .bind(event)
    .fetch_all(pool)
    .await?;
    asked.sort_by(|a, b| (a.2, &a.1).cmp(&(b.2, &b.1)));
    Ok(asked
        .into_iter()
        .map(|(id, label, _)| (id, label))
        .collect())
}

/// Every registered attendee with their order (where it stands now) and a
/// column per question answered, a page of [`PAGE`] at a time (ordered by
/// attendee id, so pages do not shift as people register).
async fn registrations(
    w: &mut Writer<'_>,
    event: EventId,
    names: &HashMap<String, String>,
) -> Result<()> {
    let pool = w.pool;
    let questions = questions_answered(pool, event).await?;
    let total: i64 =
        sqlx::query_scalar("SELECT count(*) FROM analytics.attendees WHERE event_id = $1")
            .bind(event)
            .fetch_one(pool)
            .await?;
    begin(w, total).await?;
    let mut header: Vec<String> = REGISTRATION_COLUMNS.map(String::from).to_vec();
    header.extend(questions.iter().map(|(_, label)| safe_cell(label)));
    w.row(&header)?;
    let (mut after, mut done): (Option<AttendeeId>, i64) = (None, 0);
    loop {
        let page: Vec<Registration> = sqlx::query_as(
            "SELECT a.attendee_id, a.name, a.email, a.registered_at, a.answers,
                    o.ticket_type_id, o.quantity, o.status, o.total_minor, o.currency
             FROM analytics.attendees a
             LEFT JOIN analytics.order_states o ON o.order_id = a.order_id
             WHERE a.event_id = $1 AND ($2::uuid IS NULL OR a.attendee_id > $2)
             ORDER BY a.attendee_id LIMIT $3",
        )
        .bind(event)
        .bind(after)
        .bind(PAGE)
        .fetch_all(pool)
        .await?;
        let Some(last) = page.last().map(|r| r.attendee_id) else {
            break;
        };
        for r in &page {
            let ticket_type = r
                .ticket_type_id
                .map(|t| {
                    names
                        .get(&format!("ticket_type:{t}"))
                        .cloned()
                        .unwrap_or_else(|| "A removed ticket type".into())
                })
                .unwrap_or_default();
            let mut row = vec![
                safe_cell(&r.name),
                safe_cell(&r.email),
                r.registered_at
                    .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
                    .unwrap_or_default(),
                safe_cell(&ticket_type),
                r.quantity.map(|q| q.to_string()).unwrap_or_default(),
                r.status.clone().unwrap_or_default(),
                r.total_minor.map(|t| t.to_string()).unwrap_or_default(),
                r.currency.clone().unwrap_or_default(),
            ];
            row.extend(questions.iter().map(|(id, _)| {
                r.answers
                    .iter()
                    .find(|a| a.question_id == *id)
                    .map(|a| safe_cell(&a.value))
                    .unwrap_or_default()
            }));
            w.row(&row)?;
        }
        w.flush(false).await?;
        done += page.len() as i64;
        progress(w, done).await?;
        after = Some(last);
    }
    Ok(())
}

/// Ends the claim's report as `status` (if it is still the claim's).
async fn finish(pool: &PgPool, claim: Claim, status: ReportStatus) -> Result<()> {
    while_mine(
        pool,
        claim,
        &format!(
            "UPDATE analytics.reports SET status = $3, finished_at = now(), leased_until = NULL
             WHERE {MINE}"
        ),
        status,
    )
    .await
}

/// Gives a claim back after its making failed: the report is claimed again
/// at once (until [`ATTEMPTS`] are spent), not after its lease.
pub async fn release(pool: &PgPool, claim: Claim) -> Result<()> {
    sqlx::query(&format!(
        "UPDATE analytics.reports SET leased_until = now() - interval '1 second' WHERE {MINE}"
    ))
    .bind(claim.id)
    .bind(claim.attempts)
    .execute(pool)
    .await?;
    Ok(())
}

/// Names and emails of `ids`, as their registrations said.
async fn people(
    pool: &PgPool,
    ids: &[AttendeeId],
) -> Result<HashMap<AttendeeId, (String, String)>> {
    let rows: Vec<(AttendeeId, String, String)> = sqlx::query_as(
        "SELECT attendee_id, name, email FROM analytics.attendees WHERE attendee_id = ANY($1)",
    )
    .bind(ids)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(|(id, n, e)| (id, (n, e))).collect())
}

/// Deletes expired reports (their chunks go with them).
pub async fn purge(pool: &PgPool) -> Result<u64> {
    Ok(
        sqlx::query("DELETE FROM analytics.reports WHERE expires_at < now()")
            .execute(pool)
            .await?
            .rows_affected(),
    )
}

/// Makes reports as they are asked for until `shutdown` flips, and purges
/// expired ones now and then.
pub async fn run(pool: PgPool, mut shutdown: watch::Receiver<bool>) {
    const POLL: Duration = Duration::from_secs(1);
    const PURGE_EVERY: u32 = 600;
    let mut polls = 0u32;
    while !*shutdown.borrow() {
        match claim(&pool).await {
            Ok(Some(claim)) => {
                if let Err(e) = make(&pool, claim).await {
                    tracing::warn!(error = %e, report = %claim.id, "making a report failed");
                    if let Err(e) = release(&pool, claim).await {
                        tracing::warn!(error = %e, "giving a report's claim back failed");
                    }
                }
                continue;
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "claiming a report failed"),
        }
        if polls.is_multiple_of(PURGE_EVERY) {
            match purge(&pool).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(n, "expired reports purged"),
                Err(e) => tracing::warn!(error = %e, "purging reports failed"),
            }
        }
        polls = polls.wrapping_add(1);
        tokio::select! {
            _ = tokio::time::sleep(POLL) => {}
            _ = shutdown.changed() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralised_and_time_reads_as_a_clock() {
        assert_eq!(safe_cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(safe_cell("Ada"), "Ada");
        assert_eq!(clock(3725), "1:02:05");
        assert_eq!(
            area_kind("session:00000000-0000-0000-0000-000000000000"),
            "A removed session"
        );
    }
}
