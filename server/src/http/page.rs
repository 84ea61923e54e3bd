//! The plain HTML shell of the few pages served outside Leptos (sign-in links,
//! the test bank), styled with the site's stylesheet.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

/// A small page: `title` in the tab, `body` (already escaped HTML) in a narrow column.
pub fn html(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" \
         content=\"width=device-width, initial-scale=1\"><title>{title}</title>\
         <link rel=\"icon\" href=\"/favicon.svg\" type=\"image/svg+xml\">\
         <link rel=\"stylesheet\" href=\"{stylesheet}\"></head>\
         <body class=\"bg-slate-50 text-slate-900\"><main class=\"mx-auto max-w-md p-6 space-y-4\">{body}</main></body></html>",
        stylesheet = super::site::stylesheet()
    );
    (status, Html(html)).into_response()
}
