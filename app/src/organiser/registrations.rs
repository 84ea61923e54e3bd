//! The registrations list of one event: search, filters, CSV export.

use leptos::prelude::*;

use crate::error::AppError;
use crate::ui::{error_list, error_of, FormError};

/// One order in the list.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RegistrationView {
    /// Order code.
    pub order_code: String,
    /// Buyer's name.
    pub name: String,
    /// Buyer's email.
    pub email: String,
    /// Ticket type.
    pub ticket_type: String,
    /// Tickets in the order.
    pub quantity: i64,
    /// Order status.
    pub status: String,
    /// Formatted total.
    pub total: String,
    /// Total in minor units.
    pub total_minor: i64,
}

/// The event's orders, filtered; organisers of the event only.
#[server(endpoint = "registrations")]
pub async fn list_registrations(
    slug: String,
    q: Option<String>,
    ticket_type: Option<String>,
    status: Option<String>,
) -> Result<Vec<RegistrationView>, AppError> {
    use services::ticketing::{registrations, RegistrationFilter};
    let state = crate::state::app_state()?;
    let me = super::current_organiser().await?;
    let filter = RegistrationFilter {
        search: q,
        ticket_type,
        status,
    };
    let rows = registrations(&state.pool, &me, &slug, &filter).await?;
    Ok(rows
        .into_iter()
        .map(|r| RegistrationView {
            total: services::domain::format_money(r.total_minor, &r.currency),
            total_minor: r.total_minor,
            order_code: r.order_code,
            name: r.name,
            email: r.email,
            ticket_type: r.ticket_type,
            quantity: r.quantity,
            status: r.status,
        })
        .collect())
}

/// Cancels (or declines) an order: its tickets are voided, their seats return to
/// the quotas, and a paid order is refunded. Returns the new status.
#[server(endpoint = "cancel_order")]
pub async fn cancel_order(slug: String, order_code: String) -> Result<String, AppError> {
    let state = crate::state::app_state()?;
    let me = super::current_organiser().await?;
    let payments = state.payments.as_ref();
    Ok(services::ticketing::cancel_order(&state.pool, payments, &me, &slug, &order_code).await?)
}

/// Approves an order that awaits approval. Returns the new status.
#[server(endpoint = "approve_order")]
pub async fn approve_order(slug: String, order_code: String) -> Result<String, AppError> {
    let state = crate::state::app_state()?;
    let me = super::current_organiser().await?;
    Ok(services::ticketing::approve_order(&state.pool, &me, &slug, &order_code).await?)
}

/// Percent-encodes a query value.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Searchable list with a CSV export link.
#[component]
pub fn RegistrationsList(#[prop(into)] slug: Signal<String>) -> impl IntoView {
    let q = RwSignal::new(String::new());
    let status = RwSignal::new(String::new());
    let cancel = ServerAction::<CancelOrder>::new();
    let approve = ServerAction::<ApproveOrder>::new();
    let rows = Resource::new(
        move || {
            (
                slug.get(),
                q.get(),
                status.get(),
                cancel.version().get() + approve.version().get(),
            )
        },
        |(slug, q, status, _)| list_registrations(slug, Some(q), None, Some(status)),
    );
    let csv = move || {
        format!(
            "/dashboard/events/{}/registrations.csv?q={}&status={}",
            slug.get(),
            encode(&q.get()),
            encode(&status.get())
        )
    };
    view! {
        <h2 class="text-xl font-semibold mt-8">"Registrations"</h2>
        <div class="flex gap-3 my-3 items-end">
            <label class="block flex-1">"Search"
                <input class="input" type="search" placeholder="name, email or order"
                    on:input=move |ev| q.set(event_target_value(&ev)) prop:value=move || q.get()/>
            </label>
            <label class="block">"Status"
                <select class="input" on:change=move |ev| status.set(event_target_value(&ev))>
                    <option value="">"All"</option>
                    <option value="awaiting_approval">"Awaiting approval"</option>
                    <option value="confirmed">"Confirmed"</option>
                    <option value="pending">"Pending payment"</option>
                    <option value="cancelled">"Cancelled"</option>
                    <option value="refunded">"Refunded"</option>
                </select>
            </label>
            <a class="btn" rel="external" href=csv data-testid="export-csv">"Export CSV"</a>
        </div>
        <FormError error=error_of(cancel.value())/>
        <FormError error=error_of(approve.value())/>
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            <ErrorBoundary fallback=error_list>
                {move || Suspend::new(async move {
                    rows.await.map(|rows| view! {
                        <table class="w-full" data-testid="registrations">
                            <thead><tr class="text-left"><th>"Order"</th><th>"Name"</th><th>"Email"</th><th>"Ticket"</th><th>"Qty"</th><th>"Status"</th><th>"Total"</th><th></th></tr></thead>
                            <tbody>
                                {rows.into_iter().map(|r| {
                                    let (approve_code, cancel_code) = (r.order_code.clone(), r.order_code.clone());
                                    let awaiting = r.status == "awaiting_approval";
                                    let open = r.status != "cancelled" && r.status != "refunded";
                                    let label = match r.status.as_str() {
                                        "awaiting_approval" => "Decline",
                                        "confirmed" if r.total_minor > 0 => "Cancel and refund",
                                        _ => "Cancel",
                                    };
                                    view! {
                                    <tr>
                                        <td><code>{r.order_code.clone()}</code></td><td>{r.name}</td><td>{r.email}</td>
                                        <td>{r.ticket_type}</td><td>{r.quantity}</td><td>{r.status.clone()}</td><td>{r.total}</td>
                                        <td class="flex gap-2">
                                        {awaiting.then(|| view! {
                                            <ActionForm action=approve>
                                                <input type="hidden" name="slug" value=slug.get_untracked()/>
                                                <input type="hidden" name="order_code" value=approve_code/>
                                                <button type="submit" class="underline text-green-700">"Approve"</button>
                                            </ActionForm>
                                        })}
                                        {open.then(|| view! {
                                            <ActionForm action=cancel>
                                                <input type="hidden" name="slug" value=slug.get_untracked()/>
                                                <input type="hidden" name="order_code" value=cancel_code/>
                                                <button type="submit" class="underline text-red-700">{label}</button>
                                            </ActionForm>
                                        })}
                                        </td>
                                    </tr>
                                    }
                                }).collect::<Vec<_>>()}
                            </tbody>
                        </table>
                    })
                })}
            </ErrorBoundary>
        </Transition>
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(super::encode("a b&c=d/é"), "a%20b%26c%3Dd%2F%C3%A9");
    }
}
