//! The registrations list of one event: search, filters, CSV export.

use leptos::prelude::*;
use protocol::states::{OrderStatus, PaymentStatus};

use crate::error::AppError;
use crate::forms::{error_list, error_of, FormError};

/// How the dashboard names an order status.
fn status_label(s: OrderStatus) -> &'static str {
    match s {
        OrderStatus::AwaitingApproval => "Awaiting approval",
        OrderStatus::Pending => "Pending payment",
        OrderStatus::Confirmed => "Confirmed",
        OrderStatus::Cancelled => "Cancelled",
        OrderStatus::Refunded => "Refunded",
    }
}

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
    /// Where the order stands.
    pub status: OrderStatus,
    /// Formatted total.
    pub total: String,
    /// Total in minor units.
    pub total_minor: i64,
    /// Where the next page starts (pass as `after`).
    pub cursor: String,
}

/// Orders per page of the list (the server's `LIST_PAGE`).
const PAGE: usize = 500;

/// `after` cursors travel as `<RFC 3339 time>~<order code>`.
#[cfg(feature = "ssr")]
fn cursor_text(c: &(chrono::DateTime<chrono::Utc>, String)) -> String {
    format!("{}~{}", c.0.to_rfc3339(), c.1)
}

#[cfg(feature = "ssr")]
fn parse_cursor(raw: &str) -> Result<(chrono::DateTime<chrono::Utc>, String), AppError> {
    let bad = || AppError::from(services::Error::invalid("after: not a cursor of this list"));
    let (time, code) = raw.split_once('~').ok_or_else(bad)?;
    let time = chrono::DateTime::parse_from_rfc3339(time).map_err(|_| bad())?;
    Ok((time.with_timezone(&chrono::Utc), code.to_owned()))
}

/// The event's orders, filtered, newest first, a page at a time (after the
/// cursor `after` of the previous page's last order); organisers of the
/// event only.
#[server(prefix = "/fn", endpoint = "registrations")]
pub async fn list_registrations(
    slug: String,
    q: Option<String>,
    ticket_type: Option<String>,
    status: Option<String>,
    after: Option<String>,
) -> Result<Vec<RegistrationView>, AppError> {
    use services::registrations::list::{registrations, RegistrationFilter};
    let platform = crate::context::platform()?;
    let me = super::current_organiser().await?;
    let filter = RegistrationFilter {
        search: q,
        ticket_type,
        status,
    };
    let after = match after.as_deref().map(str::trim).filter(|a| !a.is_empty()) {
        Some(a) => Some(parse_cursor(a)?),
        None => None,
    };
    let rows = registrations(&platform.pool, &me, &slug, &filter, after.as_ref()).await?;
    Ok(rows
        .into_iter()
        .map(|r| RegistrationView {
            cursor: cursor_text(&r.cursor()),
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

/// A ticket of an order.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TicketLineView {
    /// Ticket code.
    pub code: String,
    /// Ticket type name.
    pub ticket_type: String,
    /// Voided (its order was cancelled).
    pub voided: bool,
}

/// An answer to a registration question.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AnswerView {
    /// The question.
    pub question: String,
    /// The answer.
    pub answer: String,
}

/// A payment attempt.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PaymentLineView {
    /// Where it stands.
    pub status: PaymentStatus,
    /// Formatted amount.
    pub amount: String,
    /// When (UTC).
    pub at: String,
}

/// One order in full (the detail view).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OrderDetailView {
    /// Order code.
    pub order_code: String,
    /// Buyer's name.
    pub name: String,
    /// Buyer's email.
    pub email: String,
    /// Where the order stands.
    pub status: OrderStatus,
    /// Formatted total.
    pub total: String,
    /// When ordered (UTC).
    pub ordered_at: String,
    /// Discount and promo code, if any.
    pub discount: Option<String>,
    /// Its tickets.
    pub tickets: Vec<TicketLineView>,
    /// The buyer's answers.
    pub answers: Vec<AnswerView>,
    /// Payment attempts.
    pub payments: Vec<PaymentLineView>,
    /// Formatted amount refunded, if any.
    pub refunded: Option<String>,
}

/// One order of the event in full; organisers of the event only.
#[server(prefix = "/fn", endpoint = "registration_detail")]
pub async fn registration_detail(
    slug: String,
    order_code: String,
) -> Result<OrderDetailView, AppError> {
    use services::domain::format_money;
    let platform = crate::context::platform()?;
    let me = super::current_organiser().await?;
    let d = services::registrations::list::order_detail(&platform.pool, &me, &slug, &order_code)
        .await?;
    let currency = d.row.currency.clone();
    Ok(OrderDetailView {
        discount: (d.row.discount_minor > 0).then(|| {
            format!(
                "{} off{}",
                format_money(d.row.discount_minor, &currency),
                d.row
                    .promo_code
                    .as_deref()
                    .map(|c| format!(" with {c}"))
                    .unwrap_or_default()
            )
        }),
        payments: d
            .payments
            .iter()
            .map(|p| PaymentLineView {
                status: p.status,
                amount: format_money(p.amount_minor, &currency),
                at: p.created_at.format("%Y-%m-%d %H:%M UTC").to_string(),
            })
            .collect(),
        refunded: (d.refunded_minor > 0).then(|| format_money(d.refunded_minor, &currency)),
        total: format_money(d.row.total_minor, &currency),
        ordered_at: d.row.created_at.format("%Y-%m-%d %H:%M UTC").to_string(),
        order_code: d.row.order_code,
        name: d.row.name,
        email: d.row.email,
        status: d.row.status,
        tickets: d
            .tickets
            .into_iter()
            .map(|t| TicketLineView {
                code: t.code,
                ticket_type: t.ticket_type,
                voided: t.voided,
            })
            .collect(),
        answers: d
            .answers
            .into_iter()
            .map(|a| AnswerView {
                question: a.label,
                answer: a.value,
            })
            .collect(),
    })
}

/// The names of the event's ticket types (for the filter); organisers only.
#[server(prefix = "/fn", endpoint = "ticket_type_names")]
pub async fn ticket_type_names(slug: String) -> Result<Vec<String>, AppError> {
    let platform = crate::context::platform()?;
    let me = super::current_organiser().await?;
    let event = services::events::get_for_org(&platform.pool, &me, &slug).await?;
    Ok(services::registrations::ticket_types::names(&platform.pool, event.id).await?)
}

/// Cancels (or declines) an order: its tickets are voided, their seats return to
/// the quotas, and a paid order is refunded. Returns the new status.
#[server(prefix = "/fn", endpoint = "cancel_order")]
pub async fn cancel_order(slug: String, order_code: String) -> Result<OrderStatus, AppError> {
    let platform = crate::context::platform()?;
    let me = super::current_organiser().await?;
    let cancel = services::registrations::lifecycle::cancel;
    Ok(cancel(&platform.pool, &platform.payments, &me, &slug, &order_code).await?)
}

/// Approves an order that awaits approval. Returns the new status.
#[server(prefix = "/fn", endpoint = "approve_order")]
pub async fn approve_order(slug: String, order_code: String) -> Result<OrderStatus, AppError> {
    let platform = crate::context::platform()?;
    let me = super::current_organiser().await?;
    let approve = services::registrations::lifecycle::approve;
    Ok(approve(&platform.pool, &me, &slug, &order_code).await?)
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
    let ticket_type = RwSignal::new(String::new());
    let selected = RwSignal::new(None::<String>);
    // The page shown: the newest, or the one after this cursor.
    let after = RwSignal::new(None::<String>);
    Effect::new(move |_| {
        // A new search or filter starts from the newest again.
        q.track();
        status.track();
        ticket_type.track();
        after.set(None);
    });
    let types = Resource::new(move || slug.get(), ticket_type_names);
    let detail = Resource::new(
        move || (slug.get(), selected.get()),
        |(slug, code)| async move {
            match code {
                Some(code) => registration_detail(slug, code).await.map(Some),
                None => Ok(None),
            }
        },
    );
    let cancel = ServerAction::<CancelOrder>::new();
    let approve = ServerAction::<ApproveOrder>::new();
    let rows = Resource::new(
        move || {
            (
                slug.get(),
                q.get(),
                status.get(),
                ticket_type.get(),
                after.get(),
                cancel.version().get() + approve.version().get(),
            )
        },
        |(slug, q, status, tt, after, _)| {
            list_registrations(slug, Some(q), Some(tt), Some(status), after)
        },
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
            <label class="block">"Ticket type"
                <select class="input" on:change=move |ev| ticket_type.set(event_target_value(&ev))>
                    <option value="">"All"</option>
                    <Suspense>
                        {move || Suspend::new(async move {
                            types.await.map(|names| names.into_iter().map(|n| view! { <option value=n.clone()>{n.clone()}</option> }).collect::<Vec<_>>())
                        })}
                    </Suspense>
                </select>
            </label>
            <label class="block">"Status"
                <select class="input" on:change=move |ev| status.set(event_target_value(&ev))>
                    <option value="">"All"</option>
                    {OrderStatus::ALL.iter().map(|s| view! { <option value=s.as_str()>{status_label(*s)}</option> }).collect::<Vec<_>>()}
                </select>
            </label>
            <a class="btn" rel="external" href=csv data-testid="export-csv">"Export CSV"</a>
        </div>
        <FormError error=error_of(cancel.value())/>
        <FormError error=error_of(approve.value())/>
        <Transition fallback=|| view! { <crate::look::Loading/> }>
            <ErrorBoundary fallback=error_list>
                {move || Suspend::new(async move {
                    rows.await.map(|rows| {
                        let next = (rows.len() >= PAGE).then(|| rows.last().map(|r| r.cursor.clone())).flatten();
                        let paged = after.get_untracked().is_some();
                        view! {
                        {(paged || next.is_some()).then(|| view! {
                            <p class="text-sm text-slate-600 my-2" data-testid="registrations-paging">
                                {format!("Showing {} orders per page, newest first. ", PAGE)}
                                {paged.then(|| view! { <button class="underline mr-3" on:click=move |_| after.set(None)>"Newest"</button> })}
                                {next.map(|c| view! { <button class="underline" on:click=move |_| after.set(Some(c.clone()))>"Older orders"</button> })}
                            </p>
                        })}
                        {(rows.is_empty() && !paged).then(|| view! {
                            <p class="empty my-2" data-testid="no-registrations">"No orders match. Orders show here as soon as people register."</p>
                        })}
                        <div class="overflow-x-auto" tabindex="0" role="region" aria-label="Registrations">
                        <table class="w-full" data-testid="registrations">
                            <thead><tr class="text-left"><th>"Order"</th><th>"Name"</th><th>"Email"</th><th>"Ticket"</th><th>"Qty"</th><th>"Status"</th><th>"Total"</th><th></th></tr></thead>
                            <tbody>
                                {rows.into_iter().map(|r| {
                                    let (approve_code, cancel_code) = (r.order_code.clone(), r.order_code.clone());
                                    let awaiting = r.status == OrderStatus::AwaitingApproval;
                                    let open = !matches!(r.status, OrderStatus::Cancelled | OrderStatus::Refunded);
                                    let label = match r.status {
                                        OrderStatus::AwaitingApproval => "Decline",
                                        OrderStatus::Confirmed if r.total_minor > 0 => "Cancel and refund",
                                        _ => "Cancel",
                                    };
                                    view! {
                                    <tr>
                                        <td><button class="underline font-mono" data-testid="order-detail-open" id=format!("order-{}", r.order_code)
                                            on:click={ let code = r.order_code.clone(); move |_| selected.set(Some(code.clone())) }>{r.order_code.clone()}</button></td>
                                        <td>{r.name}</td><td>{r.email}</td>
                                        <td>{r.ticket_type}</td><td>{r.quantity}</td><td>{r.status.as_str()}</td><td>{r.total}</td>
                                        <td class="flex gap-2">
                                        {awaiting.then(|| view! {
                                            <ActionForm action=approve>
                                                <input type="hidden" name="slug" value=slug.get_untracked()/>
                                                <input type="hidden" name="order_code" value=approve_code/>
                                                <button type="submit" class="underline text-green-700">"Approve"</button>
                                            </ActionForm>
                                        })}
                                        {open.then(|| {
                                            let warning = match r.status {
                                                OrderStatus::AwaitingApproval => "The buyer is told, and the seat goes back on sale.",
                                                OrderStatus::Confirmed if r.total_minor > 0 => "The tickets stop working and the payment goes back to the buyer's card. This cannot be undone.",
                                                _ => "The tickets stop working and the seats go back on sale. This cannot be undone.",
                                            };
                                            view! {
                                            <details data-testid="cancel-order">
                                                <summary class="cursor-pointer underline text-red-700">{label} "…"</summary>
                                                <ActionForm action=cancel attr:class="space-y-1 p-2 sm:min-w-[16rem]">
                                                    <input type="hidden" name="slug" value=slug.get_untracked()/>
                                                    <input type="hidden" name="order_code" value=cancel_code.clone()/>
                                                    <p class="text-sm">{warning}</p>
                                                    <button type="submit" class="btn bg-red-700 hover:bg-red-800">"Yes, " {label.to_lowercase()}</button>
                                                </ActionForm>
                                            </details>
                                        }})}
                                        </td>
                                    </tr>
                                    }
                                }).collect::<Vec<_>>()}
                            </tbody>
                        </table>
                        </div>
                        }
                    })
                })}
            </ErrorBoundary>
        </Transition>
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                detail.await.map(|d| d.map(|d| {
                    // The panel takes focus when it opens and gives it back to
                    // the order's button when it closes.
                    let opener = format!("order-{}", d.order_code);
                    Effect::new(move |_| crate::look::focus_soon("order-detail-heading"));
                    view! {
                    <div class="card my-3 space-y-1" data-testid="order-detail" role="region" aria-labelledby="order-detail-heading">
                        <h3 class="font-semibold" id="order-detail-heading" tabindex="-1">"Order " <code>{d.order_code}</code> " · " {d.status.as_str()} " · " {d.total}</h3>
                        <p>{d.name} " <" {d.email} "> · ordered " {d.ordered_at}</p>
                        {d.discount.map(|x| view! { <p>"Discount: " {x}</p> })}
                        <p class="font-semibold mt-2">"Tickets"</p>
                        <ul class="list-disc pl-6">
                            {d.tickets.into_iter().map(|t| view! {
                                <li><code>{t.code}</code> " · " {t.ticket_type} {t.voided.then_some(" · voided")}</li>
                            }).collect::<Vec<_>>()}
                        </ul>
                        {(!d.answers.is_empty()).then(|| view! {
                            <p class="font-semibold mt-2">"Answers"</p>
                            <dl class="grid grid-cols-2 gap-x-4" data-testid="order-answers">
                                {d.answers.clone().into_iter().map(|a| view! { <dt>{a.question}</dt><dd>{a.answer}</dd> }).collect::<Vec<_>>()}
                            </dl>
                        })}
                        {(!d.payments.is_empty()).then(|| view! {
                            <p class="font-semibold mt-2">"Payments"</p>
                            <ul class="list-disc pl-6">
                                {d.payments.clone().into_iter().map(|p| view! { <li>{p.amount} " · " {p.status.as_str()} " · " {p.at}</li> }).collect::<Vec<_>>()}
                            </ul>
                        })}
                        {d.refunded.map(|r| view! { <p>"Refunded: " {r}</p> })}
                        <button class="text-sm underline" on:click=move |_| {
                            selected.set(None);
                            crate::look::focus(&opener);
                        }>"Close"</button>
                    </div>
                    }
                }))
            })}
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

#[cfg(all(test, feature = "ssr"))]
mod paging_tests {
    #[test]
    fn the_page_size_is_the_servers() {
        assert_eq!(super::PAGE as i64, services::registrations::list::LIST_PAGE);
    }

    #[test]
    fn cursors_round_trip() {
        let c = (chrono::Utc::now(), "AB12CD".to_owned());
        assert_eq!(super::parse_cursor(&super::cursor_text(&c)).unwrap(), c);
        assert!(super::parse_cursor("yesterday~X").is_err());
        assert!(super::parse_cursor("nothing").is_err());
    }
}
