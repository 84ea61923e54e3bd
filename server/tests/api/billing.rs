//! Checkout plans: limits enforced with a clear message, upgrades through the payment provider.
use crate::helpers::{client, event_form, fns, spawn_web_only};

#[tokio::test]
async fn plan_limits_are_enforced_and_an_upgrade_lifts_them() {
    let app = spawn_web_only().await;
    let org = app.organiser().await;
    // Back to the Free plan (the helper puts test organisations on Growth).
    sqlx::query("UPDATE organisations SET plan_id = 'free'")
        .execute(&app.pool)
        .await
        .unwrap();
    sqlx::query("UPDATE plans SET max_registrations = 2 WHERE id = 'free'")
        .execute(&app.pool)
        .await
        .unwrap();

    let (s, _) = app
        .call::<fns::CreateEvent>(&org.client, &event_form("first-event"))
        .await;
    assert_eq!(s, 200);
    let (s, b) = app
        .call::<fns::CreateEvent>(&org.client, &event_form("second-event"))
        .await;
    assert_eq!(s, 402, "{b}");
    assert_eq!(
        b["message"],
        "your Free plan allows 1 event; upgrade at /checkout"
    );

    // Registrations per event.
    for i in 0..2 {
        assert_eq!(
            app.register("first-event", &format!("r{i}@example.org"))
                .await
                .0,
            200
        );
    }
    let (s, b) = app.register("first-event", "r3@example.org").await;
    assert_eq!(
        (s, b["message"].as_str()),
        (
            402,
            Some("registration for this event is closed: it is full")
        )
    );

    // Checkout: a declined card changes nothing; a good one upgrades.
    let (s, b) = app
        .call::<fns::BuyPlan>(
            &org.client,
            &[("plan", "starter"), ("card_number", "4000000000000002")],
        )
        .await;
    assert_eq!(s, 402, "{b}");
    let (s, plans) = app.call::<fns::CheckoutInfo>(&org.client, &[]).await;
    assert_eq!(s, 200);
    assert_eq!(plans[0]["current"], true, "{plans}");
    let (s, b) = app
        .call::<fns::BuyPlan>(
            &org.client,
            &[("plan", "starter"), ("card_number", "4242 4242 4242 4242")],
        )
        .await;
    assert_eq!((s, b["Done"][0].as_str()), (200, Some("Starter")), "{b}");
    let (s, _) = app
        .call::<fns::CreateEvent>(&org.client, &event_form("second-event"))
        .await;
    assert_eq!(s, 200);
    assert_eq!(app.register("first-event", "r3@example.org").await.0, 200);
    let (s, b) = app
        .call::<fns::BuyPlan>(
            &org.client,
            &[("plan", "free"), ("card_number", "4242424242424242")],
        )
        .await;
    assert_eq!(s, 409, "no downgrade through checkout: {b}");
    let (s, _) = app
        .call::<fns::BuyPlan>(
            &org.client,
            &[("plan", "platinum"), ("card_number", "4242424242424242")],
        )
        .await;
    assert_eq!(s, 404);
    let (s, _) = app
        .call::<fns::BuyPlan>(
            &client(),
            &[("plan", "growth"), ("card_number", "4242424242424242")],
        )
        .await;
    assert_eq!(s, 401);
    let purchases: Vec<(String, i64)> = sqlx::query_as(
        "SELECT plan_id, amount_minor FROM plan_purchases WHERE status = 'succeeded'",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(purchases, vec![("starter".to_string(), 4900)]);
}

#[tokio::test]
async fn a_plan_bought_with_a_card_needing_confirmation_applies_once_the_bank_confirms() {
    let app = spawn_web_only().await;
    let org = app.organiser().await;
    sqlx::query("UPDATE organisations SET plan_id = 'free'")
        .execute(&app.pool)
        .await
        .unwrap();
    let (s, b) = app
        .call::<fns::BuyPlan>(
            &org.client,
            &[("plan", "starter"), ("card_number", "4000002500003155")],
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let url = b["ConfirmAt"]
        .as_str()
        .expect("confirmation URL")
        .to_owned();
    let plan = || async {
        sqlx::query_scalar::<_, String>("SELECT plan_id FROM organisations")
            .fetch_one(&app.pool)
            .await
            .unwrap()
    };
    assert_eq!(plan().await, "free", "not before the bank confirms");
    let res = client()
        .post(format!("{}{url}", app.base))
        .form(&[("decision", "approve")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(plan().await, "starter");
    let status: String = sqlx::query_scalar("SELECT status FROM plan_purchases")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(status, "succeeded");
    // A declined confirmation changes nothing.
    let (_, b) = app
        .call::<fns::BuyPlan>(
            &org.client,
            &[("plan", "growth"), ("card_number", "4000002500003155")],
        )
        .await;
    let url = b["ConfirmAt"].as_str().unwrap().to_owned();
    client()
        .post(format!("{}{url}", app.base))
        .form(&[("decision", "decline")])
        .send()
        .await
        .unwrap();
    assert_eq!(plan().await, "starter");
}

/// The plan and the end of its paid period.
async fn plan_of(app: &crate::helpers::TestApp) -> (String, Option<chrono::DateTime<chrono::Utc>>) {
    sqlx::query_as("SELECT plan_id, plan_until FROM organisations")
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn two_bank_confirmations_never_buy_a_plan_twice() {
    let app = spawn_web_only().await;
    let org = app.organiser().await;
    sqlx::query("UPDATE organisations SET plan_id = 'free'")
        .execute(&app.pool)
        .await
        .unwrap();
    let buy = || async {
        let (s, b) = app
            .call::<fns::BuyPlan>(
                &org.client,
                &[("plan", "starter"), ("card_number", "4000002500003155")],
            )
            .await;
        assert_eq!(s, 200, "{b}");
        b["ConfirmAt"].as_str().unwrap().to_owned()
    };
    // Two tabs, two bank pages: the second attempt abandons the first.
    let (first, second) = (buy().await, buy().await);
    let base = app.base.clone();
    let approve = |url: String| {
        let base = base.clone();
        async move {
            client()
                .post(format!("{base}{url}"))
                .form(&[("decision", "approve")])
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(approve(second).await, 200);
    assert_eq!(approve(first).await, 200);
    let purchases: Vec<(String, Option<String>)> =
        sqlx::query_as("SELECT status, refund_ref FROM plan_purchases ORDER BY created_at")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(purchases.len(), 2);
    assert_eq!(
        purchases[0].0, "refunded",
        "the abandoned attempt's money goes back"
    );
    assert!(purchases[0].1.is_some());
    assert_eq!(purchases[1], ("succeeded".into(), None));
    let (plan, until) = plan_of(&app).await;
    assert_eq!(plan, "starter");
    let month = until.unwrap() - chrono::Utc::now();
    assert!(
        month.num_days() >= 27 && month.num_days() <= 31,
        "one period: {month}"
    );
}

#[tokio::test]
async fn a_paid_period_renews_only_by_purchase_and_otherwise_lapses_to_free() {
    let app = spawn_web_only().await;
    let org = app.organiser().await;
    let buy = |plan: &'static str| {
        let org = &org;
        let app = &app;
        async move {
            app.call::<fns::BuyPlan>(
                &org.client,
                &[("plan", plan), ("card_number", "4242424242424242")],
            )
            .await
        }
    };
    // The helper's Growth is a grant without end: nothing to renew or buy below it.
    let (s, b) = buy("growth").await;
    assert_eq!(s, 409, "{b}");
    assert!(
        b["message"]
            .as_str()
            .unwrap()
            .contains("granted without an end"),
        "{b}"
    );
    sqlx::query("UPDATE organisations SET plan_id = 'free'")
        .execute(&app.pool)
        .await
        .unwrap();
    let (s, b) = buy("free").await;
    assert_eq!(
        (s, b["message"].as_str()),
        (409, Some("the Free plan is free; nothing to buy"))
    );

    let (s, b) = buy("starter").await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["Done"][0], "Starter", "{b}");
    let (_, first_end) = plan_of(&app).await;
    let first_end = first_end.expect("a paid period ends");
    // Renewing adds a month to the running period, not to today.
    let (s, b) = buy("starter").await;
    assert_eq!(s, 200, "{b}");
    let (plan, second_end) = plan_of(&app).await;
    assert_eq!(plan, "starter");
    let added = second_end.unwrap() - first_end;
    assert!((28..=31).contains(&added.num_days()), "{added}");
    let (s, plans) = app.call::<fns::CheckoutInfo>(&org.client, &[]).await;
    assert_eq!(s, 200);
    let starter = &plans[1];
    assert_eq!(starter["current"], true, "{plans}");
    let shown = second_end.unwrap().format("%-d %B %Y").to_string();
    assert_eq!(
        starter["until"],
        shown.as_str(),
        "the checkout shows the end"
    );

    // Nothing renews by itself: once the period is over the plan lapses.
    let worker =
        convene_server::startup::worker(&app.deps, &app.settings, app.payments.clone()).unwrap();
    worker.housekeeping().await;
    assert_eq!(plan_of(&app).await.0, "starter", "not before the end");
    sqlx::query("UPDATE organisations SET plan_until = now() - interval '1 second'")
        .execute(&app.pool)
        .await
        .unwrap();
    worker.housekeeping().await;
    assert_eq!(plan_of(&app).await, ("free".into(), None));
}
