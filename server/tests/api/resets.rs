//! "Forgot your password?": the request answers alike for any address, the
//! emailed link sets a new password once, within the hour, and signs every
//! session of the account out.

use serde_json::Value;

use crate::helpers::{client, fns, spawn_with_smtp, TestApp};

async fn reset_jobs(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM jobs WHERE kind = 'password_reset'")
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

/// The token of the newest reset link of `email`, as the email carries it.
async fn emailed_token(app: &TestApp, email: &str) -> String {
    use protocol::ids::OrganiserId;
    let id: uuid::Uuid = sqlx::query_scalar("SELECT id FROM organisers WHERE email = $1")
        .bind(email)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    services::accounts::resets::issue(&app.pool, OrganiserId::from(id))
        .await
        .unwrap()
}

#[tokio::test]
async fn a_forgotten_password_is_reset_by_an_emailed_link_once() {
    let app = spawn_with_smtp("Convene Test <tickets@convene.test>").await;
    let org = app.organiser().await;

    // The same answer for an account and for a stranger; one email, to the account.
    let ask = |email: String| {
        let app = &app;
        async move {
            let res = client()
                .post(app.url_of::<fns::RequestPasswordReset>())
                .form(&[("email", email.as_str())])
                .send()
                .await
                .unwrap();
            let location = res
                .headers()
                .get("location")
                .map(|v| v.to_str().unwrap().to_owned());
            (res.status().as_u16(), location)
        }
    };
    let known = ask(org.email.to_uppercase()).await;
    let unknown = ask("nobody@example.org".into()).await;
    assert_eq!(known, unknown);
    assert_eq!(known, (200, Some("/forgot-password?sent=1".to_owned())));
    assert_eq!(reset_jobs(&app).await, 1);
    assert_eq!(app.drain_jobs().await, 1);
    let (s, b) = app
        .call::<fns::RequestPasswordReset>(&client(), &[("email", "not an address")])
        .await;
    assert_eq!(s, 400, "{b}");

    // A bad token or a weak password changes nothing.
    let token = emailed_token(&app, &org.email).await;
    let reset = |token: String, password: &'static str| {
        let app = &app;
        async move {
            app.call::<fns::ResetPassword>(
                &client(),
                &[("token", token.as_str()), ("password", password)],
            )
            .await
        }
    };
    assert_eq!(reset(token.clone(), "short").await.0, 400);
    assert_eq!(reset("x".repeat(43), "a new long password").await.0, 401);

    // The link sets the new password and signs the account out everywhere.
    let (s, b) = app.call::<fns::Dashboard>(&org.client, &[]).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(reset(token.clone(), "a new long password").await.0, 200);
    let (s, _) = app.call::<fns::Dashboard>(&org.client, &[]).await;
    assert_eq!(s, 401, "the old session ended");
    assert_eq!(
        reset(token, "another long password").await.0,
        401,
        "single use"
    );
    let login = |password: &'static str| {
        let (app, email) = (&app, org.email.clone());
        async move {
            app.call::<fns::Login>(&client(), &[("email", &email), ("password", password)])
                .await
                .0
        }
    };
    assert_eq!(login("a long password").await, 401);
    assert_eq!(login("a new long password").await, 200);

    // An expired link fails.
    let late = emailed_token(&app, &org.email).await;
    sqlx::query("UPDATE password_resets SET expires_at = now() - interval '1 minute'")
        .execute(&app.pool)
        .await
        .unwrap();
    let (s, b): (u16, Value) = reset(late, "a third long password").await;
    assert_eq!(s, 401, "{b}");
}
