//! Job: email a team invitation with its accept link. The link's token is made
//! when the email is sent, so it never sits in the job queue.

use protocol::ids::InviteId;
use serde::{Deserialize, Serialize};

/// Send the invitation `invite_id` (nothing, if it is no longer open).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamInviteEmail {
    /// The invitation.
    pub invite_id: InviteId,
}

impl super::queue::Job for TeamInviteEmail {
    const KIND: &'static str = "team_invite";
}
