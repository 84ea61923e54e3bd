//! A live broadcast's HLS stream (`services::live::hls`): media nodes
//! upload it (`PUT /media/v1/live/{file}` with the broadcast's recording
//! token), viewers past the node's WebRTC limit fetch it
//! (`GET /media/live/{token}/{file}` with the watch token `stage_watch`
//! gave them).

use app::error::AppError;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use services::live::hls;
use services::Platform;

/// Where media nodes upload: `<prefix><file>`.
pub const UPLOAD_PREFIX: &str = "/media/v1/live/";

/// Whether `path` is an upload of a live stream's file (it may be larger
/// than other requests).
pub fn is_upload(path: &str) -> bool {
    path.strip_prefix(UPLOAD_PREFIX)
        .is_some_and(|f| !f.is_empty() && !f.contains('/'))
}

/// `PUT /media/v1/live/{file}` with `Authorization: Bearer <recording
/// token>`: keeps a segment or the playlist of that broadcast's stream (204).
pub async fn upload(
    State(state): State<Platform>,
    Path(file): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, AppError> {
    let recording = super::recordings::recording_of(&state, &headers).await?;
    let mut redis = state.redis.clone();
    hls::put(&mut redis, &state.redis_namespace, recording, &file, &body).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /media/live/{token}/{file}`: a file of the live stream the watch
/// token names (404 until the stream has it, or after it moved on).
pub async fn watch(
    State(state): State<Platform>,
    Path((token, file)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let mut redis = state.redis.clone();
    let bytes = hls::get(
        &state.pool,
        &mut redis,
        &state.redis_namespace,
        &token,
        &file,
    )
    .await?;
    let mut res = bytes.into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(services::assets::store::content_type(&file)),
    );
    // The playlist changes every segment; a segment never does.
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(if file == hls::PLAYLIST {
            "no-store"
        } else {
            "private, max-age=60"
        }),
    );
    Ok(res)
}

#[cfg(test)]
mod tests {
    #[test]
    fn uploads_are_single_files_under_the_prefix() {
        assert!(super::is_upload("/media/v1/live/live00001.ts"));
        assert!(!super::is_upload("/media/v1/live/"));
        assert!(!super::is_upload("/media/v1/live/a/b"));
        assert!(!super::is_upload("/media/v1/recordings"));
    }
}
