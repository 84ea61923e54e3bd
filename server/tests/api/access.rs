//! The attendee's ways in survive what buyers do: the browser that registers
//! stays signed in (admitted once the order is confirmed), the order page
//! shows the tickets to that browser only, a sign-in link pressed before
//! paying still works after paying, and "send me my link" emails one
//! without telling anyone who is registered.

use serde_json::Value;
use uuid::Uuid;

use crate::helpers::{client, fns, link_token, spawn_web_only, spawn_with_smtp, TestApp};

/// An event with a 20.00 EUR ticket type; returns its slug and the type's id.
async fn paid_event(app: &TestApp) -> (String, String) {
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    let form = [
        ("slug", slug.as_str()),
        ("name", "Paid"),
        ("price", "20.00"),
    ];
    let (s, b) = app.call::<fns::CreateTicketType>(&org.client, &form).await;
    assert_eq!(s, 200, "{b}");
    let tt: Uuid = sqlx::query_scalar("SELECT id FROM ticket_types WHERE name = 'Paid'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    (slug, tt.to_string())
}

/// Registers `email` for ticket type `tt` with the browser-like `c`.
async fn register(app: &TestApp, c: &reqwest::Client, slug: &str, tt: &str, email: &str) -> Value {
    let form = [
        ("slug", slug),
        ("name", "Pat"),
        ("email", email),
        ("ticket_type_id", tt),
    ];
    let (s, b) = app.call::<fns::Register>(c, &form).await;
    assert_eq!(s, 200, "{b}");
    b
}

async fn redeem(app: &TestApp, slug: &str, token: &str) -> (u16, String) {
    let res = client()
        .post(format!("{}/e/{slug}/join", app.base))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

async fn sign_in_jobs(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM jobs WHERE kind = 'sign_in_link'")
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn the_registering_browser_is_signed_in_and_sent_to_its_order() {
    let app = spawn_web_only().await;
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    let buyer = client();
    let form = [
        ("slug", slug.as_str()),
        ("name", "Ada"),
        ("email", "ada@example.org"),
    ];
    let res = buyer
        .post(app.url_of::<fns::Register>())
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let set_cookie: Vec<String> = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    let body: Value = res.json().await.unwrap();
    let code = body["order_code"].as_str().unwrap();
    assert_eq!(location, format!("/e/{slug}/order/{code}"));
    assert!(
        set_cookie
            .iter()
            .any(|c| c.starts_with("convene_attendee=") && c.contains("HttpOnly")),
        "{set_cookie:?}"
    );
    // No link needed: the same browser enters the event.
    let (s, b) = app.call::<fns::Reception>(&buyer, &[("slug", &slug)]).await;
    assert_eq!((s, b["attendee"].as_str()), (200, Some("Ada")), "{b}");
    // Its order page shows the tickets; a stranger with the code sees the order only.
    let order = [("slug", slug.as_str()), ("code", code)];
    let (s, mine) = app.call::<fns::BuyerOrder>(&buyer, &order).await;
    assert_eq!(s, 200, "{mine}");
    assert_eq!(mine["signed_in"], true);
    assert_eq!(mine["tickets"].as_array().unwrap().len(), 1);
    assert_eq!(mine["lines"][0]["name"], "General admission");
    let (s, theirs) = app.call::<fns::BuyerOrder>(&client(), &order).await;
    assert_eq!(s, 200, "{theirs}");
    assert_eq!(theirs["signed_in"], false);
    assert_eq!(theirs["tickets"], serde_json::json!([]));
    assert_eq!(theirs["status"], "confirmed");

    // From the widget, the answer leads to the widget's own order page.
    let form = [
        ("slug", slug.as_str()),
        ("name", "Wid"),
        ("email", "wid@example.org"),
        ("widget", "true"),
    ];
    let res = client()
        .post(app.url_of::<fns::Register>())
        .form(&form)
        .send()
        .await
        .unwrap();
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let body: Value = res.json().await.unwrap();
    let code = body["order_code"].as_str().unwrap();
    assert_eq!(location, format!("/e/{slug}/widget/order/{code}"));

    // A registered address is sent to "check your inbox".
    let form = [
        ("slug", slug.as_str()),
        ("name", "Ada"),
        ("email", "ada@example.org"),
    ];
    let res = client()
        .post(app.url_of::<fns::Register>())
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.headers()["location"],
        format!("/e/{slug}/access?sent=registered").as_str()
    );
}

#[tokio::test]
async fn a_link_pressed_before_paying_still_opens_the_event_after_paying() {
    let app = spawn_web_only().await;
    let (slug, tt) = paid_event(&app).await;
    let buyer = client();
    let receipt = register(&app, &buyer, &slug, &tt, "payer@example.org").await;
    assert_eq!(receipt["status"], "pending");
    let token = link_token(&receipt);
    let code = receipt["order_code"].as_str().unwrap().to_owned();

    // Unpaid: the link explains and is kept; the signed-in browser is told why it waits.
    let (s, page) = redeem(&app, &slug, &token).await;
    assert_eq!(s, 409, "{page}");
    assert!(page.contains("not confirmed yet"), "{page}");
    let (s, b) = app.call::<fns::Reception>(&buyer, &[("slug", &slug)]).await;
    assert_eq!(s, 403, "{b}");
    assert!(
        b["message"].as_str().unwrap().contains("paid or approved"),
        "{b}"
    );
    let (_, order) = app
        .call::<fns::BuyerOrder>(&buyer, &[("slug", &slug), ("code", &code)])
        .await;
    assert_eq!(
        order["tickets"],
        serde_json::json!([]),
        "no ticket before payment"
    );
    assert_eq!(order["lines"][0]["price"], "20.00 EUR");

    let pay = [
        ("order_code", code.as_str()),
        ("card_number", "4242424242424242"),
    ];
    let (s, b) = app.call::<fns::Pay>(&client(), &pay).await;
    assert_eq!(s, 200, "{b}");

    // Paid: the same link opens the event, once; the registering browser is in too.
    assert_eq!(redeem(&app, &slug, &token).await.0, 303);
    assert_eq!(redeem(&app, &slug, &token).await.0, 401);
    let (s, b) = app.call::<fns::Reception>(&buyer, &[("slug", &slug)]).await;
    assert_eq!(s, 200, "{b}");
    let (_, order) = app
        .call::<fns::BuyerOrder>(&buyer, &[("slug", &slug), ("code", &code)])
        .await;
    assert_eq!(order["tickets"].as_array().unwrap().len(), 1, "{order}");
}

#[tokio::test]
async fn send_me_my_link_emails_registered_addresses_and_answers_everyone_alike() {
    let app = spawn_with_smtp("Convene Test <tickets@convene.test>").await;
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    let (s, _) = app.register(&slug, "lost@example.org").await;
    assert_eq!(s, 200);
    let before = sign_in_jobs(&app).await;

    let ask = |email: &'static str| {
        let slug = slug.clone();
        let app = &app;
        async move {
            let res = client()
                .post(app.url_of::<fns::SendSignInLink>())
                .form(&[("slug", slug.as_str()), ("email", email)])
                .send()
                .await
                .unwrap();
            let location = res
                .headers()
                .get("location")
                .map(|v| v.to_str().unwrap().to_owned());
            (res.status().as_u16(), location, res.text().await.unwrap())
        }
    };
    let registered = ask("LOST@example.org").await;
    let stranger = ask("nobody@example.org").await;
    assert_eq!(registered.0, 200, "{}", registered.2);
    assert_eq!(
        (registered.0, &registered.1),
        (stranger.0, &stranger.1),
        "the same answer whether registered or not"
    );
    assert_eq!(
        registered.1.as_deref(),
        Some(format!("/e/{slug}/access?sent=link").as_str())
    );
    assert_eq!(
        sign_in_jobs(&app).await,
        before + 1,
        "only the registered address"
    );

    // The emailed link opens the event (and verifies the address).
    app.drain_jobs().await;
    let attendee: Uuid =
        sqlx::query_scalar("SELECT id FROM attendees WHERE email = 'lost@example.org'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let mailed: i64 =
        sqlx::query_scalar("SELECT count(*) FROM magic_links WHERE attendee_id = $1 AND verifies")
            .bind(attendee)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(
        mailed, 2,
        "the order confirmation's link and the requested one, made as each email went out"
    );

    // Bad input is a clear 4xx; an unknown event is a 404.
    let (s, b) = app
        .call::<fns::SendSignInLink>(&client(), &[("slug", &slug), ("email", "not an address")])
        .await;
    assert_eq!(s, 400, "{b}");
    let (s, _) = app
        .call::<fns::SendSignInLink>(
            &client(),
            &[("slug", "no-such-event"), ("email", "a@b.org")],
        )
        .await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn unknown_pages_and_events_answer_404_with_a_page() {
    let app = spawn_web_only().await;
    for path in [
        "/e/no-such-event",
        "/no/such/page",
        "/e/no-such-event/order/ABC",
    ] {
        let res = client()
            .get(format!("{}{path}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 404, "{path}");
        let html = res.text().await.unwrap();
        assert!(html.contains("Page not found"), "{path}: {html}");
        if path.starts_with("/e/") {
            // An event's pages carry no organiser navigation.
            assert!(
                !html.contains("Log in</a>"),
                "{path}: no unrelated log-in link"
            );
        }
    }
}

#[tokio::test]
async fn public_pages_render_whole_on_the_server() {
    let app = spawn_web_only().await;
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    let html = client()
        .get(format!("{}/e/{slug}", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    // The data is in the first response, not streamed in by script.
    assert!(html.contains("General admission"), "{html}");
    assert!(html.contains("Get tickets"), "{html}");
    assert!(!html.contains("Loading…"), "{html}");
}
