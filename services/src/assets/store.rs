//! Where assets' bytes live: an [`ObjectStore`] (a directory by default, an
//! S3-compatible bucket by configuration), and the signed, expiring paths
//! under which browsers fetch them.
//!
//! A media path is `/media/<token>/<file>`: the token names the asset and
//! an expiry and carries an HMAC of both, so a manifest's relative links
//! (`360p.m3u8`, `360p_000.ts`) resolve under the same token and need no
//! signature of their own. Whoever holds the token may fetch the asset's
//! published files until it expires; tokens are handed only to those
//! allowed to watch.

use std::sync::Arc;

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use bytes::Bytes;
use futures::StreamExt;
use hmac::{Hmac, Mac};
use object_store::path::Path as ObjectPath;
use object_store::ObjectStore;
use protocol::ids::AssetId;
use sha2::Sha256;

use crate::{Error, Result};

/// The objects of the assets.
#[derive(Clone)]
pub struct Store {
    inner: Arc<dyn ObjectStore>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Store({})", self.inner)
    }
}

fn storage(e: object_store::Error) -> Error {
    Error::Internal(format!("asset storage: {e}"))
}

impl Store {
    /// The store at `url`: `file:///a/directory` (made if missing) or
    /// `s3://bucket/prefix`, configured by `options` (`object_store`'s keys:
    /// `aws_endpoint`, `aws_region`, `aws_access_key_id`, `aws_allow_http`…)
    /// and, for what they leave out, the `AWS_*` environment as the AWS
    /// tools read it.
    pub fn open<'a>(
        url: &str,
        options: impl IntoIterator<Item = (&'a String, &'a String)>,
    ) -> Result<Store> {
        let parsed =
            url::Url::parse(url).map_err(|e| Error::invalid(format!("asset store {url}: {e}")))?;
        if parsed.scheme() == "file" {
            let dir = parsed
                .to_file_path()
                .map_err(|_| Error::invalid(format!("asset store {url}: not a directory path")))?;
            std::fs::create_dir_all(&dir)
                .map_err(|e| Error::Internal(format!("asset store {}: {e}", dir.display())))?;
            let local =
                object_store::local::LocalFileSystem::new_with_prefix(&dir).map_err(storage)?;
            return Ok(Store {
                inner: Arc::new(local),
            });
        }
        let mut config: std::collections::BTreeMap<String, String> = std::env::vars()
            .filter(|(k, _)| k.starts_with("AWS_"))
            .map(|(k, v)| (k.to_ascii_lowercase(), v))
            .collect();
        config.extend(
            options
                .into_iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), v.clone())),
        );
        let (store, prefix) = object_store::parse_url_opts(&parsed, config).map_err(storage)?;
        let inner: Arc<dyn ObjectStore> = if prefix.as_ref().is_empty() {
            Arc::from(store)
        } else {
            Arc::new(object_store::prefix::PrefixStore::new(store, prefix))
        };
        Ok(Store { inner })
    }

    /// Stores `bytes` as `key`.
    pub async fn put(&self, key: &str, bytes: Bytes) -> Result<()> {
        self.inner
            .put(&ObjectPath::from(key), bytes.into())
            .await
            .map_err(storage)?;
        Ok(())
    }

    /// Copies the file at `file` to `key`, in parts (large videos never sit
    /// in memory whole).
    pub async fn put_file(&self, key: &str, file: &std::path::Path) -> Result<()> {
        use tokio::io::AsyncReadExt;
        let upload = self
            .inner
            .put_multipart(&ObjectPath::from(key))
            .await
            .map_err(storage)?;
        let mut writer = object_store::WriteMultipart::new(upload);
        let mut f = tokio::fs::File::open(file)
            .await
            .map_err(|e| Error::Internal(format!("reading {}: {e}", file.display())))?;
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = f
                .read(&mut buf)
                .await
                .map_err(|e| Error::Internal(format!("reading {}: {e}", file.display())))?;
            if n == 0 {
                break;
            }
            writer.write(&buf[..n]);
        }
        writer.finish().await.map_err(storage)?;
        Ok(())
    }

    /// Appends object `key` to `out` (streamed), feeding `also` each piece.
    pub async fn copy_into(
        &self,
        key: &str,
        out: &mut tokio::fs::File,
        mut also: impl FnMut(&[u8]),
    ) -> Result<()> {
        use tokio::io::AsyncWriteExt;
        let mut stream = self
            .inner
            .get(&ObjectPath::from(key))
            .await
            .map_err(storage)?
            .into_stream();
        while let Some(piece) = stream.next().await {
            let piece = piece.map_err(storage)?;
            also(&piece);
            out.write_all(&piece)
                .await
                .map_err(|e| Error::Internal(format!("writing a media file: {e}")))?;
        }
        Ok(())
    }

    /// Bytes `range` of object `key` (all of it without one), with the
    /// object's whole size. None: no such object.
    pub async fn read(
        &self,
        key: &str,
        range: Option<std::ops::Range<u64>>,
    ) -> Result<Option<(Bytes, u64)>> {
        let path = ObjectPath::from(key);
        let opts = object_store::GetOptions {
            range: range.map(Into::into),
            ..Default::default()
        };
        match self.inner.get_opts(&path, opts).await {
            Ok(got) => {
                let size = got.meta.size;
                Ok(Some((got.bytes().await.map_err(storage)?, size)))
            }
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(storage(e)),
        }
    }

    /// The size of object `key` (None: no such object).
    pub async fn size(&self, key: &str) -> Result<Option<u64>> {
        match self.inner.head(&ObjectPath::from(key)).await {
            Ok(meta) => Ok(Some(meta.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(storage(e)),
        }
    }

    /// Deletes every object under `prefix`.
    pub async fn delete_under(&self, prefix: &str) -> Result<()> {
        let prefix = ObjectPath::from(prefix);
        let keys: Vec<ObjectPath> = self
            .inner
            .list(Some(&prefix))
            .filter_map(|m| async move { m.ok().map(|m| m.location) })
            .collect()
            .await;
        for key in keys {
            match self.inner.delete(&key).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(storage(e)),
            }
        }
        Ok(())
    }
}

/// How long a media token is good for: longer than any one viewing's
/// manifest and segment fetches take to start, short enough that a copied
/// link stops working the same day.
pub const TOKEN_TTL_SECS: i64 = 6 * 3600;

type HmacSha256 = Hmac<Sha256>;

/// The HMAC key of media tokens, derived from `secret` (the platform's
/// signing key) so that it is never the signing key itself.
pub fn token_key(secret: &[u8]) -> Vec<u8> {
    let mut mac = HmacSha256::new_from_slice(b"convene media tokens").expect("any key length");
    mac.update(secret);
    mac.finalize().into_bytes().to_vec()
}

fn signature(key: &[u8], asset: AssetId, expires: i64) -> [u8; 16] {
    let mut mac = HmacSha256::new_from_slice(key).expect("any key length");
    mac.update(asset.uuid().as_bytes());
    mac.update(&expires.to_be_bytes());
    let full = mac.finalize().into_bytes();
    let mut short = [0u8; 16];
    short.copy_from_slice(&full[..16]);
    short
}

/// A token for `asset` good until `expires` (Unix seconds).
pub fn token(key: &[u8], asset: AssetId, expires: i64) -> String {
    let mut raw = Vec::with_capacity(40);
    raw.extend_from_slice(asset.uuid().as_bytes());
    raw.extend_from_slice(&expires.to_be_bytes());
    raw.extend_from_slice(&signature(key, asset, expires));
    URL_SAFE_NO_PAD.encode(raw)
}

/// Why a media token is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenRefusal {
    /// Not a token this platform made (or altered).
    #[error("this media link is not valid")]
    Invalid,
    /// It was, but its time is up.
    #[error("this media link has expired; reload the page for a new one")]
    Expired,
}

/// The asset a token names, if it is genuine and unexpired at `now`.
pub fn verify(key: &[u8], token: &str, now: i64) -> std::result::Result<AssetId, TokenRefusal> {
    let raw = URL_SAFE_NO_PAD
        .decode(token)
        .map_err(|_| TokenRefusal::Invalid)?;
    if raw.len() != 40 {
        return Err(TokenRefusal::Invalid);
    }
    let asset = AssetId(uuid::Uuid::from_slice(&raw[..16]).map_err(|_| TokenRefusal::Invalid)?);
    let expires = i64::from_be_bytes(raw[16..24].try_into().map_err(|_| TokenRefusal::Invalid)?);
    let mut mac = HmacSha256::new_from_slice(key).expect("any key length");
    mac.update(asset.uuid().as_bytes());
    mac.update(&expires.to_be_bytes());
    // Constant-time comparison of the truncated tag.
    mac.verify_truncated_left(&raw[24..])
        .map_err(|_| TokenRefusal::Invalid)?;
    if now >= expires {
        return Err(TokenRefusal::Expired);
    }
    Ok(asset)
}

/// Whether `file` may be asked for under a token: a plain name in the
/// asset's published folder (no path, nothing hidden).
pub fn servable(file: &str) -> bool {
    !file.is_empty()
        && file.len() <= 64
        && !file.starts_with('.')
        && file
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
        && !file.contains("..")
}

/// The content type of a published file, by its extension.
pub fn content_type(file: &str) -> &'static str {
    match file.rsplit_once('.').map(|(_, ext)| ext) {
        Some("m3u8") => "application/vnd.apple.mpegurl",
        Some("ts") => "video/mp2t",
        Some("jpg") => "image/jpeg",
        Some("vtt") => "text/vtt; charset=utf-8",
        Some("ivf") => "video/x-ivf",
        Some("ogg") => "audio/ogg",
        _ => "application/octet-stream",
    }
}

/// A `Range` that no byte of the object satisfies (answered with 416).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unsatisfiable;

/// Parses a `Range: bytes=a-b` header against an object of `size` bytes:
/// the range to send (end exclusive). None: the whole object (no header,
/// or one that is not a single byte range).
pub fn byte_range(
    header: Option<&str>,
    size: u64,
) -> std::result::Result<Option<std::ops::Range<u64>>, Unsatisfiable> {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else {
        return Ok(None);
    };
    if spec.contains(',') {
        return Ok(None);
    }
    let Some((start, end)) = spec.split_once('-') else {
        return Ok(None);
    };
    let (start, end) = (start.trim(), end.trim());
    let range = if start.is_empty() {
        // The last `end` bytes.
        let n: u64 = end.parse().map_err(|_| Unsatisfiable)?;
        if n == 0 {
            return Err(Unsatisfiable);
        }
        size.saturating_sub(n)..size
    } else {
        let a: u64 = start.parse().map_err(|_| Unsatisfiable)?;
        let b = if end.is_empty() {
            size
        } else {
            end.parse::<u64>()
                .map_err(|_| Unsatisfiable)?
                .saturating_add(1)
                .min(size)
        };
        a..b
    };
    if range.start >= size || range.start >= range.end {
        return Err(Unsatisfiable);
    }
    Ok(Some(range))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_names_its_asset_until_it_expires() {
        let key = token_key(b"secret");
        let asset = AssetId(uuid::Uuid::new_v4());
        let t = token(&key, asset, 1_000);
        assert_eq!(verify(&key, &t, 999), Ok(asset));
        assert_eq!(verify(&key, &t, 1_000), Err(TokenRefusal::Expired));
        let other = token_key(b"another platform");
        assert_eq!(verify(&other, &t, 0), Err(TokenRefusal::Invalid));
        // One changed character anywhere is another token.
        let mut forged = t.clone().into_bytes();
        forged[30] = if forged[30] == b'A' { b'B' } else { b'A' };
        let forged = String::from_utf8(forged).unwrap();
        assert_eq!(verify(&key, &forged, 0), Err(TokenRefusal::Invalid));
        assert_eq!(verify(&key, "short", 0), Err(TokenRefusal::Invalid));
        // A later expiry cannot be grafted onto an old signature.
        let mut raw = URL_SAFE_NO_PAD.decode(&t).unwrap();
        raw[16..24].copy_from_slice(&5_000i64.to_be_bytes());
        let extended = URL_SAFE_NO_PAD.encode(raw);
        assert_eq!(verify(&key, &extended, 2_000), Err(TokenRefusal::Invalid));
    }

    #[test]
    fn only_plain_names_are_served() {
        for ok in [
            "master.m3u8",
            "360p_000.ts",
            "thumbnail.jpg",
            "captions.vtt",
        ] {
            assert!(servable(ok), "{ok}");
        }
        for bad in [
            "",
            "../original",
            "a/b.ts",
            ".hidden",
            "x..ts",
            "a b.ts",
            "%2e%2e",
        ] {
            assert!(!servable(bad), "{bad}");
        }
        assert_eq!(content_type("360p_001.ts"), "video/mp2t");
        assert_eq!(content_type("master.m3u8"), "application/vnd.apple.mpegurl");
    }

    #[test]
    fn byte_ranges_follow_rfc_9110() {
        assert_eq!(byte_range(None, 100), Ok(None));
        assert_eq!(byte_range(Some("bytes=0-9"), 100), Ok(Some(0..10)));
        assert_eq!(byte_range(Some("bytes=90-"), 100), Ok(Some(90..100)));
        assert_eq!(byte_range(Some("bytes=-10"), 100), Ok(Some(90..100)));
        assert_eq!(byte_range(Some("bytes=95-200"), 100), Ok(Some(95..100)));
        assert_eq!(byte_range(Some("bytes=100-"), 100), Err(Unsatisfiable));
        assert_eq!(byte_range(Some("bytes=5-1"), 100), Err(Unsatisfiable));
        assert_eq!(
            byte_range(Some("bytes=0-1,5-6"), 100),
            Ok(None),
            "many ranges: whole"
        );
        assert_eq!(byte_range(Some("items=0-1"), 100), Ok(None));
    }

    #[tokio::test]
    async fn a_directory_store_keeps_reads_ranges_and_deletes() {
        let dir = std::env::temp_dir().join(format!("convene-store-{}", uuid::Uuid::new_v4()));
        let url = url::Url::from_directory_path(&dir).unwrap();
        let store = Store::open(url.as_str(), &std::collections::BTreeMap::new()).unwrap();
        store
            .put("a/x/1", Bytes::from_static(b"hello world"))
            .await
            .unwrap();
        store.put("a/x/2", Bytes::from_static(b"!")).await.unwrap();
        let (part, size) = store.read("a/x/1", Some(6..11)).await.unwrap().unwrap();
        assert_eq!((&part[..], size), (&b"world"[..], 11));
        assert_eq!(store.size("a/x/2").await.unwrap(), Some(1));
        assert_eq!(store.read("a/y", None).await.unwrap(), None);
        store.delete_under("a/x").await.unwrap();
        assert_eq!(store.size("a/x/1").await.unwrap(), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
