//! Paying an order by card: the form shown with a pending order's receipt, and
//! `/e/{slug}/pay/{code}`, where an approved order's payment link leads.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;
use protocol::states::OrderStatus;

use crate::error::AppError;
use crate::forms::{error_list, error_of, FormError};

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

/// An order as its buyer sees it on the payment page.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OrderView {
    /// Order code.
    pub code: String,
    /// Where it stands.
    pub status: OrderStatus,
    /// Formatted total.
    pub total: String,
    /// Event name.
    pub event: String,
}

/// The order `code` of event `slug` (the code is the buyer's secret).
#[server(prefix = "/fn", endpoint = "order_status")]
pub async fn buyer_order(slug: String, code: String) -> Result<OrderView, AppError> {
    let platform = crate::context::platform()?;
    let o = services::registrations::orders::summary(&platform.pool, &slug, &code).await?;
    Ok(OrderView {
        total: services::domain::format_money(o.total_minor, &o.currency),
        code: o.code,
        status: o.status,
        event: o.event_name,
    })
}

/// `/e/{slug}/pay/{code}`: pays an approved order (linked from the approval email).
#[component]
pub fn PayPage() -> impl IntoView {
    let params = use_params_map();
    let order = Resource::new(
        move || {
            let p = params.read();
            (
                p.get("slug").unwrap_or_default(),
                p.get("code").unwrap_or_default(),
            )
        },
        |(slug, code)| buyer_order(slug, code),
    );
    view! {
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            <ErrorBoundary fallback=error_list>
                {move || Suspend::new(async move {
                    order.await.map(|o| view! {
                        <div class="card space-y-3 max-w-xl">
                            <h1 class="text-2xl font-bold">{o.event}</h1>
                            <p>"Order " <code>{o.code.clone()}</code> " · " {o.total.clone()} " · "
                                <span data-testid="order-status">{o.status.as_str()}</span></p>
                            {(o.status == OrderStatus::Pending).then(|| pay_form(o.code.clone(), o.total.clone()))}
                        </div>
                    })
                })}
            </ErrorBoundary>
        </Transition>
    }
}

pub(super) fn pay_form(order_code: String, total: String) -> impl IntoView {
    let action = ServerAction::<Pay>::new();
    view! {
        {move || match action.value().get() {
            Some(Ok(p)) if p.status == PayOutcome::Confirmed => view! {
                <p class="rounded bg-green-50 border border-green-300 p-3" data-testid="paid">"Payment received: your order is confirmed."</p>
            }.into_any(),
            Some(Ok(p)) => view! {
                <p class="rounded bg-amber-50 border border-amber-300 p-3">
                    "Your bank asks you to confirm this payment. "
                    <a class="underline" rel="external" target="_blank" href=p.action_url.unwrap_or_default() data-testid="payment-action">"Confirm payment"</a>
                </p>
            }.into_any(),
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
