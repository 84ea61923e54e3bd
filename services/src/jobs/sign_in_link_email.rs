//! Job: email an attendee a new sign-in link (they registered again with
//! their address). The link's token is made when the email is sent, so it
//! never sits in the job queue.

use protocol::ids::AttendeeId;
use serde::{Deserialize, Serialize};

/// Send `attendee_id` a new sign-in link to their event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignInLinkEmail {
    /// The attendee.
    pub attendee_id: AttendeeId,
}

impl super::queue::Job for SignInLinkEmail {
    const KIND: &'static str = "sign_in_link";
}
