//! Organiser exports: `GET /dashboard/events/{slug}/registrations.csv`.

use app::context::cookies;
use app::error::AppError;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use serde::Deserialize;
use services::registrations::list::{registrations, RegistrationFilter};
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
pub fn safe_cell(s: &str) -> String {
    match s.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{s}"),
        _ => s.to_owned(),
    }
}

/// The registrations of an event as CSV (organisers of the event only).
pub async fn registrations_csv(
    State(state): State<Platform>,
    Path(slug): Path<String>,
    Query(f): Query<Filter>,
    jar: CookieJar,
) -> Result<Response, AppError> {
    let token = jar.get(cookies::ORGANISER).map(|c| c.value().to_owned());
    let me = services::accounts::organisers::from_session(&state.pool, token.as_deref()).await?;
    let filter = RegistrationFilter {
        search: f.q,
        ticket_type: f.ticket_type,
        status: f.status,
    };
    let rows = registrations(&state.pool, &me, &slug, &filter).await?;
    let event = services::events::get_for_org(&state.pool, &me, &slug).await?;
    let questions = questions::list(&state.pool, event.id).await?;
    let answers = questions::answers_of_event(&state.pool, event.id).await?;
    let internal = |e: csv::Error| AppError::from(services::Error::Internal(format!("csv: {e}")));
    let mut out = csv::Writer::from_writer(Vec::new());
    let mut header: Vec<String> = COLUMNS.iter().map(|c| c.to_string()).collect();
    header.extend(questions.iter().map(|q| safe_cell(&q.label)));
    out.write_record(&header).map_err(internal)?;
    for r in rows {
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
        for q in &questions {
            let value = answers
                .iter()
                .find(|a| a.attendee_id == r.attendee_id && a.question_id == q.id)
                .map(|a| a.value.as_str());
            record.push(safe_cell(value.unwrap_or("")));
        }
        out.write_record(&record).map_err(internal)?;
    }
    let body = out
        .into_inner()
        .map_err(|e| internal(e.into_error().into()))?;
    let filename = format!("attachment; filename=\"{slug}-registrations.csv\"");
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, filename),
        ],
        body,
    )
        .into_response())
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
