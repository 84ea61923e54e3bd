//! One event's page in the organiser's dashboard: figures and tickets.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use crate::error::AppError;
use crate::forms::{error_list, error_of, FormError};
use crate::views::EventView;

/// A ticket type as the organiser sees it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TicketTypeRow {
    /// Name.
    pub name: String,
    /// Formatted price or "Free".
    pub price: String,
    /// Sold (limited types only).
    pub sold: Option<i64>,
    /// Left; None when unlimited.
    pub available: Option<i64>,
    /// Hidden from buyers.
    pub hidden: bool,
    /// Sales window and approval, in words (empty when always on sale).
    pub rules: String,
}

/// A promo code as the organiser sees it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PromoCodeRow {
    /// The code.
    pub code: String,
    /// What it does (and when it is valid), in words.
    pub effect: String,
    /// Uses so far, of the limit if any ("3/10").
    pub uses: String,
}

/// An event with its figures and tickets.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EventOverviewData {
    /// The event.
    pub event: EventView,
    /// Registrations, as counted by analytics from the bus.
    pub registrations: i64,
    /// Reception visits (entries), from analytics.
    pub reception_visits: i64,
    /// Distinct attendees who visited Reception, from analytics.
    pub reception_visitors: i64,
    /// Ticket types, including hidden ones.
    pub tickets: Vec<TicketTypeRow>,
    /// Promo codes.
    pub promo_codes: Vec<PromoCodeRow>,
    /// Sites allowed to embed the registration widget.
    pub embed_origins: Vec<String>,
    /// The `<script>` tag to paste into those sites.
    pub embed_snippet: String,
}

/// An event of the signed-in organiser's organisation; others' events are "not found".
#[server(prefix = "/fn", endpoint = "event_overview")]
pub async fn event_overview(slug: String) -> Result<EventOverviewData, AppError> {
    let platform = crate::context::platform()?;
    let me = super::current_organiser().await?;
    use protocol::states::{PromoKind, Visibility};
    use services::registrations::{promo, ticket_types};
    use services::time::window_words;
    let event = services::events::get_for_org(&platform.pool, &me, &slug).await?;
    let stats = analytics::event_stats(&platform.pool, event.id).await?;
    let offers = ticket_types::offers(&platform.pool, event.id, true, None).await?;
    let tickets = offers
        .iter()
        .map(|o| {
            let view = crate::registration::OfferView::from(o);
            TicketTypeRow {
                name: view.name,
                price: view.price,
                sold: o.sold,
                available: o.available,
                hidden: o.ticket_type.visibility == Visibility::Hidden,
                rules: ticket_rules(&o.ticket_type, &event.time_zone),
            }
        })
        .collect();
    let promo_codes = promo::list(&platform.pool, event.id)
        .await?
        .into_iter()
        .map(|p| {
            let mut effect = match p.kind {
                PromoKind::Percent => format!("{}% off", p.value),
                PromoKind::Fixed => {
                    let currency = p.currency.as_deref().unwrap_or_default();
                    format!("{} off", services::domain::format_money(p.value, currency))
                }
                PromoKind::Unlock => "unlocks a hidden ticket".to_owned(),
            };
            let window = window_words(p.valid_from, p.valid_until, &event.time_zone);
            if !window.is_empty() {
                effect = format!("{effect} · valid {window}");
            }
            let uses = match p.max_uses {
                Some(m) => format!("{}/{m}", p.used),
                None => p.used.to_string(),
            };
            PromoCodeRow {
                code: p.code,
                effect,
                uses,
            }
        })
        .collect();
    let embed_origins = services::events::embed_origins(&platform.pool, &event.slug).await?;
    let embed_snippet = format!(
        "<script src=\"{}/embed.js\" data-event=\"{}\"></script>",
        platform.public_url, event.slug
    );
    Ok(EventOverviewData {
        embed_origins,
        embed_snippet,
        promo_codes,
        event: EventView::from(&event),
        registrations: stats.registrations,
        reception_visits: stats.reception_visits,
        reception_visitors: stats.reception_visitors,
        tickets,
    })
}

/// A ticket type's sales window and approval rule, in words.
#[cfg(feature = "ssr")]
fn ticket_rules(t: &services::registrations::ticket_types::TicketType, tz: &str) -> String {
    let mut parts = Vec::new();
    let window = services::time::window_words(t.sales_open_at, t.sales_close_at, tz);
    if !window.is_empty() {
        parts.push(format!("on sale {window}"));
    }
    if t.requires_approval {
        parts.push("needs approval".to_owned());
    }
    parts.join(" · ")
}

/// An optional whole-number form field: empty means `None`, anything else must parse.
#[cfg(feature = "ssr")]
fn whole_number(field: &str, value: &Option<String>) -> Result<Option<i32>, AppError> {
    match value.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => s.parse().map(Some).map_err(|_| {
            AppError::new(
                crate::error::ErrorKind::Invalid,
                format!("{field} must be a whole number"),
            )
        }),
    }
}

/// An optional `datetime-local` form field in the event's time zone.
#[cfg(feature = "ssr")]
fn local_instant(
    field: &str,
    value: &Option<String>,
    tz: &str,
) -> Result<Option<chrono::DateTime<chrono::Utc>>, AppError> {
    Ok(services::time::parse_local_opt(
        field,
        value.as_deref(),
        tz,
    )?)
}

/// Adds a ticket type. `quota` empty = unlimited; ticket types naming the same
/// `quota_name` share one quota.
#[server(prefix = "/fn", endpoint = "create_ticket_type")]
pub async fn create_ticket_type(
    slug: String,
    name: String,
    description: Option<String>,
    price: Option<String>,
    currency: Option<String>,
    quota: Option<String>,
    quota_name: Option<String>,
    min_per_order: Option<String>,
    max_per_order: Option<String>,
    hidden: Option<String>,
    sales_open: Option<String>,
    sales_close: Option<String>,
    requires_approval: Option<String>,
) -> Result<(), AppError> {
    let platform = crate::context::platform()?;
    let me = super::current_organiser().await?;
    use protocol::states::Visibility;
    let event = services::events::get_for_org(&platform.pool, &me, &slug).await?;
    let tz = event.time_zone.as_str();
    let input = services::registrations::ticket_types::NewTicketType {
        name: &name,
        description: description.as_deref().unwrap_or(""),
        price: price.as_deref().unwrap_or(""),
        currency: currency.as_deref().unwrap_or("EUR"),
        quota_size: whole_number("quota", &quota)?,
        quota_name: quota_name.as_deref().unwrap_or(""),
        min_per_order: whole_number("minimum per order", &min_per_order)?.unwrap_or(1),
        max_per_order: whole_number("maximum per order", &max_per_order)?.unwrap_or(10),
        visibility: if crate::forms::checked(&hidden) {
            Visibility::Hidden
        } else {
            Visibility::Public
        },
        sales_open_at: local_instant("sales open", &sales_open, tz)?,
        sales_close_at: local_instant("sales close", &sales_close, tz)?,
        requires_approval: crate::forms::checked(&requires_approval),
    };
    services::registrations::ticket_types::create(&platform.pool, &me, &slug, input).await?;
    Ok(())
}

/// Adds a promo code: `kind` percent (value = percent), fixed (value = amount) or
/// unlock (opens the hidden `ticket_type`); `ticket_type` limits discounts to one type.
#[server(prefix = "/fn", endpoint = "create_promo_code")]
pub async fn create_promo_code(
    slug: String,
    code: String,
    kind: String,
    value: Option<String>,
    ticket_type: Option<String>,
    max_uses: Option<String>,
    valid_from: Option<String>,
    valid_until: Option<String>,
) -> Result<(), AppError> {
    let platform = crate::context::platform()?;
    let me = super::current_organiser().await?;
    let event = services::events::get_for_org(&platform.pool, &me, &slug).await?;
    let tz = event.time_zone.as_str();
    let max_uses = whole_number("usage limit", &max_uses)?;
    let input = services::registrations::promo::NewPromoCode {
        code: &code,
        kind: &kind,
        value: value.as_deref().unwrap_or(""),
        ticket_type: ticket_type.as_deref().unwrap_or(""),
        max_uses,
        valid_from: local_instant("valid from", &valid_from, tz)?,
        valid_until: local_instant("valid until", &valid_until, tz)?,
    };
    services::registrations::promo::create(&platform.pool, &me, &slug, input).await?;
    Ok(())
}

/// Sets the sites (one per line) allowed to embed the registration widget.
#[server(prefix = "/fn", endpoint = "set_embed_origins")]
pub async fn set_embed_origins(slug: String, origins: String) -> Result<(), AppError> {
    let platform = crate::context::platform()?;
    let me = super::current_organiser().await?;
    services::events::set_embed_origins(&platform.pool, &me, &slug, &origins).await?;
    Ok(())
}

/// The event page of the dashboard.
#[component]
pub fn EventAdminPage() -> impl IntoView {
    let params = use_params_map();
    let slug = move || params.read().get("slug").unwrap_or_default();
    let add = ServerAction::<CreateTicketType>::new();
    let add_code = ServerAction::<CreatePromoCode>::new();
    let embed = ServerAction::<SetEmbedOrigins>::new();
    let data = Resource::new(
        move || {
            (
                slug(),
                add.version().get(),
                add_code.version().get(),
                embed.version().get(),
            )
        },
        |(slug, _, _, _)| event_overview(slug),
    );
    view! {
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            <ErrorBoundary fallback=error_list>
                {move || Suspend::new(async move {
                    data.await.map(|o| {
                        let public = format!("/e/{}", o.event.slug);
                        view! {
                            <h1 class="text-2xl font-bold">{o.event.name}</h1>
                            <p class="text-slate-600">{o.event.starts} " – " {o.event.ends}</p>
                            <p class="my-2">"Public page: "<a class="underline" href=public.clone()>{public.clone()}</a></p>
                            <div class="grid grid-cols-3 gap-4 my-6">
                                <div class="card"><p class="text-sm">"Registrations"</p>
                                    <p class="text-3xl font-bold" data-testid="stat-registrations">{o.registrations}</p></div>
                                <div class="card"><p class="text-sm">"Reception visits"</p>
                                    <p class="text-3xl font-bold" data-testid="stat-visits">{o.reception_visits}</p></div>
                                <div class="card"><p class="text-sm">"Reception visitors"</p>
                                    <p class="text-3xl font-bold" data-testid="stat-visitors">{o.reception_visitors}</p></div>
                            </div>
                            <p class="text-sm text-slate-500">"Figures come from the analytics pipeline and update within seconds."</p>
                            <h2 class="text-xl font-semibold mt-6">"Tickets"</h2>
                            <table class="w-full my-3" data-testid="ticket-types">
                                <thead><tr class="text-left"><th>"Ticket"</th><th>"Price"</th><th>"Sold"</th><th>"Left"</th><th>"Rules"</th></tr></thead>
                                <tbody>
                                    {o.tickets.into_iter().map(|t| view! {
                                        <tr>
                                            <td>{t.name}{if t.hidden { " (hidden)" } else { "" }}</td>
                                            <td>{t.price}</td>
                                            <td>{t.sold.map(|n| n.to_string()).unwrap_or_else(|| "–".into())}</td>
                                            <td>{t.available.map(|n| n.to_string()).unwrap_or_else(|| "unlimited".into())}</td>
                                            <td class="text-sm">{t.rules}</td>
                                        </tr>
                                    }).collect::<Vec<_>>()}
                                </tbody>
                            </table>
                            <h2 class="text-xl font-semibold mt-6">"Registration widget"</h2>
                            <p>"Paste this on your site:"</p>
                            <pre class="card text-sm overflow-x-auto" data-testid="embed-snippet">{o.embed_snippet}</pre>
                            <ActionForm action=embed attr:class="space-y-2 max-w-xl">
                                <input type="hidden" name="slug" value=o.event.slug.clone()/>
                                <label class="block">"Sites allowed to embed it (one per line)"
                                    <textarea class="input" name="origins" rows="3">{o.embed_origins.join("\n")}</textarea>
                                </label>
                                <FormError error=error_of(embed.value())/>
                                <button class="btn" type="submit">"Save sites"</button>
                            </ActionForm>
                            <h2 class="text-xl font-semibold mt-6">"Promo codes"</h2>
                            <ul class="my-2 list-disc pl-6" data-testid="promo-codes">
                                {o.promo_codes.into_iter().map(|p| view! {
                                    <li><code>{p.code}</code> " · " {p.effect} " · used " {p.uses}</li>
                                }).collect::<Vec<_>>()}
                            </ul>
                        }
                    })
                })}
            </ErrorBoundary>
        </Transition>
        <h3 class="text-lg font-semibold mt-4">"Add a ticket type"</h3>
        <ActionForm action=add attr:class="grid grid-cols-2 gap-3 max-w-xl">
            <input type="hidden" name="slug" value=slug/>
            <label class="block col-span-2">"Ticket name"<input class="input" name="name" required/></label>
            <label class="block col-span-2">"Ticket description"<input class="input" name="description"/></label>
            <label class="block">"Price"<input class="input" name="price" placeholder="0.00" inputmode="decimal"/></label>
            <label class="block">"Currency"<input class="input" name="currency" value="EUR"/></label>
            <label class="block">"Seats (empty = unlimited)"<input class="input" name="quota" inputmode="numeric"/></label>
            <label class="block">"Shared quota name (optional)"<input class="input" name="quota_name"/></label>
            <label class="block">"Minimum per order"<input class="input" name="min_per_order" value="1"/></label>
            <label class="block">"Maximum per order"<input class="input" name="max_per_order" value="10"/></label>
            <label class="block">"Sales open (event time)"<input class="input" type="datetime-local" name="sales_open"/></label>
            <label class="block">"Sales close (event time)"<input class="input" type="datetime-local" name="sales_close"/></label>
            <label class="block col-span-2"><input type="checkbox" name="hidden"/>" Hidden (not sold publicly)"</label>
            <label class="block col-span-2"><input type="checkbox" name="requires_approval"/>" Orders need my approval"</label>
            <div class="col-span-2"><FormError error=error_of(add.value())/></div>
            <button class="btn col-span-2" type="submit">"Add ticket type"</button>
        </ActionForm>
        <h3 class="text-lg font-semibold mt-4">"Add a promo code"</h3>
        <ActionForm action=add_code attr:class="grid grid-cols-2 gap-3 max-w-xl">
            <input type="hidden" name="slug" value=slug/>
            <label class="block">"Code"<input class="input" name="code" required/></label>
            <label class="block">"Kind"
                <select class="input" name="kind">
                    <option value="percent">"Percent off"</option>
                    <option value="fixed">"Amount off"</option>
                    <option value="unlock">"Unlock hidden ticket"</option>
                </select>
            </label>
            <label class="block">"Value"<input class="input" name="value" placeholder="15 or 10.00"/></label>
            <label class="block">"For ticket (name)"<input class="input" name="ticket_type"/></label>
            <label class="block">"Usage limit"<input class="input" name="max_uses" inputmode="numeric"/></label>
            <label class="block">"Valid from (event time)"<input class="input" type="datetime-local" name="valid_from"/></label>
            <label class="block">"Valid until (event time)"<input class="input" type="datetime-local" name="valid_until"/></label>
            <div class="col-span-2"><FormError error=error_of(add_code.value())/></div>
            <button class="btn col-span-2" type="submit">"Add promo code"</button>
        </ActionForm>
        <super::live::LiveAdmin slug=Signal::derive(slug)/>
        <super::questions::QuestionsEditor slug=Signal::derive(slug)/>
        <super::registrations::RegistrationsList slug=Signal::derive(slug)/>
    }
}
