//! Paid orders through the built-in test provider, including its webhook path.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use protocol::states::PaymentOutcome;
use serde_json::Value;
use services::payments::provider::{Charge, ChargeRequest, PaymentProvider, WebhookEvent};
use services::payments::test_provider::{CARD_REQUIRES_ACTION, CARD_SUCCEEDS};
use services::payments::{FeePolicy, TestProvider};
use services::registrations::{lifecycle, payment};
use uuid::Uuid;

use convene_server::configuration::PaymentsConfig;

use crate::helpers::{
    client, fns, spawn_web_only, spawn_with, start, test_settings, Organiser, TestApp, Workers,
    TEST_PAYMENTS_SECRET,
};

/// An event with a 49.90 EUR ticket type; returns a pending order's code.
async fn pending_order(app: &TestApp) -> String {
    pending_order_of(app).await.2
}

/// Like [`pending_order`], with the organiser and the event's slug.
async fn pending_order_of(app: &TestApp) -> (Organiser, String, String) {
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    let (s, b) = app
        .call::<fns::CreateTicketType>(
            &org.client,
            &[
                ("slug", &slug),
                ("name", "Paid"),
                ("price", "49.90"),
                ("quota", "5"),
            ],
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let tt: Uuid = sqlx::query_scalar(
        "SELECT t.id FROM ticket_types t JOIN events e ON e.id = t.event_id WHERE t.name = 'Paid' AND e.slug = $1",
    )
    .bind(&slug)
    .fetch_one(&app.pool)
        .await
        .unwrap();
    let email = format!("{}@example.org", Uuid::new_v4().simple());
    let tt = tt.to_string();
    let (s, body) = app
        .call::<fns::Register>(
            &client(),
            &[
                ("slug", &slug),
                ("name", "Pat"),
                ("email", &email),
                ("ticket_type_id", &tt),
            ],
        )
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["status"], "pending");
    (org, slug, body["order_code"].as_str().unwrap().to_owned())
}

async fn order(app: &TestApp, code: &str) -> (String, i64) {
    sqlx::query_as("SELECT status, platform_fee_minor FROM orders WHERE code = $1")
        .bind(code)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

async fn pay(app: &TestApp, code: &str, card: &str) -> (u16, Value) {
    app.call::<fns::Pay>(&client(), &[("order_code", code), ("card_number", card)])
        .await
}

#[tokio::test]
async fn a_good_card_confirms_the_order_and_records_the_fee() {
    let app = spawn_web_only().await;
    let code = pending_order(&app).await;
    let (s, body) = pay(&app, &code, "4242 4242 4242 4242").await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["status"], "confirmed");
    // 2.5 % of 49.90 (1.2475 → 1.25) + 0.30 fixed.
    assert_eq!(order(&app, &code).await, ("confirmed".into(), 155));
    let (s, body) = pay(&app, &code, "4242424242424242").await;
    assert_eq!(s, 409, "paying twice: {body}");
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM payments WHERE status = 'succeeded'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(n, 1);
}

#[tokio::test]
async fn a_declined_card_leaves_the_order_pending_and_says_why() {
    let app = spawn_web_only().await;
    let code = pending_order(&app).await;
    let (s, body) = pay(&app, &code, "4000 0000 0000 0002").await;
    assert_eq!(s, 402, "{body}");
    assert_eq!(body["message"], "your card was declined");
    assert_eq!(order(&app, &code).await.0, "pending");
    let (s, body) = pay(&app, &code, "not a card").await;
    assert_eq!(s, 400, "{body}");
    let (s, _) = pay(&app, "NOSUCHORDER", "4242424242424242").await;
    assert_eq!(s, 404);
    // Both attempts are on record (each is recorded before the provider
    // is asked); a good card then works.
    let failed: i64 = sqlx::query_scalar("SELECT count(*) FROM payments WHERE status = 'failed'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(failed, 2);
    assert_eq!(pay(&app, &code, "4242424242424242").await.0, 200);
    assert_eq!(order(&app, &code).await.0, "confirmed");
}

#[tokio::test]
async fn extra_authentication_completes_through_a_signed_webhook() {
    let app = spawn_web_only().await;
    let (_, slug, code) = pending_order_of(&app).await;
    let (s, body) = pay(&app, &code, "4000002500003155").await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["status"], "requires_action");
    let url = body["action_url"].as_str().unwrap().to_owned();
    assert_eq!(order(&app, &code).await.0, "pending");
    // The order page offers the bank's step again (after a reload, say).
    let summary = [("slug", slug.as_str()), ("code", code.as_str())];
    let (s, page) = app.call::<fns::BuyerOrder>(&client(), &summary).await;
    assert_eq!(s, 200, "{page}");
    assert_eq!(page["bank_step"], url.as_str());
    let provider_ref = url.rsplit('/').next().unwrap().to_owned();

    // A forged webhook is refused and changes nothing.
    let forged = format!(r#"{{"provider_ref":"{provider_ref}","status":"succeeded"}}"#);
    let res = client()
        .post(format!("{}/webhooks/payments/test", app.base))
        .header("x-test-signature", "00".repeat(32))
        .body(forged.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    // So is a correctly signed one sent ten minutes ago (a replay).
    let provider = services::payments::TestProvider::new(TEST_PAYMENTS_SECRET);
    let stale = chrono::Utc::now().timestamp() - 600;
    let res = client()
        .post(format!("{}/webhooks/payments/test", app.base))
        .header(
            "x-test-signature",
            provider.sign_at(forged.as_bytes(), stale),
        )
        .body(forged.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(order(&app, &code).await.0, "pending");

    // The bank page approves: the provider's signed webhook confirms the order.
    let page = client()
        .get(format!("{}{url}", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let res = client()
        .post(format!("{}{url}", app.base))
        .form(&[("decision", "maybe")])
        .send()
        .await
        .unwrap();
    assert!(res.status().is_client_error(), "{}", res.status());
    assert_eq!(order(&app, &code).await.0, "pending");
    let res = client()
        .post(format!("{}{url}", app.base))
        .form(&[("decision", "approve")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(order(&app, &code).await.0, "confirmed");
    let (_, page) = app.call::<fns::BuyerOrder>(&client(), &summary).await;
    assert_eq!(page["status"], "confirmed");
    assert!(page["bank_step"].is_null(), "{page}");

    // A correctly signed redelivery is accepted and changes nothing.
    let res = client()
        .post(format!("{}/webhooks/payments/test", app.base))
        .header("x-test-signature", provider.sign(forged.as_bytes()))
        .body(forged)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM payments")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(n, 1);
}

/// Each payment of order `code`, oldest first: its status and the amount refunded.
async fn payments_of(app: &TestApp, code: &str) -> Vec<(String, i64)> {
    sqlx::query_as(
        "SELECT p.status, (SELECT coalesce(sum(r.amount_minor), 0) FROM refunds r WHERE r.payment_id = p.id AND r.status = 'succeeded')::bigint
         FROM payments p JOIN orders o ON o.id = p.order_id WHERE o.code = $1 ORDER BY p.created_at",
    )
    .bind(code)
    .fetch_all(&app.pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_bank_confirmation_after_another_card_paid_refunds_only_that_payment() {
    let app = spawn_web_only().await;
    let code = pending_order(&app).await;
    let (s, body) = pay(&app, &code, "4000002500003155").await;
    assert_eq!(s, 200, "{body}");
    let url = body["action_url"].as_str().unwrap().to_owned();
    // The buyer leaves the bank page and pays with another card: the waiting
    // attempt is abandoned.
    let (s, body) = pay(&app, &code, "4242424242424242").await;
    assert_eq!(
        (s, body["status"].as_str()),
        (200, Some("confirmed")),
        "{body}"
    );
    assert_eq!(
        payments_of(&app, &code).await,
        vec![("failed".into(), 0), ("succeeded".into(), 0)]
    );
    // Then the first bank page is approved after all: that money goes back,
    // and only that money; the order and its tickets stay.
    let approve = || async {
        client()
            .post(format!("{}{url}", app.base))
            .form(&[("decision", "approve")])
            .send()
            .await
            .unwrap()
            .status()
    };
    assert_eq!(approve().await, 200);
    let expected = vec![("refunded".to_owned(), 4990), ("succeeded".to_owned(), 0)];
    assert_eq!(payments_of(&app, &code).await, expected);
    assert_eq!(order(&app, &code).await.0, "confirmed");
    let voided: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM tickets t JOIN orders o ON o.id = t.order_id WHERE o.code = $1 AND t.voided_at IS NOT NULL",
    )
    .bind(&code)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(voided, 0);
    // A redelivery refunds nothing more.
    assert_eq!(approve().await, 200);
    assert_eq!(payments_of(&app, &code).await, expected);
    // The database itself refuses a second success for one order.
    let second = sqlx::query(
        "UPDATE payments SET status = 'succeeded' WHERE status = 'refunded'
         AND order_id = (SELECT id FROM orders WHERE code = $1)",
    )
    .bind(&code)
    .execute(&app.pool)
    .await;
    assert!(second.is_err(), "two succeeded payments for one order");
}

#[tokio::test]
async fn without_a_configured_provider_paid_tickets_are_refused_and_the_test_bank_is_absent() {
    let mut settings = test_settings().await;
    settings.payments = PaymentsConfig::default();
    let app = spawn_with(settings, Workers::NONE).await;
    let code = pending_order(&app).await;
    let (s, body) = pay(&app, &code, "4242 4242 4242 4242").await;
    assert_eq!(
        (s, body["message"].as_str()),
        (
            402,
            Some("this platform takes no card payments: its operator has not set up a payment provider")
        ),
    );
    assert_eq!(order(&app, &code).await.0, "pending");
    // Neither the bank page nor the webhook exists, so nothing can be forged.
    let provider = services::payments::TestProvider::new(TEST_PAYMENTS_SECRET);
    let body = r#"{"provider_ref":"test_00","status":"succeeded"}"#;
    let webhook = client()
        .post(format!("{}/webhooks/payments/test", app.base))
        .header("x-test-signature", provider.sign(body.as_bytes()))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(webhook.status(), 404);
    let bank = client()
        .get(format!("{}/payments/test/authorize/test_00", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(bank.status(), 404);
}

#[tokio::test]
async fn unpaid_orders_expire_and_release_their_seats() {
    let app = spawn_web_only().await;
    let code = pending_order(&app).await;
    let fresh = pending_order(&app).await;
    let sold = |app: &TestApp| {
        let pool = app.pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>("SELECT sum(sold)::bigint FROM quotas")
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    assert_eq!(sold(&app).await, 2);
    sqlx::query("UPDATE orders SET created_at = now() - interval '31 minutes' WHERE code = $1")
        .bind(&code)
        .execute(&app.pool)
        .await
        .unwrap();
    let ttl = services::registrations::orders::PENDING_ORDER_TTL_MINUTES;
    assert_eq!(
        services::registrations::lifecycle::expire_pending(&app.pool, ttl)
            .await
            .unwrap(),
        1
    );
    assert_eq!(order(&app, &code).await.0, "cancelled");
    assert_eq!(
        order(&app, &fresh).await.0,
        "pending",
        "young orders keep their seats"
    );
    assert_eq!(sold(&app).await, 1);
    let (s, body) = pay(&app, &code, "4242424242424242").await;
    assert_eq!(s, 409, "an expired order cannot be paid: {body}");
}

/// Payment statuses of an order, oldest first, and the total refunded.
async fn money(app: &TestApp, code: &str) -> (Vec<String>, i64) {
    let payments = payments_of(app, code).await;
    let refunded = payments.iter().map(|(_, r)| r).sum();
    (payments.into_iter().map(|(s, _)| s).collect(), refunded)
}

#[tokio::test]
async fn a_payment_another_provider_took_is_never_marked_refunded_here() {
    let app = spawn_web_only().await;
    let (org, slug, code) = pending_order_of(&app).await;
    assert_eq!(pay(&app, &code, "4242424242424242").await.0, 200);
    // The operator switches the test provider off; the payment stays the test
    // provider's, and only it can give the money back.
    let mut settings = app.settings.clone();
    settings.payments = PaymentsConfig::default();
    let none = start(settings, app.deps.clone(), Workers::NONE).await;
    let form = [("slug", slug.as_str()), ("order_code", code.as_str())];
    let (s, b) = none.call::<fns::CancelOrder>(&org.client, &form).await;
    assert_eq!(s, 409, "{b}");
    let message = b["message"].as_str().unwrap();
    assert!(
        message.starts_with("the order is cancelled but its refund failed")
            && message.contains("taken by the 'test' provider"),
        "{message}"
    );
    assert_eq!(order(&app, &code).await.0, "cancelled");
    assert_eq!(money(&app, &code).await, (vec!["succeeded".to_string()], 0));
    // Back on the test provider, cancelling again refunds it.
    let (s, b) = app.call::<fns::CancelOrder>(&org.client, &form).await;
    assert_eq!((s, b.as_str()), (200, Some("refunded")), "{b}");
    assert_eq!(
        money(&app, &code).await,
        (vec!["refunded".to_string()], 4990)
    );
}

#[tokio::test]
async fn cancelling_a_paid_order_refunds_it_and_frees_the_seat() {
    let app = spawn_web_only().await;
    let (org, slug, code) = pending_order_of(&app).await;
    // A declined attempt first: only the succeeded payment is refunded.
    assert_eq!(pay(&app, &code, "4000000000000002").await.0, 402);
    assert_eq!(pay(&app, &code, "4242424242424242").await.0, 200);
    let form = [("slug", slug.as_str()), ("order_code", code.as_str())];
    let (s, b) = app.call::<fns::CancelOrder>(&client(), &form).await;
    assert_eq!(s, 401, "strangers cannot cancel: {b}");
    let other = app.organiser().await;
    let (s, _) = app.call::<fns::CancelOrder>(&other.client, &form).await;
    assert_eq!(s, 404, "nor can other organisations");
    assert_eq!(order(&app, &code).await.0, "confirmed");

    let (s, b) = app.call::<fns::CancelOrder>(&org.client, &form).await;
    assert_eq!((s, b.as_str()), (200, Some("refunded")), "{b}");
    assert_eq!(order(&app, &code).await.0, "refunded");
    assert_eq!(
        money(&app, &code).await,
        (vec!["failed".to_string(), "refunded".to_string()], 4990)
    );
    let sold: i64 = sqlx::query_scalar("SELECT sum(sold)::bigint FROM quotas")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(sold, 0, "the seat is back on sale");
    let (s, b) = app.call::<fns::CancelOrder>(&org.client, &form).await;
    assert_eq!(
        (s, b["message"].as_str()),
        (409, Some("this order is already refunded"))
    );
    assert_eq!(money(&app, &code).await.1, 4990, "never refunded twice");
    let (s, rows) = app
        .call::<fns::ListRegistrations>(
            &org.client,
            &[("slug", slug.as_str()), ("status", "refunded")],
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(rows.as_array().unwrap().len(), 1, "{rows}");
    // The detail view: tickets (voided), payments and the refund.
    let (s, d) = app
        .call::<fns::RegistrationDetail>(&org.client, &form)
        .await;
    assert_eq!(s, 200, "{d}");
    assert_eq!(d["status"], "refunded");
    assert_eq!(d["refunded"], "49.90 EUR");
    assert_eq!(d["payments"].as_array().unwrap().len(), 2);
    assert_eq!(d["tickets"][0]["voided"], true);
    let (s, _) = app
        .call::<fns::RegistrationDetail>(&other.client, &form)
        .await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn a_payment_confirmed_after_its_order_expired_is_refunded() {
    let app = spawn_web_only().await;
    let code = pending_order(&app).await;
    let (s, body) = pay(&app, &code, "4000002500003155").await;
    assert_eq!(s, 200, "{body}");
    let url = body["action_url"].as_str().unwrap().to_owned();
    // The buyer leaves the bank page open past the order's hold.
    sqlx::query("UPDATE orders SET created_at = now() - interval '31 minutes' WHERE code = $1")
        .bind(&code)
        .execute(&app.pool)
        .await
        .unwrap();
    let ttl = services::registrations::orders::PENDING_ORDER_TTL_MINUTES;
    services::registrations::lifecycle::expire_pending(&app.pool, ttl)
        .await
        .unwrap();
    assert_eq!(order(&app, &code).await.0, "cancelled");
    let res = client()
        .post(format!("{}{url}", app.base))
        .form(&[("decision", "approve")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        order(&app, &code).await.0,
        "cancelled",
        "no ticket for a closed order"
    );
    assert_eq!(
        money(&app, &code).await,
        (vec!["refunded".to_string()], 4990),
        "the money is given back"
    );
}

/// The test provider behind an unreliable line, as a real provider can be.
struct Flaky {
    inner: TestProvider,
    line: Line,
    /// Refund calls to fail before they get through.
    refund_failures: AtomicUsize,
}

/// What happens to charge requests on the line.
#[derive(Clone, Copy)]
enum Line {
    /// Requests and answers get through.
    Fine,
    /// The provider charges, and its answer is lost.
    LosesAnswers,
    /// Requests never reach the provider.
    Down,
    /// The provider answers after this long.
    Slow(Duration),
}

impl Flaky {
    fn provider(line: Line, refund_failures: usize) -> Arc<dyn PaymentProvider> {
        Arc::new(Flaky {
            inner: TestProvider::new(TEST_PAYMENTS_SECRET),
            line,
            refund_failures: AtomicUsize::new(refund_failures),
        })
    }
}

impl PaymentProvider for Flaky {
    fn name(&self) -> &'static str {
        "test"
    }

    fn charge(&self, req: ChargeRequest) -> BoxFuture<'_, services::Result<Charge>> {
        Box::pin(async move {
            let lost = || services::Error::Internal("connection reset by peer".into());
            match self.line {
                Line::Fine => self.inner.charge(req).await,
                Line::LosesAnswers => {
                    self.inner.charge(req).await?;
                    Err(lost())
                }
                Line::Down => Err(lost()),
                Line::Slow(after) => {
                    tokio::time::sleep(after).await;
                    self.inner.charge(req).await
                }
            }
        })
    }

    fn find_charge(&self, key: &str) -> BoxFuture<'_, services::Result<Option<Charge>>> {
        self.inner.find_charge(key)
    }

    fn verify_webhook(&self, signature: &str, body: &[u8]) -> services::Result<WebhookEvent> {
        self.inner.verify_webhook(signature, body)
    }

    fn refund(
        &self,
        provider_ref: &str,
        amount_minor: i64,
        key: &str,
    ) -> BoxFuture<'_, services::Result<String>> {
        let fail = self
            .refund_failures
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if fail {
            return Box::pin(async {
                Err(services::Error::Internal("provider unavailable".into()))
            });
        }
        self.inner.refund(provider_ref, amount_minor, key)
    }
}

const FEES: FeePolicy = FeePolicy {
    bps: 250,
    fixed_minor: 30,
};

#[tokio::test]
async fn a_charge_whose_answer_is_lost_is_recorded_first_and_settled_by_the_reconciliation() {
    let app = spawn_web_only().await;
    let code = pending_order(&app).await;
    let line = Flaky::provider(Line::LosesAnswers, 0);
    let paid = payment::pay(&app.pool, &line, FEES, &code, CARD_SUCCEEDS).await;
    assert!(matches!(paid, Err(services::Error::Busy(_))), "{paid:?}");
    // The attempt was recorded before the provider was asked.
    assert_eq!(
        payments_of(&app, &code).await,
        vec![("processing".into(), 0)]
    );
    assert_eq!(order(&app, &code).await.0, "pending");
    // While its outcome is unknown, a second attempt is refused: it could charge twice.
    let again = payment::pay(&app.pool, &line, FEES, &code, CARD_SUCCEEDS).await;
    assert!(
        matches!(again, Err(services::Error::Conflict(_))),
        "{again:?}"
    );
    // Only attempts older than the threshold are looked at.
    let later = chrono::Duration::minutes(2);
    assert_eq!(
        payment::reconcile(&app.pool, line.as_ref(), later)
            .await
            .unwrap(),
        0
    );
    let now = chrono::Duration::zero();
    assert_eq!(
        payment::reconcile(&app.pool, line.as_ref(), now)
            .await
            .unwrap(),
        1
    );
    assert_eq!(order(&app, &code).await, ("confirmed".into(), 155));
    assert_eq!(
        payments_of(&app, &code).await,
        vec![("succeeded".into(), 0)]
    );
    assert_eq!(
        payment::reconcile(&app.pool, line.as_ref(), now)
            .await
            .unwrap(),
        0
    );
}

#[tokio::test]
async fn an_attempt_the_provider_never_received_fails_and_the_buyer_can_pay_again() {
    let app = spawn_web_only().await;
    let code = pending_order(&app).await;
    let down = Flaky::provider(Line::Down, 0);
    let paid = payment::pay(&app.pool, &down, FEES, &code, CARD_SUCCEEDS).await;
    assert!(matches!(paid, Err(services::Error::Busy(_))), "{paid:?}");
    let now = chrono::Duration::zero();
    assert_eq!(
        payment::reconcile(&app.pool, down.as_ref(), now)
            .await
            .unwrap(),
        1
    );
    assert_eq!(payments_of(&app, &code).await, vec![("failed".into(), 0)]);
    assert_eq!(order(&app, &code).await.0, "pending");
    let (s, body) = pay(&app, &code, CARD_SUCCEEDS).await;
    assert_eq!(
        (s, body["status"].as_str()),
        (200, Some("confirmed")),
        "{body}"
    );
}

#[tokio::test]
async fn a_buyer_who_leaves_mid_payment_does_not_cut_it_short() {
    let app = spawn_web_only().await;
    let code = pending_order(&app).await;
    let slow = Flaky::provider(Line::Slow(Duration::from_millis(400)), 0);
    // The request goes away while the provider is still charging.
    let request = payment::pay(&app.pool, &slow, FEES, &code, CARD_SUCCEEDS);
    let gone = tokio::time::timeout(Duration::from_millis(50), request).await;
    assert!(gone.is_err(), "the provider answered within 50 ms");
    // The charge completes and is recorded all the same.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while order(&app, &code).await.0 != "confirmed" {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the payment was never recorded"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        payments_of(&app, &code).await,
        vec![("succeeded".into(), 0)]
    );
}

#[tokio::test]
async fn a_bank_confirmation_whose_webhook_is_lost_is_settled_by_the_reconciliation() {
    let app = spawn_web_only().await;
    let code = pending_order(&app).await;
    let (s, body) = pay(&app, &code, CARD_REQUIRES_ACTION).await;
    assert_eq!(s, 200, "{body}");
    let url = body["action_url"].as_str().unwrap();
    let provider_ref = url.rsplit('/').next().unwrap();
    // The bank records the approval; its webhook never arrives.
    let test = app.test_provider();
    test.decide(provider_ref, PaymentOutcome::Succeeded);
    assert_eq!(order(&app, &code).await.0, "pending");
    let now = chrono::Duration::zero();
    let provider = app.payments.clone();
    assert_eq!(
        payment::reconcile(&app.pool, provider.as_ref(), now)
            .await
            .unwrap(),
        1
    );
    assert_eq!(order(&app, &code).await.0, "confirmed");
}

#[tokio::test]
async fn a_refund_that_fails_stays_pending_and_is_retried_with_the_same_key() {
    let app = spawn_web_only().await;
    let (org, slug, code) = pending_order_of(&app).await;
    assert_eq!(pay(&app, &code, CARD_SUCCEEDS).await.0, 200);
    let owner = services::accounts::organisers::of_org(&app.pool, org_id(&app, &org).await)
        .await
        .unwrap()
        .remove(0);
    let line = Flaky::provider(Line::Fine, 1);
    let cancelled = lifecycle::cancel(&app.pool, &line, &owner, &slug, &code).await;
    assert!(
        matches!(&cancelled, Err(services::Error::Conflict(m)) if m.contains("refund failed")),
        "{cancelled:?}"
    );
    assert_eq!(order(&app, &code).await.0, "cancelled");
    assert_eq!(
        payments_of(&app, &code).await,
        vec![("refunding".into(), 0)]
    );
    let (status, attempts): (String, i32) = sqlx::query_as("SELECT status, attempts FROM refunds")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!((status.as_str(), attempts), ("pending", 1));
    // The reconciliation retries it; the order ends refunded, once.
    let now = chrono::Duration::zero();
    assert_eq!(
        payment::reconcile(&app.pool, line.as_ref(), now)
            .await
            .unwrap(),
        1
    );
    assert_eq!(order(&app, &code).await.0, "refunded");
    assert_eq!(
        payments_of(&app, &code).await,
        vec![("refunded".into(), 4990)]
    );
    let refunds: i64 = sqlx::query_scalar("SELECT count(*) FROM refunds")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(refunds, 1);
    let facts: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM outbox WHERE payload::text LIKE '%order.refunded%'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(facts, 1, "one OrderRefunded fact");
    assert_eq!(
        payment::reconcile(&app.pool, line.as_ref(), now)
            .await
            .unwrap(),
        0
    );
}

async fn org_id(app: &TestApp, org: &Organiser) -> protocol::ids::OrgId {
    sqlx::query_scalar("SELECT org_id FROM organisers WHERE email = $1")
        .bind(&org.email)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}
