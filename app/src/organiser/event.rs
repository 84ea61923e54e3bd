//! One event's page in the organiser's dashboard: figures and tickets.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::{Outlet, A};
use leptos_router::hooks::use_params_map;

use super::analytics::{Figures, LiveFigures};
use crate::error::AppError;
use crate::forms::{
    error_list, error_of, reset_on_success, rows, succeeded, successes, FormError, Saved,
};
use crate::views::EventView;

/// A ticket type as the organiser sees it, with its settings as the edit
/// form shows them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct TicketTypeRow {
    /// Ticket type id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Price as typed ("49.90"; empty when free).
    pub price_input: String,
    /// Currency code.
    pub currency: String,
    /// Seats of its quota; None when unlimited.
    pub quota: Option<i64>,
    /// Name of its quota, when limited (shared when other types name it too).
    pub quota_name: Option<String>,
    /// Minimum per order.
    pub min_per_order: i32,
    /// Maximum per order.
    pub max_per_order: i32,
    /// Sales open, as a `datetime-local` value in the event's zone.
    pub sales_open: String,
    /// Sales close, likewise.
    pub sales_close: String,
    /// Orders need approval.
    pub requires_approval: bool,
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
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct PromoCodeRow {
    /// Promo code id.
    pub id: String,
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
    /// Its figures, as analytics counted them from the bus.
    pub figures: Figures,
    /// Ticket types, including hidden ones.
    pub tickets: Vec<TicketTypeRow>,
    /// Promo codes.
    pub promo_codes: Vec<PromoCodeRow>,
    /// Sites allowed to embed the registration widget.
    pub embed_origins: Vec<String>,
    /// The `<script>` tag to paste into those sites.
    pub embed_snippet: String,
    /// Start as a `datetime-local` value in the event's zone (the edit form).
    pub starts_input: String,
    /// End, likewise.
    pub ends_input: String,
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
    let figures =
        super::analytics::figures_of(&platform.pool, &platform.analytics_pool, &event).await?;
    let offers = ticket_types::offers(&platform.pool, event.id, true, None).await?;
    let tickets = offers
        .iter()
        .map(|o| {
            let view = crate::registration::OfferView::from(o);
            let t = &o.ticket_type;
            let input = |at: Option<chrono::DateTime<chrono::Utc>>| {
                at.map(|at| services::time::local_input(at, &event.time_zone))
                    .unwrap_or_default()
            };
            TicketTypeRow {
                id: t.id.to_string(),
                name: view.name,
                description: t.description.clone(),
                price_input: match t.price_minor {
                    0 => String::new(),
                    p => services::domain::format_amount(p, &t.currency),
                },
                currency: t.currency.clone(),
                quota: o.quota.as_ref().map(|(_, size)| *size),
                quota_name: o.quota.as_ref().map(|(name, _)| name.clone()),
                min_per_order: t.min_per_order,
                max_per_order: t.max_per_order,
                sales_open: input(t.sales_open_at),
                sales_close: input(t.sales_close_at),
                requires_approval: t.requires_approval,
                price: view.price,
                sold: o.sold,
                available: o.available,
                hidden: t.visibility == Visibility::Hidden,
                rules: ticket_rules(t, &event.time_zone),
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
                id: p.id.to_string(),
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
    let local = |at| services::time::local_input(at, &event.time_zone);
    Ok(EventOverviewData {
        starts_input: local(event.starts_at),
        ends_input: local(event.ends_at),
        embed_origins,
        embed_snippet,
        promo_codes,
        event: EventView::from(&event),
        figures,
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

/// A ticket type's form fields as they arrive.
#[cfg(feature = "ssr")]
struct TicketFields<'a> {
    name: &'a str,
    description: &'a Option<String>,
    price: &'a Option<String>,
    currency: &'a Option<String>,
    quota: &'a Option<String>,
    quota_name: &'a Option<String>,
    min_per_order: &'a Option<String>,
    max_per_order: &'a Option<String>,
    hidden: &'a Option<String>,
    sales_open: &'a Option<String>,
    sales_close: &'a Option<String>,
    requires_approval: &'a Option<String>,
}

#[cfg(feature = "ssr")]
impl<'a> TicketFields<'a> {
    /// The service's input; times are read in the event's zone `tz`.
    fn parse(
        &self,
        tz: &str,
    ) -> Result<services::registrations::ticket_types::NewTicketType<'a>, AppError> {
        use protocol::states::Visibility;
        let text = |v: &'a Option<String>| v.as_deref().unwrap_or("");
        Ok(services::registrations::ticket_types::NewTicketType {
            name: self.name,
            description: text(self.description),
            price: text(self.price),
            currency: self.currency.as_deref().unwrap_or("EUR"),
            quota_size: whole_number("quota", self.quota)?,
            quota_name: text(self.quota_name),
            min_per_order: whole_number("minimum per order", self.min_per_order)?.unwrap_or(1),
            max_per_order: whole_number("maximum per order", self.max_per_order)?.unwrap_or(10),
            visibility: if crate::forms::checked(self.hidden) {
                Visibility::Hidden
            } else {
                Visibility::Public
            },
            sales_open_at: local_instant("sales open", self.sales_open, tz)?,
            sales_close_at: local_instant("sales close", self.sales_close, tz)?,
            requires_approval: crate::forms::checked(self.requires_approval),
        })
    }
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
    let event = services::events::get_for_org(&platform.pool, &me, &slug).await?;
    let fields = TicketFields {
        name: &name,
        description: &description,
        price: &price,
        currency: &currency,
        quota: &quota,
        quota_name: &quota_name,
        min_per_order: &min_per_order,
        max_per_order: &max_per_order,
        hidden: &hidden,
        sales_open: &sales_open,
        sales_close: &sales_close,
        requires_approval: &requires_approval,
    };
    let input = fields.parse(&event.time_zone)?;
    services::registrations::ticket_types::create(&platform.pool, &me, &slug, input).await?;
    Ok(())
}

/// Changes ticket type `id`: the same fields as adding one (its quota keeps
/// its name; `quota` empty = unlimited).
#[server(prefix = "/fn", endpoint = "update_ticket_type")]
pub async fn update_ticket_type(
    slug: String,
    id: String,
    name: String,
    description: Option<String>,
    price: Option<String>,
    currency: Option<String>,
    quota: Option<String>,
    min_per_order: Option<String>,
    max_per_order: Option<String>,
    hidden: Option<String>,
    sales_open: Option<String>,
    sales_close: Option<String>,
    requires_approval: Option<String>,
) -> Result<(), AppError> {
    let platform = crate::context::platform()?;
    let me = super::current_organiser().await?;
    let id = crate::error::parse_id("id", &id)?;
    let event = services::events::get_for_org(&platform.pool, &me, &slug).await?;
    let fields = TicketFields {
        name: &name,
        description: &description,
        price: &price,
        currency: &currency,
        quota: &quota,
        quota_name: &None,
        min_per_order: &min_per_order,
        max_per_order: &max_per_order,
        hidden: &hidden,
        sales_open: &sales_open,
        sales_close: &sales_close,
        requires_approval: &requires_approval,
    };
    let input = fields.parse(&event.time_zone)?;
    services::registrations::ticket_types::update(&platform.pool, &me, &slug, id, input).await?;
    // Seats a larger quota opened go to whoever waits for them first.
    services::registrations::waitlist::offer_open_seats(&platform.pool, id).await?;
    Ok(())
}

/// Removes ticket type `id`: deleted if it never sold, else hidden from
/// buyers (its orders keep it). Answers `"deleted"` or `"hidden"`.
#[server(prefix = "/fn", endpoint = "remove_ticket_type")]
pub async fn remove_ticket_type(slug: String, id: String) -> Result<String, AppError> {
    use services::registrations::ticket_types::{remove, Removed};
    let platform = crate::context::platform()?;
    let me = super::current_organiser().await?;
    let id = crate::error::parse_id("id", &id)?;
    Ok(match remove(&platform.pool, &me, &slug, id).await? {
        Removed::Deleted => "deleted",
        Removed::Hidden => "hidden",
    }
    .to_owned())
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

/// Changes the event's name, description, times (local to `time_zone`) and
/// time zone; its address stays.
#[server(prefix = "/fn", endpoint = "update_event")]
pub async fn update_event(
    slug: String,
    name: String,
    description: String,
    starts: String,
    ends: String,
    time_zone: String,
) -> Result<(), AppError> {
    let platform = crate::context::platform()?;
    let me = super::current_organiser().await?;
    let input = services::events::NewEvent {
        name: &name,
        slug: &slug,
        description: &description,
        starts_local: &starts,
        ends_local: &ends,
        time_zone: &time_zone,
    };
    services::events::update(&platform.pool, &me, &slug, &input).await?;
    Ok(())
}

/// Withdraws promo code `id`: deleted if never used, else ended now (orders
/// that used it keep it). Answers `"deleted"` or `"ended"`.
#[server(prefix = "/fn", endpoint = "withdraw_promo_code")]
pub async fn withdraw_promo_code(slug: String, id: String) -> Result<String, AppError> {
    use services::registrations::promo::{withdraw, Withdrawn};
    let platform = crate::context::platform()?;
    let me = super::current_organiser().await?;
    let id = crate::error::parse_id("id", &id)?;
    Ok(match withdraw(&platform.pool, &me, &slug, id).await? {
        Withdrawn::Deleted => "deleted",
        Withdrawn::Ended => "ended",
    }
    .to_owned())
}

/// Opens the event's live venue for the signed-in organiser as a host (a
/// moderator there, admitted without a ticket): signs this browser in to an
/// attendee session and goes to Reception.
#[server(prefix = "/fn", endpoint = "enter_as_host")]
pub async fn enter_as_host(slug: String) -> Result<(), AppError> {
    use crate::context::cookies;
    let platform = crate::context::platform()?;
    let me = super::current_organiser().await?;
    let event = services::events::get_for_org(&platform.pool, &me, &slug).await?;
    let signed_in = services::registrations::attendees::enter_as_host(
        &platform.pool,
        event.id,
        &me.email,
        &me.name,
    )
    .await?;
    cookies::set(
        cookies::ATTENDEE,
        &signed_in.token,
        services::accounts::SESSION_TTL.num_seconds(),
        platform.serves_https(),
    );
    leptos_axum::redirect(&format!("/e/{}/reception", event.slug));
    Ok(())
}

/// Sets the event's look: its logo and cover image (`https://…` or a path on
/// this site) and accent colour (`#rrggbb`); empty parts take the defaults.
#[server(prefix = "/fn", endpoint = "set_branding")]
pub async fn set_branding(
    slug: String,
    logo_url: Option<String>,
    cover_url: Option<String>,
    accent: Option<String>,
) -> Result<(), AppError> {
    let platform = crate::context::platform()?;
    let me = super::current_organiser().await?;
    services::events::set_branding(
        &platform.pool,
        &me,
        &slug,
        logo_url.as_deref().unwrap_or(""),
        cover_url.as_deref().unwrap_or(""),
        accent.as_deref().unwrap_or(""),
    )
    .await?;
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

/// The sections of an event's dashboard, each a page of its own:
/// (path below `/dashboard/events/{slug}`, name).
pub const SECTIONS: [(&str, &str); 10] = [
    ("", "Overview"),
    ("tickets", "Tickets"),
    ("questions", "Questions"),
    ("orders", "Orders"),
    ("stages", "Stages & apps"),
    ("sessions", "Sessions"),
    ("videos", "Videos"),
    ("agenda", "Agenda"),
    ("moderators", "Moderators"),
    ("webhooks", "Webhooks"),
];

/// `/dashboard/events/{slug}/…`: the sections' navigation above the section.
#[component]
pub fn EventAdminLayout() -> impl IntoView {
    let params = use_params_map();
    let slug = move || params.read().get("slug").unwrap_or_default();
    view! {
        <nav class="mb-6 flex flex-wrap gap-x-1 gap-y-2 border-b border-slate-200 pb-2" aria-label="Event sections" data-testid="event-sections">
            {SECTIONS.iter().map(|(path, name)| {
                let href = move || match *path {
                    "" => format!("/dashboard/events/{}", slug()),
                    p => format!("/dashboard/events/{}/{p}", slug()),
                };
                view! {
                    <A href=href exact=true attr:class="rounded px-3 py-1 text-sm hover:bg-slate-100 aria-[current=page]:bg-indigo-700 aria-[current=page]:text-white">{*name}</A>
                }
            }).collect::<Vec<_>>()}
        </nav>
        <Outlet/>
    }
}

/// The event's slug from the address.
fn slug_param() -> impl Fn() -> String + Copy + Send + Sync + 'static {
    let params = use_params_map();
    move || params.read().get("slug").unwrap_or_default()
}

/// Overview: the event, its figures (live), the way in as host, its details.
#[component]
pub fn OverviewSection() -> impl IntoView {
    let slug = slug_param();
    let details = ServerAction::<UpdateEvent>::new();
    let brand = ServerAction::<SetBranding>::new();
    let host = ServerAction::<EnterAsHost>::new();
    let done_details = successes(details.value());
    let done_brand = successes(brand.value());
    let data = Resource::new(
        move || (slug(), done_details.get(), done_brand.get()),
        |(slug, ..)| event_overview(slug),
    );
    view! {
        <Transition fallback=|| view! { <crate::look::Loading/> }>
            <ErrorBoundary fallback=error_list>
                {move || Suspend::new(async move {
                    data.await.map(|o| {
                        let public = format!("/e/{}", o.event.slug);
                        let slug = o.event.slug.clone();
                        let host_slug = slug.clone();
                        let details_form = event_details_form(details, &o);
                        let brand_form = branding_form(brand, &o);
                        view! {
                            <Title text=format!("{} · Dashboard", o.event.name)/>
                            <h1 class="text-2xl font-bold">{o.event.name.clone()}</h1>
                            <p class="text-slate-600">{o.event.starts} " – " {o.event.ends}</p>
                            <div class="my-2 flex flex-wrap items-center gap-4">
                                <span>"Public page: "<a class="underline" href=public.clone()>{public.clone()}</a></span>
                                <ActionForm action=host>
                                    <input type="hidden" name="slug" value=host_slug.clone()/>
                                    <button class="btn" type="submit" data-testid="enter-as-host">"Enter as host"</button>
                                </ActionForm>
                            </div>
                            <FormError error=error_of(host.value())/>
                            <LiveFigures slug=slug.clone() initial=o.figures.clone()/>
                            {details_form}
                            <Saved when=succeeded(details.value()) text="Event details saved."/>
                            {brand_form}
                            <Saved when=succeeded(brand.value()) text="The event's look is saved."/>
                        }
                    })
                })}
            </ErrorBoundary>
        </Transition>
    }
}

/// Tickets: ticket types, promo codes and the registration widget.
#[component]
pub fn TicketsSection() -> impl IntoView {
    let slug = slug_param();
    let add = ServerAction::<CreateTicketType>::new();
    let update = ServerAction::<UpdateTicketType>::new();
    let remove = ServerAction::<RemoveTicketType>::new();
    let add_code = ServerAction::<CreatePromoCode>::new();
    let embed = ServerAction::<SetEmbedOrigins>::new();
    let withdraw = ServerAction::<WithdrawPromoCode>::new();
    let done_add = successes(add.value());
    let done_update = successes(update.value());
    let done_remove = successes(remove.value());
    let done_add_code = successes(add_code.value());
    let done_embed = successes(embed.value());
    let done_withdraw = successes(withdraw.value());
    let data = Resource::new(
        move || {
            (
                slug(),
                done_add.get(),
                done_update.get(),
                done_remove.get(),
                done_add_code.get(),
                done_embed.get(),
                done_withdraw.get(),
            )
        },
        |(slug, ..)| event_overview(slug),
    );
    let (add_form, code_form) = (NodeRef::new(), NodeRef::new());
    reset_on_success(add_form, add.value());
    reset_on_success(code_form, add_code.value());
    let removed = Signal::derive(move || match remove.value().get() {
        Some(Ok(how)) if how == "hidden" => {
            Some("Hidden from buyers: it has orders, which keep it.")
        }
        Some(Ok(_)) => Some("Ticket type deleted."),
        _ => None,
    });
    view! {
        <Title text="Tickets · Dashboard"/>
        <h1 class="text-2xl font-bold">"Tickets"</h1>
        <Transition fallback=|| view! { <crate::look::Loading/> }>
            <ErrorBoundary fallback=error_list>
                {move || Suspend::new(async move {
                    data.await.map(|o| {
                        let slug = o.event.slug.clone();
                        view! {
                            <Saved when=succeeded(update.value()) text="Ticket type saved."/>
                            {move || removed.get().map(|m| view! { <p class="notice-ok" role="status">{m}</p> })}
                            <FormError error=error_of(remove.value())/>
                            <div class="overflow-x-auto" tabindex="0" role="region" aria-label="Ticket types">
                            <table class="w-full my-3" data-testid="ticket-types">
                                <thead><tr class="text-left"><th>"Ticket"</th><th>"Price"</th><th>"Sold"</th><th>"Left"</th><th>"Rules"</th><th><span class="sr-only">"Actions"</span></th></tr></thead>
                                <tbody>
                                    {rows(o.tickets.clone(), {
                                        let slug = slug.clone();
                                        move |t| {
                                        let slug = slug.clone();
                                        view! {
                                        <tr class="align-top">
                                            <td>{t.name.clone()}{if t.hidden { " (hidden)" } else { "" }}</td>
                                            <td>{t.price.clone()}</td>
                                            <td>{t.sold.map(|n| n.to_string()).unwrap_or_else(|| "–".into())}</td>
                                            <td>{t.available.map(|n| n.to_string()).unwrap_or_else(|| "unlimited".into())}</td>
                                            <td class="text-sm">{t.rules.clone()}</td>
                                            <td class="text-sm">{ticket_actions(slug, t, update, remove)}</td>
                                        </tr>
                                    }}})}
                                </tbody>
                            </table>
                            </div>
                        }
                    })
                })}
            </ErrorBoundary>
        </Transition>
        <h3 class="text-lg font-semibold mt-4">"Add a ticket type"</h3>
        <Saved when=succeeded(add.value()) text="Ticket type added."/>
        <ActionForm action=add node_ref=add_form attr:class="grid grid-cols-2 gap-3 max-w-xl" attr:data-testid="add-ticket-type">
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
        <h2 class="text-xl font-semibold mt-8">"Promo codes"</h2>
        <Transition fallback=|| view! { <crate::look::Loading/> }>
            <ErrorBoundary fallback=error_list>
                {move || Suspend::new(async move {
                    data.await.map(|o| {
                        let slug = o.event.slug.clone();
                        view! {
                            {move || withdraw.value().get().and_then(Result::ok).map(|how| view! {
                                <p class="notice-ok" role="status">{if how == "ended" {
                                    "Promo code ended: the orders that used it keep their discount."
                                } else {
                                    "Promo code deleted."
                                }}</p>
                            })}
                            <FormError error=error_of(withdraw.value())/>
                            {o.promo_codes.is_empty().then(|| view! {
                                <p class="empty my-2" data-testid="no-promo-codes">"No promo codes yet."</p>
                            })}
                            <ul class="my-2 space-y-1" data-testid="promo-codes">
                                {rows(o.promo_codes.clone(), {
                                    let slug = slug.clone();
                                    move |p| {
                                    let slug = slug.clone();
                                    view! {
                                    <li class="flex flex-wrap items-start gap-x-3">
                                        <span><code>{p.code.clone()}</code> " · " {p.effect} " · used " {p.uses}</span>
                                        <details>
                                            <summary class="cursor-pointer underline text-sm">"Withdraw…"<span class="sr-only">" " {p.code.clone()}</span></summary>
                                            <ActionForm action=withdraw attr:class="flex items-center gap-2 p-2">
                                                <input type="hidden" name="slug" value=slug.clone()/>
                                                <input type="hidden" name="id" value=p.id.clone()/>
                                                <span class="text-sm">{format!("Withdraw {}? A code already used ends now instead.", p.code)}</span>
                                                <button class="btn bg-red-700 hover:bg-red-800" type="submit">"Yes, withdraw it"</button>
                                            </ActionForm>
                                        </details>
                                    </li>
                                }}})}
                            </ul>
                        }
                    })
                })}
            </ErrorBoundary>
        </Transition>
        <h3 class="text-lg font-semibold mt-4">"Add a promo code"</h3>
        <Saved when=succeeded(add_code.value()) text="Promo code added."/>
        <ActionForm action=add_code node_ref=code_form attr:class="grid grid-cols-2 gap-3 max-w-xl">
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
        <Transition fallback=|| view! { <crate::look::Loading/> }>
            <ErrorBoundary fallback=error_list>
                {move || Suspend::new(async move {
                    data.await.map(|o| {
                        let embed_slug = o.event.slug.clone();
                        view! {
                            <h2 class="text-xl font-semibold mt-6">"Registration widget"</h2>
                            <p>"Paste this on your site:"</p>
                            <pre class="card text-sm overflow-x-auto" tabindex="0" aria-label="Embed code" data-testid="embed-snippet">{o.embed_snippet}</pre>
                            <ActionForm action=embed attr:class="space-y-2 max-w-xl">
                                <input type="hidden" name="slug" value=embed_slug.clone()/>
                                <label class="block">"Sites allowed to embed it (one per line)"
                                    <textarea class="input" name="origins" rows="3">{o.embed_origins.join("\n")}</textarea>
                                </label>
                                <FormError error=error_of(embed.value())/>
                                <button class="btn" type="submit">"Save sites"</button>
                            </ActionForm>
                        }
                    })
                })}
            </ErrorBoundary>
        </Transition>
    }
}

/// Questions: the registration form's custom questions.
#[component]
pub fn QuestionsSection() -> impl IntoView {
    let slug = slug_param();
    view! {
        <Title text="Questions · Dashboard"/>
        <super::questions::QuestionsEditor slug=Signal::derive(slug)/>
    }
}

/// Orders: the registrations list, order details, approval, cancellation.
#[component]
pub fn OrdersSection() -> impl IntoView {
    let slug = slug_param();
    view! {
        <Title text="Orders · Dashboard"/>
        <super::registrations::RegistrationsList slug=Signal::derive(slug)/>
    }
}

/// Stages & apps: stages, their sources and captions, the App store.
#[component]
pub fn StagesSection() -> impl IntoView {
    let slug = slug_param();
    view! {
        <Title text="Stages & apps · Dashboard"/>
        <super::live::LiveAdmin slug=Signal::derive(slug)/>
    }
}

/// Agenda: sessions, speakers and sponsors.
#[component]
pub fn AgendaSection() -> impl IntoView {
    let slug = slug_param();
    view! {
        <Title text="Agenda · Dashboard"/>
        <super::agenda::AgendaAdmin slug=Signal::derive(slug) stages_changed=Signal::derive(|| 0)/>
    }
}

/// Moderators: who moderates the live event.
#[component]
pub fn ModeratorsSection() -> impl IntoView {
    let slug = slug_param();
    view! {
        <Title text="Moderators · Dashboard"/>
        <super::live::Moderators slug=Signal::derive(slug)/>
    }
}

/// A ticket type's "Edit" and "Remove" (each behind a disclosure, the removal
/// asking for confirmation), both plain forms that work before hydration.
fn ticket_actions(
    slug: String,
    t: TicketTypeRow,
    update: ServerAction<UpdateTicketType>,
    remove: ServerAction<RemoveTicketType>,
) -> impl IntoView {
    let sold = t.sold.unwrap_or(0) > 0;
    let name = t.name.clone();
    let (slug2, id2) = (slug.clone(), t.id.clone());
    let question = match t.sold {
        Some(n) if n > 0 => {
            format!("{name} has sold tickets: it will be hidden from buyers, and its orders keep it.")
        }
        Some(_) => format!("Delete {name}? Promo codes made for it alone go with it."),
        None => format!(
            "Remove {name}? If it has sold tickets it is hidden from buyers instead, and its orders keep it."
        ),
    };
    let seats_label = match &t.quota_name {
        Some(q) if *q != t.name => format!("Seats of the shared quota “{q}” (empty = unlimited)"),
        _ => "Seats (empty = unlimited)".to_owned(),
    };
    let quota = t.quota.map(|q| q.to_string()).unwrap_or_default();
    view! {
        <details data-testid="edit-ticket">
            <summary class="cursor-pointer underline">"Edit"<span class="sr-only">" " {name.clone()}</span></summary>
            <ActionForm action=update attr:class="grid grid-cols-2 gap-2 sm:min-w-[22rem] p-2">
                <input type="hidden" name="slug" value=slug.clone()/>
                <input type="hidden" name="id" value=t.id.clone()/>
                <label class="block col-span-2">"Ticket name"<input class="input" name="name" value=t.name.clone() required/></label>
                <label class="block col-span-2">"Ticket description"<input class="input" name="description" value=t.description.clone()/></label>
                <label class="block">"Price"<input class="input" name="price" value=t.price_input.clone() inputmode="decimal"/></label>
                <label class="block">"Currency"<input class="input" name="currency" value=t.currency.clone()/></label>
                <label class="block col-span-2">{seats_label}
                    <input class="input" name="quota" inputmode="numeric" value=quota.clone()/></label>
                <label class="block">"Minimum per order"<input class="input" name="min_per_order" value=t.min_per_order.to_string()/></label>
                <label class="block">"Maximum per order"<input class="input" name="max_per_order" value=t.max_per_order.to_string()/></label>
                <label class="block">"Sales open (event time)"<input class="input" type="datetime-local" name="sales_open" value=t.sales_open.clone()/></label>
                <label class="block">"Sales close (event time)"<input class="input" type="datetime-local" name="sales_close" value=t.sales_close.clone()/></label>
                <label class="block col-span-2"><input type="checkbox" name="hidden" checked=t.hidden/>" Hidden (not sold publicly)"</label>
                <label class="block col-span-2"><input type="checkbox" name="requires_approval" checked=t.requires_approval/>" Orders need my approval"</label>
                <div class="col-span-2"><FormError error=error_of(update.value())/></div>
                <button class="btn col-span-2" type="submit">"Save ticket type"</button>
            </ActionForm>
        </details>
        <details data-testid="remove-ticket">
            <summary class="cursor-pointer underline">"Remove…"<span class="sr-only">" " {name.clone()}</span></summary>
            <div class="p-2 space-y-2 sm:min-w-[16rem]">
                <p>{question}</p>
                <ActionForm action=remove>
                    <input type="hidden" name="slug" value=slug2.clone()/>
                    <input type="hidden" name="id" value=id2.clone()/>
                    <button class="btn bg-red-700 hover:bg-red-800" type="submit">{if sold { "Yes, hide it" } else { "Yes, remove it" }}</button>
                </ActionForm>
            </div>
        </details>
    }
}

/// "The event's look": logo, cover image and accent colour, behind a disclosure.
fn branding_form(brand: ServerAction<SetBranding>, o: &EventOverviewData) -> impl IntoView {
    let e = o.event.clone();
    view! {
        <details class="card my-4" data-testid="event-branding">
            <summary class="cursor-pointer font-semibold">"The event's look"</summary>
            <p class="text-sm text-slate-600 mt-2">"Shown on the event's page, in Reception and in the registration widget."</p>
            <ActionForm action=brand attr:class="grid gap-3 max-w-xl mt-3">
                <input type="hidden" name="slug" value=e.slug.clone()/>
                <label class="block">"Logo (https:// address or a path on this site)"
                    <input class="input" name="logo_url" value=e.logo_url.clone() placeholder="https://…"/></label>
                <label class="block">"Cover image (https:// address or a path on this site)"
                    <input class="input" name="cover_url" value=e.cover_url.clone() placeholder="https://…"/></label>
                <label class="block">"Accent colour (#rrggbb; empty for Convene's)"
                    <input class="input" name="accent" value=e.accent.clone() placeholder="#1d4ed8" pattern="#[0-9a-fA-F]{6}"/></label>
                <FormError error=error_of(brand.value())/>
                <button class="btn" type="submit">"Save the look"</button>
            </ActionForm>
        </details>
    }
}

/// "Edit the event's details", behind a disclosure.
fn event_details_form(details: ServerAction<UpdateEvent>, o: &EventOverviewData) -> impl IntoView {
    let e = o.event.clone();
    let (starts, ends) = (o.starts_input.clone(), o.ends_input.clone());
    view! {
        <details class="card my-4" data-testid="event-details">
            <summary class="cursor-pointer font-semibold">"Edit the event's details"</summary>
            <ActionForm action=details attr:class="grid grid-cols-2 gap-3 max-w-xl mt-3">
                <input type="hidden" name="slug" value=e.slug.clone()/>
                <label class="block col-span-2">"Event name"<input class="input" name="name" value=e.name.clone() required/></label>
                <label class="block col-span-2">"Description"<textarea class="input" name="description" rows="4">{e.description.clone()}</textarea></label>
                <label class="block">"Start (event time)"<input class="input" type="datetime-local" name="starts" value=starts.clone() required/></label>
                <label class="block">"End (event time)"<input class="input" type="datetime-local" name="ends" value=ends.clone() required/></label>
                <label class="block col-span-2">"Time zone"<input class="input" name="time_zone" value=e.time_zone.clone() required/></label>
                <div class="col-span-2"><FormError error=error_of(details.value())/></div>
                <button class="btn col-span-2" type="submit">"Save details"</button>
            </ActionForm>
        </details>
    }
}
