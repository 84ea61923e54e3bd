//! Shared layout pieces: navigation, home page, 404.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::error::AppError;

/// The signed-in organiser's name, if any.
#[server(prefix = "/fn", endpoint = "whoami")]
pub async fn whoami() -> Result<Option<String>, AppError> {
    use crate::context::cookies;
    let platform = crate::context::platform()?;
    let Some(token) = cookies::read(cookies::ORGANISER).await else {
        return Ok(None);
    };
    Ok(
        services::accounts::organisers::from_session(&platform.pool, Some(&token))
            .await
            .ok()
            .map(|o| o.name),
    )
}

/// Top navigation bar.
#[component]
pub fn Nav() -> impl IntoView {
    // The embeddable widget shows no platform navigation.
    let location = leptos_router::hooks::use_location();
    let in_widget = move || location.pathname.get().ends_with("/widget");
    // Who is signed in, checked again on every navigation (log-in and log-out navigate).
    let me = Resource::new(move || location.pathname.get(), |_| whoami());
    view! {
        <Show when=move || !in_widget()>
        <header class="bg-indigo-700 text-white">
            <nav class="mx-auto max-w-4xl flex flex-wrap items-center gap-x-4 gap-y-2 sm:gap-x-6 p-4">
                <A href="/"><span class="font-bold text-lg">"Convene"</span></A>
                <A href="/dashboard">"Dashboard"</A>
                <A href="/dashboard/team">"Team"</A>
                <A href="/checkout">"Plans"</A>
                <span class="flex-1"></span>
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move {
                        match me.await {
                            Ok(Some(name)) => view! {
                                <span data-testid="signed-in-as">{name}</span>
                                <crate::organiser::auth::LogoutButton/>
                            }.into_any(),
                            _ => view! {
                                <A href="/login">"Log in"</A>
                                <A href="/signup">"Sign up"</A>
                            }.into_any(),
                        }
                    })}
                </Transition>
            </nav>
        </header>
        </Show>
    }
}

/// The landing page of the platform itself.
#[component]
pub fn Home() -> impl IntoView {
    view! {
        <section class="py-12 space-y-4">
            <h1 class="text-4xl font-bold">"Virtual and hybrid events, in one place."</h1>
            <p class="text-lg text-slate-600">
                "Tickets, a landing page, a live Reception and analytics for your event."
            </p>
            <div class="flex gap-4">
                <A href="/signup"><span class="btn">"Create an organiser account"</span></A>
                <A href="/e/demo"><span class="underline">"See the demo event"</span></A>
            </div>
        </section>
    }
}

/// 404 page.
#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(opts) = use_context::<leptos_axum::ResponseOptions>() {
        opts.set_status(axum::http::StatusCode::NOT_FOUND);
    }
    view! { <h1 class="text-2xl font-bold">"Page not found"</h1> }
}
