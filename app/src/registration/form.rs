//! The order form: the landing page `/e/{slug}` and the widget
//! `/e/{slug}/widget` (the form alone, resizing its iframe), the receipt, the
//! custom questions and the waiting list.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;
use protocol::states::QuestionKind;

use super::{
    public_event, EventPage, JoinWaitlist, OfferView, QuestionView, Register, RegisterAnswer,
    Registered,
};
use crate::forms::{error_list, error_of, FormError};

/// `/e/{slug}`: event information, ticket types and the order form.
#[component]
pub fn LandingPage() -> impl IntoView {
    view! { <EventRegistration compact=false/> }
}

/// `/e/{slug}/widget`: the order form alone, for the embeddable widget (`/embed.js`).
#[component]
pub fn WidgetPage() -> impl IntoView {
    report_height();
    view! { <EventRegistration compact=true/> }
}

/// Inside the widget's frame: reports the page's height to the embedding
/// page so the iframe fits its content, again as the content changes.
pub(super) fn report_height() {
    #[cfg(feature = "hydrate")]
    Effect::new(|_| {
        let report = || {
            let height = document()
                .document_element()
                .map(|e| e.scroll_height())
                .unwrap_or(0);
            if let Ok(Some(parent)) = window().parent() {
                let msg = wasm_bindgen::JsValue::from_str(&format!("convene:height:{height}"));
                let _ = parent.post_message(&msg, "*");
            }
        };
        report();
        // Content changes (errors, the order's state) change the height: keep reporting.
        let _ = set_interval_with_handle(report, std::time::Duration::from_millis(300));
    });
}

/// The event's registration: full landing page, or just the form (`compact`).
#[component]
fn EventRegistration(compact: bool) -> impl IntoView {
    let params = use_params_map();
    let slug = move || params.read().get("slug").unwrap_or_default();
    let query = leptos_router::hooks::use_query_map();
    let page = Resource::new(
        move || (slug(), query.read().get("code")),
        |(slug, code)| public_event(slug, code),
    );
    let action = ServerAction::<Register>::new();
    view! {
        <Transition fallback=|| view! { <crate::look::Loading/> }>
            <ErrorBoundary fallback=error_list>
                {move || Suspend::new(async move {
                    page.await.map(|p| {
                        let EventPage { event: e, offers, questions, idempotency_key, promo_code, promo_error } = p;
                        let offer = query.read_untracked().get("offer");
                        let sold_out: Vec<OfferView> = offers.iter().filter(|o| o.available == Some(0)).cloned().collect();
                        let waitlist = (!sold_out.is_empty() && offer.is_none()).then(|| waitlist_form(e.slug.clone(), sold_out));
                        let event_slug = e.slug.clone();
                        let form = OrderForm { slug: e.slug.clone(), offers, questions, key: idempotency_key, promo_code, offer, compact };
                        let brand = e.brand_style();
                        let cover = (!compact && !e.cover_url.is_empty()).then(|| view! {
                            <img class="w-full max-h-64 object-cover rounded-lg" src=e.cover_url.clone() alt="" data-testid="event-cover"/>
                        });
                        let logo = (!e.logo_url.is_empty()).then(|| view! {
                            <img class="h-12 w-auto" src=e.logo_url.clone() alt=format!("{} logo", e.name) data-testid="event-logo"/>
                        });
                        view! {
                            <Title text=e.name.clone()/>
                            <div class="branded space-y-3" style=brand>
                            {cover}
                            <article class="space-y-3">
                                {logo}
                                <h1 class=if compact { "text-xl font-bold" } else { "text-3xl font-bold" } data-testid="event-name">{e.name}</h1>
                                <p class="text-slate-600">{e.starts} " – " {e.ends}</p>
                                {(!compact).then(|| view! { <p class="whitespace-pre-line">{e.description.clone()}</p> })}
                                {promo_error.map(|m| view! { <p class="text-amber-700" role="status">{m}</p> })}
                            </article>
                            <section class=if compact { "mt-4" } else { "mt-8 max-w-md" }>
                                {move || match action.value().get() {
                                    // The server sends the browser on to the order's page.
                                    Some(Ok(RegisterAnswer::Registered(r))) => opening(&event_slug, r, compact).into_any(),
                                    // Outside the widget the server sends the browser on to "check your inbox".
                                    Some(Ok(RegisterAnswer::CheckInbox { .. })) if !compact => view! {
                                        <p class="card" role="status">"Check your inbox…"</p>
                                    }.into_any(),
                                    Some(Ok(RegisterAnswer::CheckInbox { check_inbox })) => view! {
                                        <div class="card space-y-2" data-testid="check-inbox">
                                            <h2 class="text-xl font-semibold">"Check your inbox"</h2>
                                            <p>{check_inbox} " is already registered for this event, so no second order was made. We have emailed that address a new sign-in link."</p>
                                        </div>
                                    }.into_any(),
                                    _ => order_form(action, form.clone()).into_any(),
                                }}
                                {waitlist}
                            </section>
                            </div>
                        }
                    })
                })}
            </ErrorBoundary>
        </Transition>
    }
}

/// What the order form is built from.
#[derive(Clone)]
struct OrderForm {
    slug: String,
    offers: Vec<OfferView>,
    questions: Vec<QuestionView>,
    key: String,
    promo_code: Option<String>,
    offer: Option<String>,
    /// Inside the widget.
    compact: bool,
}

fn order_form(action: ServerAction<Register>, form: OrderForm) -> impl IntoView {
    let OrderForm {
        slug,
        offers,
        questions,
        key,
        promo_code,
        offer,
        compact,
    } = form;
    let access = format!("/e/{slug}/access");
    let held = offer.is_some();
    let all_sold_out = !offers.is_empty() && offers.iter().all(|o| o.available == Some(0));
    view! {
        <h2 class="text-xl font-semibold mb-2">"Tickets"</h2>
        <ActionForm action=action attr:class="space-y-3">
            <input type="hidden" name="slug" value=slug/>
            <input type="hidden" name="idempotency_key" value=key/>
            {compact.then(|| view! { <input type="hidden" name="widget" value="true"/> })}
            {offer.map(|token| view! {
                <input type="hidden" name="waitlist_offer" value=token/>
                <p class="rounded bg-green-50 border border-green-300 p-3" data-testid="held-seat">
                    "A seat from the waiting list is held for you: choose its ticket below."
                </p>
            })}
            <fieldset class="space-y-2" data-testid="offers">
                {offers.into_iter().enumerate().map(|(i, o)| {
                    let sold_out = o.available == Some(0);
                    let left = match o.available {
                        Some(0) => "Sold out".to_string(),
                        Some(n) => format!("{n} left"),
                        None => String::new(),
                    };
                    view! {
                        <label class="card flex items-center gap-3">
                            <input type="radio" name="ticket_type_id" value=o.id checked=i == 0 && !sold_out disabled=sold_out && !held/>
                            <span class="flex-1">
                                <span class="font-semibold">{o.name}</span>
                                <span class="block text-sm text-slate-600">{o.description}</span>
                            </span>
                            <span>{o.price}</span>
                            <span class="text-sm text-slate-500">{left}</span>
                        </label>
                    }
                }).collect::<Vec<_>>()}
            </fieldset>
            <label class="block">"Quantity"<input class="input" type="number" name="quantity" value="1" min="1" max="100"/></label>
            <label class="block">"Name"<input class="input" name="name" required/></label>
            <label class="block">"Email"<input class="input" type="email" name="email" required/></label>
            {questions.into_iter().map(question_field).collect::<Vec<_>>()}
            <label class="block">"Promo code"<input class="input" name="promo_code" value=promo_code.unwrap_or_default()/></label>
            <FormError error=error_of(action.value())/>
            <button class="btn" type="submit" disabled=all_sold_out && !held>"Get tickets"</button>
        </ActionForm>
        <p class="mt-3 text-sm">"Registered already? "
            <a class="underline" href=access target=if compact { "_blank" } else { "_self" } data-testid="lost-link">"Get your sign-in link"</a></p>
    }
}

/// Shown for the moment between a registration and its order page.
fn opening(slug: &str, r: Registered, compact: bool) -> impl IntoView {
    let page = if compact { "widget/order" } else { "order" };
    view! {
        <p class="card" role="status">"Registered: "
            <a class="underline" href=format!("/e/{slug}/{page}/{}", r.order_code)>"open your order " {r.order_code.clone()}</a></p>
    }
}

fn question_field(q: QuestionView) -> impl IntoView {
    let name = format!("answers[q{}]", q.id);
    let label = if q.required {
        format!("{} *", q.label)
    } else {
        q.label.clone()
    };
    match q.kind {
        QuestionKind::Checkbox => view! {
            <label class="block"><input type="checkbox" name=name required=q.required/>" " {label}</label>
        }
        .into_any(),
        QuestionKind::Choice => view! {
            <label class="block">{label}
                <select class="input" name=name required=q.required>
                    <option value="">"—"</option>
                    {q.options.into_iter().map(|o| view! { <option value=o.clone()>{o.clone()}</option> }).collect::<Vec<_>>()}
                </select>
            </label>
        }
        .into_any(),
        QuestionKind::Text => view! {
            <label class="block">{label}<input class="input" name=name required=q.required maxlength="1000"/></label>
        }
        .into_any(),
    }
}

fn waitlist_form(slug: String, sold_out: Vec<OfferView>) -> impl IntoView {
    let action = ServerAction::<JoinWaitlist>::new();
    view! {
        <div class="card mt-6 space-y-2" data-testid="waitlist">
            <h3 class="font-semibold">"Sold out? Join the waiting list"</h3>
            {move || match action.value().get() {
                Some(Ok(())) => view! {
                    <p data-testid="waitlist-joined">"Check your inbox: we have emailed you your place in line. When a seat is held for you, we email you again."</p>
                }.into_any(),
                _ => {
                    let (slug, sold_out) = (slug.clone(), sold_out.clone());
                    view! {
                        <ActionForm action=action attr:class="space-y-2">
                            <input type="hidden" name="slug" value=slug/>
                            <label class="block">"Ticket"
                                <select class="input" name="ticket_type_id">
                                    {sold_out.into_iter().map(|o| view! { <option value=o.id>{o.name}</option> }).collect::<Vec<_>>()}
                                </select>
                            </label>
                            <label class="block">"Your name"<input class="input" name="name" required/></label>
                            <label class="block">"Your email"<input class="input" type="email" name="email" required/></label>
                            <FormError error=error_of(action.value())/>
                            <button class="btn" type="submit">"Join the waiting list"</button>
                        </ActionForm>
                    }.into_any()
                }
            }}
        </div>
    }
}
