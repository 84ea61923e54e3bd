//! The categories of refusal every Convene interface shares (server functions,
//! the live socket, later the REST API), and their one mapping to HTTP status.

use serde::{Deserialize, Serialize};

/// Why a request was refused; decides the HTTP status and the socket's error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// Bad input (400).
    Invalid,
    /// Not signed in or wrong credentials (401).
    Unauthorized,
    /// Signed in but not allowed (403).
    Forbidden,
    /// Missing or invisible to the caller (404).
    NotFound,
    /// Clashes with stored state (409).
    Conflict,
    /// An idempotency key reused for a different request (422).
    KeyReused,
    /// A payment was declined, or the plan does not allow it (402).
    PaymentFailed,
    /// Too many attempts (429).
    RateLimited,
    /// The request took too long to arrive or to answer (408).
    TimedOut,
    /// The request body is over the size limit (413).
    TooLarge,
    /// The server is at capacity for this kind of work; try again shortly (503).
    Busy,
    /// Our fault (500); the message is generic.
    Internal,
}

impl ErrorKind {
    /// The HTTP status code of this kind: the one place errors meet HTTP.
    pub fn status(self) -> u16 {
        match self {
            ErrorKind::Invalid => 400,
            ErrorKind::Unauthorized => 401,
            ErrorKind::Forbidden => 403,
            ErrorKind::NotFound => 404,
            ErrorKind::Conflict => 409,
            ErrorKind::KeyReused => 422,
            ErrorKind::PaymentFailed => 402,
            ErrorKind::RateLimited => 429,
            ErrorKind::TimedOut => 408,
            ErrorKind::TooLarge => 413,
            ErrorKind::Busy => 503,
            ErrorKind::Internal => 500,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_map_to_distinct_statuses_and_snake_case_codes() {
        use ErrorKind::*;
        let all = [
            Invalid,
            Unauthorized,
            Forbidden,
            NotFound,
            Conflict,
            KeyReused,
            PaymentFailed,
            RateLimited,
            TimedOut,
            TooLarge,
            Busy,
            Internal,
        ];
        let codes: Vec<u16> = all.iter().map(|k| k.status()).collect();
        assert_eq!(
            codes,
            vec![400, 401, 403, 404, 409, 422, 402, 429, 408, 413, 503, 500]
        );
        assert_eq!(serde_json::to_string(&NotFound).unwrap(), "\"not_found\"");
    }
}
