//! The HTTP edge's limits, over raw TCP where a well-behaved client cannot
//! show them: headers that never finish, a body that never arrives, a body
//! over the limit; and a Redis that accepts connections but never answers.

use std::time::Duration;

use convene_server::startup;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::helpers::{client, fns, spawn_with, test_settings, TestApp, Workers};

async fn app_with(edit: impl FnOnce(&mut convene_server::configuration::Settings)) -> TestApp {
    let mut settings = test_settings().await;
    edit(&mut settings);
    spawn_with(settings, Workers::NONE).await
}

fn host_of(app: &TestApp) -> String {
    app.base.trim_start_matches("http://").to_owned()
}

/// Everything the server sends until it closes the connection (30 s at most:
/// a server that never closes fails the test).
async fn read_to_close(stream: &mut TcpStream) -> String {
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut out))
        .await
        .expect("the server kept the connection open")
        .ok();
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn a_client_that_never_finishes_its_headers_is_disconnected() {
    let app = app_with(|s| s.http.header_read_timeout_secs = 1).await;
    let mut slow = TcpStream::connect(host_of(&app)).await.unwrap();
    // The request line and one header, then nothing (no blank line).
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let said = read_to_close(&mut slow).await;
    assert!(
        !said.contains("200 OK"),
        "an unfinished request was answered: {said}"
    );
    // Nor is one that connects and says nothing at all.
    let mut mute = TcpStream::connect(host_of(&app)).await.unwrap();
    assert_eq!(read_to_close(&mut mute).await, "");
    // Whole requests are still served.
    let res = client()
        .get(format!("{}/healthz", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn a_body_that_never_arrives_gets_408_with_a_message() {
    let app = app_with(|s| s.http.request_timeout_secs = 1).await;
    let mut slow = TcpStream::connect(host_of(&app)).await.unwrap();
    let path = app.url_of::<fns::Register>();
    let path = path.trim_start_matches(&app.base);
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Content-Length: 100\r\nConnection: close\r\n\r\nslug=demo"
    );
    slow.write_all(head.as_bytes()).await.unwrap();
    let said = read_to_close(&mut slow).await;
    assert!(said.starts_with("HTTP/1.1 408"), "{said}");
    assert!(said.contains("took longer than 1 seconds"), "{said}");
}

#[tokio::test]
async fn a_body_over_the_limit_is_refused_with_413_and_nothing_is_stored() {
    let app = app_with(|s| s.http.max_body_bytes = 8 * 1024).await;
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    let huge = "x".repeat(9 * 1024);
    let (s, body) = app
        .call::<fns::Register>(
            &client(),
            &[
                ("slug", &slug),
                ("name", &huge),
                ("email", "big@example.org"),
            ],
        )
        .await;
    assert_eq!(s, 413, "{body}");
    assert_eq!(body["message"], "the request body is larger than 8 KiB");
    let attendees: i64 = sqlx::query_scalar("SELECT count(*) FROM attendees")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(attendees, 0);
    // Under the limit, the same request goes through.
    let (s, body) = app
        .call::<fns::Register>(
            &client(),
            &[
                ("slug", &slug),
                ("name", "Small"),
                ("email", "small@example.org"),
            ],
        )
        .await;
    assert_eq!(s, 200, "{body}");
}

#[tokio::test]
async fn a_redis_that_never_answers_fails_start_up_instead_of_hanging_it() {
    // Accepts connections and reads, never writes.
    let silent = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = silent.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((conn, _)) = silent.accept().await {
            held.push(conn);
        }
    });
    let mut settings = test_settings().await;
    settings.redis_url = format!("redis://{addr}");
    let outcome = tokio::time::timeout(Duration::from_secs(60), startup::connect(&settings))
        .await
        .expect("connecting hung on a silent Redis");
    let err = outcome
        .err()
        .expect("connected to a Redis that never answers");
    assert!(format!("{err:#}").contains("Redis"), "{err:#}");
}

#[tokio::test]
async fn pages_and_answers_are_never_stored_and_an_https_site_pins_tls() {
    let app = app_with(|_| {}).await;
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    let page = client()
        .get(format!("{}/e/{slug}", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(
        page.headers()["cache-control"],
        "no-store",
        "the landing page carries a one-time key"
    );
    assert!(page.headers().get("strict-transport-security").is_none());
    let answer = client()
        .post(app.url_of::<fns::PublicEvent>())
        .form(&[("slug", slug.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.headers()["cache-control"], "no-store");
    // A response that chose its caching keeps it.
    let keys = client()
        .get(format!("{}/.well-known/jwks.json", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(keys.headers()["cache-control"], "public, max-age=300");

    let tls = app_with(|s| s.public_url = "https://events.example.org".into()).await;
    let res = client()
        .get(format!("{}/healthz", tls.base))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.headers()["strict-transport-security"],
        "max-age=31536000; includeSubDomains"
    );
}
