//! The payment provider interface (the test provider and "none" here; real
//! ones implement the same trait). Which one runs is configuration: a
//! deployment without a provider takes no card payments.

use futures::future::BoxFuture;
use protocol::states::PaymentOutcome;

use crate::Result;

/// What the provider is asked to charge.
#[derive(Debug, Clone)]
pub struct ChargeRequest {
    /// Amount in minor units.
    pub amount_minor: i64,
    /// ISO currency.
    pub currency: String,
    /// Our reference (the order code, or the plan purchase).
    pub reference: String,
    /// Card number as typed (spaces allowed).
    pub card_number: String,
}

/// The provider's answer to a charge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Money taken.
    Succeeded,
    /// Refused, with a reason fit for the buyer.
    Declined(String),
    /// The buyer must complete a step at `action_url`; a webhook reports the result.
    RequiresAction {
        /// Where the buyer completes the step.
        action_url: String,
    },
}

/// A charge attempt's result.
#[derive(Debug, Clone)]
pub struct Charge {
    /// The provider's id of the payment.
    pub provider_ref: String,
    /// Outcome.
    pub outcome: Outcome,
}

/// A verified webhook: the final state of a payment.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WebhookEvent {
    /// The provider's id of the payment.
    pub provider_ref: String,
    /// Succeeded or failed.
    pub status: PaymentOutcome,
}

/// A payment provider.
pub trait PaymentProvider: Send + Sync {
    /// Short name stored with payments, e.g. `test`.
    fn name(&self) -> &'static str;
    /// Tries to charge.
    fn charge(&self, req: ChargeRequest) -> BoxFuture<'_, Result<Charge>>;
    /// Verifies a webhook's signature and parses it.
    fn verify_webhook(&self, signature: &str, body: &[u8]) -> Result<WebhookEvent>;
    /// Gives back `amount_minor` of a succeeded payment; returns the refund's id.
    fn refund(&self, provider_ref: &str, amount_minor: i64) -> BoxFuture<'_, Result<String>>;
}

/// The provider of a platform that takes no card payments: free tickets work,
/// paid ones are refused with a message saying why.
pub struct NoProvider;

impl PaymentProvider for NoProvider {
    fn name(&self) -> &'static str {
        "none"
    }

    fn charge(&self, _req: ChargeRequest) -> BoxFuture<'_, Result<Charge>> {
        Box::pin(async {
            Err(crate::Error::PaymentFailed(
                "this platform takes no card payments: its operator has not set up a payment provider"
                    .into(),
            ))
        })
    }

    fn verify_webhook(&self, _signature: &str, _body: &[u8]) -> Result<WebhookEvent> {
        Err(crate::Error::NotFound(
            "no payment provider is set up".into(),
        ))
    }

    fn refund(&self, _provider_ref: &str, _amount_minor: i64) -> BoxFuture<'_, Result<String>> {
        Box::pin(async {
            Err(crate::Error::Invalid(
                "no payment provider is set up, so the payment cannot be refunded here".into(),
            ))
        })
    }
}
