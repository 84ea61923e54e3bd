//! Job: email the buyer where their order stands (confirmed with tickets,
//! awaiting approval, waiting for payment, cancelled or refunded).

use protocol::ids::OrderId;
use serde::{Deserialize, Serialize};

/// Send the status email of `order_id` (its status is read when it is sent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderEmail {
    /// The order.
    pub order_id: OrderId,
}

impl super::queue::Job for OrderEmail {
    const KIND: &'static str = "order_confirmation";
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::queue::{Claimed, Job, JobError};

    #[test]
    fn payloads_parse_into_their_job_type() {
        let claimed = |kind: &str, payload| Claimed {
            id: 1,
            kind: kind.into(),
            payload,
            attempts: 0,
        };
        let id = protocol::ids::OrderId::new();
        let ok = claimed(
            <OrderEmail as Job>::KIND,
            serde_json::json!({ "order_id": id }),
        );
        assert_eq!(
            ok.parse::<OrderEmail>().unwrap(),
            OrderEmail { order_id: id }
        );
        let bad = claimed(<OrderEmail as Job>::KIND, serde_json::json!({ "order": 1 }));
        assert!(matches!(
            bad.parse::<OrderEmail>(),
            Err(JobError::Permanent(_))
        ));
    }
}
