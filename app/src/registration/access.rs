//! `/e/{slug}/access`, "send me my sign-in link": an attendee who lost their
//! way in (another device, a closed tab, a deleted email) gets a new link by
//! email. The answer is the same whether the address is registered or not.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use super::public_event;
use crate::error::AppError;
use crate::forms::{error_list, error_of, FormError};

/// Emails a new sign-in link to `email` if it is registered for the event
/// (rate-limited per client and event; each address has its email budget),
/// then shows the "check your inbox" answer.
#[server(prefix = "/fn", endpoint = "send_sign_in_link")]
pub async fn send_sign_in_link(slug: String, email: String) -> Result<(), AppError> {
    use services::ratelimit::SIGN_IN_LINK_PER_CLIENT_EVENT;
    let platform = crate::context::platform()?;
    crate::context::limit_client(&platform, &SIGN_IN_LINK_PER_CLIENT_EVENT, Some(&slug)).await?;
    services::registrations::attendees::email_sign_in_link(&platform.pool, &slug, &email).await?;
    leptos_axum::redirect(&super::sent_path(&slug, super::Sent::OnRequest));
    Ok(())
}

/// `/e/{slug}/access`.
#[component]
pub fn AccessPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let slug = move || params.read().get("slug").unwrap_or_default();
    let event = Resource::new(slug, |slug| public_event(slug, None));
    let send = ServerAction::<SendSignInLink>::new();
    let sent = move || query.read().get("sent");
    view! {
        <Title text="Get your sign-in link"/>
        <Transition fallback=|| view! { <crate::look::Loading/> }>
            <ErrorBoundary fallback=error_list>
                {move || Suspend::new(async move {
                    event.await.map(|p| {
                        let landing = format!("/e/{}", p.event.slug);
                        view! {
                        <section class="max-w-md space-y-4">
                            <p class="text-sm text-slate-500">{p.event.name.clone()}</p>
                            <h1 class="text-2xl font-bold">"Get your sign-in link"</h1>
                            {move || sent().map(|why| view! {
                                <div class="notice-ok space-y-1" role="status" data-testid="check-inbox">
                                    <p class="font-semibold">"Check your inbox"</p>
                                    <p>{if why == "registered" {
                                        "That address is already registered for this event, so no second order was made. We have emailed it a new sign-in link."
                                    } else {
                                        "If that address is registered for this event, a new sign-in link is on its way. It works for 48 hours."
                                    }}</p>
                                </div>
                            })}
                            <p>"Enter the address you registered with. We will email you a new link that opens the event."</p>
                            <ActionForm action=send attr:class="space-y-3">
                                <input type="hidden" name="slug" value=p.event.slug.clone()/>
                                <label class="block">"Email"
                                    <input class="input" type="email" name="email" autocomplete="email" required/>
                                </label>
                                <FormError error=error_of(send.value())/>
                                <button class="btn" type="submit">"Email me a link"</button>
                            </ActionForm>
                            <p class="text-sm"><a class="underline" href=landing>"Not registered yet? Get a ticket"</a></p>
                        </section>
                    }})
                })}
            </ErrorBoundary>
        </Transition>
    }
}

#[cfg(test)]
mod tests {
    use super::super::{sent_path, Sent};

    #[test]
    fn the_answer_page_is_the_events_own() {
        assert_eq!(
            sent_path(" Launch ", Sent::Registered),
            "/e/launch/access?sent=registered"
        );
        assert_eq!(
            sent_path("demo", Sent::OnRequest),
            "/e/demo/access?sent=link"
        );
    }
}
