//! Checkout: the organisation's plan, and buying a bigger one.

use leptos::prelude::*;

use crate::error::AppError;
use crate::forms::{error_list, error_of, FormError};

/// A plan as shown on the checkout page.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PlanView {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Formatted price.
    pub price: String,
    /// What it allows, in words.
    pub limits: String,
    /// The organisation's current plan.
    pub current: bool,
    /// Bigger than the current plan (can be bought).
    pub upgrade: bool,
    /// The current plan's paid period ends then (a date), unless renewed.
    pub until: Option<String>,
}

/// The plans, marked against the signed-in organiser's organisation.
#[server(prefix = "/fn", endpoint = "checkout")]
pub async fn checkout_info() -> Result<Vec<PlanView>, AppError> {
    let platform = crate::context::platform()?;
    let me = crate::organiser::current_organiser().await?;
    let mut conn = platform
        .pool
        .acquire()
        .await
        .map_err(services::Error::from)?;
    let current = services::billing::plans::of_org(&mut conn, me.org_id).await?;
    let until = services::accounts::orgs::plan_until(&mut conn, me.org_id)
        .await?
        .map(|u| u.format("%-d %B %Y").to_string());
    let limit = |n: Option<i32>, what: &str| match n {
        Some(n) => format!("{n} {what}"),
        None => format!("unlimited {what}"),
    };
    Ok(services::billing::plans::list(&platform.pool)
        .await?
        .into_iter()
        .map(|p| PlanView {
            limits: format!(
                "{} · {} per event · {} · {}",
                limit(p.max_events, "events"),
                limit(p.max_registrations, "registrations"),
                limit(p.max_seats, "team seats"),
                match p.max_upload_bytes {
                    Some(b) => format!("videos up to {}", crate::organiser::videos::size(b)),
                    None => "videos of any size".into(),
                }
            ),
            price: services::domain::format_money(p.price_minor, &p.currency),
            current: p.id == current.id,
            upgrade: p.rank > current.rank,
            until: (p.id == current.id).then(|| until.clone()).flatten(),
            id: p.id,
            name: p.name,
        })
        .collect())
}

/// The result of buying a plan.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum PlanBought {
    /// The organisation is on this plan now, until this date.
    Done(String, String),
    /// The bank asks the buyer to confirm at this URL first.
    ConfirmAt(String),
}

/// Buys a bigger plan, or another period of the current one, with the
/// payment provider (owners only).
#[server(prefix = "/fn", endpoint = "buy_plan")]
pub async fn buy_plan(plan: String, card_number: String) -> Result<PlanBought, AppError> {
    use services::billing::purchases::{self, PlanPurchase};
    let platform = crate::context::platform()?;
    let me = crate::organiser::current_organiser().await?;
    let limit = &services::ratelimit::BUY_PLAN_PER_ORG;
    crate::context::limit_subject(&platform, limit, &me.org_id.to_string()).await?;
    let bought =
        purchases::buy(&platform.pool, &platform.payments, &me, &plan, &card_number).await?;
    Ok(match bought {
        PlanPurchase::Done(p, until) => {
            PlanBought::Done(p.name, until.format("%-d %B %Y").to_string())
        }
        PlanPurchase::ActionRequired(url) => PlanBought::ConfirmAt(url),
    })
}

/// `/checkout`.
#[component]
pub fn CheckoutPage() -> impl IntoView {
    let buy = ServerAction::<BuyPlan>::new();
    let plans = Resource::new(move || buy.version().get(), |_| checkout_info());
    view! {
        <h1 class="text-2xl font-bold mb-4">"Plans"</h1>
        {move || buy.value().get().and_then(|r| r.ok()).map(|bought| match bought {
            PlanBought::Done(name, until) => view! {
                <p class="rounded bg-green-50 border border-green-300 p-3 mb-4" data-testid="upgraded">
                    "You are now on " {name} " until " {until} "."
                </p>
            }.into_any(),
            PlanBought::ConfirmAt(url) => view! {
                <p class="rounded bg-amber-50 border border-amber-300 p-3 mb-4">
                    "Your bank asks you to confirm this payment. "
                    <a class="underline" rel="external" target="_blank" href=url data-testid="payment-action">"Confirm payment"</a>
                    " Your plan changes as soon as it is confirmed; reload this page then."
                </p>
            }.into_any(),
        })}
        <FormError error=error_of(buy.value())/>
        <Transition fallback=|| view! { <crate::look::Loading/> }>
            <ErrorBoundary fallback=error_list>
                {move || Suspend::new(async move {
                    plans.await.map(|plans| view! {
                        <div class="grid grid-cols-1 sm:grid-cols-3 gap-4">
                            {plans.into_iter().map(|p| {
                                let (test_id, plan_id, label) = (format!("plan-{}", p.id), p.id.clone(), p.name.clone());
                                view! {
                                <div class="card space-y-2" data-testid=test_id>
                                    <h2 class="text-xl font-semibold">{p.name.clone()}</h2>
                                    <p>{p.price} " / month"</p>
                                    <p class="text-sm text-slate-600">{p.limits}</p>
                                    {p.current.then(|| view! { <p class="font-semibold">"Your plan"</p> })}
                                    {p.until.clone().map(|until| view! {
                                        <p class="text-sm" data-testid="plan-until">
                                            "Paid until " {until} ". It does not renew by itself: renew it before then, or it goes back to Free."
                                        </p>
                                    })}
                                    {(p.upgrade || p.until.is_some()).then(|| view! {
                                        <ActionForm action=buy attr:class="space-y-2">
                                            <input type="hidden" name="plan" value=plan_id.clone()/>
                                            <label class="block">"Card number"
                                                <input class="input" name="card_number" inputmode="numeric" placeholder="4242 4242 4242 4242" required/>
                                            </label>
                                            <button class="btn" type="submit">
                                                {if p.upgrade { format!("Upgrade to {label}") } else { "Renew for a month".to_owned() }}
                                            </button>
                                        </ActionForm>
                                    })}
                                </div>
                                }
                            }).collect::<Vec<_>>()}
                        </div>
                    })
                })}
            </ErrorBoundary>
        </Transition>
    }
}
