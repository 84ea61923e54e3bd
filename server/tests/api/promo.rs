//! Promo codes: percent and fixed discounts, unlocking hidden tickets, usage
//! limits counted under a lock, and bad input.

use serde_json::Value;
use uuid::Uuid;

use crate::helpers::{client, fns, TestApp};
use crate::ticketing::{app, ticket_type};

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
    let early = b["order_code"].as_str().unwrap().to_owned();
    // Used up: the same answer as a code that does not exist.
    let (s, b) = order(pass.clone(), "EARLY15").await;
    assert_eq!(
        (s, b["message"].as_str()),
        (400, Some("this promo code is not valid"))
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
    assert_eq!(page["promo_error"], "this promo code is not valid");
    let (_, page) = app
        .call::<fns::PublicEvent>(&client(), &[("slug", &slug), ("code", "nosuch")])
        .await;
    assert_eq!(page["promo_error"], "this promo code is not valid");
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
    // A cancelled order gives its use back: the single-use code works again.
    let (s, b) = app
        .call::<fns::CancelOrder>(&org.client, &[("slug", &slug), ("order_code", &early)])
        .await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = order(pass.clone(), "EARLY15").await;
    assert_eq!((s, b["total"].as_str()), (200, Some("42.50 EUR")), "{b}");
}

pub async fn order_with_code(app: &TestApp, slug: &str, tt: String, code: &str) -> (u16, Value) {
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
async fn a_fixed_discount_is_in_one_currency_and_off_tickets_in_it_only() {
    let app = app(false).await;
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    let code = |form: Vec<(&'static str, &'static str)>| {
        let mut full = vec![("slug", slug.clone())];
        full.extend(form.into_iter().map(|(k, v)| (k, v.to_owned())));
        let app = &app;
        let org = &org;
        async move {
            let full: Vec<(&str, &str)> = full.iter().map(|(k, v)| (*k, v.as_str())).collect();
            app.call::<fns::CreatePromoCode>(&org.client, &full).await
        }
    };
    // Only dollar tickets are sold: a fixed code without a ticket type is in USD.
    let usd = ticket_type(
        &app,
        &org,
        &slug,
        &[("name", "Dollar"), ("price", "40.00"), ("currency", "USD")],
    )
    .await;
    let (s, b) = code(vec![
        ("code", "FIVEOFF"),
        ("kind", "fixed"),
        ("value", "5.00"),
    ])
    .await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = order_with_code(&app, &slug, usd.clone(), "FIVEOFF").await;
    assert_eq!((s, b["total"].as_str()), (200, Some("35.00 USD")), "{b}");
    // Euro tickets too: a fixed code must now say which ticket it is for.
    let eur = ticket_type(&app, &org, &slug, &[("name", "Euro"), ("price", "40.00")]).await;
    let (s, b) = code(vec![
        ("code", "TENOFF"),
        ("kind", "fixed"),
        ("value", "10.00"),
    ])
    .await;
    assert_eq!(s, 400, "{b}");
    assert_eq!(
        b["message"],
        "this event sells tickets in EUR and USD: a fixed discount needs the ticket type it is for"
    );
    // The dollar code takes nothing off a euro ticket: the one answer for a
    // code that does not apply.
    let (s, b) = order_with_code(&app, &slug, eur, "FIVEOFF").await;
    assert_eq!(
        (s, b["message"].as_str()),
        (400, Some("this promo code is not valid"))
    );
}
