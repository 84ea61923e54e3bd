//! Attendees' photos. An upload is decoded under limits (size, dimensions,
//! memory: no decompression bombs), cropped to a square, scaled to
//! [`SIDE`]×[`SIDE`] and re-encoded as JPEG, so what is stored and served is
//! always a small, metadata-free image of our own making, whatever was sent
//! (a polyglot file or an EXIF location never survives). Each photo gets a
//! version from one sequence; its URL carries it, so browsers cache a version
//! for good and a new photo is a new URL.

use std::io::Cursor;

use image::{ImageFormat, ImageReader, Limits};
use protocol::error::{PhotoRefusal, PHOTO_MAX_BYTES, PHOTO_MAX_PIXELS};
use protocol::ids::{AttendeeId, EventId};
use sqlx::PgPool;

use super::attendees;
use crate::{Error, Result};

/// Side of the stored square, in pixels.
pub const SIDE: u32 = 256;
/// Most memory the decoder may take.
const MAX_DECODE_ALLOC: u64 = 256 * 1024 * 1024;
/// The formats taken (what phones and cameras make).
const FORMATS: [ImageFormat; 4] = [
    ImageFormat::Jpeg,
    ImageFormat::Png,
    ImageFormat::WebP,
    ImageFormat::Gif,
];

/// The stored form of an uploaded photo: a [`SIDE`]-pixel square JPEG,
/// cropped from the middle. Anything that is not a PNG, JPEG, WebP or GIF
/// picture within the limits is refused, saying why.
pub fn normalise(upload: &[u8]) -> Result<Vec<u8>, PhotoRefusal> {
    if upload.is_empty() {
        return Err(PhotoRefusal::Missing);
    }
    if upload.len() > PHOTO_MAX_BYTES {
        return Err(PhotoRefusal::TooLarge);
    }
    let mut reader = ImageReader::new(Cursor::new(upload))
        .with_guessed_format()
        .map_err(|_| PhotoRefusal::NotAPicture)?;
    match reader.format() {
        Some(f) if FORMATS.contains(&f) => {}
        _ => return Err(PhotoRefusal::NotAPicture),
    }
    let mut limits = Limits::default();
    limits.max_image_width = Some(PHOTO_MAX_PIXELS);
    limits.max_image_height = Some(PHOTO_MAX_PIXELS);
    limits.max_alloc = Some(MAX_DECODE_ALLOC);
    reader.limits(limits);
    let picture = reader.decode().map_err(|e| match e {
        image::ImageError::Limits(_) => PhotoRefusal::TooManyPixels,
        _ => PhotoRefusal::NotAPicture,
    })?;
    let square = picture
        .resize_to_fill(SIDE, SIDE, image::imageops::FilterType::Lanczos3)
        .to_rgb8();
    let mut out = Vec::new();
    // Encoding pixels we made ourselves into memory cannot fail.
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85)
        .encode_image(&square)
        .map_err(|_| PhotoRefusal::NotAPicture)?;
    Ok(out)
}

/// Whether a photo was stored, or why not.
pub type Stored = std::result::Result<i64, PhotoRefusal>;

/// Stores `upload` as the photo of `attendee` (see [`normalise`]; the work
/// runs off the async threads) and gives its version, or the refusal.
pub async fn set(pool: &PgPool, attendee: AttendeeId, upload: Vec<u8>) -> Result<Stored> {
    let image = match tokio::task::spawn_blocking(move || normalise(&upload))
        .await
        .map_err(|e| Error::Internal(format!("photo worker: {e}")))?
    {
        Ok(image) => image,
        Err(refusal) => return Ok(Err(refusal)),
    };
    let mut tx = pool.begin().await?;
    sqlx::query(
        "INSERT INTO attendee_avatars (attendee_id, image) VALUES ($1, $2)
         ON CONFLICT (attendee_id) DO UPDATE SET image = EXCLUDED.image, updated_at = now()",
    )
    .bind(attendee)
    .bind(&image)
    .execute(&mut *tx)
    .await?;
    let version = attendees::renew_avatar(&mut tx, attendee).await?;
    tx.commit().await?;
    Ok(Ok(version))
}

/// Removes the photo of `attendee` (their initials show again).
pub async fn remove(pool: &PgPool, attendee: AttendeeId) -> Result<()> {
    let mut tx = pool.begin().await?;
    sqlx::query("DELETE FROM attendee_avatars WHERE attendee_id = $1")
        .bind(attendee)
        .execute(&mut *tx)
        .await?;
    attendees::clear_avatar(&mut tx, attendee).await?;
    tx.commit().await?;
    Ok(())
}

/// A stored photo.
#[derive(Debug, Clone)]
pub struct Avatar {
    /// Its version (part of its URL).
    pub version: i64,
    /// The JPEG.
    pub jpeg: Vec<u8>,
}

/// The photo of `attendee` of `event`, if they uploaded one.
pub async fn get(pool: &PgPool, event: EventId, attendee: AttendeeId) -> Result<Option<Avatar>> {
    let row: Option<(i64, Vec<u8>)> = sqlx::query_as(
        "SELECT a.avatar_version, v.image FROM attendees a
         JOIN attendee_avatars v ON v.attendee_id = a.id
         WHERE a.id = $1 AND a.event_id = $2 AND a.avatar_version IS NOT NULL",
    )
    .bind(attendee)
    .bind(event)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|(version, jpeg)| Avatar { version, jpeg }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(w: u32, h: u32, format: ImageFormat) -> Vec<u8> {
        let img = image::RgbImage::from_fn(w, h, |x, _| {
            if x < w / 2 {
                image::Rgb([200, 30, 30])
            } else {
                image::Rgb([30, 30, 200])
            }
        });
        let mut out = Cursor::new(Vec::new());
        image::DynamicImage::ImageRgb8(img)
            .write_to(&mut out, format)
            .unwrap();
        out.into_inner()
    }

    #[test]
    fn a_photo_becomes_a_small_square_jpeg() {
        for format in [ImageFormat::Png, ImageFormat::Jpeg, ImageFormat::Gif] {
            let out = normalise(&encoded(640, 480, format)).unwrap();
            let back = image::load_from_memory(&out).unwrap();
            assert_eq!(image::guess_format(&out).unwrap(), ImageFormat::Jpeg);
            assert_eq!((back.width(), back.height()), (SIDE, SIDE));
        }
    }

    #[test]
    fn what_is_not_a_picture_is_refused_with_a_reason() {
        let err = |bytes: &[u8]| normalise(bytes).unwrap_err();
        assert_eq!(err(b""), PhotoRefusal::Missing);
        assert_eq!(err(b"%PDF-1.7 not a picture"), PhotoRefusal::NotAPicture);
        assert_eq!(
            err(b"<svg xmlns='http://www.w3.org/2000/svg'/>"),
            PhotoRefusal::NotAPicture
        );
        // A PNG header followed by garbage.
        let mut broken = encoded(10, 10, ImageFormat::Png);
        broken.truncate(40);
        assert_eq!(err(&broken), PhotoRefusal::NotAPicture);
        // A BMP (its magic number) is a picture, but not one of the formats taken.
        assert_eq!(
            err(b"BM\x36\x00\x00\x00\x00\x00\x00\x00\x36\x00"),
            PhotoRefusal::NotAPicture
        );
        assert_eq!(
            err(&vec![0xFF; PHOTO_MAX_BYTES + 1]),
            PhotoRefusal::TooLarge
        );
    }

    #[test]
    fn huge_dimensions_are_refused_before_decoding() {
        // A 1×9000 PNG: tiny on disk, past the dimension limit.
        let err = normalise(&encoded(1, 9_000, ImageFormat::Png)).unwrap_err();
        assert_eq!(err, PhotoRefusal::TooManyPixels);
    }
}
