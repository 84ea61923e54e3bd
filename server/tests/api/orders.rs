//! An order's life after the purchase: cancellation voids tickets and returns
//! seats (to the waiting list first), waiting-list offers that expire pass on,
//! orders that need approval hold their seat until the organiser decides, and
//! sales windows set from the dashboard.
//! (Longer than most files: each test here is one whole scenario, written out.)

use serde_json::Value;
use uuid::Uuid;

use crate::helpers::{client, fns, link_token, TestApp};
use crate::promo::order_with_code;
use crate::ticketing::{app, buy, emails, key, sold, ticket_type};

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
    let (attendee, _) = app.sign_in(&slug, &link_token(&first)).await;
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
        403
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
    assert_eq!(join("bea").await, (200, Value::Null));
    assert_eq!(join("cal").await, (200, Value::Null));
    // Once per person, and a second request answers as the first did (nobody
    // learns who waits); the place in line is emailed each time.
    assert_eq!(join("bea").await, (200, Value::Null));
    let entries: Vec<String> =
        sqlx::query_scalar("SELECT name FROM waitlist_entries ORDER BY created_at")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(entries, vec!["bea", "cal"]);
    let places: Vec<i64> = {
        let ids: Vec<Uuid> = sqlx::query_scalar(
            "SELECT (payload->>'entry_id')::uuid FROM jobs WHERE kind = 'waitlist_joined' ORDER BY id",
        )
        .fetch_all(&app.pool)
        .await
        .unwrap();
        let mut places = Vec::new();
        for id in ids {
            let place = services::registrations::waitlist::place(&app.pool, id.into())
                .await
                .unwrap()
                .expect("waiting");
            places.push(place.position);
        }
        places
    };
    assert_eq!(places, vec![1, 2, 1], "Bea, Cal, then Bea again");

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

/// Status emails queued for order `code`.
async fn order_emails(app: &TestApp, code: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM jobs WHERE kind = 'order_confirmation' AND payload->>'order_id' =
           (SELECT id::text FROM orders WHERE code = $1)",
    )
    .bind(code)
    .fetch_one(&app.pool)
    .await
    .unwrap()
}

async fn order_status(app: &TestApp, code: &str) -> String {
    sqlx::query_scalar("SELECT status FROM orders WHERE code = $1")
        .bind(code)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

/// Whether the buyer of a receipt gets into Reception with a fresh emailed link.
async fn enters_reception(app: &TestApp, slug: &str, receipt: &Value) -> bool {
    let attendee: Uuid = sqlx::query_scalar("SELECT attendee_id FROM orders WHERE code = $1")
        .bind(receipt["order_code"].as_str().unwrap())
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let token = app.emailed_link(attendee.into()).await;
    let c = client();
    let res = c
        .post(format!("{}/e/{slug}/join", app.base))
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();
    match res.status().as_u16() {
        // Not admitted yet: the link says so and is kept for later.
        409 => false,
        303 => app.call::<fns::Reception>(&c, &[("slug", slug)]).await.0 == 200,
        other => panic!("redeeming answered {other}"),
    }
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
    assert_eq!(order_emails(&app, &code).await, 3);
}

#[tokio::test]
async fn someone_whose_order_was_cancelled_can_register_again_with_the_same_email() {
    let app = app(false).await;
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    let register = |name: &'static str| {
        let form = [
            ("slug", slug.clone()),
            ("name", name.to_owned()),
            ("email", "back@example.org".to_owned()),
        ];
        let app = &app;
        async move {
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            app.call::<fns::Register>(&client(), &form).await
        }
    };
    let (s, first) = register("Bo").await;
    assert_eq!(s, 200, "{first}");
    let (s, b) = register("Bo").await;
    assert_eq!(
        (s, b),
        (
            200,
            serde_json::json!({ "check_inbox": "back@example.org" })
        ),
        "a live order: still one registration, and a link by email"
    );
    let code = first["order_code"].as_str().unwrap();
    let (s, b) = app
        .call::<fns::CancelOrder>(&org.client, &[("slug", &slug), ("order_code", code)])
        .await;
    assert_eq!(s, 200, "{b}");
    let (s, again) = register("Bo Again").await;
    assert_eq!(s, 200, "{again}");
    assert_ne!(again["order_code"], first["order_code"]);
    let (n, name): (i64, String) = sqlx::query_as(
        "SELECT count(*) OVER (), name FROM attendees WHERE email = 'back@example.org'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        (n, name.as_str()),
        (1, "Bo Again"),
        "the same attendee, renamed"
    );
    let (s, b) = register("Bo").await;
    assert_eq!(
        (s, b),
        (
            200,
            serde_json::json!({ "check_inbox": "back@example.org" })
        ),
        "the new order is live"
    );
}

#[tokio::test]
async fn orders_nobody_approves_expire_after_a_week_and_free_their_seat() {
    use services::registrations::{lifecycle, orders::APPROVAL_TTL_DAYS};
    let app = app(false).await;
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    let tt = ticket_type(
        &app,
        &org,
        &slug,
        &[
            ("name", "Flash"),
            ("quota", "2"),
            ("requires_approval", "on"),
        ],
    )
    .await;
    let (_, old) = buy(&app, &slug, &tt, "1", &key()).await;
    let (_, young) = buy(&app, &slug, &tt, "1", &key()).await;
    let old = old["order_code"].as_str().unwrap().to_owned();
    let young = young["order_code"].as_str().unwrap().to_owned();
    assert_eq!(sold(&app).await.1, 2, "both seats held while waiting");
    let (s, b) = buy(&app, &slug, &tt, "1", &key()).await;
    assert_eq!(s, 409, "sold out meanwhile: {b}");
    sqlx::query("UPDATE orders SET created_at = now() - interval '8 days' WHERE code = $1")
        .bind(&old)
        .execute(&app.pool)
        .await
        .unwrap();
    let n = lifecycle::expire_unapproved(&app.pool, APPROVAL_TTL_DAYS)
        .await
        .unwrap();
    assert_eq!(n, 1);
    assert_eq!(order_status(&app, &old).await, "cancelled");
    assert_eq!(order_status(&app, &young).await, "awaiting_approval");
    assert_eq!(
        sold(&app).await.1,
        1,
        "the old order's seat is back on sale"
    );
    let (s, b) = buy(&app, &slug, &tt, "1", &key()).await;
    assert_eq!(s, 200, "{b}");
    // Its buyer is told (received, then cancelled).
    assert_eq!(order_emails(&app, &old).await, 2);
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

#[tokio::test]
async fn a_freed_seat_goes_to_whoever_waits_for_a_ticket_sharing_its_quota() {
    let app = app(false).await;
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    // Early and Regular share one seat.
    let early = ticket_type(
        &app,
        &org,
        &slug,
        &[("name", "Early"), ("quota", "1"), ("quota_name", "Hall")],
    )
    .await;
    let regular = ticket_type(
        &app,
        &org,
        &slug,
        &[("name", "Regular"), ("quota", "1"), ("quota_name", "Hall")],
    )
    .await;
    let (s, first) = buy(&app, &slug, &early, "1", &key()).await;
    assert_eq!(s, 200, "{first}");
    // Nobody waits for Early; Rae waits for Regular.
    assert_eq!(join_waitlist(&app, &slug, &regular, "rae").await.0, 200);
    let code = first["order_code"].as_str().unwrap();
    let (s, _) = app
        .call::<fns::CancelOrder>(&org.client, &[("slug", &slug), ("order_code", code)])
        .await;
    assert_eq!(s, 200);
    // The seat is held for Rae, not put back on sale.
    let status: String =
        sqlx::query_scalar("SELECT status FROM waitlist_entries WHERE email = 'rae@example.org'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(status, "offered");
    assert_eq!(
        buy(&app, &slug, &regular, "1", &key()).await.0,
        409,
        "no public sale of a held seat"
    );
    assert_eq!(buy(&app, &slug, &early, "1", &key()).await.0, 409);
}
