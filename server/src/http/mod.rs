//! The HTTP edge: Leptos pages and server functions (under `/fn`), health,
//! sign-in links, the live WebSocket, attendees' photos, payment webhooks, exports,
//! media assets (uploads and signed media paths), the site's static files. Every request
//! gets an `x-request-id` (kept if a proxy set one) that names its tracing span
//! and comes back on the response.

mod apps;
mod assets;
mod avatars;
mod client_addr;
mod csrf;
mod edge;
mod exports;
mod headers;
mod health;
mod join;
pub(crate) mod live;
mod media_link;
mod page;
mod payments;
mod recordings;
mod seen;
pub(crate) mod site;
pub mod socket_limits;
mod widget;
mod ws;

pub use client_addr::TrustedProxies;
pub use edge::{serve, EdgeSettings};

use axum::extract::{DefaultBodyLimit, FromRef};
use axum::http::{header, HeaderName, HeaderValue, Request};
use axum::routing::{get, post, put};
use axum::Router;
use leptos::prelude::{provide_context, LeptosOptions};
use leptos_axum::{generate_route_list, LeptosRoutes};
use services::payments::TestProvider;
use services::Platform;
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceBuilder;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

/// The state of the web roles.
#[derive(Clone)]
pub struct ServerState {
    /// Leptos site options (static files, the shell).
    pub leptos_options: LeptosOptions,
    /// What handlers and server functions work with.
    pub platform: Platform,
    /// The test payment provider, when configured: its bank page and webhook
    /// are mounted only then.
    pub test_payments: Option<Arc<TestProvider>>,
    /// Timeouts, body limit and the proxies whose `X-Forwarded-For` names the client.
    pub edge: Arc<EdgeSettings>,
}

impl FromRef<ServerState> for LeptosOptions {
    fn from_ref(s: &ServerState) -> Self {
        s.leptos_options.clone()
    }
}

impl FromRef<ServerState> for Platform {
    fn from_ref(s: &ServerState) -> Self {
        s.platform.clone()
    }
}

/// The header carrying a request's id.
const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The whole router of the web roles.
pub fn router(state: ServerState) -> Router {
    let routes = generate_route_list(app::App);
    let opts = state.leptos_options.clone();
    site::note_stylesheet(&opts);
    let test_payments = match &state.test_payments {
        Some(provider) => payments::test_routes(state.platform.clone(), provider.clone()),
        None => Router::new(),
    };
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/e/{slug}/join", get(join::page).post(join::redeem))
        .route("/ws/e/{slug}", get(ws::live))
        .route(
            "/e/{slug}/profile/avatar",
            post(avatars::upload).layer(DefaultBodyLimit::max(avatars::MAX_REQUEST_BYTES)),
        )
        .route("/e/{slug}/profile/avatar/remove", post(avatars::remove))
        .route(
            "/e/{slug}/seen",
            post(seen::beacon).layer(DefaultBodyLimit::max(seen::MAX_BODY_BYTES)),
        )
        .route("/e/{slug}/avatars/{attendee}/{version}", get(avatars::photo))
        .route("/.well-known/jwks.json", get(apps::jwks))
        .route(
            "/dashboard/events/{slug}/registrations.csv",
            get(exports::registrations_csv),
        )
        .route(
            "/dashboard/events/{slug}/reports/{file}",
            get(exports::report_csv),
        )
        .route(
            "/dashboard/events/{slug}/assets",
            get(assets::list).post(assets::begin),
        )
        .route(
            "/dashboard/events/{slug}/assets/{id}",
            get(assets::show)
                .patch(assets::append)
                .delete(assets::remove),
        )
        .route(
            "/dashboard/events/{slug}/assets/{id}/captions",
            put(assets::captions),
        )
        .route(
            "/dashboard/events/{slug}/assets/{id}/preview",
            get(assets::preview),
        )
        .route("/media/{token}/{file}", get(assets::media))
        .route(recordings::PATH, post(recordings::receive))
        .route(recordings::TRACKS_PATH, post(recordings::receive_track))
        .route("/media/v1/live/{file}", put(live::upload))
        .route("/media/live/{token}/{file}", get(live::watch))
        .route("/e/{slug}/connections.vcf", get(exports::connections_vcf))
        .route("/e/{slug}/connections.csv", get(exports::connections_csv))
        .merge(test_payments)
        .leptos_routes_with_context(
            &state,
            routes,
            {
                let platform = state.platform.clone();
                move || provide_context(platform.clone())
            },
            move || app::shell(opts.clone()),
        )
        .fallback(site::file_or_page::<ServerState>)
        .layer(axum::middleware::from_fn_with_state(
            Arc::<str>::from(state.platform.public_url.as_str()),
            csrf::guard,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.edge.max_body_bytes,
            edge::body_limit,
        ))
        .layer(axum::middleware::from_fn_with_state(
            Duration::from_secs(state.edge.request_timeout_secs),
            edge::deadline,
        ))
        .layer(axum::middleware::from_fn_with_state(
            Arc::new(state.edge.trusted_proxies.clone()),
            client_addr::attach,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.platform.clone(),
            widget::frame_ancestors,
        ))
        .layer(axum::middleware::from_fn_with_state(
            headers::OverTls(state.platform.serves_https()),
            headers::caching_and_transport,
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
                .layer(TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
                    let id = req
                        .headers()
                        .get(REQUEST_ID)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("-");
                    // The path only: query strings may carry tokens.
                    tracing::info_span!("request", id, method = %req.method(), path = %req.uri().path())
                }))
                .layer(PropagateRequestIdLayer::new(REQUEST_ID)),
        )
        .with_state(state)
}
