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
    assert_eq!((s, b["Done"].as_str()), (200, Some("Starter")), "{b}");
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
    let purchases: Vec<(String, i64)> =
        sqlx::query_as("SELECT plan_id, amount_minor FROM plan_purchases")
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
