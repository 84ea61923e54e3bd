//! Public keys for third-party apps: they verify the context tokens Convene
//! hands them (EdDSA JWTs) against this JWK set.

use app::error::AppError;
use app::state::AppState;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::Json;

/// `GET /.well-known/jwks.json`.
pub async fn jwks(State(state): State<AppState>) -> Result<impl IntoResponse, AppError> {
    let keys = services::apps::jwks(&state.pool).await?;
    Ok((
        [
            (header::CACHE_CONTROL, "public, max-age=300"),
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
        ],
        Json(keys),
    ))
}
