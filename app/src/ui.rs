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

/// Which bar a page gets: none inside the widget's frame, the attendee's on
/// an event's pages (no organiser navigation), the organiser's elsewhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bar {
    /// The embeddable widget: no platform bar at all.
    None,
    /// An event's public and attendee pages.
    Attendee,
    /// The platform's own and the organisers' pages.
    Organiser,
}

impl Bar {
    /// The bar for a path.
    pub fn of(path: &str) -> Bar {
        match path.strip_prefix("/e/").map(|rest| rest.split('/').nth(1)) {
            Some(Some("widget")) => Bar::None,
            Some(_) => Bar::Attendee,
            None => Bar::Organiser,
        }
    }
}

/// Top navigation bar.
#[component]
pub fn Nav() -> impl IntoView {
    let location = leptos_router::hooks::use_location();
    let bar = Memo::new(move |_| Bar::of(&location.pathname.get()));
    view! {
        {move || match bar.get() {
            Bar::None => ().into_any(),
            Bar::Attendee => view! {
                <header class="bg-indigo-700 text-white">
                    <nav class="mx-auto max-w-4xl flex items-center gap-4 p-4" aria-label="Convene">
                        <a href="/" class="flex items-center gap-2"><crate::look::Logo/><span class="font-bold text-lg">"Convene"</span></a>
                    </nav>
                </header>
            }.into_any(),
            Bar::Organiser => view! { <OrganiserNav/> }.into_any(),
        }}
    }
}

/// The organisers' bar: their pages, and who is signed in.
#[component]
fn OrganiserNav() -> impl IntoView {
    let location = leptos_router::hooks::use_location();
    // Who is signed in, checked again on every navigation (log-in and log-out navigate).
    let me = Resource::new(move || location.pathname.get(), |_| whoami());
    view! {
        <header class="bg-indigo-700 text-white">
            <nav class="mx-auto max-w-4xl flex flex-wrap items-center gap-x-4 gap-y-2 sm:gap-x-6 p-4" aria-label="Main">
                <A href="/"><span class="flex items-center gap-2"><crate::look::Logo/><span class="font-bold text-lg">"Convene"</span></span></A>
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
    view! { <crate::forms::NotFoundMessage message="There is no page at this address."/> }
}

#[cfg(test)]
mod tests {
    use super::Bar;

    #[test]
    fn attendees_never_get_the_organiser_bar() {
        assert_eq!(Bar::of("/e/demo"), Bar::Attendee);
        assert_eq!(Bar::of("/e/demo/reception"), Bar::Attendee);
        assert_eq!(Bar::of("/e/demo/order/AB12"), Bar::Attendee);
        assert_eq!(Bar::of("/e/demo/widget"), Bar::None);
        assert_eq!(Bar::of("/e/demo/widget/order/AB12"), Bar::None);
        assert_eq!(Bar::of("/dashboard"), Bar::Organiser);
        assert_eq!(Bar::of("/"), Bar::Organiser);
    }
}
