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

/// Largest photo an attendee may upload, in bytes.
pub const PHOTO_MAX_BYTES: usize = 8 * 1024 * 1024;
/// Largest width or height of an uploaded photo, in pixels.
pub const PHOTO_MAX_PIXELS: u32 = 8_000;

/// Why an uploaded photo was refused. The profile page's upload is a plain
/// form post answered by a redirect, so the code travels in the address
/// (`?error=too_large`) and the page shows the message; an address can name
/// only these messages, never text of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PhotoRefusal {
    /// No file was chosen.
    Missing,
    /// Over [`PHOTO_MAX_BYTES`].
    TooLarge,
    /// Not a PNG, JPEG, WebP or GIF picture.
    NotAPicture,
    /// Wider or taller than [`PHOTO_MAX_PIXELS`].
    TooManyPixels,
    /// Too many uploads in a short time.
    TooOften,
}

impl PhotoRefusal {
    const ALL: [PhotoRefusal; 5] = [
        PhotoRefusal::Missing,
        PhotoRefusal::TooLarge,
        PhotoRefusal::NotAPicture,
        PhotoRefusal::TooManyPixels,
        PhotoRefusal::TooOften,
    ];

    /// Its code in an address.
    pub fn code(self) -> &'static str {
        match self {
            PhotoRefusal::Missing => "missing",
            PhotoRefusal::TooLarge => "too_large",
            PhotoRefusal::NotAPicture => "not_a_picture",
            PhotoRefusal::TooManyPixels => "too_many_pixels",
            PhotoRefusal::TooOften => "too_often",
        }
    }

    /// The refusal a code names.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.code() == code)
    }
}

impl std::fmt::Display for PhotoRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PhotoRefusal::Missing => f.write_str("choose a photo to upload"),
            PhotoRefusal::TooLarge => write!(
                f,
                "the photo is larger than {} MB",
                PHOTO_MAX_BYTES / (1024 * 1024)
            ),
            PhotoRefusal::NotAPicture => {
                f.write_str("the file is not a PNG, JPEG, WebP or GIF picture")
            }
            PhotoRefusal::TooManyPixels => write!(
                f,
                "the photo is larger than {PHOTO_MAX_PIXELS}×{PHOTO_MAX_PIXELS} pixels"
            ),
            PhotoRefusal::TooOften => {
                f.write_str("too many new photos in a short time; try again in a few minutes")
            }
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

    #[test]
    fn photo_refusals_round_trip_through_their_codes() {
        for r in PhotoRefusal::ALL {
            assert_eq!(PhotoRefusal::from_code(r.code()), Some(r));
            assert_eq!(
                serde_json::to_string(&r).unwrap(),
                format!("\"{}\"", r.code())
            );
        }
        assert_eq!(PhotoRefusal::from_code("<script>"), None);
        assert_eq!(
            PhotoRefusal::TooLarge.to_string(),
            "the photo is larger than 8 MB"
        );
    }
}
