//! Cross-site request forgery protection for every state-changing request.
//!
//! Browsers mark cross-site requests with `Sec-Fetch-Site` and `Origin`; a
//! non-GET request whose `Sec-Fetch-Site` is not `same-origin`/`none`, or whose
//! `Origin` is not this host, is refused with 403. Requests without either header
//! come from non-browser clients, which carry no ambient cookies to abuse. This is
//! the scheme of Go's `http.CrossOriginProtection`; session cookies are also
//! `SameSite=Lax`.

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Whether the request may change state.
pub fn allowed(method: &Method, headers: &axum::http::HeaderMap) -> bool {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return true;
    }
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return site == "same-origin" || site == "none";
    }
    match headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        None => true,
        Some(origin) => same_host(origin, headers),
    }
}

/// Whether `origin` (scheme://host[:port]) names the request's own `Host`.
pub fn same_host(origin: &str, headers: &axum::http::HeaderMap) -> bool {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let origin_host = origin.split_once("://").map(|(_, h)| h).unwrap_or("");
    !host.is_empty() && origin_host.eq_ignore_ascii_case(host)
}

/// Middleware refusing cross-site state changes.
pub async fn guard(req: Request<Body>, next: Next) -> Response {
    if allowed(req.method(), req.headers()) {
        next.run(req).await
    } else {
        let err = app::error::AppError {
            kind: app::error::ErrorKind::Forbidden,
            message: "cross-site request refused".into(),
        };
        (StatusCode::FORBIDDEN, axum::Json(err)).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderMap, HeaderValue};

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn safe_methods_pass() {
        assert!(allowed(
            &Method::GET,
            &headers(&[("origin", "http://evil.test")])
        ));
    }

    #[test]
    fn cross_site_posts_are_refused() {
        let post = Method::POST;
        assert!(!allowed(
            &post,
            &headers(&[("sec-fetch-site", "cross-site")])
        ));
        assert!(!allowed(
            &post,
            &headers(&[("sec-fetch-site", "same-site")])
        ));
        assert!(!allowed(
            &post,
            &headers(&[("host", "a.test"), ("origin", "http://evil.test")])
        ));
        assert!(!allowed(
            &post,
            &headers(&[("host", "a.test"), ("origin", "null")])
        ));
        assert!(allowed(
            &post,
            &headers(&[("sec-fetch-site", "same-origin")])
        ));
        assert!(allowed(
            &post,
            &headers(&[("host", "a.test:3000"), ("origin", "http://a.test:3000")])
        ));
        assert!(allowed(&post, &headers(&[])));
    }
}
