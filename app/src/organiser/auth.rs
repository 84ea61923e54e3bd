//! Organiser sign-up, log-in and log-out.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::error::AppError;
use crate::forms::{error_of, FormError};

#[cfg(feature = "ssr")]
pub(crate) fn start_session(platform: &services::Platform, token: &str) {
    use crate::context::cookies;
    let max_age = services::accounts::SESSION_TTL.num_seconds();
    cookies::set(cookies::ORGANISER, token, max_age, platform.serves_https());
}

/// Creates an organisation and its organiser account, signs in, goes to the dashboard.
#[server(prefix = "/fn", endpoint = "signup")]
pub async fn signup(
    name: String,
    organisation: String,
    email: String,
    password: String,
) -> Result<(), AppError> {
    use services::accounts::{sign_up, SignUp};
    let platform = crate::context::platform()?;
    crate::context::limit_client(&platform, &services::ratelimit::SIGNUP_PER_CLIENT, None).await?;
    let input = SignUp {
        name: &name,
        organisation: &organisation,
        email: &email,
        password: &password,
    };
    let token = sign_up(&platform.pool, input).await?.token;
    start_session(&platform, &token);
    leptos_axum::redirect("/dashboard");
    Ok(())
}

/// Checks credentials, signs in, goes to the dashboard. Limited per client
/// address (every attempt) and per email (failed attempts only).
#[server(prefix = "/fn", endpoint = "login")]
pub async fn login(email: String, password: String) -> Result<(), AppError> {
    use services::ratelimit::{self, LOGIN_FAILURES_PER_EMAIL, LOGIN_PER_CLIENT};
    let platform = crate::context::platform()?;
    crate::context::limit_client(&platform, &LOGIN_PER_CLIENT, None).await?;
    let mut redis = platform.redis.clone();
    let ns = &platform.redis_namespace;
    let email_key: String = email.trim().to_lowercase().chars().take(254).collect();
    // Counted before the password is checked (parallel guesses cannot all
    // pass a count read before any of them failed) and given back when it
    // was right, so only failures use up the allowance.
    ratelimit::hit(&mut redis, ns, &LOGIN_FAILURES_PER_EMAIL, &email_key).await?;
    let token = services::accounts::log_in(&platform.pool, &email, &password)
        .await?
        .token;
    ratelimit::forgive(&mut redis, ns, &LOGIN_FAILURES_PER_EMAIL, &email_key).await?;
    start_session(&platform, &token);
    leptos_axum::redirect("/dashboard");
    Ok(())
}

/// Ends the organiser's session and clears the cookie.
#[server(prefix = "/fn", endpoint = "logout")]
pub async fn logout() -> Result<(), AppError> {
    use crate::context::cookies;
    let platform = crate::context::platform()?;
    if let Some(token) = cookies::read(cookies::ORGANISER).await {
        services::accounts::sessions::end(&platform.pool, &token).await?;
    }
    cookies::set(cookies::ORGANISER, "", 0, platform.serves_https());
    leptos_axum::redirect("/");
    Ok(())
}

/// Sign-up form.
#[component]
pub fn SignupPage() -> impl IntoView {
    let action = ServerAction::<Signup>::new();
    view! {
        <h1 class="text-2xl font-bold mb-4">"Create your organiser account"</h1>
        <ActionForm action=action attr:class="space-y-3 max-w-md">
            <label class="block">"Your name"<input class="input" name="name" required autocomplete="name"/></label>
            <label class="block">"Organisation"<input class="input" name="organisation" required/></label>
            <label class="block">"Email"<input class="input" type="email" name="email" required autocomplete="email"/></label>
            <label class="block">"Password (at least 10 characters)"
                <input class="input" type="password" name="password" required minlength="10" autocomplete="new-password"/>
            </label>
            <FormError error=error_of(action.value())/>
            <button class="btn" type="submit" disabled=move || action.pending().get()>"Sign up"</button>
        </ActionForm>
        <p class="mt-4">"Already have an account? "<A href="/login"><span class="underline">"Log in"</span></A></p>
    }
}

/// Log-in form.
#[component]
pub fn LoginPage() -> impl IntoView {
    let action = ServerAction::<Login>::new();
    view! {
        <h1 class="text-2xl font-bold mb-4">"Log in"</h1>
        <ActionForm action=action attr:class="space-y-3 max-w-md">
            <label class="block">"Email"<input class="input" type="email" name="email" required autocomplete="email"/></label>
            <label class="block">"Password"<input class="input" type="password" name="password" required autocomplete="current-password"/></label>
            <FormError error=error_of(action.value())/>
            <button class="btn" type="submit" disabled=move || action.pending().get()>"Log in"</button>
        </ActionForm>
    }
}

/// A small form that logs out.
#[component]
pub fn LogoutButton() -> impl IntoView {
    let action = ServerAction::<Logout>::new();
    view! {
        <ActionForm action=action>
            <button type="submit" class="underline">"Log out"</button>
        </ActionForm>
    }
}
