//! Rate limits on public writes: per client address and event, the client
//! address taken from `X-Forwarded-For` only behind a trusted proxy, IPv6
//! counted per /64, payment attempts per order, code lookups, the waiting list,
//! and log-in failures (not successes) per email.

use convene_server::http::TrustedProxies;
use serde_json::Value;
use services::ratelimit::{
    ORDER_LOOKUPS_PER_CLIENT, PAY_PER_ORDER, PROMO_PER_CLIENT_EVENT, REGISTER_PER_CLIENT_EVENT,
    WAITLIST_PER_CLIENT_EVENT,
};
use uuid::Uuid;

use crate::helpers::{client, fns, some_address, spawn_with, test_settings, TestApp, Workers};
use crate::ticketing::{buy, key, ticket_type};

async fn app_behind(proxies: &str) -> TestApp {
    let mut settings = test_settings().await;
    settings.http.trusted_proxies = TrustedProxies::parse(proxies).unwrap();
    spawn_with(settings, Workers::NONE).await
}

/// Registers a new person for the event's free ticket, from `from` as the
/// proxy says (None: straight from 127.0.0.1).
async fn register(app: &TestApp, slug: &str, from: Option<&str>) -> (u16, Value) {
    let email = format!("{}@example.org", Uuid::new_v4().simple());
    let form = [("slug", slug), ("name", "Rae"), ("email", email.as_str())];
    app.call_via::<fns::Register>(&client(), from, &form).await
}

async fn orders_of(app: &TestApp, slug: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM orders o JOIN events e ON e.id = o.event_id WHERE e.slug = $1",
    )
    .bind(slug)
    .fetch_one(&app.pool)
    .await
    .unwrap()
}

fn refused(status: u16, body: &Value) -> bool {
    status == 429
        && body["message"]
            .as_str()
            .is_some_and(|m| m.contains("too many attempts"))
}

#[tokio::test]
async fn registrations_are_limited_per_address_on_each_event() {
    let app = app_behind("").await;
    let a = app.event(&app.organiser().await).await;
    let b = app.event(&app.organiser().await).await;
    let max = REGISTER_PER_CLIENT_EVENT.max;
    for i in 0..max {
        let (s, body) = register(&app, &a, None).await;
        assert_eq!(s, 200, "registration {i}: {body}");
    }
    let (s, body) = register(&app, &a, None).await;
    assert!(refused(s, &body), "{s} {body}");
    assert_eq!(
        orders_of(&app, &a).await,
        max as i64,
        "the refused one stored nothing"
    );
    // The same address on another event has its own allowance.
    let (s, body) = register(&app, &b, None).await;
    assert_eq!(s, 200, "{body}");
}

#[tokio::test]
async fn forwarded_addresses_are_believed_only_from_a_trusted_proxy() {
    let max = REGISTER_PER_CLIENT_EVENT.max;

    // Nobody trusted: a header naming a new address each time changes nothing.
    let app = app_behind("").await;
    let slug = app.event(&app.organiser().await).await;
    for _ in 0..max {
        let from = some_address();
        assert_eq!(register(&app, &slug, Some(&from)).await.0, 200);
    }
    let from = some_address();
    let (s, body) = register(&app, &slug, Some(&from)).await;
    assert!(
        refused(s, &body),
        "the header chose a fresh bucket: {s} {body}"
    );
    drop(app);

    // Behind a trusted proxy: each forwarded client counts on its own, and
    // IPv6 clients count per /64.
    let app = app_behind("127.0.0.1").await;
    let slug = app.event(&app.organiser().await).await;
    for i in 0..max {
        let from = format!("2001:db8:1:2::{:x}", i + 1);
        let (s, body) = register(&app, &slug, Some(&from)).await;
        assert_eq!(s, 200, "{from}: {body}");
    }
    let (s, body) = register(&app, &slug, Some("2001:db8:1:2:ffff::9")).await;
    assert!(refused(s, &body), "same /64: {s} {body}");
    let (s, body) = register(&app, &slug, Some("2001:db8:1:3::1")).await;
    assert_eq!(s, 200, "another /64: {body}");
    // A client cannot hide behind an address it writes itself: the proxy's
    // entry (the rightmost) is the one believed.
    let (s, body) = register(&app, &slug, Some("203.0.113.5, 2001:db8:1:2::77")).await;
    assert!(refused(s, &body), "{s} {body}");
    // Straight from the proxy, without the header: the proxy's own bucket.
    assert_eq!(register(&app, &slug, None).await.0, 200);
}

#[tokio::test]
async fn card_attempts_on_one_order_are_limited_whoever_makes_them() {
    let app = app_behind("127.0.0.1").await;
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    let tt = ticket_type(&app, &org, &slug, &[("name", "Paid"), ("price", "30.00")]).await;
    let (s, order) = buy(&app, &slug, &tt, "1", &key()).await;
    assert_eq!(s, 200, "{order}");
    let code = order["order_code"].as_str().unwrap();
    let declined = services::payments::test_provider::CARD_DECLINED;
    let form = [("order_code", code), ("card_number", declined)];
    for i in 0..PAY_PER_ORDER.max {
        // A new address each time: the per-order limit still counts them.
        let from = some_address();
        let (s, body) = app
            .call_via::<fns::Pay>(&client(), Some(&from), &form)
            .await;
        assert_eq!(s, 402, "attempt {i}: {body}");
    }
    let good = [("order_code", code), ("card_number", "4242424242424242")];
    let from = some_address();
    let (s, body) = app
        .call_via::<fns::Pay>(&client(), Some(&from), &good)
        .await;
    assert!(refused(s, &body), "{s} {body}");
    let paid: i64 = sqlx::query_scalar("SELECT count(*) FROM payments WHERE status = 'succeeded'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(paid, 0, "the refused attempt never reached the provider");
}

#[tokio::test]
async fn code_lookups_and_waiting_list_sign_ups_are_limited_per_address() {
    let app = app_behind("").await;
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    for i in 0..PROMO_PER_CLIENT_EVENT.max {
        let guess = format!("GUESS{i}");
        let (s, page) = app
            .call::<fns::PublicEvent>(&client(), &[("slug", &slug), ("code", &guess)])
            .await;
        assert_eq!(s, 200, "{page}");
        assert_eq!(page["promo_error"], "this promo code is not valid");
    }
    let form = [("slug", slug.as_str()), ("code", "GUESS-NEXT")];
    let (s, body) = app.call::<fns::PublicEvent>(&client(), &form).await;
    assert!(refused(s, &body), "{s} {body}");
    // The page without a code still loads.
    let (s, _) = app
        .call::<fns::PublicEvent>(&client(), &[("slug", &slug)])
        .await;
    assert_eq!(s, 200);

    let tt = ticket_type(&app, &org, &slug, &[("name", "One"), ("quota", "1")]).await;
    let (s, b) = buy(&app, &slug, &tt, "1", &key()).await;
    assert_eq!(s, 200, "{b}");
    let join = |i: u64| {
        let (slug, tt) = (slug.clone(), tt.clone());
        let app = &app;
        async move {
            let email = format!("wait-{i}-{}@example.org", Uuid::new_v4().simple());
            let form = [
                ("slug", slug.as_str()),
                ("ticket_type_id", tt.as_str()),
                ("name", "Wai"),
                ("email", email.as_str()),
            ];
            app.call::<fns::JoinWaitlist>(&client(), &form).await
        }
    };
    for i in 0..WAITLIST_PER_CLIENT_EVENT.max {
        let (s, b) = join(i).await;
        assert_eq!(s, 200, "{b}");
    }
    let (s, body) = join(99).await;
    assert!(refused(s, &body), "{s} {body}");
    let waiting: i64 = sqlx::query_scalar("SELECT count(*) FROM waitlist_entries")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(waiting, WAITLIST_PER_CLIENT_EVENT.max as i64);
}

#[tokio::test]
async fn only_failed_log_ins_count_against_an_email() {
    let app = app_behind("").await;
    let org = app.organiser().await;
    let max = services::ratelimit::LOGIN_FAILURES_PER_EMAIL.max;
    // More successful log-ins than the failure allowance: all pass.
    for i in 0..max + 2 {
        let (s, body) = app
            .call::<fns::Login>(
                &client(),
                &[("email", &org.email), ("password", "a long password")],
            )
            .await;
        assert_eq!(s, 200, "log-in {i}: {body}");
    }
}

#[tokio::test]
async fn order_codes_cannot_be_guessed_at_speed() {
    let app = app_behind("").await;
    let slug = app.event(&app.organiser().await).await;
    let form = [("slug", slug.as_str()), ("code", "NOSUCH")];
    for i in 0..ORDER_LOOKUPS_PER_CLIENT.max {
        let (s, body) = app.call::<fns::BuyerOrder>(&client(), &form).await;
        assert_eq!(s, 404, "lookup {i}: {body}");
    }
    let (s, body) = app.call::<fns::BuyerOrder>(&client(), &form).await;
    assert!(refused(s, &body), "{s} {body}");
}
