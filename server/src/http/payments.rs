//! The built-in test provider's endpoints, mounted only when it is configured:
//! its webhook and its "bank confirmation" page (3-D Secure), which reports
//! its result through the same signed-webhook code path as a real provider.

use app::error::AppError;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Form;
use axum::Router;
use protocol::states::PaymentOutcome;
use serde::Deserialize;
use services::payments::provider::WebhookEvent;
use services::payments::TestProvider;
use services::provider_webhooks::receive;
use services::Platform;
use sqlx::PgPool;
use std::sync::Arc;

/// Header carrying the test provider's signature.
const SIGNATURE_HEADER: &str = "x-test-signature";

/// What the test provider's endpoints work with.
#[derive(Clone)]
struct TestBank {
    pool: PgPool,
    provider: Arc<TestProvider>,
}

/// The test provider's webhook and bank page.
pub fn test_routes<S>(platform: Platform, provider: Arc<TestProvider>) -> Router<S> {
    Router::new()
        .route("/webhooks/payments/test", post(webhook))
        .route(
            "/payments/test/authorize/{provider_ref}",
            get(authorize_page).post(authorize),
        )
        .with_state(TestBank {
            pool: platform.pool,
            provider,
        })
}

/// `POST /webhooks/payments/test`: verified, idempotent.
async fn webhook(
    State(bank): State<TestBank>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, AppError> {
    let signature = headers
        .get(SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    receive(&bank.pool, bank.provider.as_ref(), signature, &body).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn valid_ref(r: &str) -> bool {
    r.len() <= 64 && r.starts_with("test_") && r[5..].chars().all(|c| c.is_ascii_hexdigit())
}

fn page(status: StatusCode, body: &str) -> Response {
    let body =
        format!("<p class=\"text-sm text-slate-500\">Convene test payment provider</p>{body}");
    super::page::html(status, "Test bank", &body)
}

/// `GET /payments/test/authorize/{ref}`: the test bank's confirmation page.
async fn authorize_page(Path(provider_ref): Path<String>) -> Response {
    if !valid_ref(&provider_ref) {
        return page(
            StatusCode::NOT_FOUND,
            "<h1 class=\"text-xl font-bold\">Unknown payment</h1>",
        );
    }
    page(
        StatusCode::OK,
        &format!(
            "<h1 class=\"text-xl font-bold\">Confirm your payment</h1>\
             <form method=\"post\" action=\"/payments/test/authorize/{provider_ref}\" class=\"flex gap-3\">\
             <button class=\"btn\" name=\"decision\" value=\"approve\">Approve</button>\
             <button class=\"btn\" name=\"decision\" value=\"decline\">Decline</button></form>"
        ),
    )
}

/// The bank page's form: which button was pressed.
#[derive(Deserialize)]
struct Decision {
    decision: Choice,
}

/// The buyer's answer on the test bank's page.
#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum Choice {
    Approve,
    Decline,
}

/// `POST /payments/test/authorize/{ref}`: signs the outcome and delivers it as a webhook.
async fn authorize(
    State(bank): State<TestBank>,
    Path(provider_ref): Path<String>,
    Form(d): Form<Decision>,
) -> Result<Response, AppError> {
    if !valid_ref(&provider_ref) {
        return Ok(page(
            StatusCode::NOT_FOUND,
            "<h1 class=\"text-xl font-bold\">Unknown payment</h1>",
        ));
    }
    let status = match d.decision {
        Choice::Approve => PaymentOutcome::Succeeded,
        Choice::Decline => PaymentOutcome::Failed,
    };
    // The bank records the answer first, as a real one would: should the
    // webhook be lost, the reconciliation finds the outcome there.
    bank.provider.decide(&provider_ref, status);
    let body = serde_json::to_vec(&WebhookEvent {
        provider_ref,
        status,
    })
    .map_err(|e| AppError::from(services::Error::from(e)))?;
    let signature = bank.provider.sign(&body);
    receive(&bank.pool, bank.provider.as_ref(), &signature, &body).await?;
    let text = if status == PaymentOutcome::Succeeded {
        "Payment approved. You can close this page and go back to your order."
    } else {
        "Payment declined. You can try again with another card."
    };
    Ok(page(
        StatusCode::OK,
        &format!("<h1 class=\"text-xl font-bold\" data-testid=\"bank-result\">{text}</h1>"),
    ))
}
