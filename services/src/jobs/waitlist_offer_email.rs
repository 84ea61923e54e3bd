//! Job: email a waiting-list offer with its buy link. The link's token is made
//! when the email is sent, so it never sits in the job queue.

use protocol::ids::WaitlistEntryId;
use serde::{Deserialize, Serialize};

/// Send the offer held for `entry_id` (nothing, if it is no longer open).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaitlistOfferEmail {
    /// The waiting-list entry.
    pub entry_id: WaitlistEntryId,
}

impl super::queue::Job for WaitlistOfferEmail {
    const KIND: &'static str = "waitlist_offer";
}
