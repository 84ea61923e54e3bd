//! Forms: showing the error of the last submission, and reading form fields
//! on the server.

use leptos::prelude::*;

use crate::error::{AppError, ErrorKind};

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

/// Clears the form `form` after each successful submission whose result
/// `value` holds (no ticked box carried over to the next entry); after an
/// error it keeps what was typed. In the browser only: without JavaScript
/// every submission loads a fresh page anyway.
pub fn reset_on_success<T: Clone + Send + Sync + 'static>(
    form: NodeRef<leptos::html::Form>,
    value: impl Get<Value = Option<Result<T, AppError>>> + Send + Sync + 'static,
) {
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        if let Some(Ok(_)) = value.get() {
            if let Some(form) = form.get_untracked() {
                form.reset();
            }
        }
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = (form, value);
}

/// A list of editable rows, each drawn anew when its content changes and
/// kept as it is otherwise: after a save, the changed row comes back with its
/// "Edit" panel closed, and a removed row never hands an open panel to the
/// row that takes its place.
pub fn rows<T, V>(items: Vec<T>, row: impl Fn(T) -> V + Send + Clone + 'static) -> impl IntoView
where
    T: Clone + Eq + std::hash::Hash + Send + Sync + 'static,
    V: IntoView + 'static,
{
    view! { <For each=move || items.clone() key=|item: &T| item.clone() children=row/> }
}

/// How many submissions of an action have succeeded (counted in the
/// browser). A list that reloads on this, rather than on every submission,
/// stays as it is after a refusal, with the open form and its message.
pub fn successes<T: Clone + Send + Sync + 'static>(
    value: impl Get<Value = Option<Result<T, AppError>>> + Send + Sync + 'static,
) -> ReadSignal<usize> {
    let (count, set_count) = signal(0usize);
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        if let Some(Ok(_)) = value.get() {
            set_count.update(|n| *n += 1);
        }
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = (value, set_count);
    count
}

/// "Saved." after a successful submission, until the next one.
#[component]
pub fn Saved(
    /// Whether the last submission succeeded.
    #[prop(into)]
    when: Signal<bool>,
    /// What to say.
    #[prop(into)]
    text: String,
) -> impl IntoView {
    move || {
        when.get()
            .then(|| view! { <p class="notice-ok" role="status">{text.clone()}</p> })
    }
}

/// Whether an action's latest result is a success.
pub fn succeeded<T: Clone + Send + Sync + 'static>(
    value: impl Get<Value = Option<Result<T, AppError>>> + Send + Sync + 'static,
) -> Signal<bool> {
    Signal::derive(move || matches!(value.get(), Some(Ok(_))))
}

/// Renders the errors caught by an `ErrorBoundary`: a "not found" page for
/// something that does not exist (the response is a 404 already), else the
/// messages, with the way to sign in when that is what is missing (an
/// event's emailed link on its pages, the organiser's log-in elsewhere).
pub fn error_list(errors: ArcRwSignal<Errors>) -> impl IntoView {
    let location = leptos_router::hooks::use_location();
    move || {
        let kinds: Vec<(ErrorKind, String)> = errors
            .get()
            .into_iter()
            .map(|(_, e)| match e.downcast_ref::<AppError>() {
                Some(app) => (app.kind, app.message.clone()),
                None => (ErrorKind::Internal, e.to_string()),
            })
            .collect();
        if let Some((_, message)) = kinds.iter().find(|(k, _)| *k == ErrorKind::NotFound) {
            return view! { <NotFoundMessage message=capitalised(message)/> }.into_any();
        }
        let sign_in = kinds
            .iter()
            .any(|(k, _)| *k == ErrorKind::Unauthorized)
            .then(|| sign_in_link(&location.pathname.get_untracked()));
        view! {
            <div class="error rounded bg-red-50 border border-red-300 text-red-800 p-3" role="alert">
                {kinds.into_iter().map(|(_, m)| view! { <p>{m}</p> }).collect::<Vec<_>>()}
                {sign_in.map(|(href, text)| view! { <p class="mt-2"><a class="underline" href=href>{text}</a></p> })}
            </div>
        }
        .into_any()
    }
}

/// What a visitor sees for a page or an event that does not exist.
#[component]
pub fn NotFoundMessage(
    /// What was not found, in words.
    #[prop(into)]
    message: String,
) -> impl IntoView {
    view! {
        <leptos_meta::Title text="Not found"/>
        <section class="py-8 space-y-3" data-testid="not-found">
            <h1 class="text-2xl font-bold">"Page not found"</h1>
            <p>{message}</p>
            <p>"Check the address you followed, or ask whoever sent it for the right one."</p>
            <p><a class="underline" href="/">"Go to the Convene home page"</a></p>
        </section>
    }
}

/// Where someone refused for want of a session signs in, from the page's path.
fn sign_in_link(path: &str) -> (String, &'static str) {
    match path
        .strip_prefix("/e/")
        .and_then(|rest| rest.split('/').next())
    {
        Some(slug) if !slug.is_empty() => (
            format!("/e/{slug}/access"),
            "Email me a sign-in link for this event",
        ),
        _ => ("/login".to_owned(), "Log in"),
    }
}

/// "no such event" → "No such event."
fn capitalised(message: &str) -> String {
    let mut chars = message.chars();
    match chars.next() {
        Some(first) => {
            let mut s: String = first.to_uppercase().collect();
            s.push_str(chars.as_str());
            if !s.ends_with('.') {
                s.push('.');
            }
            s
        }
        None => String::new(),
    }
}

/// Whether a checkbox field was ticked (browsers send `on`; scripts may send `true`).
pub fn checked(value: &Option<String>) -> bool {
    value.as_deref().is_some_and(|v| v == "on" || v == "true")
}

#[cfg(test)]
mod tests {
    #[test]
    fn refused_attendees_are_offered_their_events_link() {
        assert_eq!(super::sign_in_link("/e/demo/reception").0, "/e/demo/access");
        assert_eq!(super::sign_in_link("/dashboard").0, "/login");
        assert_eq!(super::capitalised("no such event"), "No such event.");
    }
}
