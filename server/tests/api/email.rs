//! Confirmation emails through the jobs worker to a real local SMTP sink (MailDev),
//! read back over its API.

use std::time::Duration;

use convene_server::startup;
use serde_json::Value;
use tokio::sync::watch;
use uuid::Uuid;

use crate::helpers::{client, env_or, fns, spawn_with_smtp};

/// Waits (10 s at most) for the sink's message to `to`.
async fn message_to(api: &str, to: &str) -> Value {
    for _ in 0..100 {
        if let Some(m) = sink_messages(api)
            .await
            .into_iter()
            .find(|m| m["to"][0]["address"] == to)
        {
            return m;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no email to {to} arrived");
}

async fn sink_messages(api: &str) -> Vec<Value> {
    let res = reqwest::get(format!("{api}/api/email"))
        .await
        .expect("SMTP sink API (MailDev) not reachable");
    res.json::<Vec<Value>>().await.unwrap()
}

#[tokio::test]
async fn order_confirmation_is_emailed_with_tickets_and_a_working_sign_in_link() {
    let api = env_or("CONVENE_TEST_SMTP_API", "http://127.0.0.1:1080");
    let app = spawn_with_smtp("Convene Test <tickets@convene.test>").await;
    let (_stop, rx) = watch::channel(false);
    tokio::spawn(startup::jobs(
        app.deps.clone(),
        app.settings.clone(),
        app.payments.clone(),
        rx,
    ));

    let org = app.organiser().await;
    let slug = app.event(&org).await;
    let email = format!("mail-{}@example.org", Uuid::new_v4().simple());
    let (s, body) = app
        .call::<fns::Register>(
            &client(),
            &[
                ("slug", &slug),
                ("name", "Mae"),
                ("email", &email),
                ("quantity", "2"),
            ],
        )
        .await;
    assert_eq!(s, 200, "{body}");

    let message = message_to(&api, &email).await;
    let order = body["order_code"].as_str().unwrap();
    assert_eq!(
        message["subject"],
        format!("Your tickets for RustConf Hybrid (order {order})")
    );
    assert_eq!(message["from"][0]["address"], "tickets@convene.test");
    let text = message["text"].as_str().unwrap();
    assert!(text.contains("Hello Mae"), "{text}");
    let attachments = message["attachments"].as_array().unwrap();
    assert_eq!(attachments.len(), 2, "one QR code per ticket");
    assert!(attachments
        .iter()
        .all(|a| a["contentType"] == "image/svg+xml"));

    // The emailed link signs the attendee in.
    let link = text
        .split_whitespace()
        .find(|w| w.contains("/join?token="))
        .expect("sign-in link in the email");
    let token = link.split("token=").nth(1).unwrap();
    app.sign_in(&slug, token).await;
    assert!(
        link.starts_with(&app.base),
        "absolute link to this server: {link}"
    );

    // The worker marks the job done after the relay accepted the message, so
    // the email can arrive before that commit: wait for it.
    let pool = app.pool.clone();
    app.eventually(10, "the email job marked done", || {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, bool>("SELECT done_at IS NOT NULL FROM jobs")
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    })
    .await;
    let (failed, attempts): (bool, i32) = sqlx::query_as("SELECT failed, attempts FROM jobs")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(
        (failed, attempts),
        (false, 1),
        "sent once, on the first try"
    );
}

#[tokio::test]
async fn failed_sends_are_retried_later_with_the_error_recorded() {
    let app = crate::helpers::spawn_web_only().await;
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    let (s, _) = app.register(&slug, "retry@example.org").await;
    assert_eq!(s, 200);
    // A relay that is not there (discard port, closed).
    let worker = services::worker::Worker {
        pool: app.pool.clone(),
        mailer: Some(
            services::notifications::Mailer::new("127.0.0.1", 9, "Convene <t@convene.test>")
                .unwrap(),
        ),
        public_url: "http://x".into(),
        payments: app.payments.clone(),
        media: None,
    };
    assert!(worker.run_one().await.unwrap());
    let (attempts, error, later, done): (i32, Option<String>, bool, bool) = sqlx::query_as(
        "SELECT attempts, last_error, run_at > now(), done_at IS NOT NULL FROM jobs",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(attempts, 1);
    assert!(error.unwrap().contains("smtp"));
    assert!(later && !done, "rescheduled, not given up");
    // Nothing is due now, so the worker idles.
    assert!(!worker.run_one().await.unwrap());
    // The job waits for its retry: that is what this test is about.
    app.expect_unfinished_jobs();
}

/// A plain message to `to`.
fn message(to: &str, subject: &str) -> lettre::Message {
    lettre::Message::builder()
        .from("Convene <t@convene.test>".parse().unwrap())
        .to(to.parse().unwrap())
        .subject(subject)
        .body("hello".to_string())
        .unwrap()
}

/// Relays over implicit TLS with SMTP AUTH: a second MailDev with a self-signed
/// certificate, started by scripts/test.sh (`ensure_smtp_tls_sink`).
#[tokio::test]
async fn tls_relays_with_authentication_are_supported() {
    use services::notifications::{Mailer, MailerSettings, SmtpSecurity};
    let relay = env_or("CONVENE_TEST_SMTP_TLS", "localhost:1465");
    let api = env_or("CONVENE_TEST_SMTP_TLS_API", "http://127.0.0.1:1081");
    let cert_path = std::env::var("CONVENE_TEST_SMTP_TLS_CERT")
        .expect("CONVENE_TEST_SMTP_TLS_CERT: run through scripts/test.sh");
    let user = env_or("CONVENE_TEST_SMTP_TLS_USER", "convene");
    let pass = std::env::var("CONVENE_TEST_SMTP_TLS_PASS").expect("CONVENE_TEST_SMTP_TLS_PASS");
    let pem = std::fs::read(&cert_path).unwrap();
    let (host, port) = relay.split_once(':').unwrap();
    let mailer = |password: &str, trust: bool| {
        Mailer::with(MailerSettings {
            host,
            port: port.parse().unwrap(),
            from: "Convene <t@convene.test>",
            security: SmtpSecurity::Tls,
            credentials: Some((user.as_str(), password)),
            root_cert_pem: trust.then_some(pem.as_slice()),
        })
        .unwrap()
    };
    let to = format!("tls-{}@example.org", Uuid::new_v4().simple());
    let err = mailer(&pass, false)
        .send(message(&to, "untrusted"))
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("smtp"),
        "an unknown certificate is refused: {err}"
    );
    let err = mailer("wrong password", true)
        .send(message(&to, "bad auth"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("smtp"), "{err}");
    mailer(&pass, true)
        .send(message(&to, "over TLS"))
        .await
        .expect("send over TLS with AUTH");
    let got: Vec<String> = sink_messages(&api)
        .await
        .into_iter()
        .filter(|m| m["to"][0]["address"] == to.as_str())
        .map(|m| m["subject"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(got, vec!["over TLS".to_string()]);
}

#[tokio::test]
async fn team_invitations_are_emailed_with_a_link_that_lets_the_colleague_join() {
    let api = env_or("CONVENE_TEST_SMTP_API", "http://127.0.0.1:1080");
    let app = spawn_with_smtp("Convene <team@convene.test>").await;
    let owner = app.organiser().await;
    let email = format!("colleague-{}@example.org", Uuid::new_v4().simple());
    let (s, b) = app
        .call::<fns::InviteMember>(&owner.client, &[("email", &email)])
        .await;
    assert_eq!(s, 200, "{b}");
    // The harness runs the queued email job right here, as the worker would.
    assert_eq!(app.drain_jobs().await, 1);
    let message = message_to(&api, &email).await;
    assert_eq!(message["subject"], "Join Ada Events on Convene");
    let text = message["text"].as_str().unwrap();
    let link = text
        .split_whitespace()
        .find(|w| w.contains("/team/join?token="))
        .expect("accept link in the email");
    assert!(link.starts_with(&app.base), "{link}");
    let token = link.split("token=").nth(1).unwrap();
    let (s, b) = app
        .call::<fns::AcceptInvite>(
            &client(),
            &[
                ("token", token),
                ("name", "Col"),
                ("password", "a long password"),
            ],
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let role: String = sqlx::query_scalar("SELECT role FROM organisers WHERE email = $1")
        .bind(&email)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(role, "member");
}
