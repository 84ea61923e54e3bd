//! Paying an order by card: the server function and the form the order page
//! shows while its order awaits payment.

use leptos::prelude::*;

use crate::error::AppError;
use crate::forms::{error_of, FormError};

/// Where a payment attempt left the order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PayOutcome {
    /// Paid: the order is confirmed.
    Confirmed,
    /// The bank asks the buyer to confirm first.
    RequiresAction,
}

/// The state of a payment attempt.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PaymentView {
    /// Where the order stands.
    pub status: PayOutcome,
    /// Where to complete the extra step, when required.
    pub action_url: Option<String>,
}

/// Pays a pending order by card with the configured provider.
#[server(prefix = "/fn", endpoint = "pay")]
pub async fn pay(order_code: String, card_number: String) -> Result<PaymentView, AppError> {
    use services::ratelimit::{PAY_PER_CLIENT, PAY_PER_ORDER};
    use services::registrations::payment::{pay, PaymentState};
    let platform = crate::context::platform()?;
    crate::context::limit_client(&platform, &PAY_PER_CLIENT, None).await?;
    let order = order_code.trim().to_uppercase();
    crate::context::limit_subject(&platform, &PAY_PER_ORDER, &order).await?;
    let result = pay(
        &platform.pool,
        &platform.payments,
        platform.fees,
        &order_code,
        &card_number,
    )
    .await?;
    Ok(match result {
        PaymentState::Confirmed => PaymentView {
            status: PayOutcome::Confirmed,
            action_url: None,
        },
        PaymentState::ActionRequired(url) => PaymentView {
            status: PayOutcome::RequiresAction,
            action_url: Some(url),
        },
    })
}

/// The card form of a pending order, or the bank's extra step while it
/// waits for the buyer (`bank_step` says where, after a reload).
pub(super) fn pay_form(
    action: ServerAction<Pay>,
    order_code: String,
    total: String,
    bank_step: Option<String>,
) -> impl IntoView {
    let waiting = |url: String| {
        view! {
            <p class="rounded bg-amber-50 border border-amber-300 p-3" role="status" data-testid="waiting-for-bank">
                "Waiting for your bank: it asks you to confirm this payment. This page updates by itself once you have. "
                <a class="underline" rel="external" target="_blank" href=url data-testid="payment-action">"Confirm payment"</a>
            </p>
        }
    };
    view! {
        {move || match action.value().get() {
            Some(Ok(p)) if p.status == PayOutcome::Confirmed => view! {
                <p class="notice-ok" data-testid="paid" role="status">"Payment received: your order is confirmed."</p>
            }.into_any(),
            Some(Ok(p)) => waiting(p.action_url.unwrap_or_default()).into_any(),
            None if bank_step.is_some() => waiting(bank_step.clone().unwrap_or_default()).into_any(),
            _ => {
                let (code, total) = (order_code.clone(), total.clone());
                view! {
                <ActionForm action=action attr:class="space-y-2">
                    <input type="hidden" name="order_code" value=code/>
                    <label class="block">"Card number"
                        <input class="input" name="card_number" inputmode="numeric" autocomplete="cc-number" placeholder="4242 4242 4242 4242" required/>
                    </label>
                    <FormError error=error_of(action.value())/>
                    <button class="btn" type="submit">"Pay " {total}</button>
                </ActionForm>
                }.into_any()
            }
        }}
    }
}
