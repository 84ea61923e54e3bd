//! Public keys for third-party apps: they verify the context tokens Convene
//! hands them (EdDSA JWTs) against this JWK set.

use app::error::AppError;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::Json;
use services::Platform;

/// `GET /.well-known/jwks.json`.
pub async fn jwks(State(state): State<Platform>) -> Result<impl IntoResponse, AppError> {
    let keys = services::signing::jwks(&state.pool).await?;
    Ok((
        [
            (header::CACHE_CONTROL, "public, max-age=300"),
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
        ],
        Json(keys),
    ))
}
