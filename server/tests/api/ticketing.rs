//! Ticket types, quotas, orders and idempotency — including the concurrency
//! tests in the style pretix uses: many concurrent buyers for a small quota.

use futures::future::join_all;
use serde_json::Value;
use uuid::Uuid;

use crate::helpers::{client, fns, spawn_with, test_settings, Organiser, TestApp, Workers};

async fn app(unsafe_unlocked: bool) -> TestApp {
    let mut settings = test_settings().await;
    settings.unsafe_disable_quota_locking = unsafe_unlocked;
    spawn_with(settings, Workers::NONE).await
}

/// Adds a ticket type and returns its id (looked up by name in the public offers).
async fn ticket_type(app: &TestApp, org: &Organiser, slug: &str, form: &[(&str, &str)]) -> String {
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

async fn buy(app: &TestApp, slug: &str, tt: &str, qty: &str, key: &str) -> (u16, Value) {
    let email = format!("{}@example.org", Uuid::new_v4().simple());
    let form = [
        ("slug", slug),
        ("name", "Buyer"),
        ("email", &email),
        ("ticket_type_id", tt),
        ("quantity", qty),
        ("idempotency_key", key),
    ];
    app.call::<fns::Register>(&client(), &form).await
}

fn key() -> String {
    Uuid::new_v4().simple().to_string()
}

async fn sold(app: &TestApp) -> (i64, i64) {
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

async fn emails(app: &TestApp, org: &Organiser, slug: &str, q: &str, status: &str) -> Vec<String> {
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

#[tokio::test]
async fn custom_questions_are_required_validated_stored_and_exported() {
    let app = app(false).await;
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    for form in [
        vec![("label", "Company"), ("kind", "text"), ("required", "on")],
        vec![
            ("label", "Diet"),
            ("kind", "choice"),
            ("options", "Veg, Vegan, None"),
        ],
        vec![
            ("label", "I accept the code of conduct"),
            ("kind", "checkbox"),
            ("required", "on"),
        ],
    ] {
        let mut full = vec![("slug", slug.as_str())];
        full.extend(form);
        let (s, b) = app.call::<fns::CreateQuestion>(&org.client, &full).await;
        assert_eq!(s, 200, "{b}");
    }
    for (form, msg) in [
        (
            vec![("label", "Size"), ("kind", "choice"), ("options", "M")],
            "at least two",
        ),
        (
            vec![("label", "Size"), ("kind", "essay")],
            "text, choice or checkbox",
        ),
        (vec![("label", ""), ("kind", "text")], "required"),
    ] {
        let mut full = vec![("slug", slug.as_str())];
        full.extend(form);
        let (s, b) = app.call::<fns::CreateQuestion>(&org.client, &full).await;
        assert_eq!(s, 400, "{b}");
        assert!(b["message"].as_str().unwrap().contains(msg), "{b}");
    }
    let (s, page) = app
        .call::<fns::PublicEvent>(&client(), &[("slug", &slug)])
        .await;
    assert_eq!(s, 200);
    let qs = page["questions"].as_array().unwrap().clone();
    assert_eq!(qs.len(), 3);
    let id = |i: usize| format!("answers[q{}]", qs[i]["id"].as_str().unwrap());
    let (company, diet, coc) = (id(0), id(1), id(2));

    let base = [
        ("slug", slug.as_str()),
        ("name", "Quinn"),
        ("email", "quinn@example.org"),
    ];
    let attempt = |extra: Vec<(String, &'static str)>| {
        let mut form: Vec<(String, String)> = base
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        form.extend(extra.into_iter().map(|(k, v)| (k, v.to_string())));
        form
    };
    for (extra, msg) in [
        (vec![(coc.clone(), "on")], "please answer \"Company\""),
        (vec![(company.clone(), "ACME")], "please answer \"I accept"),
        (
            vec![
                (company.clone(), "ACME"),
                (coc.clone(), "on"),
                (diet.clone(), "Meat"),
            ],
            "not an option",
        ),
        (
            vec![
                (company.clone(), "ACME"),
                (coc.clone(), "on"),
                ("answers[qnope]".to_string(), "x"),
            ],
            "unknown question",
        ),
    ] {
        let form = attempt(extra);
        let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let (s, b) = app.call::<fns::Register>(&client(), &pairs).await;
        assert_eq!(s, 400, "{b}");
        assert!(b["message"].as_str().unwrap().contains(msg), "{msg}: {b}");
    }
    let stored: (i64, i64) =
        sqlx::query_as("SELECT (SELECT count(*) FROM attendees), (SELECT count(*) FROM answers)")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(stored, (0, 0), "a refused order stores nothing");

    let form = attempt(vec![
        (company.clone(), "ACME, Inc."),
        (diet.clone(), "Vegan"),
        (coc.clone(), "on"),
    ]);
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let (s, b) = app.call::<fns::Register>(&client(), &pairs).await;
    assert_eq!(s, 200, "{b}");
    let csv = org
        .client
        .get(format!(
            "{}/dashboard/events/{slug}/registrations.csv",
            app.base
        ))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert!(
        lines[0].ends_with(",Company,Diet,I accept the code of conduct"),
        "{csv}"
    );
    assert!(lines[1].ends_with(",\"ACME, Inc.\",Vegan,yes"), "{csv}");
    // The organiser's detail view of the order shows the answers too.
    let code = b["order_code"].as_str().unwrap();
    let (s, d) = app
        .call::<fns::RegistrationDetail>(
            &org.client,
            &[("slug", slug.as_str()), ("order_code", code)],
        )
        .await;
    assert_eq!(s, 200, "{d}");
    assert_eq!(
        d["answers"][0],
        serde_json::json!({"question": "Company", "answer": "ACME, Inc."})
    );
    assert_eq!(d["answers"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn promo_codes_discount_unlock_and_run_out() {
    let app = app(false).await;
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    let pass = ticket_type(&app, &org, &slug, &[("name", "Pass"), ("price", "50.00")]).await;
    let crew = ticket_type(&app, &org, &slug, &[("name", "Crew"), ("hidden", "on")]).await;
    for form in [
        vec![
            ("code", "early15"),
            ("kind", "percent"),
            ("value", "15"),
            ("max_uses", "1"),
        ],
        vec![
            ("code", "TENOFF"),
            ("kind", "fixed"),
            ("value", "10.00"),
            ("ticket_type", "Pass"),
        ],
        vec![
            ("code", "CREW"),
            ("kind", "unlock"),
            ("ticket_type", "Crew"),
        ],
    ] {
        let mut full = vec![("slug", slug.as_str())];
        full.extend(form);
        let (s, b) = app.call::<fns::CreatePromoCode>(&org.client, &full).await;
        assert_eq!(s, 200, "{b}");
    }
    for (form, status, msg) in [
        (
            vec![("code", "EARLY15"), ("kind", "percent"), ("value", "5")],
            409,
            "already exists",
        ),
        (
            vec![("code", "BIG"), ("kind", "percent"), ("value", "150")],
            400,
            "between 1 and 100",
        ),
        (
            vec![("code", "X!"), ("kind", "percent"), ("value", "5")],
            400,
            "code must be",
        ),
        (
            vec![("code", "OPEN"), ("kind", "unlock")],
            400,
            "needs the ticket type",
        ),
        (
            vec![
                ("code", "NOPE"),
                ("kind", "fixed"),
                ("value", "1"),
                ("ticket_type", "Ghost"),
            ],
            400,
            "no ticket type",
        ),
    ] {
        let mut full = vec![("slug", slug.as_str())];
        full.extend(form);
        let (s, b) = app.call::<fns::CreatePromoCode>(&org.client, &full).await;
        assert_eq!(s, status, "{b}");
        assert!(b["message"].as_str().unwrap().contains(msg), "{b}");
    }
    let order = |tt: String, code: &'static str| order_with_code(&app, &slug, tt, code);
    let (s, b) = order(pass.clone(), "early15").await;
    assert_eq!((s, b["total"].as_str()), (200, Some("42.50 EUR")), "{b}");
    let (s, b) = order(pass.clone(), "EARLY15").await;
    assert_eq!(
        (s, b["message"].as_str()),
        (409, Some("this promo code has been used up"))
    );
    let (s, b) = order(pass.clone(), "TENOFF").await;
    assert_eq!((s, b["total"].as_str()), (200, Some("40.00 EUR")), "{b}");
    let (s, b) = order(pass.clone(), "WRONG").await;
    assert_eq!(
        (s, b["message"].as_str()),
        (400, Some("this promo code is not valid"))
    );
    // The hidden Crew ticket: invisible and unsellable without its code.
    assert_eq!(order(crew.clone(), "").await.0, 404);
    let (s, b) = order(crew.clone(), "TENOFF").await;
    assert_eq!(s, 404, "{b}");
    let (s, b) = order(crew.clone(), "CREW").await;
    assert_eq!((s, b["status"].as_str()), (200, Some("confirmed")), "{b}");
    let (_, page) = app
        .call::<fns::PublicEvent>(&client(), &[("slug", &slug)])
        .await;
    assert!(page["offers"]
        .as_array()
        .unwrap()
        .iter()
        .all(|o| o["name"] != "Crew"));
    let (_, page) = app
        .call::<fns::PublicEvent>(&client(), &[("slug", &slug), ("code", "crew")])
        .await;
    assert!(
        page["offers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["name"] == "Crew"),
        "{page}"
    );
    assert_eq!(page["promo_code"], "CREW");
    let (_, page) = app
        .call::<fns::PublicEvent>(&client(), &[("slug", &slug), ("code", "early15")])
        .await;
    assert_eq!(page["promo_error"], "this promo code has been used up");
    // Uses are counted only for orders that went through.
    let used: Vec<(String, i32)> =
        sqlx::query_as("SELECT code::text, used FROM promo_codes ORDER BY code")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(
        used,
        vec![
            ("CREW".into(), 1),
            ("EARLY15".into(), 1),
            ("TENOFF".into(), 1)
        ]
    );
}

async fn order_with_code(app: &TestApp, slug: &str, tt: String, code: &str) -> (u16, Value) {
    let email = format!("{}@example.org", Uuid::new_v4().simple());
    let form = [
        ("slug", slug),
        ("name", "P"),
        ("email", email.as_str()),
        ("ticket_type_id", tt.as_str()),
        ("promo_code", code),
    ];
    app.call::<fns::Register>(&client(), &form).await
}

#[tokio::test]
async fn cancelling_an_order_returns_its_seats_and_voids_its_tickets() {
    let app = app(false).await;
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    let tt = ticket_type(&app, &org, &slug, &[("name", "Flash"), ("quota", "2")]).await;
    let (s, first) = buy(&app, &slug, &tt, "2", &key()).await;
    assert_eq!(s, 200, "{first}");
    assert_eq!(buy(&app, &slug, &tt, "1", &key()).await.0, 409, "sold out");
    let code = first["order_code"].as_str().unwrap();
    // The buyer signs in before the cancellation.
    let token = first["sign_in_link"]
        .as_str()
        .unwrap()
        .split("token=")
        .nth(1)
        .unwrap()
        .to_owned();
    let attendee = client();
    let res = attendee
        .post(format!("{}/e/{slug}/join", app.base))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(
        app.call::<fns::Reception>(&attendee, &[("slug", &slug)])
            .await
            .0,
        200
    );

    let other = app.organiser().await;
    let (s, _) = app
        .call::<fns::CancelOrder>(&other.client, &[("slug", &slug), ("order_code", code)])
        .await;
    assert_eq!(s, 404, "another organisation cannot cancel");
    let (s, b) = app
        .call::<fns::CancelOrder>(&org.client, &[("slug", &slug), ("order_code", code)])
        .await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = app
        .call::<fns::CancelOrder>(&org.client, &[("slug", &slug), ("order_code", code)])
        .await;
    assert_eq!(
        (s, b["message"].as_str()),
        (409, Some("this order is already cancelled"))
    );
    assert_eq!(
        sold(&app).await,
        (2, 0),
        "tickets kept for the record, seats returned"
    );
    let voided: i64 =
        sqlx::query_scalar("SELECT count(*) FROM tickets WHERE voided_at IS NOT NULL")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(voided, 2);
    // The voided ticket no longer opens Reception; the seats sell again.
    assert_eq!(
        app.call::<fns::Reception>(&attendee, &[("slug", &slug)])
            .await
            .0,
        401
    );
    assert_eq!(buy(&app, &slug, &tt, "2", &key()).await.0, 200);
    assert_eq!(emails(&app, &org, &slug, "", "cancelled").await.len(), 1);
}

#[tokio::test]
async fn waiting_list_gets_freed_seats_in_order_with_expiring_holds() {
    let app = app(false).await;
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    let tt = ticket_type(&app, &org, &slug, &[("name", "Flash"), ("quota", "1")]).await;
    let join = |name: &'static str| join_waitlist(&app, &slug, &tt, name);
    // Not sold out yet: buy instead.
    let (s, b) = join("early").await;
    assert_eq!(s, 409, "{b}");
    let (s, first) = buy(&app, &slug, &tt, "1", &key()).await;
    assert_eq!(s, 200, "{first}");
    assert_eq!(join("bea").await.1, 1);
    assert_eq!(join("cal").await.1, 2);
    assert_eq!(join("bea").await.0, 409, "once per person");

    // The order is cancelled: the seat is held for Bea, not put back on sale.
    let code = first["order_code"].as_str().unwrap();
    let (s, _) = app
        .call::<fns::CancelOrder>(&org.client, &[("slug", &slug), ("order_code", code)])
        .await;
    assert_eq!(s, 200);
    assert_eq!(sold(&app).await.1, 1, "held");
    assert_eq!(
        buy(&app, &slug, &tt, "1", &key()).await.0,
        409,
        "no public sale of a held seat"
    );
    let (status, token): (String, Option<Vec<u8>>) = sqlx::query_as(
        "SELECT status, offer_token_hash FROM waitlist_entries WHERE email = 'bea@example.org'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!((status.as_str(), token.is_some()), ("offered", false));
    // The job carries no token; the email job makes it as it sends (done here directly).
    let payload: Value =
        sqlx::query_scalar("SELECT payload FROM jobs WHERE kind = 'waitlist_offer'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(payload.get("token").is_none(), "{payload}");
    let entry: Uuid = payload["entry_id"].as_str().unwrap().parse().unwrap();
    let offer = services::registrations::waitlist::issue_offer_token(&app.pool, entry.into())
        .await
        .unwrap()
        .expect("open offer")
        .token;

    // Bea buys with her offer; a second use fails.
    let k = key();
    let form = [
        ("slug", slug.as_str()),
        ("name", "Bea"),
        ("email", "bea@example.org"),
        ("ticket_type_id", tt.as_str()),
        ("idempotency_key", k.as_str()),
        ("waitlist_offer", offer.as_str()),
    ];
    let (s, bea) = app.call::<fns::Register>(&client(), &form).await;
    assert_eq!(s, 200, "{bea}");
    let k2 = key();
    let form = [
        ("slug", slug.as_str()),
        ("name", "Eve"),
        ("email", "eve@example.org"),
        ("ticket_type_id", tt.as_str()),
        ("idempotency_key", k2.as_str()),
        ("waitlist_offer", offer.as_str()),
    ];
    let (s, b) = app.call::<fns::Register>(&client(), &form).await;
    assert_eq!(
        (s, b["message"].as_str()),
        (409, Some("this waiting-list offer is not valid any more"))
    );
    assert_eq!(sold(&app).await, (2, 1), "never more sold than the quota");

    // Bea cancels; Cal's offer expires unused: nobody else waits, so the seat returns to sale.
    let code = bea["order_code"].as_str().unwrap();
    assert_eq!(
        app.call::<fns::CancelOrder>(&org.client, &[("slug", &slug), ("order_code", code)])
            .await
            .0,
        200
    );
    sqlx::query("UPDATE waitlist_entries SET offer_expires_at = now() - interval '1 second' WHERE status = 'offered'")
        .execute(&app.pool)
        .await
        .unwrap();
    assert_eq!(
        services::registrations::waitlist::expire_offers(&app.pool)
            .await
            .unwrap(),
        1
    );
    assert_eq!(sold(&app).await.1, 0);
    let statuses: Vec<String> =
        sqlx::query_scalar("SELECT status FROM waitlist_entries ORDER BY created_at")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(statuses, vec!["converted", "expired"]);
    assert_eq!(buy(&app, &slug, &tt, "1", &key()).await.0, 200);
}

async fn join_waitlist(app: &TestApp, slug: &str, tt: &str, name: &str) -> (u16, Value) {
    let email = format!("{name}@example.org");
    let form = [
        ("slug", slug),
        ("ticket_type_id", tt),
        ("name", name),
        ("email", email.as_str()),
    ];
    app.call::<fns::JoinWaitlist>(&client(), &form).await
}

async fn order_status(app: &TestApp, code: &str) -> String {
    sqlx::query_scalar("SELECT status FROM orders WHERE code = $1")
        .bind(code)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

/// Signs the buyer of a receipt in with a fresh link; returns whether Reception then opens.
async fn enters_reception(app: &TestApp, slug: &str, receipt: &Value) -> bool {
    let attendee: Uuid = sqlx::query_scalar("SELECT attendee_id FROM orders WHERE code = $1")
        .bind(receipt["order_code"].as_str().unwrap())
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let token = services::registrations::attendees::new_sign_in_link(&app.pool, attendee.into())
        .await
        .unwrap();
    let c = client();
    let res = c
        .post(format!("{}/e/{slug}/join", app.base))
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    app.call::<fns::Reception>(&c, &[("slug", slug)]).await.0 == 200
}

#[tokio::test]
async fn orders_that_need_approval_hold_their_seat_until_the_organiser_decides() {
    let app = app(false).await;
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    let free = ticket_type(
        &app,
        &org,
        &slug,
        &[
            ("name", "Flash"),
            ("quota", "3"),
            ("requires_approval", "on"),
        ],
    )
    .await;
    let paid = ticket_type(
        &app,
        &org,
        &slug,
        &[
            ("name", "Press"),
            ("price", "20.00"),
            ("requires_approval", "on"),
        ],
    )
    .await;

    let (s, first) = buy(&app, &slug, &free, "1", &key()).await;
    assert_eq!(s, 200, "{first}");
    assert_eq!(first["status"], "awaiting_approval");
    assert_eq!(sold(&app).await.1, 1, "the seat is held while waiting");
    assert!(
        !enters_reception(&app, &slug, &first).await,
        "no entry before approval"
    );
    let code = first["order_code"].as_str().unwrap();
    let form = [("slug", slug.as_str()), ("order_code", code)];
    assert_eq!(app.call::<fns::ApproveOrder>(&client(), &form).await.0, 401);
    let other = app.organiser().await;
    assert_eq!(
        app.call::<fns::ApproveOrder>(&other.client, &form).await.0,
        404
    );
    let (s, b) = app.call::<fns::ApproveOrder>(&org.client, &form).await;
    assert_eq!((s, b.as_str()), (200, Some("confirmed")), "{b}");
    let (s, b) = app.call::<fns::ApproveOrder>(&org.client, &form).await;
    assert_eq!(s, 409, "approving twice: {b}");
    assert!(enters_reception(&app, &slug, &first).await);

    // Declining returns the seat.
    let (_, second) = buy(&app, &slug, &free, "1", &key()).await;
    let code = second["order_code"].as_str().unwrap();
    let form = [("slug", slug.as_str()), ("order_code", code)];
    let (s, b) = app.call::<fns::CancelOrder>(&org.client, &form).await;
    assert_eq!((s, b.as_str()), (200, Some("cancelled")), "{b}");
    assert_eq!(sold(&app).await.1, 1);

    // A paid ticket: no payment before approval; approval opens payment.
    let (s, press) = buy(&app, &slug, &paid, "1", &key()).await;
    assert_eq!(
        (s, press["status"].as_str()),
        (200, Some("awaiting_approval"))
    );
    let code = press["order_code"].as_str().unwrap().to_owned();
    let pay = [
        ("order_code", code.as_str()),
        ("card_number", "4242424242424242"),
    ];
    let (s, b) = app.call::<fns::Pay>(&client(), &pay).await;
    assert_eq!(s, 409, "cannot pay before approval: {b}");
    let form = [("slug", slug.as_str()), ("order_code", code.as_str())];
    let (s, b) = app.call::<fns::ApproveOrder>(&org.client, &form).await;
    assert_eq!((s, b.as_str()), (200, Some("pending")), "{b}");
    let (s, b) = app
        .call::<fns::BuyerOrder>(&client(), &[("slug", &slug), ("code", &code)])
        .await;
    assert_eq!((s, b["status"].as_str()), (200, Some("pending")), "{b}");
    assert_eq!(app.call::<fns::Pay>(&client(), &pay).await.0, 200);
    assert_eq!(order_status(&app, &code).await, "confirmed");
    let (s, _) = app
        .call::<fns::BuyerOrder>(&client(), &[("slug", &slug), ("code", "NOPE")])
        .await;
    assert_eq!(s, 404);
    // The buyer heard of each step: received, approved (pay link), confirmed.
    let emails: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM jobs WHERE kind = 'order_confirmation' AND payload->>'order_id' =
           (SELECT id::text FROM orders WHERE code = $1)",
    )
    .bind(&code)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(emails, 3);
}

#[tokio::test]
async fn sales_windows_and_promo_validity_come_from_the_dashboard_form() {
    let app = app(false).await;
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    let (s, b) = app
        .call::<fns::CreateTicketType>(
            &org.client,
            &[
                ("slug", &slug),
                ("name", "Backwards"),
                ("sales_open", "2030-01-02T10:00"),
                ("sales_close", "2030-01-01T10:00"),
            ],
        )
        .await;
    assert_eq!(
        (s, b["message"].as_str()),
        (400, Some("sales must close after they open"))
    );
    let (s, b) = app
        .call::<fns::CreateTicketType>(
            &org.client,
            &[
                ("slug", &slug),
                ("name", "Bad"),
                ("sales_open", "next tuesday"),
            ],
        )
        .await;
    assert_eq!(s, 400, "{b}");
    let later = ticket_type(
        &app,
        &org,
        &slug,
        &[("name", "Later"), ("sales_open", "2099-01-01T09:00")],
    )
    .await;
    let (s, b) = buy(&app, &slug, &later, "1", &key()).await;
    assert_eq!(
        (s, b["message"].as_str()),
        (409, Some("sales for this ticket have not opened yet"))
    );
    // The window is stored in the event's zone (Europe/Berlin: UTC+1 in January).
    let opens: chrono::DateTime<chrono::Utc> =
        sqlx::query_scalar("SELECT sales_open_at FROM ticket_types WHERE name = 'Later'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(opens.to_rfc3339(), "2099-01-01T08:00:00+00:00");
    let closed = ticket_type(
        &app,
        &org,
        &slug,
        &[("name", "Closed"), ("sales_close", "2020-01-01T09:00")],
    )
    .await;
    let (s, b) = buy(&app, &slug, &closed, "1", &key()).await;
    assert_eq!(
        (s, b["message"].as_str()),
        (409, Some("sales for this ticket have closed"))
    );

    // Promo codes with a window: expired and not-yet-valid codes are refused.
    let open = ticket_type(&app, &org, &slug, &[("name", "Open"), ("price", "10.00")]).await;
    for (code, from, until) in [
        ("OLD", "", "2020-01-01T00:00"),
        ("SOON", "2099-01-01T00:00", ""),
        ("NOW", "2020-01-01T00:00", "2099-01-01T00:00"),
    ] {
        let (s, b) = app
            .call::<fns::CreatePromoCode>(
                &org.client,
                &[
                    ("slug", &slug),
                    ("code", code),
                    ("kind", "percent"),
                    ("value", "50"),
                    ("valid_from", from),
                    ("valid_until", until),
                ],
            )
            .await;
        assert_eq!(s, 200, "{code}: {b}");
    }
    let (s, b) = app
        .call::<fns::CreatePromoCode>(
            &org.client,
            &[
                ("slug", &slug),
                ("code", "WRONGWAY"),
                ("kind", "percent"),
                ("value", "50"),
                ("valid_from", "2030-01-01T00:00"),
                ("valid_until", "2029-01-01T00:00"),
            ],
        )
        .await;
    assert_eq!(
        (s, b["message"].as_str()),
        (400, Some("a code must end after it starts"))
    );
    for (code, expect) in [("OLD", 400), ("SOON", 400), ("NOW", 200)] {
        let (s, b) = order_with_code(&app, &slug, open.clone(), code).await;
        assert_eq!(s, expect, "{code}: {b}");
        if s == 200 {
            assert_eq!(b["total"], "5.00 EUR", "{b}");
        }
    }
    let (s, overview) = app
        .call::<fns::EventOverview>(&org.client, &[("slug", &slug)])
        .await;
    assert_eq!(s, 200);
    let text = overview.to_string();
    assert!(
        text.contains("on sale from Thu  1 Jan 2099, 09:00 CET"),
        "{text}"
    );
    assert!(
        text.contains("valid from") && text.contains("until"),
        "{text}"
    );
}
