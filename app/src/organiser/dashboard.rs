//! The organiser's dashboard: their organisation's events and the create-event form.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::error::AppError;
use crate::forms::{error_list, error_of, FormError};
use crate::views::EventView;

/// What the dashboard shows.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DashboardData {
    /// Organiser's name.
    pub organiser: String,
    /// Their organisation's events.
    pub events: Vec<EventView>,
}

/// The signed-in organiser's events.
#[server(prefix = "/fn", endpoint = "dashboard")]
pub async fn dashboard() -> Result<DashboardData, AppError> {
    let platform = crate::context::platform()?;
    let me = super::current_organiser().await?;
    let events = services::events::list_for_org(&platform.pool, me.org_id).await?;
    Ok(DashboardData {
        organiser: me.name,
        events: events.iter().map(EventView::from).collect(),
    })
}

/// Creates an event in the signed-in organiser's organisation and opens its page.
#[server(prefix = "/fn", endpoint = "create_event")]
pub async fn create_event(
    name: String,
    slug: String,
    description: String,
    starts: String,
    ends: String,
    time_zone: String,
) -> Result<(), AppError> {
    use services::events::NewEvent;
    let platform = crate::context::platform()?;
    let me = super::current_organiser().await?;
    let input = NewEvent {
        name: &name,
        slug: &slug,
        description: &description,
        starts_local: &starts,
        ends_local: &ends,
        time_zone: &time_zone,
    };
    let event = services::event_setup::create_event(&platform.pool, &me, input).await?;
    leptos_axum::redirect(&format!("/dashboard/events/{}", event.slug));
    Ok(())
}

/// Dashboard page.
#[component]
pub fn DashboardPage() -> impl IntoView {
    let data = Resource::new(|| (), |_| dashboard());
    let create = ServerAction::<CreateEvent>::new();
    view! {
        <Transition fallback=|| view! { <crate::look::Loading/> }>
            <ErrorBoundary fallback=error_list>
                {move || Suspend::new(async move {
                    data.await.map(|d| view! {
                        <h1 class="text-2xl font-bold mb-4">"Welcome, " {d.organiser}</h1>
                        <h2 class="text-xl font-semibold">"Your events"</h2>
                        {d.events.is_empty().then(|| view! {
                            <p class="empty my-3" data-testid="no-events">"No events yet. Create your first one below: it gets a page, tickets and a Reception of its own."</p>
                        })}
                        <ul class="my-3 space-y-2" data-testid="event-list">
                            {d.events.into_iter().map(|e| {
                                let href = format!("/dashboard/events/{}", e.slug);
                                view! {
                                    <li class="card">
                                        <A href=href><span class="font-semibold underline">{e.name}</span></A>
                                        <span class="text-slate-600">" · " {e.starts} " (" {e.time_zone} ")"</span>
                                    </li>
                                }
                            }).collect::<Vec<_>>()}
                        </ul>
                        <h2 class="text-xl font-semibold mt-6">"Create an event"</h2>
                        <ActionForm action=create attr:class="space-y-3 max-w-md">
                            <label class="block">"Name"<input class="input" name="name" required/></label>
                            <label class="block">"Address: /e/"<input class="input" name="slug" required pattern="[a-z0-9\\-]{3,60}"/></label>
                            <label class="block">"Description"<textarea class="input" name="description" rows="4"></textarea></label>
                            <label class="block">"Starts"<input class="input" type="datetime-local" name="starts" required/></label>
                            <label class="block">"Ends"<input class="input" type="datetime-local" name="ends" required/></label>
                            <label class="block">"Time zone"<input class="input" name="time_zone" value="Europe/London" required/></label>
                            <FormError error=error_of(create.value())/>
                            <button class="btn" type="submit">"Create event"</button>
                        </ActionForm>
                    })
                })}
            </ErrorBoundary>
        </Transition>
    }
}
