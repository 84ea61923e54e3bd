//! `POST /media/v1/recordings`: a media node hands over the mixed recording
//! of a stage's broadcast. It authenticates with the recording token the
//! platform gave the broadcast's hosts when it went live (their page passed
//! it to the node), which names the recording; the file becomes a media
//! asset of the event, on air on its stage from when it went live, and is
//! processed like an upload. Each part (the node names it in
//! `x-recording-part`) is an asset; handing the same part over twice is a
//! 409 (the node then stops trying).

use app::error::AppError;
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures::StreamExt;
use protocol::ErrorKind;
use services::assets::{self, NewRecording};
use services::Platform;
use tokio::io::AsyncWriteExt;

/// Where recordings are handed over.
pub const PATH: &str = "/media/v1/recordings";

/// The largest recording taken (a day of a busy stage at a few Mbit/s).
pub const MAX_BYTES: u64 = 64 * 1024 * 1024 * 1024;

/// How long handing one over may take (a large file over a slow link).
pub const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3600);

/// A folder removed when dropped.
struct Scratch(std::path::PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The broadcast recording whose token a media node sent as its bearer
/// token (401 without one, or with one that is not genuine).
pub async fn recording_of(
    state: &Platform,
    headers: &HeaderMap,
) -> Result<protocol::ids::AssetId, AppError> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| {
            AppError::new(
                ErrorKind::Unauthorized,
                "send the recording token as a bearer token",
            )
        })?;
    Ok(assets::recording_of_token(&state.pool, token.trim()).await?)
}

/// `POST /media/v1/recordings` with `Authorization: Bearer <recording
/// token>` and the MP4 as the body: answers the new asset (201).
pub async fn receive(
    State(state): State<Platform>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, AppError> {
    let id = recording_of(&state, &headers).await?;
    let part: protocol::ids::AssetId = headers
        .get("x-recording-part")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| {
            AppError::new(
                ErrorKind::Invalid,
                "name the part in an x-recording-part header (a UUID)",
            )
        })?;
    let rec = services::live::stages::recording(&state.pool, id)
        .await?
        .ok_or_else(|| AppError::new(ErrorKind::NotFound, "no such recording"))?;
    let event = services::events::get(&state.pool, rec.event_id).await?;
    let scratch = Scratch(std::env::temp_dir().join(format!(
        "convene-recording-{part}-{}",
        uuid::Uuid::new_v4().simple()
    )));
    tokio::fs::create_dir_all(&scratch.0)
        .await
        .map_err(|e| AppError::new(ErrorKind::Internal, format!("scratch folder: {e}")))?;
    let file = scratch.0.join("recording.mp4");
    let mut out = tokio::fs::File::create(&file)
        .await
        .map_err(|e| AppError::new(ErrorKind::Internal, format!("scratch file: {e}")))?;
    let mut stream = body.into_data_stream();
    let mut size = 0u64;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| {
            AppError::new(
                ErrorKind::Invalid,
                format!("the recording did not arrive whole: {e}"),
            )
        })?;
        size += chunk.len() as u64;
        if size > MAX_BYTES {
            return Err(AppError::new(
                ErrorKind::TooLarge,
                format!("recordings are taken up to {} GiB", MAX_BYTES >> 30),
            ));
        }
        out.write_all(&chunk)
            .await
            .map_err(|e| AppError::new(ErrorKind::Internal, format!("scratch file: {e}")))?;
    }
    out.flush()
        .await
        .map_err(|e| AppError::new(ErrorKind::Internal, format!("scratch file: {e}")))?;
    drop(out);
    let title = format!(
        "{} · {}",
        rec.stage_name,
        services::time::local_time(rec.live_at, &event.time_zone)
    );
    let new = NewRecording {
        id: part,
        recording: id,
        event: rec.event_id,
        stage: rec.stage_id,
        title,
        live_at: rec.live_at,
    };
    let asset = assets::import_recording(
        &state.pool,
        &state.media_store,
        state.media_tools.as_ref(),
        &new,
        &file,
    )
    .await?;
    tracing::info!(asset = %asset.id, size, "recording received");
    Ok((StatusCode::CREATED, Json(asset)).into_response())
}
