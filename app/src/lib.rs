//! Convene's web UI. Every page lives in the folder of its product area, with
//! its server functions beside it; server functions are thin wrappers over
//! `services` (compiled only with the `ssr` feature). The types the browser and
//! the server exchange outside server functions (the live protocol) come from
//! the `protocol` crate, re-exported here.
#![recursion_limit = "256"]
// `#[server]` and `#[component]` generate public structs whose fields are the
// function's arguments, which cannot carry doc comments; the functions and
// every hand-written item here are documented.
#![allow(missing_docs)]

pub mod attendee;
pub mod checkout;
#[cfg(feature = "ssr")]
pub mod context;
pub mod error;
pub mod forms;
pub mod look;
pub mod organiser;
pub mod registration;
pub mod ui;
pub mod views;

pub use protocol;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, HashedStylesheet, MetaTags, Title};
use leptos_router::components::{ParentRoute, Route, Router, Routes};
use leptos_router::{path, SsrMode};

/// The HTML document around the app (server-side only).
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    set_content_security_policy(&options);
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                <AutoReload options=options.clone()/>
                // The stylesheet by its content-hashed name (cached for good).
                <HashedStylesheet options=options.clone() id="leptos"/>
                <HydrationScripts options/>
                // Attaches hls.js to stage players where the browser lacks native HLS.
                <script src="/hls-attach.js" defer></script>
                <MetaTags/>
            </head>
            <body class="bg-slate-50 text-slate-900 min-h-screen">
                <App/>
            </body>
        </html>
    }
}

/// The page's Content-Security-Policy: scripts only from this site, or
/// inline with this response's nonce (Leptos puts it on its hydration and
/// streaming scripts); no plugins, no `<base>`, forms post here only. Media,
/// images and frames may come from any https site (HLS streams, speaker
/// photos, embedded players and third-party apps are organisers' URLs).
/// `frame-ancestors` is a policy of its own, set by the server
/// (`http::widget`), so the widget's can differ.
pub fn content_security_policy(nonce: &str, socket_origin: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self'; style-src-attr 'unsafe-inline'; img-src 'self' data: https:; \
         media-src 'self' blob: https:; connect-src 'self' {socket_origin} https:; \
         frame-src 'self' https:; font-src 'self'; object-src 'none'; base-uri 'none'; \
         form-action 'self'"
    )
}

/// The WebSocket origin of a public URL (`https://x` → `wss://x`).
pub fn socket_origin(public_url: &str) -> String {
    let url = public_url.trim_end_matches('/');
    match url.split_once("://") {
        Some(("https", rest)) => format!("wss://{rest}"),
        Some((_, rest)) => format!("ws://{rest}"),
        None => String::new(),
    }
}

#[cfg(feature = "ssr")]
fn set_content_security_policy(options: &LeptosOptions) {
    use axum::http::{header, HeaderValue};
    let Some(nonce) = leptos::nonce::use_nonce() else {
        return;
    };
    let Some(response) = use_context::<leptos_axum::ResponseOptions>() else {
        return;
    };
    let mut sockets = context::platform()
        .map(|p| socket_origin(&p.public_url))
        .unwrap_or_default();
    // `cargo leptos watch` reloads the page over a socket of its own.
    if std::env::var_os("LEPTOS_WATCH").is_some() {
        sockets.push_str(&format!(
            " ws://{}:{}",
            options.site_addr.ip(),
            options.reload_port
        ));
    }
    let policy = content_security_policy(&nonce.to_string(), &sockets);
    if let Ok(value) = HeaderValue::from_str(&policy) {
        response.append_header(header::CONTENT_SECURITY_POLICY, value);
    }
}

/// The root component: metadata and routes.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    // Marks the document once hydrated (end-to-end tests wait for it).
    #[cfg(feature = "hydrate")]
    Effect::new(|_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });
    view! {
        <Title text="Convene"/>
        <Router>
            <a href="#main" class="sr-only focus:not-sr-only focus:absolute focus:left-2 focus:top-2 focus:z-50 focus:rounded focus:bg-white focus:p-2 focus:text-indigo-800">
                "Skip to content"
            </a>
            <ui::Nav/>
            <main id="main" class="mx-auto max-w-4xl p-6">
                <Routes fallback=|| view! { <ui::NotFound/> }>
                    // Every page renders whole before it is sent (`Async`): pages
                    // work without JavaScript, and a refusal known only once the
                    // data is read (404, 401) is the response's status.
                    <Route path=path!("/") view=ui::Home ssr=SsrMode::Async/>
                    <Route path=path!("/signup") view=organiser::auth::SignupPage ssr=SsrMode::Async/>
                    <Route path=path!("/login") view=organiser::auth::LoginPage ssr=SsrMode::Async/>
                    <Route path=path!("/forgot-password") view=organiser::auth::ForgotPasswordPage ssr=SsrMode::Async/>
                    <Route path=path!("/reset-password") view=organiser::auth::ResetPasswordPage ssr=SsrMode::Async/>
                    <Route path=path!("/dashboard") view=organiser::dashboard::DashboardPage ssr=SsrMode::Async/>
                    <Route path=path!("/checkout") view=checkout::CheckoutPage ssr=SsrMode::Async/>
                    <ParentRoute path=path!("/dashboard/events/:slug") view=organiser::event::EventAdminLayout ssr=SsrMode::Async>
                        <Route path=path!("") view=organiser::event::OverviewSection ssr=SsrMode::Async/>
                        <Route path=path!("tickets") view=organiser::event::TicketsSection ssr=SsrMode::Async/>
                        <Route path=path!("questions") view=organiser::event::QuestionsSection ssr=SsrMode::Async/>
                        <Route path=path!("orders") view=organiser::event::OrdersSection ssr=SsrMode::Async/>
                        <Route path=path!("stages") view=organiser::event::StagesSection ssr=SsrMode::Async/>
                        <Route path=path!("sessions") view=organiser::sessions::SessionsSection ssr=SsrMode::Async/>
                        <Route path=path!("videos") view=organiser::videos::VideosSection ssr=SsrMode::Async/>
                        <Route path=path!("agenda") view=organiser::event::AgendaSection ssr=SsrMode::Async/>
                        <Route path=path!("moderators") view=organiser::event::ModeratorsSection ssr=SsrMode::Async/>
                        <Route path=path!("webhooks") view=organiser::webhooks::WebhooksSection ssr=SsrMode::Async/>
                    </ParentRoute>
                    <Route path=path!("/e/:slug") view=registration::LandingPage ssr=SsrMode::Async/>
                    <Route path=path!("/e/:slug/access") view=registration::AccessPage ssr=SsrMode::Async/>
                    <Route path=path!("/e/:slug/order/:code") view=registration::OrderPage ssr=SsrMode::Async/>
                    <Route path=path!("/e/:slug/pay/:code") view=registration::OrderPage ssr=SsrMode::Async/>
                    <Route path=path!("/e/:slug/reception") view=attendee::reception::ReceptionPage ssr=SsrMode::Async/>
                    <Route path=path!("/e/:slug/profile") view=attendee::profile::ProfilePage ssr=SsrMode::Async/>
                    <Route path=path!("/e/:slug/widget") view=registration::WidgetPage ssr=SsrMode::Async/>
                    <Route path=path!("/e/:slug/widget/order/:code") view=registration::WidgetOrderPage ssr=SsrMode::Async/>
                    <Route path=path!("/e/:slug/stage/:id") view=attendee::stage::StagePage ssr=SsrMode::Async/>
                    <Route path=path!("/e/:slug/session/:id") view=attendee::session::SessionPage ssr=SsrMode::Async/>
                    <Route path=path!("/e/:slug/check") view=attendee::check::CheckPage ssr=SsrMode::Async/>
                    <Route path=path!("/e/:slug/networking") view=attendee::networking::NetworkingPage ssr=SsrMode::Async/>
                    <Route path=path!("/e/:slug/replay") view=attendee::replay::ReplayPage ssr=SsrMode::Async/>
                    <Route path=path!("/e/:slug/replay/:id") view=attendee::replay::ReplayVideoPage ssr=SsrMode::Async/>
                    <Route path=path!("/dashboard/team") view=organiser::team::TeamPage ssr=SsrMode::Async/>
                    <Route path=path!("/team/join") view=organiser::team::JoinTeamPage ssr=SsrMode::Async/>
                </Routes>
            </main>
        </Router>
    }
}
