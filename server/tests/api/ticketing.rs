//! Ticket types, quotas, orders and idempotency — including the concurrency
//! tests in the style pretix uses: many concurrent buyers for a small quota.

use futures::future::join_all;
use serde_json::Value;
use uuid::Uuid;

use convene_server::http::TrustedProxies;

use crate::helpers::{
    client, fns, some_address, spawn_with, test_settings, Organiser, TestApp, Workers,
};

/// A server whose clients sit behind a trusted proxy on 127.0.0.1, so the
/// buyers of a sale each count as their own address (as they would in
/// production behind a load balancer) and the per-address limits hold for
/// each of them.
pub async fn app(unsafe_unlocked: bool) -> TestApp {
    let mut settings = test_settings().await;
    settings.unsafe_disable_quota_locking = unsafe_unlocked;
    settings.http.trusted_proxies = TrustedProxies::parse("127.0.0.1").unwrap();
    spawn_with(settings, Workers::NONE).await
}

/// Adds a ticket type and returns its id (looked up by name in the public offers).
pub async fn ticket_type(
    app: &TestApp,
    org: &Organiser,
    slug: &str,
    form: &[(&str, &str)],
) -> String {
    let mut full = vec![("slug", slug)];
    full.extend_from_slice(form);
    let (s, body) = app.call::<fns::CreateTicketType>(&org.client, &full).await;
    assert_eq!(s, 200, "{body}");
    let name = form.iter().find(|(k, _)| *k == "name").unwrap().1;
    let id: Uuid = sqlx::query_scalar("SELECT id FROM ticket_types WHERE name = $1")
        .bind(name)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    id.to_string()
}

pub async fn buy(app: &TestApp, slug: &str, tt: &str, qty: &str, key: &str) -> (u16, Value) {
    let email = format!("{}@example.org", Uuid::new_v4().simple());
    let form = [
        ("slug", slug),
        ("name", "Buyer"),
        ("email", &email),
        ("ticket_type_id", tt),
        ("quantity", qty),
        ("idempotency_key", key),
    ];
    let from = some_address();
    app.call_via::<fns::Register>(&client(), Some(&from), &form)
        .await
}

pub fn key() -> String {
    Uuid::new_v4().simple().to_string()
}

pub async fn sold(app: &TestApp) -> (i64, i64) {
    sqlx::query_as("SELECT (SELECT count(*) FROM tickets t JOIN ticket_types tt ON tt.id = t.ticket_type_id WHERE tt.name = 'Flash'), (SELECT coalesce(sum(sold), 0) FROM quotas WHERE name = 'Flash')")
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

/// Fires `buyers` concurrent purchases of one ticket each; returns (ok, sold out, other).
async fn flash_sale(
    app: &TestApp,
    slug: &str,
    tt: &str,
    buyers: usize,
) -> (usize, usize, Vec<(u16, Value)>) {
    let results =
        join_all((0..buyers).map(|_| async { buy(app, slug, tt, "1", &key()).await })).await;
    let ok = results.iter().filter(|(s, _)| *s == 200).count();
    let sold_out = results
        .iter()
        .filter(|(s, b)| *s == 409 && b["message"] == "sold out")
        .count();
    let other = results
        .into_iter()
        .filter(|(s, b)| *s != 200 && !(*s == 409 && b["message"] == "sold out"))
        .collect();
    (ok, sold_out, other)
}

#[tokio::test]
async fn concurrent_buyers_never_oversell_a_quota() {
    let app = app(false).await;
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    let tt = ticket_type(&app, &org, &slug, &[("name", "Flash"), ("quota", "7")]).await;
    let (ok, sold_out, other) = flash_sale(&app, &slug, &tt, 40).await;
    assert!(other.is_empty(), "unexpected answers: {other:?}");
    assert_eq!((ok, sold_out), (7, 33));
    assert_eq!(sold(&app).await, (7, 7));
    // The quota is exhausted for later buyers too.
    let (s, body) = buy(&app, &slug, &tt, "1", &key()).await;
    assert_eq!((s, body["message"].as_str()), (409, Some("sold out")));
}

#[tokio::test]
async fn control_without_locking_the_race_oversells() {
    // The same sale with the test-only switch: proves the test above can fail.
    let app = app(true).await;
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    let tt = ticket_type(&app, &org, &slug, &[("name", "Flash"), ("quota", "7")]).await;
    let (ok, _, other) = flash_sale(&app, &slug, &tt, 40).await;
    assert!(other.is_empty(), "unexpected answers: {other:?}");
    let (tickets, _) = sold(&app).await;
    assert!(
        ok > 7 && tickets > 7,
        "expected overselling without locks, sold {ok}"
    );
}

#[tokio::test]
async fn a_retried_purchase_returns_the_first_order() {
    let app = app(false).await;
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    let tt = ticket_type(
        &app,
        &org,
        &slug,
        &[("name", "Pass"), ("price", "25.50"), ("quota", "100")],
    )
    .await;
    let k = key();
    let form = [
        ("slug", slug.as_str()),
        ("name", "Ada"),
        ("email", "ada@example.org"),
        ("ticket_type_id", tt.as_str()),
        ("quantity", "2"),
        ("idempotency_key", k.as_str()),
    ];
    // Ten concurrent retries of one request.
    let clients: Vec<reqwest::Client> = (0..10).map(|_| client()).collect();
    let answers = join_all(clients.iter().map(|c| app.call::<fns::Register>(c, &form))).await;
    let first = &answers[0].1;
    for (s, body) in &answers {
        assert_eq!(*s, 200, "{body}");
        assert_eq!(body["order_code"], first["order_code"]);
        assert_eq!(body["tickets"], first["tickets"]);
    }
    assert_eq!(
        answers
            .iter()
            .filter(|(_, b)| b["replayed"] == false)
            .count(),
        1
    );
    assert_eq!(first["total"], "51.00 EUR");
    assert_eq!(first["status"], "pending");
    assert_eq!(first["tickets"].as_array().unwrap().len(), 2);
    let counts: (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM orders), (SELECT count(*) FROM tickets WHERE order_id IS NOT NULL), (SELECT sum(sold) FROM quotas)::bigint",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(counts, (1, 2, 2));
    // Only the first answer carries a sign-in link: whoever holds the key (it
    // is in the page) gets no credential for the buyer by replaying it.
    for (_, body) in &answers {
        assert_eq!(
            body["sign_in_link"].is_string(),
            body["replayed"] == false,
            "{body}"
        );
    }
    let links: i64 = sqlx::query_scalar("SELECT count(*) FROM magic_links")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(links, 1);
    // The same key with another request is refused, and nothing is stored.
    let mut other = form;
    other[2] = ("email", "mallory@example.org");
    let (s, body) = app.call::<fns::Register>(&client(), &other).await;
    assert_eq!(s, 422, "{body}");
    assert_eq!(
        body["message"],
        "this idempotency key was already used for a different order"
    );
    let orders: i64 = sqlx::query_scalar("SELECT count(*) FROM orders")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(orders, 1);
}

#[tokio::test]
async fn shared_quotas_limits_and_bad_input() {
    let app = app(false).await;
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    // Early bird and regular share 3 seats.
    let early = ticket_type(
        &app,
        &org,
        &slug,
        &[("name", "Early"), ("quota", "3"), ("quota_name", "Hall")],
    )
    .await;
    let regular = ticket_type(
        &app,
        &org,
        &slug,
        &[
            ("name", "Regular"),
            ("quota", "3"),
            ("quota_name", "Hall"),
            ("max_per_order", "2"),
        ],
    )
    .await;
    let hidden = ticket_type(&app, &org, &slug, &[("name", "Staff"), ("hidden", "on")]).await;
    assert_eq!(buy(&app, &slug, &early, "2", &key()).await.0, 200);
    let (s, body) = buy(&app, &slug, &regular, "2", &key()).await;
    assert_eq!(
        (s, body["message"].as_str()),
        (409, Some("sold out: only 1 left"))
    );
    assert_eq!(buy(&app, &slug, &regular, "1", &key()).await.0, 200);
    let (s, body) = buy(&app, &slug, &early, "1", &key()).await;
    assert_eq!((s, body["message"].as_str()), (409, Some("sold out")));

    // Public offers show availability and hide hidden types.
    let (_, page) = app
        .call::<fns::PublicEvent>(&client(), &[("slug", &slug)])
        .await;
    let offers = page["offers"].as_array().unwrap();
    assert_eq!(offers.len(), 3, "{page}"); // free default + early + regular
    assert!(offers.iter().all(|o| o["name"] != "Staff"));
    assert!(offers
        .iter()
        .filter(|o| o["name"] == "Early" || o["name"] == "Regular")
        .all(|o| o["available"] == 0));

    let cases: Vec<(String, &str, &str, u16, &str)> = vec![
        (
            hidden.clone(),
            "1",
            "k-hidden-1",
            404,
            "no such ticket type",
        ),
        (regular.clone(), "3", "k-too-many", 400, "between 1 and 2"),
        (regular.clone(), "0", "k-zero-000", 400, "between 1 and 2"),
        (
            "not-a-uuid".into(),
            "1",
            "k-bad-uuid",
            400,
            "not a valid id",
        ),
        (regular.clone(), "1", "short", 400, "idempotency key"),
        (regular.clone(), "x", "k-nan-0000", 400, ""),
    ];
    for (tt, qty, k, status, msg) in cases {
        let (s, body) = buy(&app, &slug, &tt, qty, k).await;
        assert_eq!(s, status, "{tt} {qty} {k}: {body}");
        assert!(
            body["message"].as_str().unwrap_or_default().contains(msg),
            "{body}"
        );
    }
    // Bad ticket type definitions.
    for (form, msg) in [
        (vec![("name", "P"), ("price", "12.345")], "decimal places"),
        (vec![("name", "P"), ("price", "-3")], "not a price"),
        (vec![("name", "P"), ("currency", "EURO")], "currency code"),
        (vec![("name", "P"), ("quota", "many")], "whole number"),
        (
            vec![
                ("name", "P"),
                ("min_per_order", "5"),
                ("max_per_order", "2"),
            ],
            "per-order limits",
        ),
        (vec![("name", "")], "required"),
    ] {
        let mut full = vec![("slug", slug.as_str())];
        full.extend(form);
        let (s, body) = app.call::<fns::CreateTicketType>(&org.client, &full).await;
        assert_eq!(s, 400, "{full:?}: {body}");
        assert!(body["message"].as_str().unwrap().contains(msg), "{body}");
    }
    // Only the owner can add ticket types.
    let other = app.organiser().await;
    let (s, _) = app
        .call::<fns::CreateTicketType>(&other.client, &[("slug", &slug), ("name", "Pirate")])
        .await;
    assert_eq!(s, 404);
    let (s, _) = app
        .call::<fns::CreateTicketType>(&client(), &[("slug", &slug), ("name", "Pirate")])
        .await;
    assert_eq!(s, 401);
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM ticket_types")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(n, 4);
}

#[tokio::test]
async fn organisers_list_filter_and_export_registrations() {
    let app = app(false).await;
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    let paid = ticket_type(&app, &org, &slug, &[("name", "Paid"), ("price", "10")]).await;
    let free = sqlx::query_scalar::<_, Uuid>("SELECT id FROM ticket_types WHERE price_minor = 0")
        .fetch_one(&app.pool)
        .await
        .unwrap()
        .to_string();
    for (name, email, tt, qty) in [
        ("Ada Lovelace", "ada@example.org", &free, "1"),
        ("=HYPERLINK(\"http://evil\")", "eve@example.org", &paid, "2"),
        ("Grace Hopper", "grace@example.org", &paid, "1"),
    ] {
        let k = key();
        let form = [
            ("slug", slug.as_str()),
            ("name", name),
            ("email", email),
            ("ticket_type_id", tt.as_str()),
            ("quantity", qty),
            ("idempotency_key", k.as_str()),
        ];
        let (s, b) = app.call::<fns::Register>(&client(), &form).await;
        assert_eq!(s, 200, "{b}");
    }
    let list = |q: &'static str, status: &'static str| emails(&app, &org, &slug, q, status);
    assert_eq!(list("", "").await.len(), 3);
    assert_eq!(list("GRACE", "").await, vec!["grace@example.org"]);
    assert_eq!(list("", "confirmed").await, vec!["ada@example.org"]);
    assert_eq!(list("", "pending").await.len(), 2);
    assert_eq!(list("%", "").await.len(), 0, "LIKE wildcards are literal");
    let (s, b) = app
        .call::<fns::ListRegistrations>(&org.client, &[("slug", &slug), ("status", "weird")])
        .await;
    assert_eq!(s, 400, "{b}");

    let csv_url = format!(
        "{}/dashboard/events/{slug}/registrations.csv?status=pending",
        app.base
    );
    let res = org.client.get(&csv_url).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let csv = res.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "order,name,email,ticket_type,quantity,status,total,currency,ordered_at"
    );
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(
        csv.contains(
            "\"'=HYPERLINK(\"\"http://evil\"\")\",eve@example.org,Paid,2,pending,20.00,EUR"
        ),
        "{csv}"
    );

    // Other organisations and anonymous visitors get nothing.
    let other = app.organiser().await;
    assert_eq!(
        other.client.get(&csv_url).send().await.unwrap().status(),
        404
    );
    assert_eq!(client().get(&csv_url).send().await.unwrap().status(), 401);
    let (s, _) = app
        .call::<fns::ListRegistrations>(&other.client, &[("slug", &slug)])
        .await;
    assert_eq!(s, 404);
}

pub async fn emails(
    app: &TestApp,
    org: &Organiser,
    slug: &str,
    q: &str,
    status: &str,
) -> Vec<String> {
    let (s, b) = app
        .call::<fns::ListRegistrations>(
            &org.client,
            &[("slug", slug), ("q", q), ("status", status)],
        )
        .await;
    assert_eq!(s, 200, "{b}");
    b.as_array()
        .unwrap()
        .iter()
        .map(|r| r["email"].as_str().unwrap().to_owned())
        .collect()
}
