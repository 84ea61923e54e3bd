//! The transforms of a video asset, run as jobs: its HLS renditions
//! ([`renditions`]; the asset is `ready` when they are stored) and its
//! thumbnail ([`thumbnail`]). Each copies the original from the store into
//! a scratch directory, runs the tool, and stores what it made under
//! `assets/<id>/hls/` or as `assets/<id>/thumbnail.jpg`. A tool that fails
//! is not tried again: failed renditions mark the asset `failed` with the
//! reason (organisers see it), a failed thumbnail leaves it without one. A
//! store or database that is away is tried again (the job's back-off).

use std::time::Duration;

use protocol::ids::AssetId;
use protocol::states::AssetStatus;
use sqlx::PgPool;

use super::{
    by_id, key, mark_failed, mark_ready, mark_thumbnail, set_progress, Asset, Scratch, Store,
    ToolError, Tools,
};
use crate::jobs::JobError;

fn transient(e: impl std::fmt::Display) -> JobError {
    JobError::Transient(e.to_string())
}

/// How often progress is written while a rendition is made.
const PROGRESS_EVERY: Duration = Duration::from_millis(500);

/// The asset and its original in a scratch directory; None when the asset
/// is gone (deleted meanwhile: nothing to do).
async fn fetch(
    pool: &PgPool,
    store: &Store,
    id: AssetId,
) -> Result<Option<(Asset, Scratch)>, JobError> {
    let Some(asset) = by_id(pool, id).await.map_err(transient)? else {
        return Ok(None);
    };
    let scratch = Scratch::new("transform").map_err(transient)?;
    let mut out = tokio::fs::File::create(scratch.0.join("original"))
        .await
        .map_err(transient)?;
    store
        .copy_into(&key(id, "original"), &mut out, |_| {})
        .await
        .map_err(transient)?;
    Ok(Some((asset, scratch)))
}

/// Marks asset `id` failed with `why`; the job ends for good.
async fn failed(pool: &PgPool, id: AssetId, why: String) -> Result<(), JobError> {
    mark_failed(pool, id, &why).await.map_err(transient)?;
    Err(JobError::Permanent(why))
}

/// Makes and stores the HLS renditions of asset `id`, writing its
/// progress as it goes; then the asset is `ready`.
pub async fn renditions(
    pool: &PgPool,
    store: &Store,
    tools: &dyn Tools,
    id: AssetId,
) -> Result<(), JobError> {
    let Some((asset, scratch)) = fetch(pool, store, id).await? else {
        return Ok(());
    };
    if asset.status == AssetStatus::Ready {
        return Ok(());
    }
    let out = scratch.0.join("hls");
    tokio::fs::create_dir_all(&out).await.map_err(transient)?;
    let (tx, mut rx) = tokio::sync::watch::channel(0f32);
    let writer = {
        let pool = pool.clone();
        tokio::spawn(async move {
            while rx.changed().await.is_ok() {
                let done = *rx.borrow_and_update();
                if let Err(e) = set_progress(&pool, id, done).await {
                    tracing::debug!(asset = %id, error = %e, "progress not written");
                }
                tokio::time::sleep(PROGRESS_EVERY).await;
            }
        })
    };
    let made = tools
        .renditions(
            &scratch.0.join("original"),
            &out,
            Box::new(move |f| {
                let _ = tx.send(f);
            }),
        )
        .await;
    writer.abort();
    let names = match made {
        Ok(names) => names,
        Err(ToolError::Refused(why) | ToolError::Failed(why)) => {
            return failed(pool, id, format!("making the renditions failed: {why}")).await
        }
    };
    let mut dir = tokio::fs::read_dir(&out).await.map_err(transient)?;
    while let Some(entry) = dir.next_entry().await.map_err(transient)? {
        let name = entry.file_name().to_string_lossy().into_owned();
        store
            .put_file(&key(id, &format!("hls/{name}")), &entry.path())
            .await
            .map_err(transient)?;
    }
    mark_ready(pool, id, &names).await.map_err(transient)?;
    tracing::info!(asset = %id, ?names, "asset ready");
    Ok(())
}

/// Makes and stores the thumbnail of asset `id`.
pub async fn thumbnail(
    pool: &PgPool,
    store: &Store,
    tools: &dyn Tools,
    id: AssetId,
) -> Result<(), JobError> {
    let Some((_, scratch)) = fetch(pool, store, id).await? else {
        return Ok(());
    };
    let jpeg = scratch.0.join("thumbnail.jpg");
    if let Err(ToolError::Refused(why) | ToolError::Failed(why)) =
        tools.thumbnail(&scratch.0.join("original"), &jpeg).await
    {
        // The video plays without one: the asset stays as it is.
        return Err(JobError::Permanent(format!(
            "making the thumbnail failed: {why}"
        )));
    }
    store
        .put_file(&key(id, "thumbnail.jpg"), &jpeg)
        .await
        .map_err(transient)?;
    mark_thumbnail(pool, id).await.map_err(transient)?;
    Ok(())
}
