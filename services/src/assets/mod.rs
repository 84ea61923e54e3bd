//! Media assets of events (the seed's MAR; owner of `media_assets`): the
//! videos organisers upload (recordings will join them), with what the
//! transforms made of them, kept in a [`Store`] under `assets/<id>/`.
//!
//! **Upload**, resumable. [`begin`] makes the row (`uploading`, its size
//! checked against the plan's `max_upload_bytes`); [`append`] takes bytes
//! at the offset the row holds, each chunk an object of its own
//! (`uploads/<id>/<offset>`), so a chunk lost with a connection is sent
//! again and any web node can take the next. The chunk that completes the
//! file makes it whole: it is probed ([`Tools::probe`]); what is not a
//! video is refused with the reason, and its chunks and row are deleted. A
//! video is stored as `assets/<id>/original`, becomes `processing`, and its
//! typed jobs are enqueued in the same transaction:
//! [`crate::jobs::AssetRenditions`] (HLS, [`transform::renditions`]) and
//! [`crate::jobs::AssetThumbnail`].
//!
//! The race: a client retrying a chunk while its first attempt still runs.
//! [`append`] holds the row's lock (`FOR UPDATE`) while it checks the
//! offset, stores the chunk and advances the offset, so the second attempt
//! finds the offset moved and is told where to go on from (409): no byte is
//! counted twice and no chunk is overwritten by a shorter one.

pub mod store;
pub mod transform;

use std::path::Path;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use protocol::events::{Fact, RecordingReady};
use protocol::ids::{AssetId, AttendeeId, EventId, StageId, VideoSessionId};
use protocol::states::{AssetStatus, ReplayAudience};
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, PgPool};

use crate::accounts::organisers::Organiser;
use crate::billing::plans;
use crate::{events, jobs, Error, Result};

pub use store::Store;

/// The largest chunk one request may carry.
pub const CHUNK_MAX_BYTES: usize = 8 * 1024 * 1024;

/// A media asset as stored (and as the dashboard's JSON reads it).
#[derive(Debug, Clone, PartialEq, serde::Serialize, sqlx::FromRow)]
pub struct Asset {
    /// Its id (also its folder in the store).
    pub id: AssetId,
    /// The event it belongs to.
    pub event_id: EventId,
    /// What organisers call it.
    pub title: String,
    /// The name of the uploaded file.
    pub filename: String,
    /// Where it is in its life.
    pub status: AssetStatus,
    /// Its size when whole.
    pub size_bytes: i64,
    /// Bytes received so far (an upload resumes here).
    pub received_bytes: i64,
    /// SHA-256 of the upload, hex (once whole).
    pub checksum: Option<String>,
    /// How long it plays, in milliseconds (once probed).
    pub duration_ms: Option<i64>,
    /// Width of the picture.
    pub width: Option<i32>,
    /// Height of the picture.
    pub height: Option<i32>,
    /// The HLS renditions made (`360p`, `720p`).
    pub renditions: Vec<String>,
    /// A thumbnail was made.
    pub thumbnail: bool,
    /// Captions (WebVTT) are attached.
    pub captions: bool,
    /// How far processing got, 0..1.
    pub progress: f32,
    /// Why it failed.
    pub error: Option<String>,
    /// When the upload began.
    pub created_at: DateTime<Utc>,
    /// The stage it was on air on (simulive, or a recording of the stage).
    pub stage_id: Option<StageId>,
    /// When it went on air there.
    pub aired_at: Option<DateTime<Utc>>,
    /// Who may watch it in Replay.
    pub replay: ReplayAudience,
    /// A recording of a stage's broadcast or of a session (not an
    /// organiser's upload).
    pub recording: bool,
    /// The session it is a recording of.
    pub session_id: Option<VideoSessionId>,
}

const COLUMNS: &str = "id, event_id, title, filename, status, size_bytes, received_bytes, checksum,
    duration_ms, width, height, renditions, thumbnail, captions, progress, error, created_at,
    stage_id, aired_at, replay, origin = 'recording' AS recording, session_id";

impl Asset {
    /// It plays: whole, with its renditions made.
    pub fn playable(&self) -> bool {
        self.status == AssetStatus::Ready && !self.renditions.is_empty()
    }
}

/// What [`Tools::probe`] found in a playable video.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Probed {
    /// How long it plays, in milliseconds.
    pub duration_ms: i64,
    /// Width of its picture.
    pub width: u32,
    /// Height of its picture.
    pub height: u32,
    /// It has sound.
    pub audio: bool,
}

/// What went wrong in a tool.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ToolError {
    /// The file is not what is needed; the message says why, for organisers.
    #[error("{0}")]
    Refused(String),
    /// The tool failed (missing, or broke).
    #[error("{0}")]
    Failed(String),
}

/// What assets need of ffprobe and ffmpeg. The server hands in
/// `media::assets` (this crate does not depend on the media plane); tests
/// use the same.
#[async_trait::async_trait]
pub trait Tools: Send + Sync {
    /// What the file at `file` is, if it is a video that plays.
    async fn probe(&self, file: &Path) -> std::result::Result<Probed, ToolError>;
    /// Makes the HLS renditions of the video `input` in `dir` (a master
    /// playlist `master.m3u8`, each rendition's playlist and segments),
    /// reporting the fraction done; returns the renditions' names.
    async fn renditions(
        &self,
        input: &Path,
        dir: &Path,
        progress: Box<dyn Fn(f32) + Send + Sync>,
    ) -> std::result::Result<Vec<String>, ToolError>;
    /// Writes a JPEG thumbnail of the video `input` to `out`.
    async fn thumbnail(&self, input: &Path, out: &Path) -> std::result::Result<(), ToolError>;
}

/// What an organiser says when an upload begins.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct NewUpload {
    /// What to call it (the file's name when empty).
    #[serde(default)]
    pub title: String,
    /// The file's name.
    pub filename: String,
    /// Its size in bytes.
    pub size: i64,
}

/// The object key of an asset's file `name`.
pub fn key(asset: AssetId, name: &str) -> String {
    format!("assets/{asset}/{name}")
}

/// The object key of the chunk of `asset`'s upload at `offset`.
fn chunk_key(asset: AssetId, offset: i64) -> String {
    format!("uploads/{asset}/{offset:020}")
}

/// Checks an upload's size against the plan's limit.
fn check_size(size: i64, limit: Option<i64>, plan: &str) -> Result<()> {
    if size <= 0 {
        return Err(Error::invalid("the file is empty"));
    }
    match limit {
        Some(max) if size > max => Err(Error::PlanLimit(format!(
            "your {plan} plan takes files up to {} MB; this one is {} MB",
            max / (1024 * 1024),
            (size + 1024 * 1024 - 1) / (1024 * 1024)
        ))),
        _ => Ok(()),
    }
}

/// Starts the upload of a video to the event `slug`; `json` is a
/// [`NewUpload`] (read after the event is known to be theirs, so a stranger
/// learns nothing from a bad body).
pub async fn begin(pool: &PgPool, by: &Organiser, slug: &str, json: &[u8]) -> Result<Asset> {
    let event = events::get_for_org(pool, by, slug).await?;
    let form: NewUpload = serde_json::from_slice(json).map_err(|e| {
        Error::invalid(format!(
            "send {{\"filename\", \"size\", \"title\"}} as JSON: {e}"
        ))
    })?;
    let filename = form.filename.trim();
    if filename.is_empty() || filename.chars().count() > 200 {
        return Err(Error::invalid("name the file (up to 200 characters)"));
    }
    let title = match form.title.trim() {
        "" => filename.rsplit_once('.').map_or(filename, |(stem, _)| stem),
        t => t,
    };
    if title.is_empty() || title.chars().count() > 200 {
        return Err(Error::invalid(
            "give the video a title of up to 200 characters",
        ));
    }
    let mut conn = pool.acquire().await?;
    let plan = plans::of_org(&mut conn, by.org_id).await?;
    check_size(form.size, plan.max_upload_bytes, &plan.name)?;
    Ok(sqlx::query_as(&format!(
        "INSERT INTO media_assets (id, event_id, owner_id, kind, title, filename, status, size_bytes)
         VALUES ($1, $2, $3, 'video', $4, $5, 'uploading', $6) RETURNING {COLUMNS}"
    ))
    .bind(AssetId::new())
    .bind(event.id)
    .bind(by.id)
    .bind(title)
    .bind(filename)
    .bind(form.size)
    .fetch_one(&mut *conn)
    .await?)
}

/// Every asset of the event `slug`, newest first.
pub async fn list(pool: &PgPool, by: &Organiser, slug: &str) -> Result<Vec<Asset>> {
    let event = events::get_for_org(pool, by, slug).await?;
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM media_assets WHERE event_id = $1 ORDER BY created_at DESC, id"
    ))
    .bind(event.id)
    .fetch_all(pool)
    .await?)
}

/// The asset `id` of the event `slug`.
pub async fn get(pool: &PgPool, by: &Organiser, slug: &str, id: AssetId) -> Result<Asset> {
    let event = events::get_for_org(pool, by, slug).await?;
    of_event(pool, event.id, id).await
}

/// The asset `id` of event `event` (callers checked who may see the event).
pub async fn of_event(pool: &PgPool, event: EventId, id: AssetId) -> Result<Asset> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM media_assets WHERE id = $1 AND event_id = $2"
    ))
    .bind(id)
    .bind(event)
    .fetch_optional(pool)
    .await?
    .ok_or_else(|| Error::NotFound("no such video".into()))
}

/// The asset `id`, whoever's (for jobs and media paths, which checked).
pub async fn by_id(pool: &PgPool, id: AssetId) -> Result<Option<Asset>> {
    Ok(
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM media_assets WHERE id = $1"))
            .bind(id)
            .fetch_optional(pool)
            .await?,
    )
}

/// Takes `chunk` at `offset` (None: the client did not say) of the upload
/// of asset `id`; the chunk that completes it makes the file whole (see the
/// module doc). Returns the asset as it now stands.
#[allow(clippy::too_many_arguments)]
pub async fn append(
    pool: &PgPool,
    store: &Store,
    tools: &dyn Tools,
    by: &Organiser,
    slug: &str,
    id: AssetId,
    offset: Option<i64>,
    chunk: Bytes,
) -> Result<Asset> {
    let event = events::get_for_org(pool, by, slug).await?;
    let offset = offset
        .filter(|o| *o >= 0)
        .ok_or_else(|| Error::invalid("say where these bytes go in an Upload-Offset header"))?;
    if chunk.is_empty() {
        return Err(Error::invalid("send the file's bytes in the request body"));
    }
    if chunk.len() > CHUNK_MAX_BYTES {
        return Err(Error::invalid(format!(
            "send at most {} MB per request",
            CHUNK_MAX_BYTES / (1024 * 1024)
        )));
    }
    let mut tx = pool.begin().await?;
    let asset: Asset = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM media_assets WHERE id = $1 AND event_id = $2 FOR UPDATE"
    ))
    .bind(id)
    .bind(event.id)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| Error::NotFound("no such upload".into()))?;
    if asset.status != AssetStatus::Uploading {
        return Err(Error::Conflict("this upload is complete".into()));
    }
    if offset != asset.received_bytes {
        return Err(Error::Conflict(format!(
            "the upload goes on from byte {}, not {offset}",
            asset.received_bytes
        )));
    }
    let end = offset + chunk.len() as i64;
    if end > asset.size_bytes {
        return Err(Error::invalid(format!(
            "the file was said to be {} bytes; this goes past its end",
            asset.size_bytes
        )));
    }
    store.put(&chunk_key(id, offset), chunk).await?;
    if end < asset.size_bytes {
        let asset = sqlx::query_as(&format!(
            "UPDATE media_assets SET received_bytes = $2, updated_at = now() WHERE id = $1 RETURNING {COLUMNS}"
        ))
        .bind(id)
        .bind(end)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        return Ok(asset);
    }
    let done = complete(&mut tx, store, tools, &asset).await;
    let asset = match done {
        Ok(asset) => {
            tx.commit().await?;
            asset
        }
        Err(e @ Error::Invalid(_)) => {
            // Nothing of a refused file is kept.
            sqlx::query("DELETE FROM media_assets WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            store.delete_under(&format!("uploads/{id}")).await?;
            return Err(e);
        }
        // Anything else (storage, the tool missing): the offset stays, and
        // sending the last chunk again tries again.
        Err(e) => return Err(e),
    };
    store.delete_under(&format!("uploads/{id}")).await?;
    Ok(asset)
}

/// A temporary directory, removed when dropped.
pub(crate) struct Scratch(pub std::path::PathBuf);

impl Scratch {
    pub(crate) fn new(what: &str) -> Result<Scratch> {
        let dir = std::env::temp_dir().join(format!("convene-{what}-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir)
            .map_err(|e| Error::Internal(format!("scratch directory: {e}")))?;
        Ok(Scratch(dir))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Makes the upload of `asset` whole: its chunks in order into one file,
/// probed; stores it and enqueues its transforms (in `tx`).
async fn complete(
    tx: &mut PgConnection,
    store: &Store,
    tools: &dyn Tools,
    asset: &Asset,
) -> Result<Asset> {
    let scratch = Scratch::new("upload")?;
    let file = scratch.0.join("original");
    let mut out = tokio::fs::File::create(&file)
        .await
        .map_err(|e| Error::Internal(format!("scratch file: {e}")))?;
    let mut hash = Sha256::new();
    let mut at = 0i64;
    while at < asset.size_bytes {
        let key = chunk_key(asset.id, at);
        let size = store
            .size(&key)
            .await?
            .ok_or_else(|| Error::Internal(format!("chunk {key} is missing")))?;
        store.copy_into(&key, &mut out, |b| hash.update(b)).await?;
        at += size as i64;
    }
    drop(out);
    let checksum = hex::encode(hash.finalize());
    take_original(tx, store, tools, asset, &file, &checksum).await
}

/// Probes the whole file of `asset`, stores it as its original and enqueues
/// its transforms (in `tx`). A file that is not a video is refused
/// (`Invalid`) with nothing stored.
async fn take_original(
    tx: &mut PgConnection,
    store: &Store,
    tools: &dyn Tools,
    asset: &Asset,
    file: &Path,
    checksum: &str,
) -> Result<Asset> {
    let probed = match tools.probe(file).await {
        Ok(p) => p,
        Err(ToolError::Refused(why)) => return Err(Error::invalid(why)),
        Err(ToolError::Failed(why)) => return Err(Error::Internal(why)),
    };
    store.put_file(&key(asset.id, "original"), file).await?;
    let asset: Asset = sqlx::query_as(&format!(
        "UPDATE media_assets SET status = 'processing', received_bytes = size_bytes, checksum = $2,
                duration_ms = $3, width = $4, height = $5, updated_at = now()
         WHERE id = $1 RETURNING {COLUMNS}"
    ))
    .bind(asset.id)
    .bind(checksum)
    .bind(probed.duration_ms)
    .bind(probed.width as i32)
    .bind(probed.height as i32)
    .fetch_one(&mut *tx)
    .await?;
    jobs::enqueue(&mut *tx, &jobs::AssetRenditions { asset_id: asset.id }).await?;
    jobs::enqueue(&mut *tx, &jobs::AssetThumbnail { asset_id: asset.id }).await?;
    Ok(asset)
}

/// Records how far processing of asset `id` got (0..1; complete is
/// [`mark_ready`]'s).
pub(crate) async fn set_progress(pool: &PgPool, id: AssetId, done: f32) -> Result<()> {
    sqlx::query(
        "UPDATE media_assets SET progress = $2, updated_at = now() WHERE id = $1 AND status = 'processing'",
    )
    .bind(id)
    .bind(done.clamp(0.0, 0.99))
    .execute(pool)
    .await?;
    Ok(())
}

/// Asset `id` is playable: its renditions `names` are stored. A recording
/// says so on the bus (`recording.ready`, once: only on its first time).
pub(crate) async fn mark_ready(pool: &PgPool, id: AssetId, names: &[String]) -> Result<()> {
    let mut tx = pool.begin().await?;
    let was: Option<AssetStatus> =
        sqlx::query_scalar("SELECT status FROM media_assets WHERE id = $1 FOR UPDATE")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
    let asset: Option<Asset> = sqlx::query_as(&format!(
        "UPDATE media_assets SET status = 'ready', renditions = $2, progress = 1, error = NULL,
                updated_at = now()
         WHERE id = $1 RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(names)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(a) = asset.filter(|a| a.recording && was != Some(AssetStatus::Ready)) {
        let event = events::get(&mut *tx, a.event_id).await?;
        let fact = Fact::RecordingReady(RecordingReady {
            asset_id: a.id,
            stage_id: a.stage_id,
            session_id: a.session_id,
            title: a.title.clone(),
            live_at: a.aired_at,
            duration_ms: a.duration_ms.unwrap_or(0),
        });
        crate::domain_events::record(&mut tx, &event, fact).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// How long a recording token lasts: a broadcast (a day at most), its
/// mixing and the node's retries; it is only ever seen by media nodes.
pub const RECORDING_TOKEN_TTL_SECS: i64 = 7 * 24 * 3600;

/// The key recording tokens are signed with: not the media paths' key, so
/// neither kind of token passes for the other.
async fn recording_key(pool: &PgPool) -> Result<Vec<u8>> {
    let secret = crate::signing::secret(pool).await?;
    Ok(store::token_key(&[&secret[..], b"/recordings"].concat()))
}

/// The token a media node hands recording `id` over with (the web node
/// gives it to the node with the broadcast's state; browsers never see it).
pub async fn recording_token(pool: &PgPool, id: AssetId) -> Result<String> {
    let expires = chrono::Utc::now().timestamp() + RECORDING_TOKEN_TTL_SECS;
    Ok(store::token(&recording_key(pool).await?, id, expires))
}

/// The recording a token names, if it is genuine and unexpired.
pub async fn recording_of_token(pool: &PgPool, token: &str) -> Result<AssetId> {
    let now = chrono::Utc::now().timestamp();
    store::verify(&recording_key(pool).await?, token, now)
        .map_err(|_| Error::Unauthorized("this recording token is not valid or has expired".into()))
}

/// What was recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordingOf {
    /// A stage's broadcast (None: the stage was removed since).
    Stage(Option<StageId>),
    /// A session (None: removed since).
    Session(Option<VideoSessionId>),
}

/// What a finished recording is, as its broadcast or session named it.
#[derive(Debug, Clone)]
pub struct NewRecording {
    /// This part's id, which the media node chose (the asset's).
    pub id: AssetId,
    /// The recording it is a part of.
    pub recording: AssetId,
    /// The event.
    pub event: EventId,
    /// What it recorded.
    pub of: RecordingOf,
    /// What organisers and Replay call it.
    pub title: String,
    /// When the broadcast went live, or the session's recording started.
    pub live_at: DateTime<Utc>,
}

/// Makes the mixed file of a part of a broadcast's recording an asset of
/// its event: stored, probed, its transforms enqueued, on air on its stage
/// from when it went live (so Replay has its chapters). A later part is
/// titled as one. Handing the same part over twice is a conflict; a file
/// that is not a video is refused and nothing is kept.
pub async fn import_recording(
    pool: &PgPool,
    store: &Store,
    tools: &dyn Tools,
    rec: &NewRecording,
    file: &Path,
) -> Result<Asset> {
    let size = tokio::fs::metadata(file)
        .await
        .map_err(|e| Error::Internal(format!("recording file: {e}")))?
        .len() as i64;
    if size == 0 {
        return Err(Error::invalid("the recording is empty"));
    }
    let checksum = {
        let file = file.to_owned();
        tokio::task::spawn_blocking(move || -> std::io::Result<String> {
            let mut f = std::fs::File::open(file)?;
            let mut hash = Sha256::new();
            std::io::copy(&mut f, &mut hash)?;
            Ok(hex::encode(hash.finalize()))
        })
        .await
        .map_err(|e| Error::Internal(e.to_string()))?
        .map_err(|e| Error::Internal(format!("recording file: {e}")))?
    };
    let mut tx = pool.begin().await?;
    // Parts are counted under a lock on the event's recordings, so two
    // parts arriving together get different numbers.
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1::text, 0))")
        .bind(rec.recording)
        .execute(&mut *tx)
        .await?;
    let before: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM media_assets
         WHERE coalesce(stage_recording, session_recording) = $1 AND id <> $2",
    )
    .bind(rec.recording)
    .bind(rec.id)
    .fetch_one(&mut *tx)
    .await?;
    let title = match before {
        0 => rec.title.clone(),
        n => format!("{} (part {})", rec.title, n + 1),
    };
    let (stage, session) = match rec.of {
        RecordingOf::Stage(s) => (s, None),
        RecordingOf::Session(s) => (None, s),
    };
    let stage_recording = matches!(rec.of, RecordingOf::Stage(_)).then_some(rec.recording);
    let session_recording = matches!(rec.of, RecordingOf::Session(_)).then_some(rec.recording);
    let asset: Option<Asset> = sqlx::query_as(&format!(
        "INSERT INTO media_assets (id, event_id, kind, title, filename, status, size_bytes, received_bytes,
                                   origin, stage_id, aired_at, stage_recording, session_id, session_recording)
         VALUES ($1, $2, 'video', $3, 'recording.mp4', 'uploading', $4, $4, 'recording', $5, $6, $7, $8, $9)
         ON CONFLICT (id) DO NOTHING RETURNING {COLUMNS}"
    ))
    .bind(rec.id)
    .bind(rec.event)
    .bind(title.chars().take(200).collect::<String>())
    .bind(size)
    .bind(stage)
    .bind(rec.live_at)
    .bind(stage_recording)
    .bind(session)
    .bind(session_recording)
    .fetch_optional(&mut *tx)
    .await?;
    let asset = asset.ok_or_else(|| Error::Conflict("this recording is in already".into()))?;
    let asset = take_original(&mut tx, store, tools, &asset, file, &checksum).await?;
    tx.commit().await?;
    Ok(asset)
}

/// The largest track taken (a day of one camera).
pub const MAX_TRACK_BYTES: u64 = 16 * 1024 * 1024 * 1024;

/// One track of a recorded part, as the media node hands it over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTrack {
    /// Its number in the part (names its file).
    pub n: u32,
    /// Whose: an attendee's id, `<id>~screen` for their screen.
    pub stream: String,
    /// Sound (Opus in Ogg) or picture (VP8 in IVF).
    pub audio: bool,
    /// Where it starts on the part's timeline.
    pub start_ms: i64,
    /// How long it plays.
    pub length_ms: i64,
}

impl NewTrack {
    /// Its file's name in the part's folder.
    pub fn file(&self) -> String {
        format!(
            "track-{:03}.{}",
            self.n,
            if self.audio { "ogg" } else { "ivf" }
        )
    }

    /// Whose it is, and whether their screen (None: not an attendee's).
    pub fn owner(&self) -> (Option<AttendeeId>, bool) {
        let (id, screen) = match self.stream.strip_suffix("~screen") {
            Some(id) => (id, true),
            None => (self.stream.as_str(), false),
        };
        (id.parse().ok(), screen)
    }
}

/// A track of a recorded part, as the dashboard lists it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Track {
    /// The part (a media asset) it belongs to.
    pub asset_id: AssetId,
    /// Its file in the part's folder.
    pub file: String,
    /// Whose (None: not an attendee of the event).
    pub attendee_id: Option<AttendeeId>,
    /// Their name (None: not an attendee of the event).
    #[sqlx(skip)]
    pub who: Option<String>,
    /// Their screen rather than their camera.
    pub screen: bool,
    /// `audio` or `video`.
    pub kind: String,
    /// Where it starts on the part's timeline.
    pub start_ms: i64,
    /// How long it plays.
    pub length_ms: i64,
    /// Its size.
    pub size_bytes: i64,
}

/// Keeps track `track` of the recorded part `part` of recording
/// `recording` (the file at `file`) beside the part's mixed file, for
/// editing or transcription. The part must have been handed over; a file
/// that is not what it says (IVF or Ogg) is refused; the same track twice
/// is a conflict.
pub async fn import_track(
    pool: &PgPool,
    store: &Store,
    recording: AssetId,
    part: AssetId,
    track: &NewTrack,
    file: &Path,
) -> Result<()> {
    if track.n > 999 || track.start_ms < 0 || track.length_ms < 0 {
        return Err(Error::invalid(
            "a track has a number up to 999 and no negative times",
        ));
    }
    let of: Option<EventId> = sqlx::query_scalar(
        "SELECT event_id FROM media_assets
         WHERE id = $1 AND coalesce(stage_recording, session_recording) = $2",
    )
    .bind(part)
    .bind(recording)
    .fetch_optional(pool)
    .await?;
    let event =
        of.ok_or_else(|| Error::not_found("hand the recorded part over before its tracks"))?;
    let mut head = [0u8; 4];
    let size = {
        use tokio::io::AsyncReadExt;
        let mut f = tokio::fs::File::open(file)
            .await
            .map_err(|e| Error::Internal(format!("track file: {e}")))?;
        let size = f
            .metadata()
            .await
            .map_err(|e| Error::Internal(format!("track file: {e}")))?
            .len();
        if size < 4 || f.read_exact(&mut head).await.is_err() {
            return Err(Error::invalid("the track is empty"));
        }
        size
    };
    let magic: &[u8; 4] = if track.audio { b"OggS" } else { b"DKIF" };
    if &head != magic {
        return Err(Error::invalid(if track.audio {
            "a sound track is Opus in Ogg"
        } else {
            "a picture track is VP8 in IVF"
        }));
    }
    let name = track.file();
    let (who, screen) = track.owner();
    let who = match who {
        Some(id) => crate::registrations::attendees::in_event(pool, event, id)
            .await?
            .map(|_| id),
        None => None,
    };
    let stored = key(part, &format!("tracks/{name}"));
    if store.size(&stored).await?.is_some() {
        return Err(Error::Conflict("this track is in already".into()));
    }
    // Stored before its row: no connection is held while a long track is
    // copied, and a failed copy leaves no row (a row that then fails leaves
    // a file the part's removal takes with it).
    store.put_file(&stored, file).await?;
    let added = sqlx::query(
        "INSERT INTO recording_tracks (asset_id, file, attendee_id, screen, kind, start_ms, length_ms, size_bytes)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
    )
    .bind(part)
    .bind(&name)
    .bind(who)
    .bind(screen)
    .bind(if track.audio { "audio" } else { "video" })
    .bind(track.start_ms)
    .bind(track.length_ms)
    .bind(size as i64)
    .execute(pool)
    .await?
    .rows_affected();
    if added == 0 {
        return Err(Error::Conflict("this track is in already".into()));
    }
    Ok(())
}

/// The tracks of the recorded parts of event `event`, by part, in the
/// order they start.
pub async fn tracks(pool: &PgPool, event: EventId) -> Result<Vec<Track>> {
    let mut all: Vec<Track> = sqlx::query_as(
        "SELECT t.asset_id, t.file, t.attendee_id, t.screen, t.kind, t.start_ms, t.length_ms, t.size_bytes
         FROM recording_tracks t
         JOIN media_assets m ON m.id = t.asset_id
         WHERE m.event_id = $1
         ORDER BY t.asset_id, t.start_ms, t.file",
    )
    .bind(event)
    .fetch_all(pool)
    .await?;
    let ids: Vec<AttendeeId> = all.iter().filter_map(|t| t.attendee_id).collect();
    let names = crate::registrations::attendees::names(pool, &ids).await?;
    for t in &mut all {
        t.who = t.attendee_id.and_then(|id| names.get(&id).cloned());
    }
    Ok(all)
}

/// Asset `id` failed for `why` (organisers read it).
pub(crate) async fn mark_failed(pool: &PgPool, id: AssetId, why: &str) -> Result<()> {
    sqlx::query(
        "UPDATE media_assets SET status = 'failed', error = $2, updated_at = now() WHERE id = $1",
    )
    .bind(id)
    .bind(why)
    .execute(pool)
    .await?;
    Ok(())
}

/// Asset `id` has its thumbnail stored.
pub(crate) async fn mark_thumbnail(pool: &PgPool, id: AssetId) -> Result<()> {
    sqlx::query("UPDATE media_assets SET thumbnail = true, updated_at = now() WHERE id = $1")
        .bind(id)
        .execute(pool)
        .await?;
    Ok(())
}

/// Attaches WebVTT captions to the video `id`.
pub async fn attach_captions(
    pool: &PgPool,
    store: &Store,
    by: &Organiser,
    slug: &str,
    id: AssetId,
    vtt: Bytes,
) -> Result<Asset> {
    let asset = get(pool, by, slug, id).await?;
    if !is_webvtt(&vtt) {
        return Err(Error::invalid(
            "captions must be a WebVTT file (its first line reads WEBVTT)",
        ));
    }
    if std::str::from_utf8(&vtt).is_err() {
        return Err(Error::invalid("captions must be UTF-8 text"));
    }
    store.put(&key(asset.id, "captions.vtt"), vtt).await?;
    Ok(sqlx::query_as(&format!(
        "UPDATE media_assets SET captions = true, updated_at = now() WHERE id = $1 RETURNING {COLUMNS}"
    ))
    .bind(asset.id)
    .fetch_one(pool)
    .await?)
}

/// Whether `text` is a WebVTT file (its required first line).
pub fn is_webvtt(text: &[u8]) -> bool {
    let text = text.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(text);
    text.starts_with(b"WEBVTT") && matches!(text.get(6), None | Some(b' ' | b'\t' | b'\n' | b'\r'))
}

/// Deletes the asset `id` and its files.
pub async fn remove(
    pool: &PgPool,
    store: &Store,
    by: &Organiser,
    slug: &str,
    id: AssetId,
) -> Result<()> {
    let asset = get(pool, by, slug, id).await?;
    sqlx::query("DELETE FROM media_assets WHERE id = $1")
        .bind(asset.id)
        .execute(pool)
        .await
        .map_err(|e| {
            if crate::error::is_foreign_key_violation(&e, "stages_source_asset_fkey") {
                Error::Conflict(
                    "a stage plays this video as simulive; give the stage another source first"
                        .into(),
                )
            } else {
                e.into()
            }
        })?;
    store.delete_under(&format!("uploads/{id}")).await?;
    store.delete_under(&format!("assets/{id}")).await?;
    Ok(())
}

/// The key media tokens are signed with (derived from the platform's
/// signing key).
pub async fn token_key(pool: &PgPool) -> Result<Vec<u8>> {
    let secret = crate::signing::secret(pool).await?;
    Ok(store::token_key(&secret))
}

/// A media path prefix (`/media/<token>/`) for the organiser to watch the
/// asset `id` of event `slug`.
pub async fn preview_path(
    pool: &PgPool,
    by: &Organiser,
    slug: &str,
    id: AssetId,
) -> Result<String> {
    let asset = get(pool, by, slug, id).await?;
    let expires = Utc::now().timestamp() + store::TOKEN_TTL_SECS;
    let key = token_key(pool).await?;
    Ok(format!("/media/{}/", store::token(&key, asset.id, expires)))
}

/// The key the paths of recordings' tracks are signed with: not the media
/// paths' key, so a viewer's path to a recording does not reach its tracks.
async fn tracks_key(pool: &PgPool) -> Result<Vec<u8>> {
    let secret = crate::signing::secret(pool).await?;
    Ok(store::token_key(&[&secret[..], b"/tracks"].concat()))
}

/// A media path prefix (`/media/<token>/`) for the organisers of the
/// recorded part `id` to download its tracks from (callers checked they
/// organise its event).
pub async fn tracks_path(pool: &PgPool, id: AssetId) -> Result<String> {
    let expires = Utc::now().timestamp() + store::TOKEN_TTL_SECS;
    let key = tracks_key(pool).await?;
    Ok(format!("/media/{}/", store::token(&key, id, expires)))
}

/// A media path prefix (`/media/<token>/`) for a viewer of the asset `id`,
/// for as long as media tokens last. Callers have checked that the viewer
/// may watch it (a stage they may enter plays it, or Replay publishes it to
/// them).
pub async fn watch_path(pool: &PgPool, id: AssetId) -> Result<String> {
    let expires = Utc::now().timestamp() + store::TOKEN_TTL_SECS;
    let key = token_key(pool).await?;
    Ok(format!("/media/{}/", store::token(&key, id, expires)))
}

/// Records that the asset `id` went on air on `stage` at `at` (a simulive
/// schedule, or a recording's start); Replay's chapters follow from it.
pub async fn mark_aired(
    conn: &mut PgConnection,
    id: AssetId,
    stage: StageId,
    at: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "UPDATE media_assets SET stage_id = $2, aired_at = $3, updated_at = now() WHERE id = $1",
    )
    .bind(id)
    .bind(stage)
    .bind(at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Undoes [`mark_aired`] for `stage`: the stage was given another source
/// before the asset's time came.
pub async fn forget_aired(conn: &mut PgConnection, id: AssetId, stage: StageId) -> Result<()> {
    sqlx::query(
        "UPDATE media_assets SET stage_id = NULL, aired_at = NULL, updated_at = now()
         WHERE id = $1 AND stage_id = $2",
    )
    .bind(id)
    .bind(stage)
    .execute(conn)
    .await?;
    Ok(())
}

/// Publishes the asset `id` of event `slug` to Replay for `audience`
/// (`unpublished`, `attendees` or `public`); only a playable video can be.
pub async fn set_replay(
    pool: &PgPool,
    by: &Organiser,
    slug: &str,
    id: AssetId,
    audience: &str,
) -> Result<Asset> {
    let audience: ReplayAudience =
        crate::error::parse_state(audience, "replay must be unpublished, attendees or public")?;
    let asset = get(pool, by, slug, id).await?;
    if audience != ReplayAudience::Unpublished && !asset.playable() {
        return Err(Error::invalid(
            "only a ready video can be published to Replay; wait until it is processed",
        ));
    }
    Ok(sqlx::query_as(&format!(
        "UPDATE media_assets SET replay = $2, updated_at = now() WHERE id = $1 RETURNING {COLUMNS}"
    ))
    .bind(asset.id)
    .bind(audience)
    .fetch_one(pool)
    .await?)
}

/// The event's videos published to Replay, in the order they aired (those
/// never on air after, newest first); `public_only` for visitors who are not
/// attendees.
pub async fn published(pool: &PgPool, event: EventId, public_only: bool) -> Result<Vec<Asset>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM media_assets
         WHERE event_id = $1 AND status = 'ready'
           AND (replay = 'public' OR (replay = 'attendees' AND NOT $2))
         ORDER BY aired_at NULLS LAST, created_at DESC"
    ))
    .bind(event)
    .bind(public_only)
    .fetch_all(pool)
    .await?)
}

/// What a media path serves: object `file` of the asset a token names
/// (published files only: renditions, thumbnail, captions; never the
/// original). Err: a refusal with its message.
pub async fn media_key(pool: &PgPool, token: &str, file: &str) -> Result<String> {
    // A recording's tracks are the organisers' (a token of their own kind),
    // not their viewers'.
    let track = file.starts_with("track-");
    let signing = if track {
        tracks_key(pool).await?
    } else {
        token_key(pool).await?
    };
    let asset = store::verify(&signing, token, Utc::now().timestamp())
        .map_err(|e| Error::Forbidden(e.to_string()))?;
    if !store::servable(file) || file == "original" {
        return Err(Error::NotFound("no such file".into()));
    }
    if track {
        return Ok(key(asset, &format!("tracks/{file}")));
    }
    let found = by_id(pool, asset)
        .await?
        .ok_or_else(|| Error::NotFound("no such video".into()))?;
    let name = match file {
        "thumbnail.jpg" | "captions.vtt" => file.to_owned(),
        _ => format!("hls/{file}"),
    };
    Ok(key(found.id, &name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_checked_against_the_plan() {
        assert!(check_size(10, Some(100), "Free").is_ok());
        assert!(check_size(10, None, "Growth").is_ok());
        assert!(matches!(
            check_size(0, None, "Free"),
            Err(Error::Invalid(_))
        ));
        let over = check_size(3 * 1024 * 1024, Some(1024 * 1024), "Free").unwrap_err();
        assert!(
            matches!(&over, Error::PlanLimit(m) if m.contains("up to 1 MB") && m.contains("3 MB")),
            "{over:?}"
        );
    }

    #[test]
    fn chunks_sort_by_their_offset() {
        let id = AssetId(uuid::Uuid::nil());
        assert!(chunk_key(id, 9) < chunk_key(id, 10));
        assert!(chunk_key(id, 8 * 1024 * 1024) < chunk_key(id, 16 * 1024 * 1024));
    }

    #[test]
    fn webvtt_is_known_by_its_first_line() {
        assert!(is_webvtt(b"WEBVTT\n\n00:00.000 --> 00:01.000\nHi\n"));
        assert!(is_webvtt(b"\xEF\xBB\xBFWEBVTT - captions\n"));
        assert!(!is_webvtt(b"WEBVTTX\n"));
        assert!(!is_webvtt(b"1\n00:00:00,000 --> 00:00:01,000\nHi\n"));
    }
}
