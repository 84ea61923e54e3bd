//! Team members: invitations within the plan's seats, accepting, roles.

use serde_json::Value;
use uuid::Uuid;

use crate::helpers::{client, fns, spawn_web_only, TestApp};

/// The invitation token the email job would send for `email`.
async fn invite_token(app: &TestApp, email: &str) -> String {
    let (id, payload): (Uuid, Value) = sqlx::query_as(
        "SELECT i.id, j.payload FROM team_invites i JOIN jobs j ON j.payload->>'invite_id' = i.id::text
         WHERE i.email = $1::citext",
    )
    .bind(email)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(payload.get("token").is_none(), "no token in the queue");
    services::team::issue_invite_token(&app.pool, id.into())
        .await
        .unwrap()
        .expect("open invitation")
        .token
}

#[tokio::test]
async fn seats_limit_invitations_and_members_work_in_the_same_organisation() {
    let app = spawn_web_only().await;
    let owner = app.organiser().await;
    let slug = app.event(&owner).await;
    sqlx::query("UPDATE organisations SET plan_id = 'free'")
        .execute(&app.pool)
        .await
        .unwrap();

    // Free: one seat, the owner's.
    let (s, b) = app
        .call::<fns::InviteMember>(&owner.client, &[("email", "bob@example.org")])
        .await;
    assert_eq!(
        (s, b["message"].as_str()),
        (
            402,
            Some("your Free plan includes 1 team seat; upgrade at /checkout")
        )
    );
    sqlx::query("UPDATE organisations SET plan_id = 'starter'")
        .execute(&app.pool)
        .await
        .unwrap();
    for email in ["bob@example.org", "carl@example.org"] {
        let (s, b) = app
            .call::<fns::InviteMember>(&owner.client, &[("email", email)])
            .await;
        assert_eq!(s, 200, "{b}");
    }
    let (s, b) = app
        .call::<fns::InviteMember>(&owner.client, &[("email", "dan@example.org")])
        .await;
    assert_eq!(s, 402, "3 seats: owner + 2 invitations: {b}");
    let (s, b) = app
        .call::<fns::InviteMember>(&owner.client, &[("email", "not an email")])
        .await;
    assert_eq!(s, 400, "{b}");
    let (s, b) = app
        .call::<fns::InviteMember>(&owner.client, &[("email", &owner.email)])
        .await;
    assert_eq!(s, 409, "already has an account: {b}");

    // Revoking Carl frees a seat.
    let (s, team) = app.call::<fns::Team>(&owner.client, &[]).await;
    assert_eq!(s, 200);
    assert_eq!(team["seats"], "3 of 3 seats used", "{team}");
    let carl = team["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["email"] == "carl@example.org")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (s, _) = app
        .call::<fns::RemoveMember>(&owner.client, &[("id", &carl), ("invited", "true")])
        .await;
    assert_eq!(s, 200);
    let (s, _) = app
        .call::<fns::InviteMember>(&owner.client, &[("email", "dan@example.org")])
        .await;
    assert_eq!(s, 200);

    // Bob accepts: he is signed in and works on the same organisation's events.
    let token = invite_token(&app, "bob@example.org").await;
    let (s, b) = app
        .call::<fns::Invitation>(&client(), &[("token", &token)])
        .await;
    assert_eq!(
        (s, b["email"].as_str()),
        (200, Some("bob@example.org")),
        "{b}"
    );
    assert_eq!(b["organisation"], "Ada Events");
    let bob = client();
    let (s, b) = app
        .call::<fns::AcceptInvite>(
            &bob,
            &[("token", &token), ("name", "Bob"), ("password", "short")],
        )
        .await;
    assert_eq!(s, 400, "weak password refused, invitation kept: {b}");
    let (s, b) = app
        .call::<fns::AcceptInvite>(
            &bob,
            &[
                ("token", &token),
                ("name", "Bob"),
                ("password", "a long password"),
            ],
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = app
        .call::<fns::EventOverview>(&bob, &[("slug", &slug)])
        .await;
    assert_eq!(s, 200, "members see the organisation's events: {b}");
    let (s, _) = app
        .call::<fns::AcceptInvite>(
            &client(),
            &[
                ("token", &token),
                ("name", "Eve"),
                ("password", "a long password"),
            ],
        )
        .await;
    assert_eq!(s, 401, "an invitation works once");
    // Members cannot manage the team or buy plans.
    let (s, _) = app
        .call::<fns::InviteMember>(&bob, &[("email", "x@example.org")])
        .await;
    assert_eq!(s, 403);
    let (s, _) = app
        .call::<fns::BuyPlan>(
            &bob,
            &[("plan", "growth"), ("card_number", "4242424242424242")],
        )
        .await;
    assert_eq!(s, 403);
    // Bob enters the event as its host (a moderator without a ticket).
    let (s, b) = app.call::<fns::EnterAsHost>(&bob, &[("slug", &slug)]).await;
    assert!(s < 400, "{s} {b}");
    let (s, b) = app.call::<fns::Reception>(&bob, &[("slug", &slug)]).await;
    assert_eq!((s, &b["moderator"]), (200, &serde_json::json!(true)), "{b}");
    // The owner removes Bob: his session ends, and his host rights with it.
    let bob_id: Uuid =
        sqlx::query_scalar("SELECT id FROM organisers WHERE email = 'bob@example.org'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let (s, _) = app
        .call::<fns::RemoveMember>(&owner.client, &[("id", &bob_id.to_string())])
        .await;
    assert_eq!(s, 200);
    assert_eq!(
        app.call::<fns::EventOverview>(&bob, &[("slug", &slug)])
            .await
            .0,
        401
    );
    assert_eq!(
        app.call::<fns::Reception>(&bob, &[("slug", &slug)]).await.0,
        401,
        "a removed member's host session ends"
    );
    let host: bool =
        sqlx::query_scalar("SELECT host FROM attendees WHERE email = 'bob@example.org'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(!host);
    // Another organisation cannot touch this team.
    let other = app.organiser().await;
    let owner_id: Uuid = sqlx::query_scalar("SELECT id FROM organisers WHERE email = $1")
        .bind(&owner.email)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let (s, _) = app
        .call::<fns::RemoveMember>(&other.client, &[("id", &owner_id.to_string())])
        .await;
    assert_eq!(s, 404);
    let (s, _) = app
        .call::<fns::RemoveMember>(&owner.client, &[("id", &owner_id.to_string())])
        .await;
    assert_eq!(s, 409, "owners stay");
}
