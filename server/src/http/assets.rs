//! Media assets over HTTP: organisers' resumable uploads under
//! `/dashboard/events/{slug}/assets` (JSON, for the dashboard's uploader
//! and for scripts), and `GET /media/{token}/{file}`, the signed and
//! expiring path browsers play a video's renditions, thumbnail and captions
//! from (with byte ranges). The work is `services::assets`.
//!
//! The upload protocol: `POST …/assets` with `{filename, size, title?}`
//! answers the asset (`received_bytes` 0); each `PATCH …/assets/{id}` with
//! an `Upload-Offset` header sends the bytes from there (at most 8 MB) and
//! answers the asset as it stands; `GET …/assets/{id}` says where to resume
//! after a lost connection. A wrong offset is a 409 naming the right one.

use app::context::cookies;
use app::error::AppError;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use axum_extra::extract::CookieJar;
use protocol::ids::AssetId;
use protocol::ErrorKind;
use services::accounts::organisers::{self, Organiser};
use services::assets::{self, store, Asset};
use services::Platform;

/// The largest request an upload path takes: a chunk and some slack.
pub const MAX_REQUEST_BYTES: usize = assets::CHUNK_MAX_BYTES + 64 * 1024;

/// Whether `path` takes asset bytes (a chunk or captions), whose body may
/// be larger than others'.
pub fn is_upload(path: &str) -> bool {
    let Some(rest) = path.strip_prefix("/dashboard/events/") else {
        return false;
    };
    let parts: Vec<&str> = rest.split('/').collect();
    matches!(parts.as_slice(), [slug, "assets", id] | [slug, "assets", id, "captions"]
        if !slug.is_empty() && !id.is_empty())
}

async fn organiser(state: &Platform, jar: &CookieJar) -> Result<Organiser, AppError> {
    let token = jar.get(cookies::ORGANISER).map(|c| c.value().to_owned());
    Ok(organisers::from_session(&state.pool, token.as_deref()).await?)
}

fn asset_id(raw: &str) -> Result<AssetId, AppError> {
    raw.parse()
        .map_err(|_| AppError::new(ErrorKind::NotFound, "no such video"))
}

/// `POST /dashboard/events/{slug}/assets`: begins an upload.
pub async fn begin(
    State(state): State<Platform>,
    Path(slug): Path<String>,
    jar: CookieJar,
    body: Bytes,
) -> Result<Response, AppError> {
    let me = organiser(&state, &jar).await?;
    let asset = assets::begin(&state.pool, &me, &slug, &body).await?;
    Ok((StatusCode::CREATED, Json(asset)).into_response())
}

/// `GET /dashboard/events/{slug}/assets`: the event's assets, newest first.
pub async fn list(
    State(state): State<Platform>,
    Path(slug): Path<String>,
    jar: CookieJar,
) -> Result<Json<Vec<Asset>>, AppError> {
    let me = organiser(&state, &jar).await?;
    Ok(Json(assets::list(&state.pool, &me, &slug).await?))
}

/// `GET /dashboard/events/{slug}/assets/{id}`: one asset (where its upload
/// resumes, how far processing got).
pub async fn show(
    State(state): State<Platform>,
    Path((slug, id)): Path<(String, String)>,
    jar: CookieJar,
) -> Result<Json<Asset>, AppError> {
    let me = organiser(&state, &jar).await?;
    let asset = assets::get(&state.pool, &me, &slug, asset_id(&id)?).await?;
    Ok(Json(asset))
}

/// `PATCH /dashboard/events/{slug}/assets/{id}`: the bytes from the
/// `Upload-Offset` header on.
pub async fn append(
    State(state): State<Platform>,
    Path((slug, id)): Path<(String, String)>,
    jar: CookieJar,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Asset>, AppError> {
    let me = organiser(&state, &jar).await?;
    let id = asset_id(&id)?;
    let offset: Option<i64> = headers
        .get("upload-offset")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok());
    let chunk = axum::body::to_bytes(body, MAX_REQUEST_BYTES)
        .await
        .map_err(|_| {
            AppError::new(
                ErrorKind::TooLarge,
                format!(
                    "send at most {} MB per request",
                    assets::CHUNK_MAX_BYTES / (1024 * 1024)
                ),
            )
        })?;
    let asset = assets::append(
        &state.pool,
        &state.media_store,
        state.media_tools.as_ref(),
        &me,
        &slug,
        id,
        offset,
        chunk,
    )
    .await?;
    Ok(Json(asset))
}

/// `PUT /dashboard/events/{slug}/assets/{id}/captions`: WebVTT captions.
pub async fn captions(
    State(state): State<Platform>,
    Path((slug, id)): Path<(String, String)>,
    jar: CookieJar,
    body: Bytes,
) -> Result<Json<Asset>, AppError> {
    let me = organiser(&state, &jar).await?;
    let asset = assets::attach_captions(
        &state.pool,
        &state.media_store,
        &me,
        &slug,
        asset_id(&id)?,
        body,
    )
    .await?;
    Ok(Json(asset))
}

/// `DELETE /dashboard/events/{slug}/assets/{id}`: the asset and its files.
pub async fn remove(
    State(state): State<Platform>,
    Path((slug, id)): Path<(String, String)>,
    jar: CookieJar,
) -> Result<StatusCode, AppError> {
    let me = organiser(&state, &jar).await?;
    assets::remove(&state.pool, &state.media_store, &me, &slug, asset_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /dashboard/events/{slug}/assets/{id}/preview`: a signed media path
/// (`/media/<token>/`) for the organiser to watch it.
pub async fn preview(
    State(state): State<Platform>,
    Path((slug, id)): Path<(String, String)>,
    jar: CookieJar,
) -> Result<Json<serde_json::Value>, AppError> {
    let me = organiser(&state, &jar).await?;
    let base = assets::preview_path(&state.pool, &me, &slug, asset_id(&id)?).await?;
    Ok(Json(serde_json::json!({ "base": base })))
}

/// `GET /media/{token}/{file}`: a published file of the asset the token
/// names, whole or the `Range` asked for.
pub async fn media(
    State(state): State<Platform>,
    Path((token, file)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let key = assets::media_key(&state.pool, &token, &file).await?;
    let not_found = || AppError::new(ErrorKind::NotFound, "no such file");
    let size = state.media_store.size(&key).await?.ok_or_else(not_found)?;
    let asked = headers.get(header::RANGE).and_then(|v| v.to_str().ok());
    let range = match store::byte_range(asked, size) {
        Ok(r) => r,
        Err(store::Unsatisfiable) => {
            let mut res = StatusCode::RANGE_NOT_SATISFIABLE.into_response();
            if let Ok(v) = HeaderValue::from_str(&format!("bytes */{size}")) {
                res.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            return Ok(res);
        }
    };
    let (bytes, _) = state
        .media_store
        .read(&key, range.clone())
        .await?
        .ok_or_else(not_found)?;
    let mut res = Body::from(bytes).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(store::content_type(&file)),
    );
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    // The token is in the path: a cached copy is the same person's.
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=3600"),
    );
    if let Some(r) = range {
        *res.status_mut() = StatusCode::PARTIAL_CONTENT;
        if let Ok(v) = HeaderValue::from_str(&format!("bytes {}-{}/{size}", r.start, r.end - 1)) {
            res.headers_mut().insert(header::CONTENT_RANGE, v);
        }
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_chunk_and_caption_paths_are_uploads() {
        assert!(super::is_upload("/dashboard/events/demo/assets/abc"));
        assert!(super::is_upload(
            "/dashboard/events/demo/assets/abc/captions"
        ));
        assert!(!super::is_upload("/dashboard/events/demo/assets"));
        assert!(!super::is_upload("/dashboard/events//assets/abc"));
        assert!(!super::is_upload(
            "/dashboard/events/demo/assets/abc/preview/x"
        ));
        assert!(!super::is_upload("/e/demo/assets/abc"));
    }
}
