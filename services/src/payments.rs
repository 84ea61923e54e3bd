//! Payments of paid orders through a pluggable [`PaymentProvider`].
//!
//! The built-in [`TestProvider`] behaves like the test modes of the big
//! providers: card `4242 4242 4242 4242` succeeds, `4000 0000 0000 0002` is
//! declined, `4000 0025 0000 3155` requires an extra step (3-D Secure) that
//! completes through a signed webhook. Webhooks of every provider go through
//! [`receive_webhook`], which verifies the signature and is idempotent.
//! Refunds ([`refund_order`]) give back every succeeded payment of an order.

use futures::future::BoxFuture;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::{Error, Result};

/// What the provider is asked to charge.
#[derive(Debug, Clone)]
pub struct ChargeRequest {
    /// Amount in minor units.
    pub amount_minor: i64,
    /// ISO currency.
    pub currency: String,
    /// Our reference (the order code).
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
    /// `succeeded` or `failed`.
    pub status: String,
}

/// A payment provider (the test provider here; real ones implement the same trait).
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

/// Platform fee of an amount: `bps` basis points plus a fixed part, in minor units.
pub fn platform_fee(amount_minor: i64, bps: i64, fixed_minor: i64) -> i64 {
    if amount_minor == 0 {
        return 0;
    }
    (amount_minor * bps + 5_000) / 10_000 + fixed_minor
}

/// Fee settings.
#[derive(Debug, Clone, Copy)]
pub struct FeePolicy {
    /// Basis points of the order total.
    pub bps: i64,
    /// Fixed minor units per paid order.
    pub fixed_minor: i64,
}

/// A payment's state as the buyer sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentState {
    /// Paid; the order is confirmed.
    Confirmed,
    /// Waiting for the buyer's extra step at this URL.
    ActionRequired(String),
}

/// Pays a pending order by card. Declines are `PaymentFailed`; the order stays pending.
pub async fn pay(
    pool: &PgPool,
    provider: &dyn PaymentProvider,
    fees: FeePolicy,
    order_code: &str,
    card_number: &str,
) -> Result<PaymentState> {
    let mut tx = pool.begin().await?;
    let order: Option<(Uuid, String, i64, String)> = sqlx::query_as(
        "SELECT id, status, total_minor, currency FROM orders WHERE code = $1 FOR UPDATE",
    )
    .bind(order_code.trim().to_uppercase())
    .fetch_optional(&mut *tx)
    .await?;
    let (order_id, status, total, currency) =
        order.ok_or_else(|| Error::not_found("no such order"))?;
    if status != "pending" || total == 0 {
        return Err(Error::Conflict(format!(
            "this order is {status}; nothing to pay"
        )));
    }
    let charge = provider
        .charge(ChargeRequest {
            amount_minor: total,
            currency: currency.clone(),
            reference: order_code.into(),
            card_number: card_number.into(),
        })
        .await?;
    let fee = platform_fee(total, fees.bps, fees.fixed_minor);
    let (status, failure) = match &charge.outcome {
        Outcome::Succeeded => ("succeeded", None),
        Outcome::Declined(why) => ("failed", Some(why.clone())),
        Outcome::RequiresAction { .. } => ("requires_action", None),
    };
    sqlx::query(
        "INSERT INTO payments (id, order_id, provider, provider_ref, amount_minor, currency, status, failure, platform_fee_minor)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(Uuid::new_v4())
    .bind(order_id)
    .bind(provider.name())
    .bind(&charge.provider_ref)
    .bind(total)
    .bind(&currency)
    .bind(status)
    .bind(&failure)
    .bind(fee)
    .execute(&mut *tx)
    .await?;
    let result = match charge.outcome {
        Outcome::Succeeded => {
            confirm(&mut tx, order_id, fee).await?;
            Ok(PaymentState::Confirmed)
        }
        Outcome::RequiresAction { action_url } => Ok(PaymentState::ActionRequired(action_url)),
        Outcome::Declined(why) => Err(Error::PaymentFailed(why)),
    };
    // The attempt is recorded even when declined.
    tx.commit().await?;
    result
}

/// Confirms a paid pending order and queues its confirmation email; false when
/// the order is not pending any more (cancelled meanwhile).
async fn confirm(conn: &mut PgConnection, order_id: Uuid, fee: i64) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE orders SET status = 'confirmed', paid_at = now(), platform_fee_minor = $2
         WHERE id = $1 AND status = 'pending'",
    )
    .bind(order_id)
    .bind(fee)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        return Ok(false);
    }
    let job = serde_json::json!({ "order_id": order_id });
    crate::jobs::enqueue(conn, crate::jobs::ORDER_CONFIRMATION, job).await?;
    Ok(true)
}

/// Handles a provider webhook (signature checked by the provider). Idempotent.
pub async fn receive_webhook(
    pool: &PgPool,
    provider: &dyn PaymentProvider,
    signature: &str,
    body: &[u8],
) -> Result<()> {
    let event = provider.verify_webhook(signature, body)?;
    let status = match event.status.as_str() {
        "succeeded" | "failed" => event.status.as_str(),
        other => return Err(Error::invalid(format!("unknown payment status '{other}'"))),
    };
    let mut tx = pool.begin().await?;
    let row: Option<(Uuid, Uuid, String, i64)> = sqlx::query_as(
        "SELECT id, order_id, status, platform_fee_minor FROM payments WHERE provider = $1 AND provider_ref = $2 FOR UPDATE",
    )
    .bind(provider.name())
    .bind(&event.provider_ref)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((payment_id, order_id, current, fee)) = row else {
        // Not an order's payment: perhaps a plan purchase (Checkout).
        if crate::billing::settle_plan_purchase(
            &mut tx,
            provider.name(),
            &event.provider_ref,
            status,
        )
        .await?
        {
            tx.commit().await?;
            return Ok(());
        }
        return Err(Error::not_found("no such payment"));
    };
    if current != "requires_action" {
        return Ok(()); // already final: a redelivered webhook
    }
    sqlx::query("UPDATE payments SET status = $2, updated_at = now() WHERE id = $1")
        .bind(payment_id)
        .bind(status)
        .execute(&mut *tx)
        .await?;
    if status == "succeeded" && !confirm(&mut tx, order_id, fee).await? {
        // The order was cancelled (e.g. it expired) before the buyer finished the
        // extra step: the money must not be kept.
        tx.commit().await?;
        refund_payments(
            pool,
            provider,
            order_id,
            "order no longer open when payment completed",
        )
        .await?;
        tracing::warn!(order = %order_id, "late payment of a closed order refunded");
        return Ok(());
    }
    tx.commit().await?;
    Ok(())
}

/// Refunds every succeeded payment of an order through the provider, recording
/// each refund; returns the amount refunded. Payments already refunded are skipped,
/// so a retry never refunds twice.
pub async fn refund_payments(
    pool: &PgPool,
    provider: &dyn PaymentProvider,
    order_id: Uuid,
    reason: &str,
) -> Result<i64> {
    let mut tx = pool.begin().await?;
    let paid: Vec<(Uuid, String, i64)> = sqlx::query_as(
        "SELECT id, provider_ref, amount_minor FROM payments
         WHERE order_id = $1 AND provider = $2 AND status = 'succeeded' ORDER BY created_at FOR UPDATE",
    )
    .bind(order_id)
    .bind(provider.name())
    .fetch_all(&mut *tx)
    .await?;
    let mut total = 0;
    for (payment_id, provider_ref, amount) in paid {
        let refund_ref = provider.refund(&provider_ref, amount).await?;
        sqlx::query("UPDATE payments SET status = 'refunded', updated_at = now() WHERE id = $1")
            .bind(payment_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO refunds (id, payment_id, provider_ref, amount_minor, reason) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(Uuid::new_v4())
        .bind(payment_id)
        .bind(&refund_ref)
        .bind(amount)
        .bind(reason)
        .execute(&mut *tx)
        .await?;
        total += amount;
    }
    tx.commit().await?;
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fees_round_half_up() {
        assert_eq!(platform_fee(10_000, 250, 0), 250);
        assert_eq!(platform_fee(4_990, 250, 30), 125 + 30);
        assert_eq!(platform_fee(0, 250, 30), 0);
    }

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
        assert_eq!(p.verify_webhook(&sig, body).unwrap().status, "succeeded");
        assert!(p
            .verify_webhook(&sig, br#"{"provider_ref":"test_1","status":"failed"}"#)
            .is_err());
        assert!(TestProvider::new("other")
            .verify_webhook(&sig, body)
            .is_err());
        assert!(p.verify_webhook("zz", body).is_err());
    }
}
