//! `/e/{slug}/profile`: how the attendee appears to others, and their photo.
//! The upload is a plain multipart form posted to the server's photo route
//! (`server/src/http/avatars.rs`), so it works before and without the WASM;
//! the route redirects back here with `?saved=…` or `?error=<code>`.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};
use protocol::error::{PhotoRefusal, PHOTO_MAX_BYTES};
use protocol::live::Person;

use crate::error::AppError;
use crate::forms::error_list;

/// The profile page's data.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ProfileView {
    /// Event slug.
    pub slug: String,
    /// Event name.
    pub event: String,
    /// The attendee as others see them.
    pub me: Person,
}

/// The signed-in attendee's profile in event `slug`.
#[server(prefix = "/fn", endpoint = "my_profile")]
pub async fn my_profile(slug: String) -> Result<ProfileView, AppError> {
    let (_, event, me) = super::current_attendee(&slug).await?;
    Ok(ProfileView {
        slug: event.slug,
        event: event.name,
        me: me.person(),
    })
}

/// `/e/{slug}/profile`.
#[component]
pub fn ProfilePage() -> impl IntoView {
    let params = use_params_map();
    let data = Resource::new(
        move || params.read().get("slug").unwrap_or_default(),
        my_profile,
    );
    view! {
        <Title text="Your profile"/>
        <Transition fallback=|| view! { <crate::look::Loading/> }>
            <ErrorBoundary fallback=error_list>
                {move || Suspend::new(async move { data.await.map(|p| view! { <Profile p=p/> }) })}
            </ErrorBoundary>
        </Transition>
    }
}

#[component]
fn Profile(p: ProfileView) -> impl IntoView {
    let query = use_query_map();
    let outcome = move || {
        let q = query.read();
        if let Some(code) = q.get("error") {
            let message = PhotoRefusal::from_code(&code)
                .map(|r| r.to_string())
                .unwrap_or_else(|| "the photo was not saved".to_owned());
            return Some(view! { <p class="rounded border border-red-300 bg-red-50 p-3 text-red-900" role="alert" data-testid="photo-error">{message}</p> }.into_any());
        }
        q.get("saved").map(|what| {
            let text = if what == "removed" {
                "Photo removed: your initials show instead."
            } else {
                "Photo saved."
            };
            view! { <p class="notice-ok" role="status" data-testid="photo-saved">{text}</p> }
                .into_any()
        })
    };
    let picture = match p.me.avatar_url(&p.slug) {
        Some(url) => view! {
            <img class="h-32 w-32 rounded-full object-cover" src=url alt="Your photo" data-testid="my-photo"/>
        }
        .into_any(),
        None => view! {
            <span class="grid h-32 w-32 place-items-center rounded-full bg-indigo-700 text-4xl font-semibold text-white" aria-hidden="true" data-testid="my-initials">
                {super::panels::initials(&p.me.name)}
            </span>
        }
        .into_any(),
    };
    let has_photo = p.me.avatar.is_some();
    let max_mb = PHOTO_MAX_BYTES / (1024 * 1024);
    view! {
        <div class="card max-w-xl space-y-4" data-testid="profile">
            <p class="text-sm text-slate-500"><a class="underline" href=format!("/e/{}/reception", p.slug)>{p.event.clone()}</a> " · Your profile"</p>
            <h1 class="text-2xl font-bold">"How others see you"</h1>
            {outcome}
            <div class="flex flex-wrap items-center gap-6">
                {picture}
                <div>
                    <p class="text-lg font-semibold" data-testid="profile-name">{p.me.name.clone()}</p>
                    <p class="text-sm text-slate-600">"Your photo shows next to your name in the people list."</p>
                </div>
            </div>
            <form method="post" enctype="multipart/form-data" action=format!("/e/{}/profile/avatar", p.slug) class="space-y-2">
                <label class="block">"New photo (PNG, JPEG, WebP or GIF, up to " {max_mb} " MB)"
                    <input class="input" type="file" name="photo" accept="image/png,image/jpeg,image/webp,image/gif" required/>
                </label>
                <button class="btn" type="submit">"Upload photo"</button>
            </form>
            {has_photo.then(|| view! {
                <form method="post" action=format!("/e/{}/profile/avatar/remove", p.slug)>
                    <button class="underline text-red-700" type="submit">"Remove my photo"</button>
                </form>
            })}
        </div>
    }
}
