//! The payment provider interface (the test provider and "none" here; real
//! ones implement the same trait). Which one runs is configuration: a
//! deployment without a provider takes no card payments.
//!
//! The provider is never called inside a database transaction: the attempt
//! (or refund) is recorded first and its id is the provider's idempotency
//! key, so asking again — after a crash, a lost answer or a dropped request —
//! never charges or refunds twice, and [`PaymentProvider::find_charge`] tells
//! the reconciliation what became of an attempt whose answer never arrived.

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
    /// Our id of the attempt: the same key never charges twice.
    pub idempotency_key: String,
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

impl Outcome {
    /// The final outcome this is, if it is one (not while a step is pending).
    pub fn settled(&self) -> Option<PaymentOutcome> {
        match self {
            Outcome::Succeeded => Some(PaymentOutcome::Succeeded),
            Outcome::Declined(_) => Some(PaymentOutcome::Failed),
            Outcome::RequiresAction { .. } => None,
        }
    }
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
    /// Tries to charge. A request with a key already used answers what the
    /// first one did, without charging again. `Invalid` and `PaymentFailed`
    /// errors are final (nothing was charged); any other error leaves the
    /// outcome unknown.
    fn charge(&self, req: ChargeRequest) -> BoxFuture<'_, Result<Charge>>;
    /// What became of the charge requested with `idempotency_key`, as the
    /// provider sees it now (a confirmation step may have completed since);
    /// `None` when the provider never received it.
    fn find_charge(&self, idempotency_key: &str) -> BoxFuture<'_, Result<Option<Charge>>>;
    /// Verifies a webhook's signature and parses it.
    fn verify_webhook(&self, signature: &str, body: &[u8]) -> Result<WebhookEvent>;
    /// Gives back `amount_minor` of a succeeded payment; returns the refund's
    /// id. The same key never refunds twice.
    fn refund(
        &self,
        provider_ref: &str,
        amount_minor: i64,
        idempotency_key: &str,
    ) -> BoxFuture<'_, Result<String>>;
}

/// How long a provider call may take before its outcome counts as unknown
/// (the reconciliation then asks again).
pub const CALL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Runs `work` (a provider call and the recording of its answer) on a task
/// of its own and waits for it: a request dropped half-way (the client went
/// away) does not cut it off between the provider's answer and its record.
pub async fn detached<T: Send + 'static>(
    work: impl std::future::Future<Output = Result<T>> + Send + 'static,
) -> Result<T> {
    tokio::spawn(work)
        .await
        .map_err(|e| crate::Error::Internal(format!("payment task: {e}")))?
}

/// A provider call (charge, lookup, refund), given up after
/// [`CALL_TIMEOUT`]: its outcome is then unknown, and asked about again.
pub async fn in_time<T>(call: impl std::future::Future<Output = Result<T>>) -> Result<T> {
    tokio::time::timeout(CALL_TIMEOUT, call)
        .await
        .unwrap_or_else(|_| {
            Err(crate::Error::Internal(
                "the payment provider did not answer in time".into(),
            ))
        })
}

/// Refuses to move money the configured provider did not take (the
/// platform's provider changed since): only `taken_by` can give it back.
pub fn check_taken_by(taken_by: &str, provider: &dyn PaymentProvider) -> Result<()> {
    if taken_by == provider.name() {
        return Ok(());
    }
    Err(crate::Error::Conflict(format!(
        "this payment was taken by the '{taken_by}' provider, not the configured '{}'; refund it there",
        provider.name()
    )))
}

/// The answer to a buyer whose charge has an unknown outcome.
pub fn outcome_unknown() -> crate::Error {
    crate::Error::Busy(
        "we could not confirm your payment with the bank yet; you will not be charged twice. Look at your order again in a few minutes".into(),
    )
}

/// Whether an error from [`PaymentProvider::charge`] is final (nothing was
/// charged) rather than an unknown outcome.
pub fn is_final(error: &crate::Error) -> bool {
    matches!(
        error,
        crate::Error::Invalid(_) | crate::Error::PaymentFailed(_)
    )
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

    fn find_charge(&self, _idempotency_key: &str) -> BoxFuture<'_, Result<Option<Charge>>> {
        Box::pin(async { Ok(None) })
    }

    fn verify_webhook(&self, _signature: &str, _body: &[u8]) -> Result<WebhookEvent> {
        Err(crate::Error::NotFound(
            "no payment provider is set up".into(),
        ))
    }

    fn refund(
        &self,
        _provider_ref: &str,
        _amount_minor: i64,
        _idempotency_key: &str,
    ) -> BoxFuture<'_, Result<String>> {
        Box::pin(async {
            Err(crate::Error::Invalid(
                "no payment provider is set up, so the payment cannot be refunded here".into(),
            ))
        })
    }
}
