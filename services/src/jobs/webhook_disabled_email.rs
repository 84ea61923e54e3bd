//! Job: tell an organisation's owners that the platform turned one of their
//! webhook endpoints off (every delivery failed for five days).

use protocol::ids::WebhookEndpointId;
use serde::{Deserialize, Serialize};

/// Email the owners about `endpoint_id` (nothing if it is on again, or gone).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookDisabledEmail {
    /// The endpoint turned off.
    pub endpoint_id: WebhookEndpointId,
}

impl super::queue::Job for WebhookDisabledEmail {
    const KIND: &'static str = "webhook_disabled";
}
