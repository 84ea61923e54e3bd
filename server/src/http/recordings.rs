//! `POST /media/v1/recordings`: a media node hands over the mixed recording
//! of a stage's broadcast or of a session. It authenticates with the
//! recording token the platform gave the node through a host's link when
//! the broadcast went live or the session's recording started, which names
//! the recording; the file becomes a media asset of the event (a stage's on
//! air on its stage from when it went live) and is processed like an
//! upload. Each part (the node names it in `x-recording-part`) is an asset;
//! handing the same part over twice is a 409 (the node then stops trying).
//!
//! `POST /media/v1/recordings/tracks`: then each track of the part on its
//! own (a camera's VP8 in IVF, a microphone's Opus in Ogg, named in
//! `x-track-*` headers), kept beside it for editing or transcription.

use app::error::AppError;
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures::StreamExt;
use protocol::ErrorKind;
use services::assets;
use services::Platform;
use tokio::io::AsyncWriteExt;

/// Where recordings are handed over.
pub const PATH: &str = "/media/v1/recordings";

/// Where the tracks of a recorded part are handed over.
pub const TRACKS_PATH: &str = "/media/v1/recordings/tracks";

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

/// A header's value parsed as `T` (400 naming the header otherwise).
fn header_of<T: std::str::FromStr>(
    headers: &HeaderMap,
    name: &str,
    what: &str,
) -> Result<T, AppError> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| {
            AppError::new(
                ErrorKind::Invalid,
                format!("name {what} in an {name} header"),
            )
        })
}

/// Writes `body` to `file`, refusing more than `max` bytes; its size.
async fn receive_into(body: Body, file: &std::path::Path, max: u64) -> Result<u64, AppError> {
    let mut out = tokio::fs::File::create(file)
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
        if size > max {
            return Err(AppError::new(
                ErrorKind::TooLarge,
                format!("recordings are taken up to {} GiB", max >> 30),
            ));
        }
        out.write_all(&chunk)
            .await
            .map_err(|e| AppError::new(ErrorKind::Internal, format!("scratch file: {e}")))?;
    }
    out.flush()
        .await
        .map_err(|e| AppError::new(ErrorKind::Internal, format!("scratch file: {e}")))?;
    Ok(size)
}

/// A scratch folder for one handed-over file.
async fn scratch(part: protocol::ids::AssetId) -> Result<Scratch, AppError> {
    let scratch = Scratch(std::env::temp_dir().join(format!(
        "convene-recording-{part}-{}",
        uuid::Uuid::new_v4().simple()
    )));
    tokio::fs::create_dir_all(&scratch.0)
        .await
        .map_err(|e| AppError::new(ErrorKind::Internal, format!("scratch folder: {e}")))?;
    Ok(scratch)
}

/// `POST /media/v1/recordings` with `Authorization: Bearer <recording
/// token>` and the MP4 as the body: answers the new asset (201).
pub async fn receive(
    State(state): State<Platform>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, AppError> {
    let id = recording_of(&state, &headers).await?;
    let part: protocol::ids::AssetId =
        header_of(&headers, "x-recording-part", "the part (a UUID)")?;
    // When the part started, on the node's clock (a later part of a long
    // recording starts well after it).
    let started = headers
        .get("x-recording-started-ms")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok())
        .and_then(chrono::DateTime::from_timestamp_millis);
    let new = services::live::recordings::part(&state.pool, id, part, started)
        .await?
        .ok_or_else(|| AppError::new(ErrorKind::NotFound, "no such recording"))?;
    let scratch = scratch(part).await?;
    let file = scratch.0.join("recording.mp4");
    let size = receive_into(body, &file, MAX_BYTES).await?;
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

/// `POST /media/v1/recordings/tracks` with the recording token, the part
/// (`x-recording-part`, handed over before), and the track: its number in
/// the part (`x-track-n`), whose (`x-track-stream`), `x-track-kind`
/// (`audio` or `video`), `x-track-start-ms` and `x-track-length-ms`; the
/// file as the body. 201 when kept.
pub async fn receive_track(
    State(state): State<Platform>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, AppError> {
    let id = recording_of(&state, &headers).await?;
    let part: protocol::ids::AssetId =
        header_of(&headers, "x-recording-part", "the part (a UUID)")?;
    let kind: String = header_of(&headers, "x-track-kind", "the kind (audio or video)")?;
    let audio = match kind.as_str() {
        "audio" => true,
        "video" => false,
        _ => {
            return Err(AppError::new(
                ErrorKind::Invalid,
                "a track's kind is audio or video",
            ))
        }
    };
    let stream: String = header_of(&headers, "x-track-stream", "whose it is")?;
    if stream.is_empty() || stream.len() > 100 {
        return Err(AppError::new(
            ErrorKind::Invalid,
            "x-track-stream names a participant in at most 100 characters",
        ));
    }
    let track = assets::NewTrack {
        n: header_of(&headers, "x-track-n", "its number")?,
        stream,
        audio,
        start_ms: header_of(&headers, "x-track-start-ms", "where it starts")?,
        length_ms: header_of(&headers, "x-track-length-ms", "how long it plays")?,
    };
    let scratch = scratch(part).await?;
    let file = scratch.0.join(track.file());
    let size = receive_into(body, &file, assets::MAX_TRACK_BYTES).await?;
    assets::import_track(&state.pool, &state.media_store, id, part, &track, &file).await?;
    tracing::info!(%part, file = %track.file(), size, "recording track received");
    Ok(StatusCode::CREATED.into_response())
}
