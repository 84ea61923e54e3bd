//! Organisers change what they made: ticket types are edited (price, seats,
//! rules) and removed (deleted when unsold, hidden when sold), which makes a
//! paid-only event possible; nothing sold is lost or oversold on the way.

use serde_json::Value;

use crate::helpers::{client, fns, Organiser, TestApp};
use crate::ticketing::{app, buy, key, ticket_type};

async fn general_admission(app: &TestApp) -> String {
    let id: uuid::Uuid =
        sqlx::query_scalar("SELECT id FROM ticket_types WHERE name = 'General admission'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    id.to_string()
}

async fn edit(
    app: &TestApp,
    org: &Organiser,
    slug: &str,
    id: &str,
    form: &[(&str, &str)],
) -> (u16, Value) {
    let mut full = vec![("slug", slug), ("id", id)];
    full.extend_from_slice(form);
    app.call::<fns::UpdateTicketType>(&org.client, &full).await
}

async fn offers(app: &TestApp, slug: &str) -> Vec<String> {
    let (s, b) = app
        .call::<fns::PublicEvent>(&client(), &[("slug", slug)])
        .await;
    assert_eq!(s, 200, "{b}");
    b["offers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            format!(
                "{} {}",
                o["name"].as_str().unwrap(),
                o["price"].as_str().unwrap()
            )
        })
        .collect()
}

#[tokio::test]
async fn a_paid_only_event_removes_its_free_ticket() {
    let app = app(false).await;
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    let paid = ticket_type(&app, &org, &slug, &[("name", "Pass"), ("price", "30.00")]).await;
    let free = general_admission(&app).await;
    let form = [("slug", slug.as_str()), ("id", free.as_str())];
    let (s, b) = app.call::<fns::RemoveTicketType>(&org.client, &form).await;
    assert_eq!((s, b.as_str()), (200, Some("deleted")), "{b}");
    assert_eq!(offers(&app, &slug).await, ["Pass 30.00 EUR"]);
    // Nobody gets in for free any more, by any path.
    let (s, b) = app.register(&slug, "free@example.org").await;
    assert_eq!(s, 409, "{b}");
    let (s, b) = buy(&app, &slug, &free, "1", &key()).await;
    assert!(s == 404 || s == 400, "{s} {b}");
    let (s, b) = buy(&app, &slug, &paid, "1", &key()).await;
    assert_eq!((s, b["status"].as_str()), (200, Some("pending")), "{b}");
    // Removing again: it is gone.
    let (s, _) = app.call::<fns::RemoveTicketType>(&org.client, &form).await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn a_sold_ticket_type_is_hidden_not_deleted_and_its_orders_stay() {
    let app = app(false).await;
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    let free = general_admission(&app).await;
    let (s, order) = buy(&app, &slug, &free, "2", &key()).await;
    assert_eq!(s, 200, "{order}");
    let form = [("slug", slug.as_str()), ("id", free.as_str())];
    let (s, b) = app.call::<fns::RemoveTicketType>(&org.client, &form).await;
    assert_eq!((s, b.as_str()), (200, Some("hidden")), "{b}");
    assert!(offers(&app, &slug).await.is_empty());
    let tickets: i64 = sqlx::query_scalar("SELECT count(*) FROM tickets WHERE voided_at IS NULL")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(tickets, 2, "the sold tickets stand");
    let (s, b) = app
        .call::<fns::EventOverview>(&org.client, &[("slug", &slug)])
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["tickets"][0]["hidden"], true);
    // Another organisation cannot touch it.
    let stranger = app.organiser().await;
    let (s, _) = app
        .call::<fns::RemoveTicketType>(&stranger.client, &form)
        .await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn editing_changes_price_rules_and_seats_but_never_below_what_sold() {
    let app = app(false).await;
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    let vip = ticket_type(
        &app,
        &org,
        &slug,
        &[("name", "VIP"), ("price", "50.00"), ("quota", "3")],
    )
    .await;
    let (s, b) = buy(&app, &slug, &vip, "2", &key()).await;
    assert_eq!(s, 200, "{b}");

    let (s, b) = edit(
        &app,
        &org,
        &slug,
        &vip,
        &[
            ("name", "VIP lounge"),
            ("price", "60.00"),
            ("quota", "5"),
            ("max_per_order", "2"),
        ],
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(offers(&app, &slug).await[1], "VIP lounge 60.00 EUR");
    let (_, b) = app
        .call::<fns::EventOverview>(&org.client, &[("slug", &slug)])
        .await;
    let row = &b["tickets"][1];
    assert_eq!(
        (
            &row["quota"],
            &row["available"],
            &row["price_input"],
            &row["max_per_order"]
        ),
        (
            &Value::from(5),
            &Value::from(3),
            &Value::from("60.00"),
            &Value::from(2)
        ),
        "{row}"
    );
    // The old orders keep the price they were made at.
    let total: i64 = sqlx::query_scalar("SELECT total_minor FROM orders")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(total, 10_000);

    // Refused, with the reason, and nothing changed.
    let (s, b) = edit(
        &app,
        &org,
        &slug,
        &vip,
        &[("name", "VIP lounge"), ("quota", "1")],
    )
    .await;
    assert_eq!(s, 409, "{b}");
    assert!(
        b["message"].as_str().unwrap().contains("2 seats are sold"),
        "{b}"
    );
    let (s, b) = edit(
        &app,
        &org,
        &slug,
        &vip,
        &[
            ("name", "VIP lounge"),
            ("price", "60.00"),
            ("currency", "USD"),
            ("quota", "5"),
        ],
    )
    .await;
    assert_eq!(s, 409, "{b}");
    let (s, b) = edit(&app, &org, &slug, &vip, &[("name", ""), ("quota", "5")]).await;
    assert_eq!(s, 400, "{b}");
    let (s, b) = edit(&app, &org, &slug, &vip, &[("name", "X"), ("price", "-5")]).await;
    assert_eq!(s, 400, "{b}");
    let (s, b) = edit(&app, &org, &slug, "not-an-id", &[("name", "X")]).await;
    assert_eq!(s, 400, "{b}");
    assert_eq!(offers(&app, &slug).await[1], "VIP lounge 60.00 EUR");

    // Unlimited: the quota goes; limited again: a quota of its own.
    let (s, b) = edit(
        &app,
        &org,
        &slug,
        &vip,
        &[("name", "VIP lounge"), ("price", "60.00")],
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let quotas: i64 = sqlx::query_scalar("SELECT count(*) FROM quotas")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(quotas, 0);
    let (s, b) = edit(
        &app,
        &org,
        &slug,
        &vip,
        &[("name", "VIP lounge"), ("price", "60.00"), ("quota", "10")],
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let (_, b) = app
        .call::<fns::EventOverview>(&org.client, &[("slug", &slug)])
        .await;
    assert_eq!(b["tickets"][1]["available"], 10, "{b}");
}

#[tokio::test]
async fn seats_added_to_a_sold_out_ticket_go_to_the_waiting_list_first() {
    let app = app(false).await;
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    let tt = ticket_type(&app, &org, &slug, &[("name", "Tiny"), ("quota", "1")]).await;
    let (s, b) = buy(&app, &slug, &tt, "1", &key()).await;
    assert_eq!(s, 200, "{b}");
    let form = [
        ("slug", slug.as_str()),
        ("ticket_type_id", tt.as_str()),
        ("name", "Wai"),
        ("email", "wai@example.org"),
    ];
    let (s, b) = app.call::<fns::JoinWaitlist>(&client(), &form).await;
    assert_eq!(s, 200, "{b}");

    let (s, b) = edit(&app, &org, &slug, &tt, &[("name", "Tiny"), ("quota", "3")]).await;
    assert_eq!(s, 200, "{b}");
    let status: String = sqlx::query_scalar("SELECT status FROM waitlist_entries")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(status, "offered");
    let (size, sold): (i32, i32) = sqlx::query_as("SELECT size, sold FROM quotas")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(
        (size, sold),
        (3, 2),
        "one seat held for the offer, one on sale"
    );
}

#[tokio::test]
async fn the_event_details_change_but_its_address_stays() {
    let app = app(false).await;
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    let form = [
        ("slug", slug.as_str()),
        ("name", "Renamed Summit"),
        ("description", "Now in Lisbon."),
        ("starts", "2027-10-01T09:00"),
        ("ends", "2027-10-01T17:30"),
        ("time_zone", "Europe/Lisbon"),
    ];
    let (s, b) = app.call::<fns::UpdateEvent>(&org.client, &form).await;
    assert_eq!(s, 200, "{b}");
    let (_, b) = app
        .call::<fns::PublicEvent>(&client(), &[("slug", &slug)])
        .await;
    assert_eq!(b["event"]["name"], "Renamed Summit");
    assert_eq!(b["event"]["time_zone"], "Europe/Lisbon");
    assert_eq!(b["event"]["slug"], slug.as_str());
    let (_, b) = app
        .call::<fns::EventOverview>(&org.client, &[("slug", &slug)])
        .await;
    assert_eq!(
        (b["starts_input"].as_str(), b["ends_input"].as_str()),
        (Some("2027-10-01T09:00"), Some("2027-10-01T17:30"))
    );

    // Bad input changes nothing; other organisations cannot reach it.
    let mut bad = form;
    bad[4] = ("ends", "2027-09-01T09:00");
    let (s, b) = app.call::<fns::UpdateEvent>(&org.client, &bad).await;
    assert_eq!(s, 400, "{b}");
    assert!(
        b["message"]
            .as_str()
            .unwrap()
            .contains("end after it starts"),
        "{b}"
    );
    let mut bad = form;
    bad[5] = ("time_zone", "Mars/Olympus");
    assert_eq!(app.call::<fns::UpdateEvent>(&org.client, &bad).await.0, 400);
    let stranger = app.organiser().await;
    assert_eq!(
        app.call::<fns::UpdateEvent>(&stranger.client, &form)
            .await
            .0,
        404
    );
    let (_, b) = app
        .call::<fns::PublicEvent>(&client(), &[("slug", &slug)])
        .await;
    assert_eq!(b["event"]["name"], "Renamed Summit");
}

#[tokio::test]
async fn a_used_promo_code_ends_and_an_unused_one_is_deleted() {
    let app = app(false).await;
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    let tt = ticket_type(&app, &org, &slug, &[("name", "Pass"), ("price", "10.00")]).await;
    for code in ["USED10", "SPARE10"] {
        let form = [
            ("slug", slug.as_str()),
            ("code", code),
            ("kind", "percent"),
            ("value", "10"),
        ];
        let (s, b) = app.call::<fns::CreatePromoCode>(&org.client, &form).await;
        assert_eq!(s, 200, "{b}");
    }
    let email = "promo@example.org";
    let form = [
        ("slug", slug.as_str()),
        ("name", "Pia"),
        ("email", email),
        ("ticket_type_id", tt.as_str()),
        ("promo_code", "USED10"),
    ];
    let (s, b) = app.call::<fns::Register>(&client(), &form).await;
    assert_eq!((s, b["total"].as_str()), (200, Some("9.00 EUR")), "{b}");

    let id = |code: &'static str| {
        let pool = app.pool.clone();
        async move {
            let id: uuid::Uuid = sqlx::query_scalar("SELECT id FROM promo_codes WHERE code = $1")
                .bind(code)
                .fetch_one(&pool)
                .await
                .unwrap();
            id.to_string()
        }
    };
    let (used, spare) = (id("USED10").await, id("SPARE10").await);
    let withdraw = |id: String| {
        let (app, org, slug) = (&app, &org, slug.clone());
        async move {
            app.call::<fns::WithdrawPromoCode>(&org.client, &[("slug", &slug), ("id", &id)])
                .await
        }
    };
    assert_eq!(withdraw(spare.clone()).await, (200, Value::from("deleted")));
    assert_eq!(withdraw(used.clone()).await, (200, Value::from("ended")));
    assert_eq!(withdraw(spare).await.0, 404);
    // The order keeps its code and discount; the code no longer works.
    let kept: Option<uuid::Uuid> = sqlx::query_scalar("SELECT promo_code_id FROM orders")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(kept.map(|k| k.to_string()), Some(used));
    let again = [
        ("slug", slug.as_str()),
        ("name", "Pio"),
        ("email", "pio@example.org"),
        ("ticket_type_id", tt.as_str()),
        ("promo_code", "USED10"),
    ];
    let (s, b) = app.call::<fns::Register>(&client(), &again).await;
    assert_eq!(s, 400, "{b}");
}

#[tokio::test]
async fn questions_are_edited_and_removed_and_given_answers_are_kept() {
    let app = app(false).await;
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    for (label, kind, options) in [("Company", "text", ""), ("Diet", "choice", "Vegan, Other")] {
        let form = [
            ("slug", slug.as_str()),
            ("label", label),
            ("kind", kind),
            ("options", options),
        ];
        let (s, b) = app.call::<fns::CreateQuestion>(&org.client, &form).await;
        assert_eq!(s, 200, "{b}");
    }
    let (_, qs) = app
        .call::<fns::ListQuestions>(&org.client, &[("slug", &slug)])
        .await;
    let id = |i: usize| qs[i]["id"].as_str().unwrap().to_owned();
    let (company, diet) = (id(0), id(1));
    // Someone answers the company question.
    let field = format!("answers[q{company}]");
    let form = [
        ("slug", slug.as_str()),
        ("name", "Ana"),
        ("email", "ana@example.org"),
        (field.as_str(), "Ana & Co"),
    ];
    let (s, b) = app.call::<fns::Register>(&client(), &form).await;
    assert_eq!(s, 200, "{b}");

    // Edit: a new label, a required choice with other options.
    let form = [
        ("slug", slug.as_str()),
        ("id", diet.as_str()),
        ("label", "Dietary needs"),
        ("options", "Vegan, Vegetarian, None"),
        ("required", "on"),
    ];
    let (s, b) = app.call::<fns::UpdateQuestion>(&org.client, &form).await;
    assert_eq!(s, 200, "{b}");
    let bad = [
        ("slug", slug.as_str()),
        ("id", diet.as_str()),
        ("label", "Diet"),
        ("options", "Only one"),
    ];
    let (s, b) = app.call::<fns::UpdateQuestion>(&org.client, &bad).await;
    assert_eq!(s, 400, "{b}");
    let (_, b) = app
        .call::<fns::PublicEvent>(&client(), &[("slug", &slug)])
        .await;
    let q = &b["questions"][1];
    assert_eq!(
        (
            &q["label"],
            &q["required"],
            q["options"].as_array().unwrap().len()
        ),
        (&Value::from("Dietary needs"), &Value::from(true), 3),
        "{q}"
    );

    // Remove both: the answered one is retired, the other deleted.
    let remove = |id: String| {
        let (app, org, slug) = (&app, &org, slug.clone());
        async move {
            app.call::<fns::RemoveQuestion>(&org.client, &[("slug", &slug), ("id", &id)])
                .await
        }
    };
    assert_eq!(remove(company.clone()).await, (200, Value::from("retired")));
    assert_eq!(remove(diet.clone()).await, (200, Value::from("deleted")));
    assert_eq!(remove(diet).await.0, 404);
    let (_, b) = app
        .call::<fns::PublicEvent>(&client(), &[("slug", &slug)])
        .await;
    assert_eq!(
        b["questions"],
        serde_json::json!([]),
        "the form asks nothing now"
    );
    // New registrations are not asked; the given answer is still in the export.
    let (s, b) = app.register(&slug, "ben@example.org").await;
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
    assert!(csv.lines().next().unwrap().contains("Company"), "{csv}");
    assert!(csv.contains("Ana & Co"), "{csv}");
}

#[tokio::test]
async fn stages_are_renamed_and_removed_and_their_sessions_stay() {
    let app = app(false).await;
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    let form = [
        ("slug", slug.as_str()),
        ("name", "Main"),
        ("source_kind", "none"),
    ];
    let (s, b) = app.call::<fns::CreateStage>(&org.client, &form).await;
    assert_eq!(s, 200, "{b}");
    let stage: uuid::Uuid = sqlx::query_scalar("SELECT id FROM stages")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let stage = stage.to_string();
    let form = [
        ("slug", slug.as_str()),
        ("title", "Keynote"),
        ("starts", "2027-09-01T10:00"),
        ("ends", "2027-09-01T11:00"),
        ("stage", stage.as_str()),
    ];
    let (s, b) = app.call::<fns::AddSession>(&org.client, &form).await;
    assert_eq!(s, 200, "{b}");

    let rename = [
        ("slug", slug.as_str()),
        ("stage", stage.as_str()),
        ("name", "Main hall"),
    ];
    let (s, b) = app.call::<fns::RenameStage>(&org.client, &rename).await;
    assert_eq!(s, 200, "{b}");
    let (_, b) = app
        .call::<fns::LiveAdmin>(&org.client, &[("slug", &slug)])
        .await;
    assert_eq!(b["stages"][0]["name"], "Main hall");
    let blank = [
        ("slug", slug.as_str()),
        ("stage", stage.as_str()),
        ("name", " "),
    ];
    assert_eq!(
        app.call::<fns::RenameStage>(&org.client, &blank).await.0,
        400
    );
    let stranger = app.organiser().await;
    assert_eq!(
        app.call::<fns::RenameStage>(&stranger.client, &rename)
            .await
            .0,
        404
    );

    let remove = [("slug", slug.as_str()), ("stage", stage.as_str())];
    let (s, b) = app.call::<fns::RemoveStage>(&org.client, &remove).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        app.call::<fns::RemoveStage>(&org.client, &remove).await.0,
        404
    );
    let (_, b) = app
        .call::<fns::LiveAdmin>(&org.client, &[("slug", &slug)])
        .await;
    assert_eq!(b["stages"], serde_json::json!([]));
    let sessions: i64 =
        sqlx::query_scalar("SELECT count(*) FROM agenda_sessions WHERE stage_id IS NULL")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(sessions, 1, "the session stays, without a stage");
}

#[tokio::test]
async fn the_events_look_is_checked_and_shown_on_its_pages() {
    let app = app(false).await;
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    let set = |logo: &'static str, cover: &'static str, accent: &'static str| {
        let (app, org, slug) = (&app, &org, slug.clone());
        async move {
            let form = [
                ("slug", slug.as_str()),
                ("logo_url", logo),
                ("cover_url", cover),
                ("accent", accent),
            ];
            app.call::<fns::SetBranding>(&org.client, &form).await
        }
    };
    for (logo, cover, accent) in [
        ("javascript:alert(1)", "", ""),
        ("//evil.example/logo.png", "", ""),
        ("", "https://cdn.example/a b.png", ""),
        ("", "", "red"),
    ] {
        let (s, b) = set(logo, cover, accent).await;
        assert_eq!(s, 400, "{logo} {cover} {accent}: {b}");
    }
    let (s, b) = set("/favicon.svg", "https://cdn.example/cover.jpg", "#FDE047").await;
    assert_eq!(s, 200, "{b}");
    let (_, b) = app
        .call::<fns::PublicEvent>(&client(), &[("slug", &slug)])
        .await;
    let e = &b["event"];
    assert_eq!(
        (
            &e["logo_url"],
            &e["cover_url"],
            &e["accent"],
            &e["accent_text"]
        ),
        (
            &Value::from("/favicon.svg"),
            &Value::from("https://cdn.example/cover.jpg"),
            &Value::from("#fde047"),
            &Value::from("#000000")
        ),
        "a light accent gets dark text"
    );
    let html = client()
        .get(format!("{}/e/{slug}", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("--accent: #fde047; --accent-text: #000000"),
        "{html}"
    );
    assert!(html.contains(r#"src="/favicon.svg""#), "{html}");
    let stranger = app.organiser().await;
    let form = [("slug", slug.as_str()), ("accent", "#000000")];
    assert_eq!(
        app.call::<fns::SetBranding>(&stranger.client, &form)
            .await
            .0,
        404
    );
}
