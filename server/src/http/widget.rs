//! The registration widget may be framed only by the sites its organiser lists:
//! `/e/{slug}/widget` and the widget's order pages `/e/{slug}/widget/order/{code}`
//! get `Content-Security-Policy: frame-ancestors 'self' <sites>`; every other
//! response `frame-ancestors 'none'`.

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderValue, Request};
use axum::middleware::Next;
use axum::response::Response;
use services::Platform;

/// The event slug of a widget path, if it is one.
pub fn widget_slug(path: &str) -> Option<&str> {
    let rest = path.strip_prefix("/e/")?;
    let (slug, tail) = rest.split_once('/')?;
    let widget = tail == "widget"
        || tail
            .strip_prefix("widget/order/")
            .is_some_and(|code| !code.is_empty() && !code.contains('/'));
    (widget && !slug.is_empty()).then_some(slug)
}

/// Adds the `frame-ancestors` policy (a policy of its own beside the page's,
/// both enforced): the event's allowed sites for the widget, none for
/// every other response.
pub async fn frame_ancestors(
    State(state): State<Platform>,
    req: Request<Body>,
    next: Next,
) -> Response {
    let slug = widget_slug(req.uri().path()).map(str::to_owned);
    let mut res = next.run(req).await;
    let policy = match slug {
        Some(slug) => {
            let origins = services::events::embed_origins(&state.pool, &slug)
                .await
                .unwrap_or_default();
            // Origins were validated on input (scheme://host[:port]); nothing else can reach the header.
            format!("frame-ancestors 'self' {}", origins.join(" "))
        }
        None => "frame-ancestors 'none'".to_owned(),
    };
    if let Ok(v) = HeaderValue::from_str(policy.trim_end()) {
        res.headers_mut().append(header::CONTENT_SECURITY_POLICY, v);
    }
    res
}

#[cfg(test)]
mod tests {
    #[test]
    fn widget_paths() {
        assert_eq!(super::widget_slug("/e/launch/widget"), Some("launch"));
        assert_eq!(super::widget_slug("/e/launch"), None);
        assert_eq!(super::widget_slug("/e/launch/reception"), None);
        assert_eq!(super::widget_slug("/e//widget"), None);
        assert_eq!(
            super::widget_slug("/e/launch/widget/order/AB12"),
            Some("launch")
        );
        assert_eq!(super::widget_slug("/e/launch/widget/order/"), None);
        assert_eq!(super::widget_slug("/e/launch/widget/other"), None);
    }
}
