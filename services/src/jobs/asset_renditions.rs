//! Job: make the HLS renditions of an uploaded video (minutes of ffmpeg;
//! the worker runs it in its media lane, so emails never wait behind it).

use protocol::ids::AssetId;
use serde::{Deserialize, Serialize};

/// Make and store the renditions of `asset_id`; it is `ready` after.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssetRenditions {
    /// The video.
    pub asset_id: AssetId,
}

impl super::queue::Job for AssetRenditions {
    const KIND: &'static str = "asset_renditions";
}
