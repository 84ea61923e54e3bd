//! A live broadcast's HLS stream: the media node mixes what is on air and
//! uploads each 2-second segment, then the playlist naming it, under the
//! broadcast's recording token (only nodes have it); web nodes keep the
//! last minute of it in Redis, so any of them serves any viewer, and
//! serve it under a watch token of their own ([`watch_path`]), which the
//! viewers past the node's WebRTC limit get from `stage_watch`. Nothing of
//! it is kept: the recording is the lasting copy.

use redis::aio::ConnectionManager;
use sqlx::PgPool;

use crate::assets::store;
use crate::{Error, Result};
use protocol::ids::AssetId;

/// The playlist's name (the media node's `media::live::PLAYLIST`).
pub const PLAYLIST: &str = "live.m3u8";

/// Seconds a segment stays: the playlist lists six (12 s), players lag
/// behind it by up to three, and a slow player fetches late.
pub const SEGMENT_SECS: u64 = 60;

/// Seconds the playlist stays without a newer one: a broadcast whose node
/// went away stops being served soon after.
pub const PLAYLIST_SECS: u64 = 20;

/// The largest file taken (a 2 s segment at the mix's bit rate is about
/// 700 KB).
pub const MAX_FILE_BYTES: usize = 2 * 1024 * 1024;

/// Whether `name` is a file of a live stream: the playlist or a segment
/// (`live` and 5 to 12 digits, `.ts`; the node numbers them from the Unix
/// time, so a mix started again under the same broadcast goes on).
pub fn is_stream_file(name: &str) -> bool {
    name == PLAYLIST
        || name
            .strip_prefix("live")
            .and_then(|n| n.strip_suffix(".ts"))
            .is_some_and(|n| (5..=12).contains(&n.len()) && n.bytes().all(|b| b.is_ascii_digit()))
}

fn key(ns: &str, recording: AssetId, name: &str) -> String {
    format!("{ns}live:{recording}:{name}")
}

/// How long a web node keeps the watch key before reading it again (every
/// segment fetch checks a token: not a database query each).
const KEY_KEPT: std::time::Duration = std::time::Duration::from_secs(60);

/// The key watch tokens are signed with: neither a media path's nor a
/// recording token's key, so no kind passes for another.
async fn watch_key(pool: &PgPool) -> Result<Vec<u8>> {
    type Kept = std::collections::HashMap<String, (std::time::Instant, Vec<u8>)>;
    static KEPT: std::sync::LazyLock<std::sync::Mutex<Kept>> =
        std::sync::LazyLock::new(Default::default);
    // Per database: a process serving (or testing) several keeps them apart.
    let o = pool.connect_options();
    let db = format!(
        "{}:{}/{}",
        o.get_host(),
        o.get_port(),
        o.get_database().unwrap_or_default()
    );
    if let Some((at, key)) = KEPT.lock().unwrap_or_else(|e| e.into_inner()).get(&db) {
        if at.elapsed() < KEY_KEPT {
            return Ok(key.clone());
        }
    }
    let secret = crate::signing::secret(pool).await?;
    let key = store::token_key(&[&secret[..], b"/live"].concat());
    KEPT.lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(db, (std::time::Instant::now(), key.clone()));
    Ok(key)
}

/// Keeps file `name` of the live stream of `recording` (a media node sent
/// it with that recording's token).
pub async fn put(
    redis: &mut ConnectionManager,
    ns: &str,
    recording: AssetId,
    name: &str,
    bytes: &[u8],
) -> Result<()> {
    if !is_stream_file(name) {
        return Err(Error::invalid(
            "a live stream's files are live.m3u8 and liveNNNNN.ts",
        ));
    }
    if bytes.len() > MAX_FILE_BYTES {
        return Err(Error::invalid("a live stream's file is at most 2 MiB"));
    }
    let secs = if name == PLAYLIST {
        PLAYLIST_SECS
    } else {
        SEGMENT_SECS
    };
    let () = redis::cmd("SET")
        .arg(key(ns, recording, name))
        .arg(bytes)
        .arg("EX")
        .arg(secs)
        .query_async(redis)
        .await?;
    Ok(())
}

/// File `name` of the live stream a watch token names.
pub async fn get(
    pool: &PgPool,
    redis: &mut ConnectionManager,
    ns: &str,
    token: &str,
    name: &str,
) -> Result<Vec<u8>> {
    let key_bytes = watch_key(pool).await?;
    let recording = store::verify(&key_bytes, token, chrono::Utc::now().timestamp())
        .map_err(|e| Error::Forbidden(e.to_string()))?;
    if !is_stream_file(name) {
        return Err(Error::NotFound("no such part of the stream".into()));
    }
    let bytes: Option<Vec<u8>> = redis::cmd("GET")
        .arg(key(ns, recording, name))
        .query_async(redis)
        .await?;
    bytes.ok_or_else(|| {
        Error::NotFound(if name == PLAYLIST {
            "the live stream has not started yet, or it ended".into()
        } else {
            "this part of the live stream is gone".into()
        })
    })
}

/// The playlist path (`/media/live/<token>/live.m3u8`) of the live stream
/// of broadcast recording `recording`, for as long as media links last
/// (their expiry rounded up to the hour, so every viewer in that hour has
/// the same path and a cache in front serves them all). Callers have
/// checked that the viewer may watch the stage.
pub async fn watch_path(pool: &PgPool, recording: AssetId) -> Result<String> {
    let expires = (chrono::Utc::now().timestamp() + store::TOKEN_TTL_SECS + 3599) / 3600 * 3600;
    let token = store::token(&watch_key(pool).await?, recording, expires);
    Ok(format!("/media/live/{token}/{PLAYLIST}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_playlist_and_numbered_segments_are_stream_files() {
        assert!(is_stream_file("live.m3u8"));
        assert!(is_stream_file("live00001.ts"));
        assert!(is_stream_file("live123456.ts"));
        assert!(is_stream_file("live1796115790.ts"));
        assert!(!is_stream_file("live1234567890123.ts"));
        assert!(!is_stream_file("live1.ts"));
        assert!(!is_stream_file("live0000a.ts"));
        assert!(!is_stream_file("../live00001.ts"));
        assert!(!is_stream_file("other.m3u8"));
        assert!(!is_stream_file("live00001.ts.tmp"));
    }
}
