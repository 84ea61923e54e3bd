//! Attendee sign-in links: `GET /e/{slug}/join?token=` shows a confirm button
//! (so that link scanners in mail systems do not burn the single-use token);
//! `POST` redeems it, sets the attendee session cookie and opens Reception.

use app::context::cookies;
use app::error::AppError;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;
use services::Platform;

/// The token parameter.
#[derive(Deserialize)]
pub struct TokenParam {
    token: Option<String>,
}

fn valid_token(t: &str) -> bool {
    (20..=100).contains(&t.len())
        && t.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn slug_ok(s: &str) -> bool {
    services::domain::Slug::parse(s).is_ok()
}

fn html_page(status: StatusCode, body: String) -> Response {
    let mut res = super::page::html(status, "Convene", &body);
    // The URL holds a secret: never send it on as a referrer.
    res.headers_mut().insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

fn invalid() -> Response {
    html_page(
        StatusCode::BAD_REQUEST,
        "<h1 class=\"text-2xl font-bold\">This sign-in link is not valid</h1>\
         <p>Check that you copied the whole link from your registration.</p>"
            .into(),
    )
}

/// Shows the "Enter the event" button for a sign-in link.
async fn show(slug: &str, token: Option<&str>) -> Response {
    match token {
        Some(t) if valid_token(t) && slug_ok(slug) => html_page(
            StatusCode::OK,
            format!(
                "<h1 class=\"text-2xl font-bold\">Welcome!</h1>\
                 <form method=\"post\" action=\"/e/{slug}/join\">\
                 <input type=\"hidden\" name=\"token\" value=\"{t}\">\
                 <button class=\"btn\" type=\"submit\">Enter the event</button></form>"
            ),
        ),
        _ => invalid(),
    }
}

/// `GET /e/{slug}/join`.
pub async fn page(Path(slug): Path<String>, Query(q): Query<TokenParam>) -> Response {
    show(&slug, q.token.as_deref()).await
}

/// `POST /e/{slug}/join`: redeems the link.
pub async fn redeem(
    State(state): State<Platform>,
    Path(slug): Path<String>,
    Form(q): Form<TokenParam>,
) -> Response {
    let Some(token) = q.token.filter(|t| valid_token(t)) else {
        return invalid();
    };
    match services::registrations::attendees::redeem_link(&state.pool, &slug, &token).await {
        Ok(signed_in) => {
            let max_age = services::accounts::SESSION_TTL.num_seconds();
            let cookie = cookies::header_value(
                cookies::ATTENDEE,
                &signed_in.token,
                max_age,
                state.serves_https(),
            );
            let mut res =
                Redirect::to(&format!("/e/{}/reception", slug.to_lowercase())).into_response();
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                res.headers_mut().append(header::SET_COOKIE, v);
            }
            res
        }
        Err(e) => {
            let err = AppError::from(e);
            let status = StatusCode::from_u16(err.kind.status()).unwrap_or(StatusCode::BAD_REQUEST);
            html_page(status,
                format!(
                    "<h1 class=\"text-2xl font-bold\">Cannot sign you in</h1><p role=\"alert\">{}</p>",
                    escape(&err.message)
                ),
            )
        }
    }
}

/// Minimal HTML text escaping.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
