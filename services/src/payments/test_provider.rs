//! The built-in test provider; no credentials, no network. It behaves like the
//! test modes of the big providers: card `4242 4242 4242 4242` succeeds,
//! `4000 0000 0000 0002` is declined, `4000 0025 0000 3155` requires an extra
//! step (3-D Secure) whose result arrives as an HMAC-signed webhook.
//!
//! Only for demos and tests: it must be switched on in the configuration, and
//! anyone who knows the cards can "pay" with it. Webhook signatures are
//! `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`, accepted only
//! within [`SIGNATURE_TOLERANCE_SECS`] of the receiver's clock, so a captured
//! webhook cannot be replayed later.

use std::collections::HashMap;
use std::sync::Mutex;

use futures::future::BoxFuture;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use uuid::Uuid;

use super::provider::{Charge, ChargeRequest, Outcome, PaymentProvider, WebhookEvent};
use crate::{Error, Result};
use protocol::states::PaymentOutcome;

/// The built-in test provider; no credentials, no network.
pub struct TestProvider {
    webhook_secret: Vec<u8>,
    /// What it did per idempotency key, like a real provider's records (in
    /// memory: this provider lives and dies with its process).
    ledger: Mutex<Ledger>,
}

/// The test provider's records.
#[derive(Default)]
struct Ledger {
    /// Charges by idempotency key.
    charges: HashMap<String, Charge>,
    /// Idempotency key of each charge, by its reference.
    keys: HashMap<String, String>,
    /// Refund ids by idempotency key.
    refunds: HashMap<String, String>,
}

/// How far a webhook's timestamp may be from the receiver's clock.
pub const SIGNATURE_TOLERANCE_SECS: i64 = 300;

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
            ledger: Mutex::default(),
        }
    }

    /// Records the buyer's answer on the bank page for the charge
    /// `provider_ref` (before its webhook is sent): a later
    /// [`PaymentProvider::find_charge`] reports it.
    pub fn decide(&self, provider_ref: &str, outcome: PaymentOutcome) {
        let mut ledger = self.ledger.lock().expect("ledger");
        let Some(key) = ledger.keys.get(provider_ref).cloned() else {
            return;
        };
        if let Some(charge) = ledger.charges.get_mut(&key) {
            charge.outcome = match outcome {
                PaymentOutcome::Succeeded => Outcome::Succeeded,
                PaymentOutcome::Failed => {
                    Outcome::Declined("declined at the bank's confirmation step".into())
                }
            };
        }
    }

    /// Signs a webhook body now, as the provider would.
    pub fn sign(&self, body: &[u8]) -> String {
        self.sign_at(body, chrono::Utc::now().timestamp())
    }

    /// Signs a webhook body as sent at `at` (unix seconds).
    pub fn sign_at(&self, body: &[u8], at: i64) -> String {
        let mac = self.mac(at, body).finalize().into_bytes();
        format!("t={at},v1={}", hex::encode(mac))
    }

    /// The MAC of `"<at>.<body>"`, ready to finalize or verify.
    fn mac(&self, at: i64, body: &[u8]) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.webhook_secret).expect("any key length");
        mac.update(format!("{at}.").as_bytes());
        mac.update(body);
        mac
    }

    /// Verifies `signature` over `body` against the clock reading `now`.
    pub fn verify_at(&self, signature: &str, body: &[u8], now: i64) -> Result<WebhookEvent> {
        let bad = || Error::Unauthorized("bad webhook signature".into());
        let mut at = None;
        let mut given = None;
        for part in signature.trim().split(',') {
            match part.split_once('=') {
                Some(("t", t)) => at = t.parse::<i64>().ok(),
                Some(("v1", v)) => given = hex::decode(v).ok(),
                _ => {}
            }
        }
        let (Some(at), Some(given)) = (at, given) else {
            return Err(bad());
        };
        self.mac(at, body).verify_slice(&given).map_err(|_| bad())?;
        if (now - at).abs() > SIGNATURE_TOLERANCE_SECS {
            return Err(Error::Unauthorized(
                "webhook signature too old or from the future".into(),
            ));
        }
        serde_json::from_slice(body).map_err(|e| Error::invalid(format!("bad webhook body: {e}")))
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
            let mut ledger = self.ledger.lock().expect("ledger");
            if let Some(earlier) = ledger.charges.get(&req.idempotency_key) {
                return Ok(earlier.clone());
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
            let charge = Charge {
                provider_ref: provider_ref.clone(),
                outcome,
            };
            ledger
                .charges
                .insert(req.idempotency_key.clone(), charge.clone());
            ledger.keys.insert(provider_ref, req.idempotency_key);
            Ok(charge)
        })
    }

    fn find_charge(&self, idempotency_key: &str) -> BoxFuture<'_, Result<Option<Charge>>> {
        let found = self
            .ledger
            .lock()
            .expect("ledger")
            .charges
            .get(idempotency_key)
            .cloned();
        Box::pin(async move { Ok(found) })
    }

    fn verify_webhook(&self, signature: &str, body: &[u8]) -> Result<WebhookEvent> {
        self.verify_at(signature, body, chrono::Utc::now().timestamp())
    }

    fn refund(
        &self,
        provider_ref: &str,
        amount_minor: i64,
        idempotency_key: &str,
    ) -> BoxFuture<'_, Result<String>> {
        let valid = provider_ref.starts_with("test_") && amount_minor > 0;
        let result = if valid {
            let mut ledger = self.ledger.lock().expect("ledger");
            Ok(ledger
                .refunds
                .entry(idempotency_key.to_owned())
                .or_insert_with(|| format!("test_re_{}", Uuid::new_v4().simple()))
                .clone())
        } else {
            Err(Error::invalid(
                "the test provider cannot refund this payment",
            ))
        };
        Box::pin(async move { result })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn test_cards_behave_like_the_big_providers() {
        let p = TestProvider::new("s");
        let charge = |card: &str| ChargeRequest {
            amount_minor: 100,
            currency: "EUR".into(),
            reference: "R".into(),
            card_number: card.into(),
            idempotency_key: Uuid::new_v4().to_string(),
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

    #[tokio::test]
    async fn a_key_charges_and_refunds_once_and_the_ledger_remembers_decisions() {
        let p = TestProvider::new("s");
        let req = |card: &str, key: &str| ChargeRequest {
            amount_minor: 100,
            currency: "EUR".into(),
            reference: "R".into(),
            card_number: card.into(),
            idempotency_key: key.into(),
        };
        let first = p.charge(req(CARD_SUCCEEDS, "k1")).await.unwrap();
        // The same key, even with another card, answers the first charge.
        let again = p.charge(req(CARD_DECLINED, "k1")).await.unwrap();
        assert_eq!(again.provider_ref, first.provider_ref);
        assert_eq!(again.outcome, Outcome::Succeeded);
        assert!(p.find_charge("never-sent").await.unwrap().is_none());

        let waiting = p.charge(req(CARD_REQUIRES_ACTION, "k2")).await.unwrap();
        assert!(matches!(waiting.outcome, Outcome::RequiresAction { .. }));
        p.decide(&waiting.provider_ref, PaymentOutcome::Succeeded);
        let found = p.find_charge("k2").await.unwrap().unwrap();
        assert_eq!(found.outcome, Outcome::Succeeded);

        let r1 = p.refund(&first.provider_ref, 100, "r1").await.unwrap();
        assert_eq!(p.refund(&first.provider_ref, 100, "r1").await.unwrap(), r1);
        assert_ne!(p.refund(&first.provider_ref, 100, "r2").await.unwrap(), r1);
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
        // An unsigned timestamp or a bare MAC (the old format) is refused.
        let v1 = sig.split_once(",v1=").unwrap().1;
        assert!(p.verify_webhook(v1, body).is_err());
        assert!(p.verify_webhook(&format!("t=1,v1={v1}"), body).is_err());
    }

    #[test]
    fn webhooks_are_accepted_only_within_the_tolerance_window() {
        let p = TestProvider::new("secret");
        let body = br#"{"provider_ref":"test_1","status":"succeeded"}"#;
        let sent = 1_800_000_000;
        let sig = p.sign_at(body, sent);
        for now in [
            sent,
            sent + SIGNATURE_TOLERANCE_SECS,
            sent - SIGNATURE_TOLERANCE_SECS,
        ] {
            assert!(
                p.verify_at(&sig, body, now).is_ok(),
                "now = sent + {}",
                now - sent
            );
        }
        for now in [
            sent + SIGNATURE_TOLERANCE_SECS + 1,
            sent - SIGNATURE_TOLERANCE_SECS - 1,
        ] {
            assert!(matches!(
                p.verify_at(&sig, body, now),
                Err(Error::Unauthorized(_))
            ));
        }
    }
}
