//! Attendees' photos: `POST /e/{slug}/profile/avatar` (a plain multipart
//! form: it works without JavaScript and answers with a redirect back to the
//! profile page, carrying a refusal's code), `POST /e/{slug}/profile/avatar/remove`,
//! and `GET /e/{slug}/avatars/{attendee}/{version}` (the JPEG, to attendees
//! of the same event only). The work is `services::registrations::avatars`.

use app::context::cookies;
use app::error::AppError;
use axum::body::Body;
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use protocol::error::{PhotoRefusal, PHOTO_MAX_BYTES};
use protocol::ids::AttendeeId;
use services::live::moderation::{admit, Admission};
use services::ratelimit::PHOTOS_PER_ATTENDEE;
use services::registrations::avatars;
use services::Platform;

/// The largest upload request read. Above the photo limit, so that a photo
/// too large (from an attendee: strangers are refused before the body is
/// read) gets the profile page's message rather than a bare 413.
pub const MAX_REQUEST_BYTES: usize = 4 * PHOTO_MAX_BYTES;

/// Whether `path` is the photo upload, whose body may be larger than others'.
pub fn is_upload(path: &str) -> bool {
    path.strip_prefix("/e/")
        .and_then(|rest| rest.split_once('/'))
        .is_some_and(|(slug, rest)| !slug.is_empty() && rest == "profile/avatar")
}

async fn attendee(state: &Platform, slug: &str, jar: &CookieJar) -> Result<Admission, AppError> {
    let token = jar.get(cookies::ATTENDEE).map(|c| c.value().to_owned());
    Ok(admit(&state.pool, slug, token.as_deref()).await?)
}

fn invalid(message: String) -> AppError {
    AppError::new(protocol::ErrorKind::Invalid, message)
}

/// Back to the profile page, saying what happened.
fn back(slug: &str, outcome: Result<&str, PhotoRefusal>) -> Response {
    let query = match outcome {
        Ok(saved) => format!("saved={saved}"),
        Err(refusal) => format!("error={}", refusal.code()),
    };
    Redirect::to(&format!("/e/{slug}/profile?{query}")).into_response()
}

/// `POST /e/{slug}/profile/avatar`: the signed-in attendee's new photo (the
/// `photo` field of a multipart form).
pub async fn upload(
    State(state): State<Platform>,
    Path(slug): Path<String>,
    jar: CookieJar,
    req: Request,
) -> Result<Response, AppError> {
    // Who first: a stranger's upload is refused before its body is read.
    let me = attendee(&state, &slug, &jar).await?;
    let slug = me.event.slug.clone();
    let mut redis = state.redis.clone();
    let limited = services::ratelimit::hit(
        &mut redis,
        &state.redis_namespace,
        &PHOTOS_PER_ATTENDEE,
        &me.actor.id.to_string(),
    )
    .await;
    if let Err(services::Error::RateLimited(_)) = limited {
        return Ok(back(&slug, Err(PhotoRefusal::TooOften)));
    }
    limited?;
    let mut form = Multipart::from_request(req, &())
        .await
        .map_err(|e| invalid(format!("send the photo as a multipart form: {e}")))?;
    let mut photo = None;
    loop {
        let field = match form.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                return Ok(back(&slug, Err(PhotoRefusal::TooLarge)))
            }
            Err(e) => return Err(invalid(format!("a broken upload: {e}"))),
        };
        if field.name() == Some("photo") {
            match field.bytes().await {
                Ok(bytes) => photo = Some(bytes.to_vec()),
                Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                    return Ok(back(&slug, Err(PhotoRefusal::TooLarge)))
                }
                Err(e) => return Err(invalid(format!("a broken upload: {e}"))),
            }
        }
    }
    let stored = avatars::set(&state.pool, me.actor.id, photo.unwrap_or_default()).await?;
    Ok(back(&slug, stored.map(|_| "photo")))
}

/// `POST /e/{slug}/profile/avatar/remove`: back to initials.
pub async fn remove(
    State(state): State<Platform>,
    Path(slug): Path<String>,
    jar: CookieJar,
) -> Result<Response, AppError> {
    let me = attendee(&state, &slug, &jar).await?;
    avatars::remove(&state.pool, me.actor.id).await?;
    Ok(back(&me.event.slug, Ok("removed")))
}

/// `GET /e/{slug}/avatars/{attendee}/{version}`: a photo, for attendees of
/// the same event. The address names a version, so the photo is cached for
/// good; an older version's address gets the current photo, briefly cached.
pub async fn photo(
    State(state): State<Platform>,
    Path((slug, whose, version)): Path<(String, String, String)>,
    jar: CookieJar,
) -> Result<Response, AppError> {
    let me = attendee(&state, &slug, &jar).await?;
    let whose: AttendeeId = whose
        .parse()
        .map_err(|_| AppError::new(protocol::ErrorKind::NotFound, "no such photo"))?;
    let photo = avatars::get(&state.pool, me.event.id, whose)
        .await?
        .ok_or_else(|| AppError::new(protocol::ErrorKind::NotFound, "no such photo"))?;
    let cache = if version == photo.version.to_string() {
        "private, max-age=31536000, immutable"
    } else {
        "private, max-age=60"
    };
    let mut res = Body::from(photo.jpeg).into_response();
    let headers = res.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/jpeg"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    Ok(res)
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_the_upload_path_is_an_upload() {
        assert!(super::is_upload("/e/demo/profile/avatar"));
        assert!(!super::is_upload("/e/demo/profile/avatar/remove"));
        assert!(!super::is_upload("/e//profile/avatar"));
        assert!(!super::is_upload("/e/demo/profile"));
        assert!(!super::is_upload("/fn/register"));
    }
}
