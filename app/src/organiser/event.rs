//! One event's page in the organiser's dashboard: details and figures.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use crate::error::AppError;
use crate::ui::error_list;
use crate::wire::EventView;

/// An event with its figures.
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
}

/// An event of the signed-in organiser's organisation; others' events are "not found".
#[server(endpoint = "event_overview")]
pub async fn event_overview(slug: String) -> Result<EventOverviewData, AppError> {
    let state = crate::state::app_state()?;
    let me = super::current_organiser().await?;
    let event = services::events::get_for_org(&state.pool, me.org_id, &slug).await?;
    let stats = services::analytics::event_stats(&state.pool, event.id).await?;
    Ok(EventOverviewData {
        event: EventView::from(&event),
        registrations: stats.registrations,
        reception_visits: stats.reception_visits,
        reception_visitors: stats.reception_visitors,
    })
}

/// The event page of the dashboard.
#[component]
pub fn EventAdminPage() -> impl IntoView {
    let params = use_params_map();
    let data = Resource::new(
        move || params.read().get("slug").unwrap_or_default(),
        event_overview,
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
                        }
                    })
                })}
            </ErrorBoundary>
        </Transition>
    }
}
