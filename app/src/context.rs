//! What server functions and server-rendered pages get from the server (ssr
//! only): the [`Platform`] and the session cookies.

use services::Platform;

use crate::error::{AppError, ErrorKind};

/// The platform inside a server function or SSR render.
pub fn platform() -> Result<Platform, AppError> {
    leptos::prelude::use_context::<Platform>()
        .ok_or_else(|| AppError::new(ErrorKind::Internal, "server state missing"))
}

/// The address the request came from (set by the server's edge on every request).
pub async fn client_addr() -> Result<services::ratelimit::ClientAddr, AppError> {
    leptos_axum::extract::<axum::Extension<services::ratelimit::ClientAddr>>()
        .await
        .map(|axum::Extension(addr)| addr)
        .map_err(|_| AppError::new(ErrorKind::Internal, "client address missing"))
}

/// Counts one hit of `limit` for the request's client address; with `scope`
/// (an event's slug), for that address on that event only.
pub async fn limit_client(
    platform: &Platform,
    limit: &services::ratelimit::Limit,
    scope: Option<&str>,
) -> Result<(), AppError> {
    let client = client_addr().await?.subject();
    let subject = match scope {
        Some(scope) => format!("{client}|{}", scope.trim().to_lowercase()),
        None => client,
    };
    let mut redis = platform.redis.clone();
    services::ratelimit::hit(&mut redis, &platform.redis_namespace, limit, &subject).await?;
    Ok(())
}

/// Counts one hit of `limit` for `subject` (an order, an organisation).
pub async fn limit_subject(
    platform: &Platform,
    limit: &services::ratelimit::Limit,
    subject: &str,
) -> Result<(), AppError> {
    let mut redis = platform.redis.clone();
    services::ratelimit::hit(&mut redis, &platform.redis_namespace, limit, subject).await?;
    Ok(())
}

/// Session cookies: names, reading and writing (HttpOnly, SameSite=Lax, Secure over https).
pub mod cookies {
    use axum::http::{header, HeaderValue};
    use leptos::prelude::use_context;
    use leptos_axum::ResponseOptions;

    /// Organiser session cookie.
    pub const ORGANISER: &str = "convene_session";
    /// Attendee session cookie.
    pub const ATTENDEE: &str = "convene_attendee";

    /// Builds a `Set-Cookie` value; `max_age` 0 deletes the cookie.
    pub fn header_value(name: &str, value: &str, max_age_secs: i64, secure: bool) -> String {
        format!(
            "{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{}",
            if secure { "; Secure" } else { "" }
        )
    }

    /// Reads a cookie of the current request.
    pub async fn read(name: &str) -> Option<String> {
        let jar: axum_extra::extract::CookieJar = leptos_axum::extract().await.ok()?;
        jar.get(name).map(|c| c.value().to_owned())
    }

    /// Adds a `Set-Cookie` header to the current response.
    pub fn set(name: &str, value: &str, max_age_secs: i64, secure: bool) {
        if let Some(opts) = use_context::<ResponseOptions>() {
            if let Ok(v) = HeaderValue::from_str(&header_value(name, value, max_age_secs, secure)) {
                opts.append_header(header::SET_COOKIE, v);
            }
        }
    }

    #[cfg(test)]
    mod tests {
        use super::header_value;

        #[test]
        fn session_cookies_are_http_only_lax_and_secure_over_https() {
            let plain = header_value("convene_session", "t", 60, false);
            assert_eq!(
                plain,
                "convene_session=t; Path=/; HttpOnly; SameSite=Lax; Max-Age=60"
            );
            assert!(header_value("convene_session", "t", 60, true).ends_with("; Secure"));
        }
    }
}
