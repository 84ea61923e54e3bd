//! A payment provider's webhook: its signature is checked by the provider,
//! then the payment it settles is an order's (registrations) or a plan
//! purchase's (billing). Idempotent: a redelivered webhook changes nothing.

use tracing::instrument;

use crate::billing::purchases;
use crate::payments::PaymentProvider;
use crate::registrations::payment;
use crate::{Error, Result};

/// Handles a webhook body with its signature header.
#[instrument(skip_all, fields(provider = provider.name()))]
pub async fn receive(
    pool: &sqlx::PgPool,
    provider: &dyn PaymentProvider,
    signature: &str,
    body: &[u8],
) -> Result<()> {
    let hook = provider.verify_webhook(signature, body)?;
    if payment::settle(pool, provider, &hook).await?
        || purchases::settle(pool, provider, &hook).await?
    {
        return Ok(());
    }
    Err(Error::not_found("no such payment"))
}
