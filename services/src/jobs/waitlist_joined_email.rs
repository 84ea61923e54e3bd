//! Job: tell someone who asked to join a waiting list where they stand in
//! line (whether they just joined or were already on it).

use protocol::ids::WaitlistEntryId;
use serde::{Deserialize, Serialize};

/// Send the place in line of `entry_id` (nothing if it is no longer waiting).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaitlistJoinedEmail {
    /// The waiting-list entry.
    pub entry_id: WaitlistEntryId,
}

impl super::queue::Job for WaitlistJoinedEmail {
    const KIND: &'static str = "waitlist_joined";
}
