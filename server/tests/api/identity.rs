//! Attendee identity: whoever submits the form may enter at once, but an
//! address counts as theirs only once a link emailed to it is opened; roles
//! go to verified attendees picked from a list.

use serde_json::json;
use uuid::Uuid;

use crate::helpers::{fns, link_token, spawn_web_only};

#[tokio::test]
async fn an_emailed_link_verifies_the_address_and_ends_the_sessions_of_whoever_used_it_first() {
    let app = spawn_web_only().await;
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    let reception = |c: reqwest::Client| {
        let (app, slug) = (&app, slug.clone());
        async move { app.call::<fns::Reception>(&c, &[("slug", &slug)]).await.0 }
    };
    // Someone registers with a staff member's address and enters at once.
    let (s, body) = app.register(&slug, "staff@example.org").await;
    assert_eq!(s, 200, "{body}");
    let (squatter, _) = app.sign_in(&slug, &link_token(&body)).await;
    assert_eq!(reception(squatter.clone()).await, 200);
    let id: Uuid = sqlx::query_scalar("SELECT id FROM attendees")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let id_text = id.to_string();
    let make_moderator = [("slug", slug.as_str()), ("attendee_id", id_text.as_str())];

    // Unverified: no role, and the organiser's picker does not offer them.
    let (s, b) = app
        .call::<fns::SetModerator>(&org.client, &make_moderator)
        .await;
    assert_eq!(s, 409, "{b}");
    assert!(
        b["message"]
            .as_str()
            .unwrap()
            .contains("opened a sign-in link from their email"),
        "{b}"
    );
    let (s, people) = app
        .call::<fns::StaffCandidates>(&org.client, &[("slug", &slug)])
        .await;
    assert_eq!((s, people), (200, json!([])));

    // The owner of the address registers too: no second order, a link by email.
    let (s, b) = app.register(&slug, "staff@example.org").await;
    assert_eq!((s, b), (200, json!({ "check_inbox": "staff@example.org" })));
    let (owner, _) = app.sign_in(&slug, &app.emailed_link(id.into()).await).await;
    assert_eq!(reception(owner.clone()).await, 200);
    assert_eq!(
        reception(squatter).await,
        401,
        "the session opened before verification is over"
    );

    // Verified: the organiser picks them from the list.
    let (_, people) = app
        .call::<fns::StaffCandidates>(&org.client, &[("slug", &slug)])
        .await;
    assert_eq!(people[0]["email"], "staff@example.org", "{people}");
    assert_eq!(people[0]["moderator"], false);
    let (s, b) = app
        .call::<fns::SetModerator>(&org.client, &make_moderator)
        .await;
    assert_eq!(s, 200, "{b}");
    let (_, people) = app
        .call::<fns::StaffCandidates>(&org.client, &[("slug", &slug)])
        .await;
    assert_eq!(people[0]["moderator"], true);
    // Another organisation can neither see nor appoint them.
    let other = app.organiser().await;
    let (s, _) = app
        .call::<fns::StaffCandidates>(&other.client, &[("slug", &slug)])
        .await;
    assert_eq!(s, 404);
    let (s, _) = app
        .call::<fns::SetModerator>(&other.client, &make_moderator)
        .await;
    assert_eq!(s, 404);

    // Later emailed links do not end the verified owner's sessions.
    app.sign_in(&slug, &app.emailed_link(id.into()).await).await;
    assert_eq!(reception(owner).await, 200);
}
