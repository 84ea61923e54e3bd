//! The one error type of the web layer, shared by server and browser, and its
//! single mapping to HTTP status codes.

use leptos::prelude::{FromServerFnError, ServerFnErrorErr};
use leptos::server_fn::codec::JsonEncoding;
pub use protocol::ErrorKind;
use serde::{Deserialize, Serialize};

/// An error as the browser (and any HTTP client) sees it: JSON `{"kind": .., "message": ..}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{message}")]
pub struct AppError {
    /// Category.
    pub kind: ErrorKind,
    /// Human-readable message, safe to show.
    pub message: String,
}

impl AppError {
    /// Builds an error of `kind`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        let e = AppError {
            kind,
            message: message.into(),
        };
        #[cfg(feature = "ssr")]
        e.set_response_status();
        e
    }

    /// On the server, inside a request, sets the response status to this
    /// error's. Not for a plain HTML form posted to a server function (no
    /// JavaScript): that is answered with a redirect back to the form, which
    /// carries the error, and a status here would replace the redirect.
    #[cfg(feature = "ssr")]
    pub fn set_response_status(&self) {
        use axum::http::{header, request::Parts, Method};
        if let Some(parts) = leptos::prelude::use_context::<Parts>() {
            let accepts_html = parts
                .headers
                .get(header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.contains("text/html"));
            if parts.method == Method::POST && accepts_html {
                return;
            }
        }
        if let Some(opts) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
            if let Ok(code) = axum::http::StatusCode::from_u16(self.kind.status()) {
                opts.set_status(code);
            }
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        let kind = match value {
            ServerFnErrorErr::Args(_)
            | ServerFnErrorErr::MissingArg(_)
            | ServerFnErrorErr::Deserialization(_) => ErrorKind::Invalid,
            _ => ErrorKind::Internal,
        };
        AppError::new(kind, value.to_string())
    }
}

#[cfg(feature = "ssr")]
impl From<services::Error> for AppError {
    fn from(e: services::Error) -> Self {
        use services::Error as E;
        match e {
            E::Invalid(m) => AppError::new(ErrorKind::Invalid, m),
            E::Unauthorized(m) => AppError::new(ErrorKind::Unauthorized, m),
            E::Forbidden(m) => AppError::new(ErrorKind::Forbidden, m),
            E::NotFound(m) => AppError::new(ErrorKind::NotFound, m),
            E::Conflict(m) => AppError::new(ErrorKind::Conflict, m),
            E::KeyReused(m) => AppError::new(ErrorKind::KeyReused, m),
            E::PaymentFailed(m) | E::PlanLimit(m) => AppError::new(ErrorKind::PaymentFailed, m),
            E::RateLimited(m) => AppError::new(ErrorKind::RateLimited, m),
            E::Busy(m) => AppError::new(ErrorKind::Busy, m),
            E::Internal(detail) => {
                tracing::error!(error = %detail, "internal error");
                AppError::new(
                    ErrorKind::Internal,
                    "something went wrong on our side; please try again",
                )
            }
        }
    }
}

#[cfg(feature = "ssr")]
impl From<analytics::Error> for AppError {
    fn from(e: analytics::Error) -> Self {
        services::Error::Internal(format!("analytics: {e}")).into()
    }
}

#[cfg(feature = "ssr")]
impl From<analytics::reports::Refusal> for AppError {
    fn from(e: analytics::reports::Refusal) -> Self {
        use analytics::reports::Refusal as R;
        match e {
            R::Busy | R::NotReady | R::Failed => AppError::new(ErrorKind::Conflict, e.to_string()),
            R::NotFound => AppError::new(ErrorKind::NotFound, e.to_string()),
            R::Other(e) => e.into(),
        }
    }
}

/// Parses an id from a request field; a bad one is a 400 "`field` is not a valid id".
#[cfg(feature = "ssr")]
pub fn parse_id<T: std::str::FromStr>(field: &str, raw: &str) -> Result<T, AppError> {
    raw.trim()
        .parse()
        .map_err(|_| AppError::new(ErrorKind::Invalid, format!("{field} is not a valid id")))
}

#[cfg(feature = "ssr")]
impl axum::response::IntoResponse for AppError {
    fn into_response(self) -> axum::response::Response {
        let status = axum::http::StatusCode::from_u16(self.kind.status())
            .unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR);
        (status, axum::Json(self)).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_shape_is_stable() {
        let e = AppError {
            kind: ErrorKind::Conflict,
            message: "taken".into(),
        };
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            r#"{"kind":"conflict","message":"taken"}"#
        );
    }
}
