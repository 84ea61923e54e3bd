//! Cross-site request forgery protection for every state-changing request.
//!
//! Browsers mark cross-site requests with `Sec-Fetch-Site` and `Origin`; a
//! non-GET request whose `Sec-Fetch-Site` is not `same-origin`/`none`, or whose
//! `Origin` is not this site, is refused with 403. "This site" is the
//! configured public URL (behind a proxy that rewrites `Host`, the only
//! match) or the request's own `Host` (a node reached directly). Requests without either header
//! come from non-browser clients, which carry no ambient cookies to abuse. This is
//! the scheme of Go's `http.CrossOriginProtection`; session cookies are also
//! `SameSite=Lax`.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, Method, Request, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Whether the request may change state; `public_url` is the site's configured URL.
pub fn allowed(method: &Method, headers: &axum::http::HeaderMap, public_url: &str) -> bool {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return true;
    }
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return site == "same-origin" || site == "none";
    }
    match headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        None => true,
        Some(origin) => own_origin(origin, headers, public_url),
    }
}

/// Whether `origin` (scheme://host[:port]) is this site: the origin of the
/// configured `public_url`, or the request's own `Host`.
pub fn own_origin(origin: &str, headers: &axum::http::HeaderMap, public_url: &str) -> bool {
    let public = origin_of(public_url);
    (!public.is_empty() && origin.eq_ignore_ascii_case(public)) || same_host(origin, headers)
}

/// `scheme://host[:port]` of a URL (its path and any trailing slash removed).
fn origin_of(url: &str) -> &str {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let authority = rest.split('/').next().unwrap_or("");
            &url[..scheme.len() + 3 + authority.len()]
        }
        None => "",
    }
}

/// Whether `origin` names the request's own `Host`.
fn same_host(origin: &str, headers: &axum::http::HeaderMap) -> bool {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let origin_host = origin.split_once("://").map(|(_, h)| h).unwrap_or("");
    !host.is_empty() && origin_host.eq_ignore_ascii_case(host)
}

/// Middleware refusing cross-site state changes.
pub async fn guard(State(public_url): State<Arc<str>>, req: Request<Body>, next: Next) -> Response {
    if allowed(req.method(), req.headers(), &public_url) {
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

    const SITE: &str = "https://events.example.org/";

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
            &headers(&[("origin", "http://evil.test")]),
            SITE
        ));
    }

    #[test]
    fn cross_site_posts_are_refused() {
        let post = Method::POST;
        assert!(!allowed(
            &post,
            &headers(&[("sec-fetch-site", "cross-site")]),
            SITE
        ));
        assert!(!allowed(
            &post,
            &headers(&[("sec-fetch-site", "same-site")]),
            SITE
        ));
        assert!(!allowed(
            &post,
            &headers(&[("host", "a.test"), ("origin", "http://evil.test")]),
            SITE
        ));
        assert!(!allowed(
            &post,
            &headers(&[("host", "a.test"), ("origin", "null")]),
            SITE
        ));
        assert!(allowed(
            &post,
            &headers(&[("sec-fetch-site", "same-origin")]),
            SITE
        ));
        assert!(allowed(
            &post,
            &headers(&[("host", "a.test:3000"), ("origin", "http://a.test:3000")]),
            SITE
        ));
        assert!(allowed(&post, &headers(&[]), SITE));
    }

    #[test]
    fn behind_a_proxy_that_rewrites_host_the_public_origin_is_ours() {
        let h = headers(&[
            ("host", "10.0.0.5:3000"),
            ("origin", "https://events.example.org"),
        ]);
        assert!(own_origin("https://events.example.org", &h, SITE));
        assert!(allowed(&Method::POST, &h, SITE));
        assert!(!own_origin("https://evil.example", &h, SITE));
        assert!(!own_origin("https://events.example.org.evil", &h, SITE));
        assert!(
            !own_origin("http://events.example.org", &h, SITE),
            "scheme counts"
        );
        assert_eq!(origin_of("https://a.test:8443/x/y"), "https://a.test:8443");
        assert_eq!(origin_of("http://a.test/"), "http://a.test");
        assert_eq!(origin_of("nonsense"), "");
    }
}
