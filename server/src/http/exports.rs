//! Exports: organisers' `GET /dashboard/events/{slug}/registrations.csv` and
//! `GET /dashboard/events/{slug}/reports/{id}.csv` (a report analytics made), and
//! an attendee's networking connections as `GET /e/{slug}/connections.vcf`
//! and `.csv`.

use app::context::cookies;
use app::error::AppError;
use std::collections::HashMap;

use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use futures::StreamExt;
use protocol::ids::{AttendeeId, EventId, QuestionId, ReportId};
use protocol::states::ReportKind;
use serde::Deserialize;
use services::registrations::list::{self, RegistrationFilter, RegistrationRow};
use services::registrations::questions;
use services::Platform;

/// Same filters as the registrations list.
#[derive(Deserialize, Default)]
pub struct Filter {
    q: Option<String>,
    ticket_type: Option<String>,
    status: Option<String>,
}

/// Fixed columns of the export; one column per custom question follows.
const COLUMNS: [&str; 9] = [
    "order",
    "name",
    "email",
    "ticket_type",
    "quantity",
    "status",
    "total",
    "currency",
    "ordered_at",
];

/// Neutralises spreadsheet formulas in user-supplied cells (CSV injection).
pub use analytics::reports::safe_cell;

/// Orders fetched per page of the export.
const EXPORT_PAGE: i64 = 1_000;

/// The registrations of an event as CSV (organisers of the event only),
/// streamed a page at a time (keyset pages, one answer lookup per page):
/// every order, however many, in bounded memory.
pub async fn registrations_csv(
    State(state): State<Platform>,
    Path(slug): Path<String>,
    Query(f): Query<Filter>,
    jar: CookieJar,
) -> Result<Response, AppError> {
    let token = jar.get(cookies::ORGANISER).map(|c| c.value().to_owned());
    let me = services::accounts::organisers::from_session(&state.pool, token.as_deref()).await?;
    let event = services::events::get_for_org(&state.pool, &me, &slug).await?;
    let filter = RegistrationFilter {
        search: f.q,
        ticket_type: f.ticket_type,
        status: f.status,
    };
    let questions = questions::ever_asked(&state.pool, event.id).await?;
    // The first page is read before answering, so a bad filter is a 400, not a cut download.
    let first = list::page(&state.pool, event.id, &filter, None, EXPORT_PAGE).await?;
    let mut header: Vec<String> = COLUMNS.iter().map(|c| c.to_string()).collect();
    header.extend(questions.iter().map(|q| safe_cell(&q.label)));
    let head = csv_lines(std::iter::once(header)).map_err(AppError::from)?;
    let pages = Pages {
        pool: state.pool.clone(),
        event: event.id,
        filter,
        questions: questions.into_iter().map(|q| q.id).collect(),
        next: Some(first),
    };
    let body = futures::stream::once(async move { Ok::<_, std::io::Error>(head) }).chain(
        futures::stream::unfold(pages, |mut pages| async move {
            let chunk = pages.next_chunk().await.transpose()?;
            Some((
                chunk.map_err(|e| std::io::Error::other(e.to_string())),
                pages,
            ))
        }),
    );
    let filename = format!("attachment; filename=\"{slug}-registrations.csv\"");
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, filename),
        ],
        Body::from_stream(body),
    )
        .into_response())
}

/// A ready report of the event as CSV (organisers of the event only),
/// streamed a stored chunk at a time. An expired or unknown one is a 404,
/// one still in the making a 409.
pub async fn report_csv(
    State(state): State<Platform>,
    Path((slug, file)): Path<(String, String)>,
    jar: CookieJar,
) -> Result<Response, AppError> {
    let token = jar.get(cookies::ORGANISER).map(|c| c.value().to_owned());
    let me = services::accounts::organisers::from_session(&state.pool, token.as_deref()).await?;
    let event = services::events::get_for_org(&state.pool, &me, &slug).await?;
    let id: ReportId = app::error::parse_id("report", file.strip_suffix(".csv").unwrap_or(&file))?;
    let (chunks, kind) = analytics::reports::ready(&state.analytics_pool, event.id, id).await?;
    let pool = state.analytics_pool.clone();
    let body = futures::stream::iter(0..chunks).then(move |seq| {
        let pool = pool.clone();
        async move {
            analytics::reports::chunk(&pool, id, seq)
                .await
                .map(Bytes::from)
                .map_err(|e| std::io::Error::other(e.to_string()))
        }
    });
    let what = match kind {
        ReportKind::TimePerArea => "time-per-area",
        ReportKind::AreaSummary => "areas",
        ReportKind::Registrations => "registrations-report",
    };
    let filename = format!("attachment; filename=\"{slug}-{what}.csv\"");
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, filename),
        ],
        Body::from_stream(body),
    )
        .into_response())
}

/// The export's walk over the orders.
struct Pages {
    pool: sqlx::PgPool,
    event: EventId,
    filter: RegistrationFilter,
    questions: Vec<QuestionId>,
    /// The page to write next (read ahead); `None` once the walk is over.
    next: Option<Vec<RegistrationRow>>,
}

impl Pages {
    /// The CSV of the next page (and reads the one after); `None` at the end.
    async fn next_chunk(&mut self) -> Result<Option<Bytes>, services::Error> {
        let Some(rows) = self.next.take() else {
            return Ok(None);
        };
        if rows.is_empty() {
            return Ok(None);
        }
        let ids: Vec<AttendeeId> = rows.iter().map(|r| r.attendee_id).collect();
        let answers = questions::answers_of_attendees(&self.pool, &ids).await?;
        let last = rows.last().map(RegistrationRow::cursor);
        let full = rows.len() as i64 == EXPORT_PAGE;
        let chunk = csv_lines(rows.into_iter().map(|r| self.record(r, &answers)))?;
        if full {
            let after = last.as_ref();
            self.next =
                Some(list::page(&self.pool, self.event, &self.filter, after, EXPORT_PAGE).await?);
        }
        Ok(Some(chunk))
    }

    fn record(
        &self,
        r: RegistrationRow,
        answers: &HashMap<(AttendeeId, QuestionId), String>,
    ) -> Vec<String> {
        let mut record = vec![
            r.order_code,
            safe_cell(&r.name),
            safe_cell(&r.email),
            safe_cell(&r.ticket_type),
            r.quantity.to_string(),
            r.status.to_string(),
            services::domain::format_amount(r.total_minor, &r.currency),
            r.currency,
            r.created_at.to_rfc3339(),
        ];
        for q in &self.questions {
            let value = answers.get(&(r.attendee_id, *q)).map(String::as_str);
            record.push(safe_cell(value.unwrap_or("")));
        }
        record
    }
}

/// The signed-in attendee's connections (cards they exchanged).
async fn my_connections(
    state: &Platform,
    slug: &str,
    jar: &CookieJar,
) -> Result<Vec<protocol::live::Card>, AppError> {
    let token = jar.get(cookies::ATTENDEE).map(|c| c.value().to_owned());
    let admitted = services::live::moderation::admit(&state.pool, slug, token.as_deref()).await?;
    Ok(services::networking::meetings::connections(&state.pool, &admitted.actor).await?)
}

fn download(kind: &'static str, name: &str, body: Bytes) -> Response {
    (
        [
            (header::CONTENT_TYPE, kind.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
            (header::CACHE_CONTROL, "private, no-store".to_owned()),
        ],
        body,
    )
        .into_response()
}

/// `GET /e/{slug}/connections.vcf`: the attendee's connections as vCards.
pub async fn connections_vcf(
    State(state): State<Platform>,
    Path(slug): Path<String>,
    jar: CookieJar,
) -> Result<Response, AppError> {
    let cards = my_connections(&state, &slug, &jar).await?;
    let body = services::networking::meetings::vcards(&cards);
    Ok(download(
        "text/vcard; charset=utf-8",
        "connections.vcf",
        Bytes::from(body),
    ))
}

/// `GET /e/{slug}/connections.csv`: the attendee's connections as CSV.
pub async fn connections_csv(
    State(state): State<Platform>,
    Path(slug): Path<String>,
    jar: CookieJar,
) -> Result<Response, AppError> {
    let cards = my_connections(&state, &slug, &jar).await?;
    let header_row = ["name", "headline", "email", "links"]
        .map(String::from)
        .to_vec();
    let rows = cards.into_iter().map(|c| {
        vec![
            safe_cell(&c.person.name),
            safe_cell(&c.headline),
            safe_cell(c.email.as_deref().unwrap_or("")),
            safe_cell(&c.links.join(" ")),
        ]
    });
    let body = csv_lines(std::iter::once(header_row).chain(rows))?;
    Ok(download("text/csv; charset=utf-8", "connections.csv", body))
}

/// CSV lines of `records`.
fn csv_lines(records: impl Iterator<Item = Vec<String>>) -> Result<Bytes, services::Error> {
    let internal = |e: csv::Error| services::Error::Internal(format!("csv: {e}"));
    let mut out = csv::Writer::from_writer(Vec::new());
    for record in records {
        out.write_record(&record).map_err(internal)?;
    }
    let bytes = out
        .into_inner()
        .map_err(|e| internal(e.into_error().into()))?;
    Ok(Bytes::from(bytes))
}

#[cfg(test)]
mod tests {
    #[test]
    fn formulas_are_neutralised() {
        assert_eq!(super::safe_cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(super::safe_cell("-1"), "'-1");
        assert_eq!(super::safe_cell("Ada"), "Ada");
    }
}
