//! Job: email an organiser a link to set a new password. The link's token
//! is made when the email is sent, so it never sits in the job queue.

use protocol::ids::OrganiserId;
use serde::{Deserialize, Serialize};

/// Send `organiser_id` a password reset link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordResetEmail {
    /// The organiser.
    pub organiser_id: OrganiserId,
}

impl super::queue::Job for PasswordResetEmail {
    const KIND: &'static str = "password_reset";
}
