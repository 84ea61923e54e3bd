use crate::helpers::{client, fns, spawn_web_only};

#[tokio::test]
async fn landing_page_is_rendered_on_the_server() {
    let app = spawn_web_only().await;
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    let res = client()
        .get(format!("{}/e/{slug}", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(
        html.contains("RustConf Hybrid"),
        "event name not server-rendered"
    );
    assert!(html.contains("name=\"email\""), "registration form missing");

    let (status, body) = app
        .call::<fns::PublicEvent>(&client(), &[("slug", "no-such-event")])
        .await;
    assert_eq!(status, 404, "{body}");
}

#[tokio::test]
async fn registering_creates_attendee_ticket_qr_and_outbox_message() {
    let app = spawn_web_only().await;
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    let (status, body) = app.register(&slug, "Grace@Example.org").await;
    assert_eq!(status, 200, "{body}");
    assert!(body["tickets"][0]["qr_svg"]
        .as_str()
        .unwrap()
        .contains("<svg"));
    let code = body["tickets"][0]["code"].as_str().unwrap();
    assert_eq!(code.len(), 20);
    assert!(body["sign_in_link"]
        .as_str()
        .unwrap()
        .starts_with(&format!("/e/{slug}/join?token=")));

    let (email, ticket): (String, String) = sqlx::query_as(
        "SELECT a.email::text, t.code FROM attendees a JOIN tickets t ON t.attendee_id = a.id",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        (email.as_str(), ticket.as_str()),
        ("grace@example.org", code)
    );
    // Two domain events committed with the order, in order.
    let payloads: Vec<serde_json::Value> =
        sqlx::query_scalar("SELECT payload FROM outbox WHERE topic = 'registrations' ORDER BY id")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    let types: Vec<&str> = payloads
        .iter()
        .map(|p| p["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, vec!["attendee.registered", "order.placed"]);
    let registered = &payloads[0];
    assert_eq!(registered["version"], 1);
    assert_eq!(registered["data"]["email"], "grace@example.org");
    assert_eq!(payloads[1]["data"]["order_code"], body["order_code"]);
    assert_eq!(payloads[1]["data"]["status"], "confirmed");
}

#[tokio::test]
async fn a_registered_address_gets_check_your_inbox_and_a_link_not_a_second_ticket() {
    let app = spawn_web_only().await;
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    let (s, _) = app.register(&slug, "dup@example.org").await;
    assert_eq!(s, 200);
    let (s, body) = app.register(&slug, " DUP@example.org ").await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(
        body,
        serde_json::json!({ "check_inbox": "dup@example.org" })
    );
    let link_jobs: Vec<serde_json::Value> =
        sqlx::query_scalar("SELECT payload FROM jobs WHERE kind = 'sign_in_link'")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    let attendee: uuid::Uuid = sqlx::query_scalar("SELECT id FROM attendees")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(
        link_jobs,
        vec![serde_json::json!({ "attendee_id": attendee })]
    );
    let (s, body) = app.register(&slug, "nonsense").await;
    assert_eq!(s, 400, "{body}");
    let n: (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM attendees), (SELECT count(*) FROM tickets), (SELECT count(*) FROM outbox)",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(n, (1, 1, 2), "one attendee, one ticket, two domain events");
    // The same email may register for another event.
    let slug2 = app.event(&org).await;
    let (s, _) = app.register(&slug2, "dup@example.org").await;
    assert_eq!(s, 200);
}

#[tokio::test]
async fn sign_in_links_are_single_use_expiring_and_per_event() {
    let app = spawn_web_only().await;
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    let other = app.event(&org).await;
    let token = app.sign_in_token(&slug).await;

    // GET only shows a button: a mail scanner fetching the link does not burn it.
    let page = client()
        .get(format!("{}/e/{slug}/join?token={token}", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["referrer-policy"], "no-referrer");

    let redeem = |slug: String, token: String| {
        let base = app.base.clone();
        async move {
            let c = client();
            let res = c
                .post(format!("{base}/e/{slug}/join"))
                .form(&[("token", token)])
                .send()
                .await
                .unwrap();
            (res.status().as_u16(), c)
        }
    };
    // Wrong event first: refused, and the link is not used up.
    assert_eq!(redeem(other.clone(), token.clone()).await.0, 401);
    let (status, attendee) = redeem(slug.clone(), token.clone()).await;
    assert_eq!(status, 303);
    let (status, body) = app
        .call::<fns::Reception>(&attendee, &[("slug", &slug)])
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["attendee"], "Grace");
    // Second use fails.
    assert_eq!(redeem(slug.clone(), token.clone()).await.0, 401);
    // Garbage tokens are a 400 without touching the database.
    assert_eq!(redeem(slug.clone(), "<script>".into()).await.0, 400);

    // An expired link fails.
    let token = app.sign_in_token(&slug).await;
    sqlx::query(
        "UPDATE magic_links SET expires_at = now() - interval '1 minute' WHERE used_at IS NULL",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    assert_eq!(redeem(slug.clone(), token).await.0, 401);

    // Reception refuses anonymous visitors and attendees of other events.
    let (status, _) = app
        .call::<fns::Reception>(&client(), &[("slug", &slug)])
        .await;
    assert_eq!(status, 401);
    let (status, _) = app
        .call::<fns::Reception>(&attendee, &[("slug", &other)])
        .await;
    assert_eq!(status, 403);
}
