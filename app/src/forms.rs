//! Forms: showing the error of the last submission, and reading form fields
//! on the server.

use leptos::prelude::*;

use crate::error::AppError;

/// Shows the error message of the last form submission, if any.
#[component]
pub fn FormError(
    /// The message to show (None hides it).
    #[prop(into)]
    error: Signal<Option<String>>,
) -> impl IntoView {
    move || {
        error.get().map(|message| {
            view! {
                <p class="error rounded bg-red-50 border border-red-300 text-red-800 p-3" role="alert">
                    {message}
                </p>
            }
        })
    }
}

/// The error message of an action's latest result.
pub fn error_of<T: Clone + Send + Sync + 'static>(
    value: impl Get<Value = Option<Result<T, AppError>>> + Send + Sync + 'static,
) -> Signal<Option<String>> {
    Signal::derive(move || value.get().and_then(|r| r.err()).map(|e| e.message))
}

/// Renders the errors caught by an `ErrorBoundary`.
pub fn error_list(errors: ArcRwSignal<Errors>) -> impl IntoView {
    view! {
        <div class="error rounded bg-red-50 border border-red-300 text-red-800 p-3" role="alert">
            {move || {
                errors.get().into_iter().map(|(_, e)| view! { <p>{e.to_string()}</p> }).collect::<Vec<_>>()
            }}
            <p class="mt-2"><a class="underline" href="/login">"Log in"</a></p>
        </div>
    }
}

/// Whether a checkbox field was ticked (browsers send `on`; scripts may send `true`).
pub fn checked(value: &Option<String>) -> bool {
    value.as_deref().is_some_and(|v| v == "on" || v == "true")
}
