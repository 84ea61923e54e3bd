//! Webhooks (Longwave) in the event dashboard: the organisation's endpoints
//! that hear about this event (its own and those for every event), added,
//! switched, rotated, tested and removed by owners, each with its delivery
//! log, resend and replay.

use leptos::prelude::*;
use leptos_meta::Title;
use protocol::states::WebhookType;

use crate::error::AppError;
use crate::forms::{error_list, error_of, reset_on_success, rows, successes, FormError};

/// An endpoint as the dashboard shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EndpointView {
    /// Its id.
    pub id: String,
    /// Where messages go.
    pub url: String,
    /// The organiser's note.
    pub description: String,
    /// This event only (else every event of the organisation).
    pub this_event_only: bool,
    /// The message types it wants.
    pub types: Vec<WebhookType>,
    /// Deliveries go out.
    pub enabled: bool,
    /// Why the platform turned it off.
    pub disabled_reason: Option<String>,
    /// The end of its signing secret.
    pub secret_hint: String,
    /// Until when (event time) the previous secret signs too.
    pub rotating_until: Option<String>,
    /// Since when (event time) every delivery has failed.
    pub failing_since: Option<String>,
}

/// One attempt in an endpoint's log.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct AttemptView {
    /// The message's id (for resending).
    pub message_id: String,
    /// Its `webhook-id`.
    pub header_id: String,
    /// Its type.
    pub message_type: String,
    /// Which try.
    pub attempt: i32,
    /// When (event time).
    pub at: String,
    /// The response's status, if one came.
    pub code: Option<i32>,
    /// The first bytes of the response, or why none came.
    pub response: String,
    /// How long it took, ms.
    pub duration_ms: i32,
    /// Where the message's delivery stands.
    pub status: String,
}

/// An endpoint's figures and latest attempts.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DeliveryLog {
    /// Messages delivered.
    pub delivered: i64,
    /// Messages waiting to be delivered.
    pub pending: i64,
    /// Messages given up after the last attempt.
    pub failed: i64,
    /// The latest attempts, newest first.
    pub attempts: Vec<AttemptView>,
}

/// What a message type is called on the page.
fn label(t: WebhookType) -> &'static str {
    match t {
        WebhookType::AttendeeRegistered => "Registration created",
        WebhookType::OrderPlaced => "Order placed",
        WebhookType::OrderPaid => "Order paid",
        WebhookType::OrderCancelled => "Order cancelled",
        WebhookType::OrderRefunded => "Order refunded",
        WebhookType::EnteredArea => "Attendee entered an area",
        WebhookType::LeftArea => "Attendee left an area",
        WebhookType::RecordingReady => "Recording ready",
    }
}

#[cfg(feature = "ssr")]
async fn context(
    slug: &str,
) -> Result<
    (
        services::Platform,
        services::accounts::Organiser,
        services::events::Event,
    ),
    AppError,
> {
    let platform = crate::context::platform()?;
    let me = super::current_organiser().await?;
    let event = services::events::get_for_org(&platform.pool, &me, slug).await?;
    Ok((platform, me, event))
}

/// The organisation's endpoints that hear about the event; its organisers.
#[server(prefix = "/fn", endpoint = "webhooks")]
pub async fn list_webhooks(slug: String) -> Result<Vec<EndpointView>, AppError> {
    let (platform, me, event) = context(&slug).await?;
    let tz = event.time_zone.clone();
    let list = services::webhooks::list(&platform.pool, &me, &event).await?;
    Ok(list
        .into_iter()
        .map(|e| EndpointView {
            id: e.id.to_string(),
            url: e.url,
            description: e.description,
            this_event_only: e.event_id.is_some(),
            types: e.types,
            enabled: e.enabled,
            disabled_reason: e.disabled_reason,
            secret_hint: e.secret_hint,
            rotating_until: e.rotating_until.map(|t| services::time::local_time(t, &tz)),
            failing_since: e.failing_since.map(|t| services::time::local_time(t, &tz)),
        })
        .collect())
}

/// An endpoint's figures and latest attempts; organisers of the organisation.
#[server(prefix = "/fn", endpoint = "webhook_log")]
pub async fn webhook_log(slug: String, id: String) -> Result<DeliveryLog, AppError> {
    let (platform, me, event) = context(&slug).await?;
    let id = crate::error::parse_id("endpoint", &id)?;
    let e = services::webhooks::get(&platform.pool, &me, id).await?;
    let attempts = services::webhooks::attempts(&platform.pool, &me, id, 20).await?;
    Ok(DeliveryLog {
        delivered: e.delivered,
        pending: e.pending,
        failed: e.failed,
        attempts: attempts
            .into_iter()
            .map(|a| AttemptView {
                message_id: a.message_id.to_string(),
                header_id: services::webhooks::message_header_id(a.message_id),
                message_type: a.message_type,
                attempt: a.attempt,
                at: services::time::local_time(a.at, &event.time_zone),
                code: a.code,
                response: a.response,
                duration_ms: a.duration_ms,
                status: a.status.to_string(),
            })
            .collect(),
    })
}

/// Adds an endpoint (owners): `url`, a `description`, the message `types`
/// it wants, and whether it hears about `only_this_event`. Answers its
/// signing secret, shown once.
#[server(prefix = "/fn", endpoint = "add_webhook")]
pub async fn add_webhook(
    slug: String,
    url: String,
    description: Option<String>,
    types: Option<Vec<String>>,
    only_this_event: Option<String>,
) -> Result<String, AppError> {
    let (platform, me, event) = context(&slug).await?;
    let types = types
        .unwrap_or_default()
        .iter()
        .map(|t| {
            t.parse::<WebhookType>()
                .map_err(|e| AppError::new(crate::error::ErrorKind::Invalid, e.to_string()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let new = services::webhooks::NewEndpoint {
        url,
        description: description.unwrap_or_default(),
        types,
        only_event: crate::forms::checked(&only_this_event).then_some(event.id),
    };
    let (_, secret) =
        services::webhooks::create(&platform.pool, &platform.webhook_targets, &me, &event, new)
            .await?;
    Ok(secret)
}

/// Turns an endpoint on (`on` = "true") or off (owners).
#[server(prefix = "/fn", endpoint = "switch_webhook")]
pub async fn switch_webhook(slug: String, id: String, on: String) -> Result<(), AppError> {
    let (platform, me, _) = context(&slug).await?;
    let id = crate::error::parse_id("endpoint", &id)?;
    services::webhooks::set_enabled(&platform.pool, &me, id, on == "true").await?;
    Ok(())
}

/// Gives an endpoint a new signing secret (owners); the old one signs too
/// for a day. Answers the new secret.
#[server(prefix = "/fn", endpoint = "rotate_webhook_secret")]
pub async fn rotate_webhook_secret(slug: String, id: String) -> Result<String, AppError> {
    let (platform, me, _) = context(&slug).await?;
    let id = crate::error::parse_id("endpoint", &id)?;
    Ok(services::webhooks::rotate(&platform.pool, &me, id).await?)
}

/// Removes an endpoint and its log (owners).
#[server(prefix = "/fn", endpoint = "remove_webhook")]
pub async fn remove_webhook(slug: String, id: String) -> Result<(), AppError> {
    let (platform, me, _) = context(&slug).await?;
    let id = crate::error::parse_id("endpoint", &id)?;
    services::webhooks::remove(&platform.pool, &me, id).await?;
    Ok(())
}

/// Sends an endpoint a test message (owners).
#[server(prefix = "/fn", endpoint = "test_webhook")]
pub async fn test_webhook(slug: String, id: String) -> Result<(), AppError> {
    let (platform, me, _) = context(&slug).await?;
    let id = crate::error::parse_id("endpoint", &id)?;
    services::webhooks::send_test(&platform.pool, &me, id).await?;
    Ok(())
}

/// Sends one message to an endpoint again (owners).
#[server(prefix = "/fn", endpoint = "resend_webhook")]
pub async fn resend_webhook(slug: String, id: String, message: String) -> Result<(), AppError> {
    let (platform, me, _) = context(&slug).await?;
    let id = crate::error::parse_id("endpoint", &id)?;
    let message = crate::error::parse_id("message", &message)?;
    services::webhooks::resend(&platform.pool, &me, id, message).await?;
    Ok(())
}

/// Sends an endpoint everything since `since` (event time) again (owners).
/// Answers how many messages go out.
#[server(prefix = "/fn", endpoint = "replay_webhook")]
pub async fn replay_webhook(slug: String, id: String, since: String) -> Result<u64, AppError> {
    let (platform, me, event) = context(&slug).await?;
    let id = crate::error::parse_id("endpoint", &id)?;
    let since = services::time::parse_local_opt("since", Some(&since), &event.time_zone)?
        .ok_or_else(|| AppError::new(crate::error::ErrorKind::Invalid, "say since when"))?;
    Ok(services::webhooks::replay_since(&platform.pool, &me, id, since).await?)
}

/// The actions of the section, shared by every endpoint's forms.
#[derive(Clone, Copy)]
struct Actions {
    switch: ServerAction<SwitchWebhook>,
    rotate: ServerAction<RotateWebhookSecret>,
    remove: ServerAction<RemoveWebhook>,
    test: ServerAction<TestWebhook>,
    resend: ServerAction<ResendWebhook>,
    replay: ServerAction<ReplayWebhook>,
}

/// `/dashboard/events/{slug}/webhooks`.
#[component]
pub fn WebhooksSection() -> impl IntoView {
    let params = leptos_router::hooks::use_params_map();
    let slug = Signal::derive(move || params.read().get("slug").unwrap_or_default());
    let add = ServerAction::<AddWebhook>::new();
    let acts = Actions {
        switch: ServerAction::new(),
        rotate: ServerAction::new(),
        remove: ServerAction::new(),
        test: ServerAction::new(),
        resend: ServerAction::new(),
        replay: ServerAction::new(),
    };
    let (added, switched, rotated, removed) = (
        successes(add.value()),
        successes(acts.switch.value()),
        successes(acts.rotate.value()),
        successes(acts.remove.value()),
    );
    let endpoints = Resource::new(
        move || {
            (
                slug.get(),
                added.get(),
                switched.get(),
                rotated.get(),
                removed.get(),
            )
        },
        |(slug, ..)| list_webhooks(slug),
    );
    let form = NodeRef::new();
    reset_on_success(form, add.value());
    let errors = Signal::derive(move || {
        error_of(acts.switch.value())
            .get()
            .or_else(|| error_of(acts.rotate.value()).get())
            .or_else(|| error_of(acts.remove.value()).get())
            .or_else(|| error_of(acts.test.value()).get())
            .or_else(|| error_of(acts.resend.value()).get())
            .or_else(|| error_of(acts.replay.value()).get())
    });
    view! {
        <Title text="Webhooks · Dashboard"/>
        <h2 class="text-xl font-semibold">"Webhooks"</h2>
        <p class="text-sm text-slate-600 max-w-2xl">"Endpoints receive your attendees' activity as it happens: a signed JSON POST per message (Standard Webhooks: check "
            <code>"webhook-signature"</code>" with the endpoint's secret). A message that is not answered with a 2xx within 15 seconds is sent again after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h."</p>
        <ActionForm action=add node_ref=form attr:class="card grid gap-3 max-w-2xl" attr:data-testid="add-webhook">
            <input type="hidden" name="slug" value=slug/>
            <label class="block">"Endpoint URL"
                <input class="input w-full" name="url" type="url" required placeholder="https://example.com/webhooks/convene"/></label>
            <label class="block">"Description"
                <input class="input w-full" name="description" maxlength="500"/></label>
            <fieldset>
                <legend class="font-semibold">"Messages"</legend>
                <div class="grid sm:grid-cols-2 gap-1">
                    {WebhookType::ALL.iter().enumerate().map(|(i, t)| view! {
                        <label class="flex items-center gap-2">
                            <input type="checkbox" name=format!("types[{i}]") value=t.as_str()/>
                            {label(*t)} <code class="text-xs text-slate-500">{t.as_str()}</code>
                        </label>
                    }).collect_view()}
                </div>
            </fieldset>
            <label class="flex items-center gap-2"><input type="checkbox" name="only_this_event" value="true"/>"Only this event (otherwise every event of the organisation)"</label>
            <button class="btn justify-self-start" type="submit">"Add endpoint"</button>
        </ActionForm>
        <FormError error=error_of(add.value())/>
        {move || add.value().get().and_then(Result::ok).map(|secret| view! {
            <p class="notice-ok" role="status">"Endpoint added. Its signing secret (shown once; rotate it to get a new one): "
                <code class="break-all" data-testid="new-secret">{secret}</code></p>
        })}
        {move || acts.rotate.value().get().and_then(Result::ok).map(|secret| view! {
            <p class="notice-ok" role="status">"New signing secret (the previous one signs too for 24 hours): "
                <code class="break-all" data-testid="new-secret">{secret}</code></p>
        })}
        {move || acts.replay.value().get().and_then(Result::ok).map(|n| view! {
            <p class="notice-ok" role="status">{format!("{n} messages will be sent again.")}</p>
        })}
        {move || acts.test.value().get().and_then(Result::ok).map(|_| view! {
            <p class="notice-ok" role="status">"Test message on its way; see the log."</p>
        })}
        <FormError error=errors/>
        <Transition fallback=|| view! { <crate::look::Loading/> }>
            <ErrorBoundary fallback=error_list>
                {move || Suspend::new(async move {
                    endpoints.await.map(|list| view! {
                        {list.is_empty().then(|| view! { <p class="empty" data-testid="no-webhooks">"No endpoints yet."</p> })}
                        <ul class="space-y-4 mt-4" data-testid="webhooks">
                            {list.into_iter().map(|e| endpoint(slug, acts, e)).collect_view()}
                        </ul>
                    })
                })}
            </ErrorBoundary>
        </Transition>
    }
}

fn endpoint(slug: Signal<String>, acts: Actions, e: EndpointView) -> impl IntoView {
    let id = StoredValue::new(e.id.clone());
    let hidden = move || {
        view! {
            <input type="hidden" name="slug" value=slug/>
            <input type="hidden" name="id" value=id.get_value()/>
        }
    };
    let types = e
        .types
        .iter()
        .map(|t| t.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let state = match (&e.disabled_reason, e.enabled) {
        (_, true) => "On".to_owned(),
        (Some(why), false) => format!("Off: {why}"),
        (None, false) => "Off".to_owned(),
    };
    let on = e.enabled;
    view! {
        <li class="card space-y-2" data-testid="webhook">
            <p class="font-semibold break-all" data-testid="webhook-url">{e.url.clone()}</p>
            {(!e.description.is_empty()).then(|| view! { <p>{e.description.clone()}</p> })}
            <p class="text-sm">{if e.this_event_only { "This event only" } else { "Every event of the organisation" }}
                " · " <span data-testid="webhook-state">{state}</span>
                " · secret " <code>{e.secret_hint.clone()}</code>
                {e.rotating_until.clone().map(|t| format!(" (the previous one signs too until {t})"))}</p>
            <p class="text-sm text-slate-600">"Messages: " {types}</p>
            {e.failing_since.clone().map(|t| view! { <p class="text-sm text-red-800">{format!("Every delivery has failed since {t}.")}</p> })}
            <div class="flex flex-wrap items-end gap-2">
                <ActionForm action=acts.test>{hidden()}<button class="btn" type="submit" data-testid="webhook-test">"Send test message"</button></ActionForm>
                <ActionForm action=acts.switch>{hidden()}
                    <input type="hidden" name="on" value=(!on).to_string()/>
                    <button class="btn" type="submit">{if on { "Turn off" } else { "Turn on" }}</button></ActionForm>
                <ActionForm action=acts.rotate>{hidden()}<button class="btn" type="submit">"Rotate secret"</button></ActionForm>
                <ActionForm action=acts.replay attr:class="flex items-end gap-2">{hidden()}
                    <label class="block text-sm">"Send again everything since"
                        <input class="input" type="datetime-local" name="since" required/></label>
                    <button class="btn" type="submit">"Replay"</button></ActionForm>
                <details>
                    <summary class="cursor-pointer underline text-sm">"Remove…"</summary>
                    <ActionForm action=acts.remove attr:class="flex items-center gap-2 p-2">{hidden()}
                        <span class="text-sm">"Remove this endpoint and its log?"</span>
                        <button class="btn bg-red-700 hover:bg-red-800" type="submit">"Yes, remove it"</button></ActionForm>
                </details>
            </div>
            <Log slug=slug id=e.id.clone() acts=acts/>
        </li>
    }
}

/// An endpoint's figures and latest attempts, looked at again every few
/// seconds (deliveries happen in the background).
#[component]
fn Log(slug: Signal<String>, id: String, acts: Actions) -> impl IntoView {
    let tick = RwSignal::new(0u32);
    #[cfg(feature = "hydrate")]
    {
        let handle = set_interval_with_handle(
            move || tick.update(|t| *t += 1),
            std::time::Duration::from_secs(2),
        );
        on_cleanup(move || {
            if let Ok(h) = handle {
                h.clear();
            }
        });
    }
    let (tested, resent, replayed) = (
        successes(acts.test.value()),
        successes(acts.resend.value()),
        successes(acts.replay.value()),
    );
    let log = Resource::new(
        {
            let id = id.clone();
            move || {
                (
                    slug.get(),
                    id.clone(),
                    tick.get(),
                    tested.get(),
                    resent.get(),
                    replayed.get(),
                )
            }
        },
        |(slug, id, ..)| webhook_log(slug, id),
    );
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new({
                let id = id.clone();
                async move {
                    log.await.ok().map(|l| view! {
                        <h3 class="font-semibold text-sm mt-2">"Deliveries"</h3>
                        <p class="text-sm" data-testid="webhook-figures">{format!("{} delivered · {} waiting · {} failed", l.delivered, l.pending, l.failed)}</p>
                        {l.attempts.is_empty().then(|| view! { <p class="empty text-sm">"Nothing sent yet."</p> })}
                        <ul class="text-sm divide-y divide-slate-200" data-testid="webhook-log">
                            {rows(l.attempts, move |a| {
                                let id = id.clone();
                                view! {
                                    <li class="py-1 flex flex-wrap gap-x-3 items-center" data-testid="webhook-attempt">
                                        <span>{a.at.clone()}</span>
                                        <code>{a.message_type.clone()}</code>
                                        <span data-testid="attempt-code">{a.code.map_or_else(|| "no response".to_owned(), |c| c.to_string())}</span>
                                        <span>{format!("try {} · {} ms · {}", a.attempt, a.duration_ms, a.status)}</span>
                                        <code class="text-xs text-slate-500">{a.header_id.clone()}</code>
                                        <span class="text-slate-600 truncate max-w-xs" title=a.response.clone()>{a.response.clone()}</span>
                                        <ActionForm action=acts.resend>
                                            <input type="hidden" name="slug" value=slug/>
                                            <input type="hidden" name="id" value=id/>
                                            <input type="hidden" name="message" value=a.message_id.clone()/>
                                            <button class="underline" type="submit">"Resend"</button>
                                        </ActionForm>
                                    </li>
                                }
                            })}
                        </ul>
                    })
                }
            })}
        </Transition>
    }
}
