//! Convene's own look, shared by every surface: the logo and what a page
//! shows while its data loads. A leaf module (it uses nothing of the app), so
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
