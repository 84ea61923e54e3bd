//! Liveness and readiness.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};
use services::Platform;

/// Liveness: the process answers.
pub async fn healthz() -> &'static str {
    "ok"
}

/// Readiness of a web node: it can serve when PostgreSQL answers (pages,
/// registration, payments need nothing else). Redis (the live event, rate
/// limits shared between nodes) and the bus (read by the workers, not by web
/// requests) are reported, and their absence marks the node `degraded`, but
/// does not take it out of the load balancer. 503 with details otherwise.
pub async fn readyz(State(state): State<Platform>) -> (StatusCode, Json<Value>) {
    let db = sqlx::query_scalar::<_, i32>("SELECT 1")
        .fetch_one(&state.pool)
        .await
        .map(|_| ())
        .map_err(|e| e.to_string());
    let mut redis = state.redis.clone();
    let cache = redis::cmd("PING")
        .query_async::<String>(&mut redis)
        .await
        .map(|_| ())
        .map_err(|e| e.to_string());
    let bus = state.bus.ping().await.map_err(|e| e.to_string());
    let mut body = serde_json::Map::new();
    for (name, result) in [("database", &db), ("redis", &cache), ("bus", &bus)] {
        if let Err(e) = result {
            tracing::warn!(dependency = name, error = %e, "not ready");
        }
        body.insert(
            name.into(),
            json!(if result.is_ok() { "ok" } else { "unavailable" }),
        );
    }
    body.insert("bus_kind".into(), json!(state.bus.kind()));
    body.insert("degraded".into(), json!(cache.is_err() || bus.is_err()));
    let ready = db.is_ok();
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(Value::Object(body)))
}
