//! The built-in test provider; no credentials, no network. It behaves like the
//! test modes of the big providers: card `4242 4242 4242 4242` succeeds,
//! `4000 0000 0000 0002` is declined, `4000 0025 0000 3155` requires an extra
//! step (3-D Secure) whose result arrives as an HMAC-signed webhook.

use futures::future::BoxFuture;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use uuid::Uuid;

use super::provider::{Charge, ChargeRequest, Outcome, PaymentProvider, WebhookEvent};
use crate::{Error, Result};

/// The built-in test provider; no credentials, no network.
pub struct TestProvider {
    webhook_secret: Vec<u8>,
}

/// Test card that succeeds.
pub const CARD_SUCCEEDS: &str = "4242424242424242";
/// Test card that is declined.
pub const CARD_DECLINED: &str = "4000000000000002";
/// Test card that requires an extra authentication step.
pub const CARD_REQUIRES_ACTION: &str = "4000002500003155";

impl TestProvider {
    /// A test provider signing webhooks with `secret`.
    pub fn new(secret: &str) -> Self {
        TestProvider {
            webhook_secret: secret.as_bytes().to_vec(),
        }
    }

    /// Signs a webhook body as the provider would (hex HMAC-SHA256).
    pub fn sign(&self, body: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.webhook_secret).expect("any key length");
        mac.update(body);
        hex::encode(mac.finalize().into_bytes())
    }
}

impl PaymentProvider for TestProvider {
    fn name(&self) -> &'static str {
        "test"
    }

    fn charge(&self, req: ChargeRequest) -> BoxFuture<'_, Result<Charge>> {
        Box::pin(async move {
            let card: String = req
                .card_number
                .chars()
                .filter(|c| !c.is_whitespace() && *c != '-')
                .collect();
            if card.len() < 12 || !card.chars().all(|c| c.is_ascii_digit()) {
                return Err(Error::invalid("card number must be 12-19 digits"));
            }
            let provider_ref = format!("test_{}", Uuid::new_v4().simple());
            let outcome = match card.as_str() {
                CARD_SUCCEEDS => Outcome::Succeeded,
                CARD_DECLINED => Outcome::Declined("your card was declined".into()),
                CARD_REQUIRES_ACTION => Outcome::RequiresAction {
                    action_url: format!("/payments/test/authorize/{provider_ref}"),
                },
                _ => Outcome::Declined("unknown test card; use 4242 4242 4242 4242".into()),
            };
            Ok(Charge {
                provider_ref,
                outcome,
            })
        })
    }

    fn verify_webhook(&self, signature: &str, body: &[u8]) -> Result<WebhookEvent> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.webhook_secret).expect("any key length");
        mac.update(body);
        let given = hex::decode(signature.trim())
            .map_err(|_| Error::Unauthorized("bad webhook signature".into()))?;
        mac.verify_slice(&given)
            .map_err(|_| Error::Unauthorized("bad webhook signature".into()))?;
        serde_json::from_slice(body).map_err(|e| Error::invalid(format!("bad webhook body: {e}")))
    }

    fn refund(&self, provider_ref: &str, amount_minor: i64) -> BoxFuture<'_, Result<String>> {
        let valid = provider_ref.starts_with("test_") && amount_minor > 0;
        Box::pin(async move {
            if !valid {
                return Err(Error::invalid(
                    "the test provider cannot refund this payment",
                ));
            }
            Ok(format!("test_re_{}", Uuid::new_v4().simple()))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::states::PaymentOutcome;

    #[tokio::test]
    async fn test_cards_behave_like_the_big_providers() {
        let p = TestProvider::new("s");
        let charge = |card: &str| ChargeRequest {
            amount_minor: 100,
            currency: "EUR".into(),
            reference: "R".into(),
            card_number: card.into(),
        };
        assert_eq!(
            p.charge(charge("4242 4242 4242 4242"))
                .await
                .unwrap()
                .outcome,
            Outcome::Succeeded
        );
        assert!(matches!(
            p.charge(charge(CARD_DECLINED)).await.unwrap().outcome,
            Outcome::Declined(_)
        ));
        assert!(matches!(
            p.charge(charge(CARD_REQUIRES_ACTION))
                .await
                .unwrap()
                .outcome,
            Outcome::RequiresAction { .. }
        ));
        assert!(p.charge(charge("abc")).await.is_err());
    }

    #[test]
    fn webhooks_need_the_right_signature() {
        let p = TestProvider::new("secret");
        let body = br#"{"provider_ref":"test_1","status":"succeeded"}"#;
        let sig = p.sign(body);
        assert_eq!(
            p.verify_webhook(&sig, body).unwrap().status,
            PaymentOutcome::Succeeded
        );
        assert!(p
            .verify_webhook(&sig, br#"{"provider_ref":"test_1","status":"failed"}"#)
            .is_err());
        assert!(TestProvider::new("other")
            .verify_webhook(&sig, body)
            .is_err());
        assert!(p.verify_webhook("zz", body).is_err());
        let unknown = br#"{"provider_ref":"test_1","status":"maybe"}"#;
        assert!(p.verify_webhook(&p.sign(unknown), unknown).is_err());
    }
}
