//! Organiser sign-up, log-in and log-out.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::error::AppError;
use crate::forms::{error_of, FormError};

/// Per-email log-in attempts allowed per window.
pub const LOGIN_MAX_PER_EMAIL: u64 = 10;
/// Per-address log-in and sign-up attempts allowed per window.
pub const AUTH_MAX_PER_IP: u64 = 60;
/// Rate-limit window in seconds.
pub const AUTH_WINDOW_SECS: u64 = 300;

#[cfg(feature = "ssr")]
pub(crate) async fn limit_by_ip(platform: &services::Platform, what: &str) -> Result<(), AppError> {
    use axum::extract::ConnectInfo;
    use std::net::SocketAddr;
    if let Ok(ConnectInfo(addr)) = leptos_axum::extract::<ConnectInfo<SocketAddr>>().await {
        let mut redis = platform.redis.clone();
        let key = format!("{}{what}:ip:{}", platform.redis_namespace, addr.ip());
        services::ratelimit::hit(&mut redis, &key, AUTH_MAX_PER_IP, AUTH_WINDOW_SECS).await?;
    }
    Ok(())
}

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
    limit_by_ip(&platform, "signup").await?;
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

/// Checks credentials (rate-limited per email and per address), signs in, goes to the dashboard.
#[server(prefix = "/fn", endpoint = "login")]
pub async fn login(email: String, password: String) -> Result<(), AppError> {
    let platform = crate::context::platform()?;
    limit_by_ip(&platform, "login").await?;
    let mut redis = platform.redis.clone();
    let email_key: String = email.trim().to_lowercase().chars().take(254).collect();
    let key = format!("{}login:email:{email_key}", platform.redis_namespace);
    services::ratelimit::hit(&mut redis, &key, LOGIN_MAX_PER_EMAIL, AUTH_WINDOW_SECS).await?;
    let token = services::accounts::log_in(&platform.pool, &email, &password)
        .await?
        .token;
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
