//! Job: make the thumbnail of an uploaded video (the worker's media lane).

use protocol::ids::AssetId;
use serde::{Deserialize, Serialize};

/// Make and store the thumbnail of `asset_id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssetThumbnail {
    /// The video.
    pub asset_id: AssetId,
}

impl super::queue::Job for AssetThumbnail {
    const KIND: &'static str = "asset_thumbnail";
}
