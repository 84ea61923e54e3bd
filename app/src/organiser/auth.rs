//! Organiser sign-up, log-in, log-out, and resetting a forgotten password.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;

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
    let query = use_query_map();
    let reset = move || query.read().get("reset").is_some();
    view! {
        <Title text="Log in"/>
        <h1 class="text-2xl font-bold mb-4">"Log in"</h1>
        <Show when=reset>
            <p class="notice-ok max-w-md mb-3" role="status" data-testid="password-changed">
                "Your password is changed, and every other session of your account has ended. Log in with the new one."
            </p>
        </Show>
        <ActionForm action=action attr:class="space-y-3 max-w-md">
            <label class="block">"Email"<input class="input" type="email" name="email" required autocomplete="email"/></label>
            <label class="block">"Password"<input class="input" type="password" name="password" required autocomplete="current-password"/></label>
            <FormError error=error_of(action.value())/>
            <button class="btn" type="submit" disabled=move || action.pending().get()>"Log in"</button>
        </ActionForm>
        <p class="mt-4"><A href="/forgot-password"><span class="underline">"Forgot your password?"</span></A></p>
    }
}

/// "Forgot your password?": emails a reset link if an account uses the
/// address (the answer is the same either way); limited per client address,
/// and each address has its email budget.
#[server(prefix = "/fn", endpoint = "request_password_reset")]
pub async fn request_password_reset(email: String) -> Result<(), AppError> {
    use services::ratelimit::PASSWORD_RESET_PER_CLIENT;
    let platform = crate::context::platform()?;
    crate::context::limit_client(&platform, &PASSWORD_RESET_PER_CLIENT, None).await?;
    services::accounts::resets::request(&platform.pool, &email).await?;
    leptos_axum::redirect("/forgot-password?sent=1");
    Ok(())
}

/// Sets a new password with the token of an emailed reset link; every
/// session of the account ends, and the browser goes to the log-in page.
#[server(prefix = "/fn", endpoint = "reset_password")]
pub async fn reset_password(token: String, password: String) -> Result<(), AppError> {
    use services::ratelimit::PASSWORD_SET_PER_CLIENT;
    let platform = crate::context::platform()?;
    crate::context::limit_client(&platform, &PASSWORD_SET_PER_CLIENT, None).await?;
    services::accounts::resets::reset(&platform.pool, &token, &password).await?;
    leptos_axum::redirect("/login?reset=1");
    Ok(())
}

/// `/forgot-password`.
#[component]
pub fn ForgotPasswordPage() -> impl IntoView {
    let action = ServerAction::<RequestPasswordReset>::new();
    let query = use_query_map();
    let sent = move || query.read().get("sent").is_some();
    view! {
        <Title text="Forgot your password?"/>
        <h1 class="text-2xl font-bold mb-4">"Forgot your password?"</h1>
        <Show when=sent>
            <div class="notice-ok max-w-md mb-3" role="status" data-testid="reset-sent">
                <p class="font-semibold">"Check your inbox"</p>
                <p>"If an account uses that address, a link to set a new password is on its way. It works once, for an hour."</p>
            </div>
        </Show>
        <p class="mb-3 max-w-md">"Enter the address you log in with. We will email you a link to set a new password."</p>
        <ActionForm action=action attr:class="space-y-3 max-w-md">
            <label class="block">"Email"<input class="input" type="email" name="email" required autocomplete="email"/></label>
            <FormError error=error_of(action.value())/>
            <button class="btn" type="submit">"Email me a link"</button>
        </ActionForm>
    }
}

/// `/reset-password?token=`: the form that sets the new password.
#[component]
pub fn ResetPasswordPage() -> impl IntoView {
    let action = ServerAction::<ResetPassword>::new();
    let query = use_query_map();
    let token = move || query.read().get("token").unwrap_or_default();
    view! {
        <Title text="Set a new password"/>
        <h1 class="text-2xl font-bold mb-4">"Set a new password"</h1>
        <ActionForm action=action attr:class="space-y-3 max-w-md">
            <input type="hidden" name="token" value=token/>
            <label class="block">"New password (at least 10 characters)"
                <input class="input" type="password" name="password" required minlength="10" autocomplete="new-password"/>
            </label>
            <FormError error=error_of(action.value())/>
            <button class="btn" type="submit">"Set password"</button>
        </ActionForm>
        <p class="mt-4"><A href="/forgot-password"><span class="underline">"Ask for a new link"</span></A></p>
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
