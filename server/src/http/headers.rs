//! Response headers about caching and transport, set on every response that
//! did not choose its own:
//!
//! - `Cache-Control: no-store` on everything generated per request (pages,
//!   server function answers, exports): they carry sessions' views, personal
//!   data and one-time keys (a registration form's idempotency key), which no
//!   shared or browser cache may keep. Static assets (scripts, WASM, styles,
//!   images, fonts) are left cacheable.
//! - `Strict-Transport-Security` when the public URL is `https://`: browsers
//!   then never try the site over plain HTTP again.

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

/// Content types of files that are the same for everyone.
const STATIC_TYPES: [&str; 7] = [
    "application/javascript",
    "text/javascript",
    "application/wasm",
    "text/css",
    "image/",
    "font/",
    "application/font",
];

/// Whether a response of this content type is per request (and must not be stored).
pub fn is_dynamic(content_type: Option<&str>) -> bool {
    match content_type {
        None => true,
        Some(t) => !STATIC_TYPES.iter().any(|s| t.starts_with(s)),
    }
}

/// Whether the site is served over TLS (its public URL is `https://`).
#[derive(Clone, Copy)]
pub struct OverTls(pub bool);

/// Middleware adding the headers above.
pub async fn caching_and_transport(
    State(OverTls(tls)): State<OverTls>,
    req: Request,
    next: Next,
) -> Response {
    let mut res = next.run(req).await;
    let headers = res.headers_mut();
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    if is_dynamic(content_type) && !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if tls {
        headers
            .entry(header::STRICT_TRANSPORT_SECURITY)
            .or_insert(HeaderValue::from_static(
                "max-age=31536000; includeSubDomains",
            ));
    }
    res
}

#[cfg(test)]
mod tests {
    use super::is_dynamic;

    #[test]
    fn pages_and_answers_are_dynamic_assets_are_not() {
        for t in [
            Some("text/html; charset=utf-8"),
            Some("application/json"),
            Some("text/csv"),
            None,
        ] {
            assert!(is_dynamic(t), "{t:?}");
        }
        for t in [
            "application/wasm",
            "text/javascript",
            "text/css",
            "image/svg+xml",
        ] {
            assert!(!is_dynamic(Some(t)), "{t}");
        }
    }
}
