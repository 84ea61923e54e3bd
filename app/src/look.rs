//! Convene's own look, shared by every surface: the logo, what a page shows
//! while its data loads, and moving focus where a panel opens. A leaf module (it uses nothing of the app), so
//! any page may use it. The rest of the visual language is in
//! `style/tailwind.css` (cards, buttons, skeletons, empty states, the side panel).

use leptos::prelude::*;

/// Convene's mark: a "C" gathered around a meeting point (in the colour of
/// the text around it).
#[component]
pub fn Logo() -> impl IntoView {
    view! {
        <svg class="h-7 w-7" viewBox="0 0 32 32" aria-hidden="true" data-testid="convene-logo">
            <rect width="32" height="32" rx="8" fill="currentColor" fill-opacity="0.15"/>
            <path d="M22.5 10.5a8 8 0 1 0 0 11" fill="none" stroke="currentColor" stroke-width="3.5" stroke-linecap="round"/>
            <circle cx="16" cy="16" r="3" fill="#fbbf24"/>
        </svg>
    }
}

/// What a page shows while its data loads: grey blocks where the content
/// goes, announced once to screen readers.
#[component]
pub fn Loading() -> impl IntoView {
    view! {
        <div class="space-y-3" aria-busy="true" data-testid="loading">
            <span class="sr-only" role="status">"Loading…"</span>
            <div class="skeleton h-8 w-1/2"></div>
            <div class="skeleton h-4 w-3/4"></div>
            <div class="skeleton h-4 w-2/3"></div>
            <div class="skeleton h-32 w-full"></div>
        </div>
    }
}

/// Moves keyboard focus to the element with `id` (in the browser; nothing on
/// the server): where a panel opens, and back to what opened it on close.
pub fn focus(id: &str) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        if let Some(el) = document()
            .get_element_by_id(id)
            .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
        {
            let _ = el.focus();
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = id;
}

/// Moves focus to the element with `id` once it is on the page: a panel
/// rendered when its data arrives may not be there yet when asked, so this
/// looks again on the next few animation frames.
pub fn focus_soon(id: &str) {
    #[cfg(feature = "hydrate")]
    {
        fn attempt(id: String, left: u32) {
            if document().get_element_by_id(&id).is_some() {
                focus(&id);
            } else if left > 0 {
                request_animation_frame(move || attempt(id, left - 1));
            }
        }
        let id = id.to_owned();
        request_animation_frame(move || attempt(id, 30));
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = id;
}

/// `m:ss` (or `h:mm:ss`) of a duration in milliseconds.
pub fn clock(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    let (h, m, s) = (s / 3600, s / 60 % 60, s % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}
