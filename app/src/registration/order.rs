//! The buyer's order page: `/e/{slug}/order/{code}` (where registering leads,
//! and `/e/{slug}/pay/{code}`, the approval email's payment link), and
//! `/e/{slug}/widget/order/{code}` inside the widget. It shows what was bought
//! and where the order stands; the card form while it awaits payment; the
//! tickets and the way in once it is confirmed.
//!
//! The order code is the buyer's secret, but the tickets show only in the
//! browser signed in as the buyer (the one that registered, or one that opened
//! an emailed link). The page renders whole on the server, so it survives a
//! reload at any step, and while a bank confirms a payment in another tab
//! (3-D Secure) it looks again every few seconds.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;
use protocol::states::OrderStatus;

use super::pay::{pay_form, Pay};
use super::TicketView;
use crate::error::AppError;
use crate::forms::error_list;

/// One line of an order.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OrderLineView {
    /// Ticket type.
    pub name: String,
    /// How many.
    pub quantity: i64,
    /// Price of one, formatted ("Free" at 0).
    pub price: String,
}

/// An order as its buyer sees it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OrderView {
    /// Order code.
    pub code: String,
    /// Where it stands.
    pub status: OrderStatus,
    /// Formatted total.
    pub total: String,
    /// Whether there is anything to pay.
    pub paid_order: bool,
    /// Event name.
    pub event: String,
    /// Event slug.
    pub slug: String,
    /// What was bought.
    pub lines: Vec<OrderLineView>,
    /// Formatted promo discount, when there is one.
    pub discount: Option<String>,
    /// The tickets, for the buyer's own browser once confirmed (else empty).
    pub tickets: Vec<TicketView>,
    /// This browser is signed in as the buyer.
    pub signed_in: bool,
    /// Where to confirm a payment the bank holds (3-D Secure), while pending.
    pub bank_step: Option<String>,
}

/// The order `code` of event `slug` (the code is the buyer's secret; the
/// tickets come only with the buyer's own attendee session).
#[server(prefix = "/fn", endpoint = "order_status")]
pub async fn buyer_order(slug: String, code: String) -> Result<OrderView, AppError> {
    use crate::context::cookies;
    use services::domain::format_money;
    use services::registrations::{attendees, orders};
    let platform = crate::context::platform()?;
    crate::context::limit_client(
        &platform,
        &services::ratelimit::ORDER_LOOKUPS_PER_CLIENT,
        None,
    )
    .await?;
    let o = orders::summary(&platform.pool, &slug, &code).await?;
    let session = cookies::read(cookies::ATTENDEE).await;
    let signed_in =
        attendees::signed_in_as(&platform.pool, session.as_deref()).await? == Some(o.attendee_id);
    let tickets = if signed_in && o.status == OrderStatus::Confirmed {
        o.tickets
            .iter()
            .map(|code| {
                Ok(TicketView {
                    code: code.clone(),
                    qr_svg: orders::qr_svg(code)?,
                })
            })
            .collect::<Result<Vec<_>, services::Error>>()?
    } else {
        Vec::new()
    };
    let price = |minor: i64| match minor {
        0 => "Free".to_owned(),
        m => format_money(m, &o.currency),
    };
    Ok(OrderView {
        lines: o
            .lines
            .iter()
            .map(|l| OrderLineView {
                name: l.name.clone(),
                quantity: l.quantity,
                price: price(l.unit_minor),
            })
            .collect(),
        discount: (o.discount_minor > 0).then(|| format_money(o.discount_minor, &o.currency)),
        total: format_money(o.total_minor, &o.currency),
        paid_order: o.total_minor > 0,
        slug: slug.trim().to_lowercase(),
        code: o.code,
        status: o.status,
        event: o.event_name,
        tickets,
        signed_in,
        bank_step: o.bank_step,
    })
}

/// `/e/{slug}/order/{code}` and `/e/{slug}/pay/{code}`.
#[component]
pub fn OrderPage() -> impl IntoView {
    view! { <Order compact=false/> }
}

/// `/e/{slug}/widget/order/{code}`: the order page inside the widget.
#[component]
pub fn WidgetOrderPage() -> impl IntoView {
    super::form::report_height();
    view! { <Order compact=true/> }
}

#[component]
fn Order(compact: bool) -> impl IntoView {
    let params = use_params_map();
    let pay = ServerAction::<Pay>::new();
    let again = RwSignal::new(0u32);
    let order = Resource::new(
        move || {
            let p = params.read();
            (
                p.get("slug").unwrap_or_default(),
                p.get("code").unwrap_or_default(),
                pay.version().get(),
                again.get(),
            )
        },
        |(slug, code, _, _)| buyer_order(slug, code),
    );
    // While the bank waits for the buyer's confirmation elsewhere, look again.
    #[cfg(feature = "hydrate")]
    {
        let handle = set_interval_with_handle(
            move || {
                // Just asked by the bank, or (after a reload) still waiting for it.
                let waiting = matches!(
                    pay.value().get_untracked(),
                    Some(Ok(ref p)) if p.status == super::pay::PayOutcome::RequiresAction
                ) || matches!(
                    order.get_untracked(),
                    Some(Ok(ref o)) if o.bank_step.is_some()
                );
                if waiting {
                    again.update(|n| *n += 1);
                }
            },
            std::time::Duration::from_secs(3),
        );
        on_cleanup(move || {
            if let Ok(h) = handle {
                h.clear();
            }
        });
    }
    view! {
        <Title text="Your order"/>
        <Transition fallback=|| view! { <crate::look::Loading/> }>
            <ErrorBoundary fallback=error_list>
                {move || Suspend::new(async move {
                    order.await.map(|o| order_view(o, pay, compact))
                })}
            </ErrorBoundary>
        </Transition>
    }
}

fn order_view(o: OrderView, pay: ServerAction<Pay>, compact: bool) -> impl IntoView {
    let heading = match o.status {
        OrderStatus::Confirmed => "You're registered!",
        OrderStatus::Pending => "Complete your payment",
        OrderStatus::AwaitingApproval => "Thanks! Your order awaits approval.",
        OrderStatus::Cancelled => "This order was cancelled",
        OrderStatus::Refunded => "This order was refunded",
    };
    let heading_id = match o.status {
        OrderStatus::AwaitingApproval => "awaiting-approval",
        _ => "order-heading",
    };
    let step = match o.status {
        OrderStatus::Pending => {
            pay_form(pay, o.code.clone(), o.total.clone(), o.bank_step.clone()).into_any()
        }
        OrderStatus::AwaitingApproval => view! {
            <p>"The organiser reviews orders for this ticket. We will email you when it is approved, with a link to pay if it has a price."</p>
        }
        .into_any(),
        OrderStatus::Confirmed => way_in(&o, compact).into_any(),
        _ => view! {
            <p>"Its tickets no longer admit anyone. "
                <a class="underline" href=format!("/e/{}", o.slug)>"Back to the event"</a></p>
        }
        .into_any(),
    };
    let paid = (o.status == OrderStatus::Confirmed && o.paid_order).then(|| {
        view! { <p class="notice-ok" data-testid="paid" role="status">"Payment received: your order is confirmed."</p> }
    });
    view! {
        <div class="card space-y-4 max-w-xl" data-testid="registered">
            <p class="text-sm text-slate-500">{o.event.clone()}</p>
            <h1 class="text-2xl font-bold" data-testid=heading_id>{heading}</h1>
            <p>"Order " <code data-testid="order-code">{o.code.clone()}</code> " · "
                <span data-testid="order-status">{o.status.as_str()}</span></p>
            <table class="w-full text-sm" data-testid="order-summary">
                <caption class="sr-only">"Order summary"</caption>
                <thead><tr class="text-left text-slate-500"><th scope="col">"Ticket"</th><th scope="col">"Quantity"</th><th scope="col" class="text-right">"Price"</th></tr></thead>
                <tbody>
                    {o.lines.iter().map(|l| view! {
                        <tr><td>{l.name.clone()}</td><td>{l.quantity}</td><td class="text-right">{l.price.clone()}</td></tr>
                    }).collect::<Vec<_>>()}
                    {o.discount.clone().map(|d| view! {
                        <tr><td colspan="2">"Promo discount"</td><td class="text-right">"− " {d}</td></tr>
                    })}
                </tbody>
                <tfoot><tr class="font-semibold"><td colspan="2">"Total"</td><td class="text-right" data-testid="order-total">{o.total.clone()}</td></tr></tfoot>
            </table>
            {paid}
            {step}
        </div>
    }
}

/// A confirmed order: the tickets and the way into the event.
fn way_in(o: &OrderView, compact: bool) -> impl IntoView {
    let reception = format!("/e/{}/reception", o.slug);
    let access = format!("/e/{}/access", o.slug);
    let tickets = o
        .tickets
        .iter()
        .map(|t| {
            view! {
                <div class="space-y-1">
                    <div class="w-48" inner_html=t.qr_svg.clone()></div>
                    <p class="text-sm">"Ticket " <code>{t.code.clone()}</code></p>
                </div>
            }
        })
        .collect::<Vec<_>>();
    let enter = if o.signed_in && !compact {
        view! {
            <a class="btn" href=reception data-testid="enter-event">"Enter the event"</a>
            <p class="text-sm text-slate-600">"This browser stays signed in. Your tickets and a sign-in link for other devices are also in your confirmation email."</p>
        }
        .into_any()
    } else {
        // The widget's frame cannot sign in the site it opens, and another
        // browser holds no session: the way in is the emailed link.
        view! {
            <p>"Your tickets and your sign-in link are in your confirmation email."</p>
            <a class="underline" href=access target=if compact { "_blank" } else { "_self" } data-testid="get-link">
                "Email me a new sign-in link"
            </a>
        }
        .into_any()
    };
    view! { {tickets} {enter} }
}
