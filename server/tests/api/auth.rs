use uuid::Uuid;

use crate::helpers::{client, fns, spawn_web_only};

#[tokio::test]
async fn sign_up_creates_organisation_and_a_secure_session() {
    let app = spawn_web_only().await;
    let c = client();
    let email = format!("Ada-{}@Example.org", Uuid::new_v4().simple());
    let res = c
        .post(app.url_of::<fns::Signup>())
        .form(&[
            ("name", "Ada"),
            ("organisation", "Ada Events"),
            ("email", &email),
            ("password", "a long password"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let cookie = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect::<Vec<_>>();
    let session = cookie
        .iter()
        .find(|c| c.starts_with("convene_session="))
        .expect("session cookie");
    assert!(session.contains("HttpOnly"), "{session}");
    assert!(session.contains("SameSite=Lax"), "{session}");
    assert!(
        !session.contains("Secure"),
        "plain http must not set Secure: {session}"
    );

    // The password is stored as Argon2id, the email normalised, the org created.
    let (hash, stored_email, org): (String, String, String) = sqlx::query_as(
        "SELECT o.password_hash, o.email::text, g.name FROM organisers o JOIN organisations g ON g.id = o.org_id",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(hash.starts_with("$argon2id$"));
    assert_eq!(stored_email, email.to_lowercase());
    assert_eq!(org, "Ada Events");
    // Sessions are stored server-side, hashed.
    let token = session
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("convene_session=");
    let n: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM sessions WHERE token_hash = sha256($1::text::bytea)",
    )
    .bind(token)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(n, 1);

    let (status, body) = app.call::<fns::Dashboard>(&c, &[]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["organiser"], "Ada");
}

#[tokio::test]
async fn bad_sign_ups_get_clear_4xx_and_store_nothing() {
    let app = spawn_web_only().await;
    let org = app.organiser().await;
    type Case<'a> = (Vec<(&'a str, &'a str)>, u16, &'a str);
    let cases: Vec<Case> = vec![
        (
            vec![
                ("name", "A"),
                ("organisation", "O"),
                ("email", "not-an-email"),
                ("password", "a long password"),
            ],
            400,
            "valid email",
        ),
        (
            vec![
                ("name", "A"),
                ("organisation", "O"),
                ("email", "a@b.org"),
                ("password", "short"),
            ],
            400,
            "at least 10",
        ),
        (
            vec![
                ("name", " "),
                ("organisation", "O"),
                ("email", "a@b.org"),
                ("password", "a long password"),
            ],
            400,
            "name is required",
        ),
        (
            vec![
                ("name", "A"),
                ("organisation", "O"),
                ("email", &org.email),
                ("password", "a long password"),
            ],
            409,
            "already exists",
        ),
        (vec![("name", "A")], 400, ""),
    ];
    for (form, status, msg) in cases {
        let (got, body) = app.call::<fns::Signup>(&client(), &form).await;
        assert_eq!(got, status, "{form:?} -> {body}");
        assert!(
            body["message"].as_str().unwrap_or_default().contains(msg),
            "{form:?} -> {body}"
        );
    }
    let (orgs, people): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM organisations), (SELECT count(*) FROM organisers)",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!((orgs, people), (1, 1));
}

#[tokio::test]
async fn log_in_log_out_and_wrong_password() {
    let app = spawn_web_only().await;
    let org = app.organiser().await;
    let c = client();
    let (status, body) = app
        .call::<fns::Login>(
            &c,
            &[("email", &org.email), ("password", "wrong password!")],
        )
        .await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["message"], "wrong email or password");
    let (status, _) = app
        .call::<fns::Login>(
            &c,
            &[
                ("email", "nobody@example.org"),
                ("password", "a long password"),
            ],
        )
        .await;
    assert_eq!(status, 401);
    let (status, _) = app.call::<fns::Dashboard>(&c, &[]).await;
    assert_eq!(status, 401);

    let (status, body) = app
        .call::<fns::Login>(
            &c,
            &[
                ("email", &org.email.to_uppercase()),
                ("password", "a long password"),
            ],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = app.call::<fns::Dashboard>(&c, &[]).await;
    assert_eq!(status, 200);

    let (_, me) = app.call::<fns::Whoami>(&c, &[]).await;
    assert_eq!(me, "Ada");
    let (status, _) = app.call::<fns::Logout>(&c, &[]).await;
    assert_eq!(status, 200);
    let (_, me) = app.call::<fns::Whoami>(&c, &[]).await;
    assert!(me.is_null(), "{me}");
    let (status, body) = app.call::<fns::Dashboard>(&c, &[]).await;
    assert_eq!(status, 401, "{body}");
}

#[tokio::test]
async fn login_is_rate_limited_per_email() {
    let app = spawn_web_only().await;
    let org = app.organiser().await;
    let mut statuses = Vec::new();
    for _ in 0..12 {
        let (s, _) = app
            .call::<fns::Login>(
                &client(),
                &[("email", &org.email), ("password", "wrong password!")],
            )
            .await;
        statuses.push(s);
    }
    assert_eq!(&statuses[..10], &[401; 10]);
    assert_eq!(&statuses[10..], &[429, 429]);
    // Even the right password is refused while limited.
    let (s, body) = app
        .call::<fns::Login>(
            &client(),
            &[("email", &org.email), ("password", "a long password")],
        )
        .await;
    assert_eq!(s, 429, "{body}");
    assert!(body["message"]
        .as_str()
        .unwrap()
        .contains("too many attempts"));
}

#[tokio::test]
async fn login_is_rate_limited_per_address() {
    let app = spawn_web_only().await;
    let max = services::ratelimit::LOGIN_PER_CLIENT.max as usize;
    for i in 0..max {
        let email = format!("nobody-{i}@example.org");
        let (s, _) = app
            .call::<fns::Login>(
                &client(),
                &[("email", &email), ("password", "a long password")],
            )
            .await;
        assert_eq!(s, 401, "attempt {i}");
    }
    let (s, body) = app
        .call::<fns::Login>(
            &client(),
            &[("email", "new@example.org"), ("password", "x")],
        )
        .await;
    assert_eq!(s, 429, "{body}");
}

#[tokio::test]
async fn cross_site_state_changes_are_refused() {
    let app = spawn_web_only().await;
    let org = app.organiser().await;
    let form = crate::helpers::event_form("csrf-attempt");
    for (header, value) in [
        ("origin", "http://evil.example"),
        ("sec-fetch-site", "cross-site"),
    ] {
        let res = org
            .client
            .post(app.url_of::<fns::CreateEvent>())
            .header(header, value)
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403, "{header}: {value}");
    }
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(n, 0);
    // Same-origin requests from the browser pass.
    let res = org
        .client
        .post(app.url_of::<fns::CreateEvent>())
        .header("origin", app.base.clone())
        .header("sec-fetch-site", "same-origin")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}
