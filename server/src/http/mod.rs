//! The HTTP edge: Leptos pages and server functions, health, sign-in links, WebSocket.

mod apps;
mod csrf;
mod exports;
mod health;
mod join;
mod page;
mod payments;
mod widget;
mod ws;

use app::state::AppState;
use axum::http::{header, HeaderValue};
use axum::routing::{get, post};
use axum::Router;
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, LeptosRoutes};
use tower_http::set_header::SetResponseHeaderLayer;

/// The whole router of the web roles.
pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(app::App);
    let opts = state.leptos_options.clone();
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/e/{slug}/join", get(join::page).post(join::redeem))
        .route("/ws/e/{slug}", get(ws::live))
        .route("/.well-known/jwks.json", get(apps::jwks))
        .route(
            "/dashboard/events/{slug}/registrations.csv",
            get(exports::registrations_csv),
        )
        .route("/webhooks/payments/test", post(payments::webhook))
        .route(
            "/payments/test/authorize/{provider_ref}",
            get(payments::authorize_page).post(payments::authorize),
        )
        .leptos_routes_with_context(
            &state,
            routes,
            {
                let state = state.clone();
                move || provide_context(state.clone())
            },
            move || app::shell(opts.clone()),
        )
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(
            app::shell,
        ))
        .layer(axum::middleware::from_fn(csrf::guard))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            widget::frame_ancestors,
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("frame-ancestors 'none'"),
        ))
        .with_state(state)
}
