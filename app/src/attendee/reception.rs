//! Reception: event information and the live count of people in the event.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use crate::error::AppError;
use crate::ui::error_list;
use crate::wire::EventView;

/// What Reception shows to a signed-in attendee.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ReceptionInfo {
    /// The event.
    pub event: EventView,
    /// The attendee's name.
    pub attendee: String,
    /// People in the event when the page was rendered.
    pub online: u64,
}

/// Reception data; only for attendees of this event.
#[server(endpoint = "reception")]
pub async fn reception(slug: String) -> Result<ReceptionInfo, AppError> {
    use crate::state::cookies;
    let state = crate::state::app_state()?;
    let event = services::events::get_public(&state.pool, &slug).await?;
    let token = cookies::read(cookies::ATTENDEE).await;
    let attendee =
        services::registrations::attendee_from_session(&state.pool, &event, token.as_deref())
            .await?;
    let mut redis = state.redis.clone();
    let online = services::presence::count(&mut redis, event.id).await?;
    Ok(ReceptionInfo {
        event: EventView::from(&event),
        attendee: attendee.name,
        online,
    })
}

/// `/e/{slug}/reception`.
#[component]
pub fn ReceptionPage() -> impl IntoView {
    let params = use_params_map();
    let data = Resource::new(
        move || params.read().get("slug").unwrap_or_default(),
        reception,
    );
    view! {
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            <ErrorBoundary fallback=error_list>
                {move || Suspend::new(async move {
                    data.await.map(|r| view! {
                        <div class="space-y-4">
                            <p class="text-sm text-slate-500">"Reception"</p>
                            <h1 class="text-3xl font-bold">{r.event.name.clone()}</h1>
                            <p>"Welcome, " <span data-testid="attendee-name">{r.attendee}</span></p>
                            <LiveCount slug=r.event.slug.clone() initial=r.online/>
                            <p class="text-slate-600">{r.event.starts} " – " {r.event.ends} " (" {r.event.time_zone} ")"</p>
                            <p class="whitespace-pre-line">{r.event.description}</p>
                        </div>
                    })
                })}
            </ErrorBoundary>
        </Transition>
    }
}

/// "N people here now", kept live over the event WebSocket (hydrated).
#[component]
pub fn LiveCount(slug: String, initial: u64) -> impl IntoView {
    let online = RwSignal::new(initial);
    let connected = RwSignal::new(false);
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| live::connect(slug.clone(), online, connected));
    #[cfg(not(feature = "hydrate"))]
    let _ = slug;
    view! {
        <p class="card inline-flex items-center gap-2">
            <span class=move || if connected.get() { "h-3 w-3 rounded-full bg-green-500" } else { "h-3 w-3 rounded-full bg-slate-400" }></span>
            <span data-testid="online-count">{move || online.get()}</span>
            " in the event right now"
        </p>
    }
}

#[cfg(feature = "hydrate")]
mod live {
    //! Browser side of the live WebSocket, reconnecting with back-off.

    use leptos::prelude::*;
    use send_wrapper::SendWrapper;
    use std::cell::{Cell, RefCell};
    use std::rc::Rc;
    use std::time::Duration;
    use wasm_bindgen::{closure::Closure, JsCast};
    use web_sys::{CloseEvent, MessageEvent, WebSocket};

    use crate::wire::{ServerMsg, PROTOCOL_VERSION};

    /// One live connection's state, shared by its callbacks.
    struct Live {
        url: String,
        online: RwSignal<u64>,
        connected: RwSignal<bool>,
        stopped: Cell<bool>,
        attempt: Cell<u32>,
        socket: RefCell<Option<WebSocket>>,
    }

    /// Opens the socket now and again after every drop, until the component is cleaned up.
    pub fn connect(slug: String, online: RwSignal<u64>, connected: RwSignal<bool>) {
        let loc = window().location();
        let scheme = if loc.protocol().ok().as_deref() == Some("https:") {
            "wss"
        } else {
            "ws"
        };
        let host = loc.host().unwrap_or_default();
        let live = Rc::new(Live {
            url: format!("{scheme}://{host}/ws/e/{slug}?v={PROTOCOL_VERSION}"),
            online,
            connected,
            stopped: Cell::new(false),
            attempt: Cell::new(0),
            socket: RefCell::new(None),
        });
        open(live.clone());
        let guard = SendWrapper::new(live);
        Owner::on_cleanup(move || {
            let live = guard.take();
            live.stopped.set(true);
            let socket = live.socket.borrow_mut().take();
            if let Some(ws) = socket {
                ws.set_onclose(None);
                let _ = ws.close();
            }
        });
    }

    fn open(live: Rc<Live>) {
        if live.stopped.get() {
            return;
        }
        let Ok(ws) = WebSocket::new(&live.url) else {
            return;
        };

        let l = live.clone();
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |ev: MessageEvent| {
            let Some(text) = ev.data().as_string() else {
                return;
            };
            if let Ok(ServerMsg::Hello { online: n, .. } | ServerMsg::Presence { online: n }) =
                serde_json::from_str::<ServerMsg>(&text)
            {
                l.attempt.set(0);
                l.connected.set(true);
                l.online.set(n);
            }
        });
        ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        on_message.forget();

        let l = live.clone();
        let on_close = Closure::<dyn FnMut(CloseEvent)>::new(move |_ev: CloseEvent| {
            l.connected.set(false);
            l.socket.borrow_mut().take();
            let attempt = l.attempt.get();
            l.attempt.set(attempt + 1);
            let delay = Duration::from_millis((500u64 << attempt.min(5)).min(10_000));
            let again = SendWrapper::new(l.clone());
            set_timeout(move || open(again.take()), delay);
        });
        ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        on_close.forget();
        *live.socket.borrow_mut() = Some(ws);
    }
}
