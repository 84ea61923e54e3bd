//! Longwave: organisers' webhook endpoints receive their attendees'
//! activity, signed per the Standard Webhooks specification (checked here
//! with its reference library), retried through an outage without losing
//! a message, never sent inward, rotated without a gap, and turned off
//! after failing for five days.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::http::{HeaderMap, StatusCode};
use serde_json::Value;
use standardwebhooks::Webhook;
use tokio::net::TcpListener;

use crate::helpers::{fns, spawn_with, test_settings, Organiser, TestApp, Workers};

/// What a receiver got: the headers and the body of each request.
type Got = Arc<Mutex<Vec<(HeaderMap, String)>>>;

/// A webhook receiver on loopback: answers 503 to its first `refuse`
/// requests, then 200. Answers its URL, what it got, and its refusal count.
async fn receiver(refuse: usize) -> (String, Got) {
    let got: Got = Arc::default();
    let left = Arc::new(AtomicUsize::new(refuse));
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post({
            let got = got.clone();
            move |headers: HeaderMap, body: String| async move {
                got.lock().unwrap().push((headers, body));
                let refusing = left
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                    .is_ok();
                if refusing {
                    (StatusCode::SERVICE_UNAVAILABLE, "down for maintenance")
                } else {
                    (StatusCode::OK, "thanks")
                }
            }
        }),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, got)
}

/// A server whose webhooks may go to loopback, retrying `scale` times the
/// real schedule, with the relay and the webhooks worker running.
async fn app(scale: f64) -> TestApp {
    let mut settings = test_settings().await;
    settings.webhooks.allow_private_targets = true;
    settings.webhooks.retry_scale = scale;
    spawn_with(
        settings,
        Workers {
            relay: true,
            analytics: false,
            webhooks: true,
        },
    )
    .await
}

/// Adds an endpoint as `org`; answers its id and secret.
async fn add(
    app: &TestApp,
    org: &Organiser,
    slug: &str,
    url: &str,
    types: &[&str],
) -> (String, String) {
    let mut form = vec![("slug", slug.to_owned()), ("url", url.to_owned())];
    let keys: Vec<String> = (0..types.len()).map(|i| format!("types[{i}]")).collect();
    for (k, t) in keys.iter().zip(types) {
        form.push((k.as_str(), (*t).to_owned()));
    }
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (s, secret) = app.call::<fns::AddWebhook>(&org.client, &form).await;
    assert_eq!(s, 200, "{secret}");
    let secret = secret.as_str().unwrap().to_owned();
    let (s, list) = app
        .call::<fns::ListWebhooks>(&org.client, &[("slug", slug)])
        .await;
    assert_eq!(s, 200, "{list}");
    let id = list
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["url"] == url)
        .expect("the endpoint is listed")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    (id, secret)
}

/// The bodies `got` holds, each checked against `secret` by the reference
/// library; answers them with their `webhook-id`.
fn verified(got: &Got, secret: &str) -> Vec<(String, Value)> {
    let wh = Webhook::new(secret).unwrap();
    got.lock()
        .unwrap()
        .iter()
        .map(|(headers, body)| {
            wh.verify(body.as_bytes(), headers)
                .unwrap_or_else(|e| panic!("signature of {body}: {e:?}"));
            let id = headers["webhook-id"].to_str().unwrap().to_owned();
            (id, serde_json::from_str(body).unwrap())
        })
        .collect()
}

/// The endpoint's log as the dashboard reads it.
async fn log(app: &TestApp, org: &Organiser, slug: &str, id: &str) -> Value {
    let (s, log) = app
        .call::<fns::WebhookLog>(&org.client, &[("slug", slug), ("id", id)])
        .await;
    assert_eq!(s, 200, "{log}");
    log
}

#[tokio::test]
async fn registrations_reach_an_endpoint_signed_and_can_be_sent_again() {
    let app = app(1.0).await;
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    let (url, got) = receiver(0).await;
    let (id, secret) = add(&app, &org, &slug, &url, &["attendee.registered"]).await;
    assert!(secret.starts_with("whsec_"), "{secret}");

    let (s, b) = app.register(&slug, "grace@example.org").await;
    assert_eq!(s, 200, "{b}");
    let attendee = b["attendee_id"].as_str().map(str::to_owned);
    app.eventually(20, "the registration to arrive", || async {
        !got.lock().unwrap().is_empty()
    })
    .await;
    let messages = verified(&got, &secret);
    assert_eq!(messages.len(), 1, "{messages:?}");
    let (msg_id, body) = &messages[0];
    assert!(msg_id.starts_with("msg_"), "{msg_id}");
    assert_eq!(body["type"], "attendee.registered");
    assert!(body["timestamp"].as_str().unwrap().ends_with('Z'), "{body}");
    if let Some(a) = attendee {
        assert_eq!(body["data"]["attendee_id"], a.as_str());
    }
    assert!(body["data"]["order_id"].is_string(), "{body}");

    // The log shows the delivery.
    app.eventually(10, "the log to show it", || async {
        log(&app, &org, &slug, &id).await["delivered"] == 1
    })
    .await;
    let l = log(&app, &org, &slug, &id).await;
    let a = &l["attempts"][0];
    assert_eq!(a["code"], 200);
    assert_eq!(a["response"], "thanks");
    assert_eq!(a["status"], "delivered");
    assert_eq!(a["header_id"], msg_id.as_str());

    // Resent: the same message, with the same id.
    let (s, b) = app
        .call::<fns::ResendWebhook>(
            &org.client,
            &[
                ("slug", &slug),
                ("id", &id),
                ("message", a["message_id"].as_str().unwrap()),
            ],
        )
        .await;
    assert_eq!(s, 200, "{b}");
    app.eventually(10, "the resent message", || async {
        got.lock().unwrap().len() == 2
    })
    .await;
    let again = verified(&got, &secret);
    assert_eq!(again[1].0, *msg_id);
    assert_eq!(again[1].1, *body);
    app.eventually(10, "the resend in the log", || async {
        let l = log(&app, &org, &slug, &id).await;
        l["attempts"].as_array().map(Vec::len) == Some(2) && l["delivered"] == 1
    })
    .await;

    // Replayed since before it: once more.
    let (s, b) = app
        .call::<fns::ReplayWebhook>(
            &org.client,
            &[("slug", &slug), ("id", &id), ("since", "2020-01-01T00:00")],
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b, 1);
    app.eventually(10, "the replayed message", || async {
        got.lock().unwrap().len() == 3
    })
    .await;
    assert_eq!(verified(&got, &secret)[2].0, *msg_id);

    // Another organisation sees nothing of it.
    let other = app.organiser().await;
    let other_slug = app.event(&other).await;
    let (s, b) = app
        .call::<fns::WebhookLog>(&other.client, &[("slug", &other_slug), ("id", &id)])
        .await;
    assert_eq!(s, 404, "{b}");
    let (s, b) = app
        .call::<fns::RemoveWebhook>(&other.client, &[("slug", &other_slug), ("id", &id)])
        .await;
    assert_eq!(s, 404, "{b}");
    let (s, b) = app
        .call::<fns::ListWebhooks>(&other.client, &[("slug", &other_slug)])
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b, serde_json::json!([]));
}

#[tokio::test]
async fn an_outage_loses_nothing_and_retries_keep_the_message_id() {
    // The schedule a thousand times shorter: 5 ms, 300 ms, 1.8 s, 7.2 s…
    let app = app(0.001).await;
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    let (url, got) = receiver(5).await;
    let (id, secret) = add(&app, &org, &slug, &url, &["attendee.registered"]).await;
    for i in 0..3 {
        let (s, b) = app.register(&slug, &format!("p{i}@example.org")).await;
        assert_eq!(s, 200, "{b}");
    }
    app.eventually(60, "every message delivered", || async {
        log(&app, &org, &slug, &id).await["delivered"] == 3
    })
    .await;
    let all = verified(&got, &secret);
    assert_eq!(all.len(), 8, "5 refused and 3 accepted: {all:?}");
    let mut ids: Vec<&str> = all.iter().map(|(id, _)| id.as_str()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 3, "three messages, retried under their own ids");
    // Each retry is the same message: one body per id.
    for id in &ids {
        let bodies: Vec<&Value> = all
            .iter()
            .filter(|(i, _)| i == id)
            .map(|(_, b)| b)
            .collect();
        assert!(bodies.windows(2).all(|w| w[0] == w[1]), "{bodies:?}");
    }
    let l = log(&app, &org, &slug, &id).await;
    assert_eq!(l["failed"], 0);
    assert_eq!(l["pending"], 0);
    let refused = l["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["code"] == 503)
        .count();
    assert_eq!(refused, 5, "{l}");
}

#[tokio::test]
async fn inward_targets_are_refused_when_saved_and_when_sent() {
    // Production's policy: nothing inward.
    let app = spawn_with(
        test_settings().await,
        Workers {
            relay: true,
            analytics: false,
            webhooks: true,
        },
    )
    .await;
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    for (url, says) in [
        (
            "http://127.0.0.1:9/hook",
            "this machine or a private network",
        ),
        (
            "https://169.254.169.254/latest/meta-data/",
            "this machine or a private network",
        ),
        ("https://[::1]/hook", "this machine or a private network"),
        ("https://10.0.0.8/hook", "this machine or a private network"),
        (
            "https://localhost/hook",
            "this machine or a private network",
        ),
        ("ftp://example.com/hook", "https://"),
        ("https://user:pw@example.com/hook", "user name or password"),
        ("nonsense", "not a valid address"),
    ] {
        let (s, b) = app
            .call::<fns::AddWebhook>(
                &org.client,
                &[("slug", &slug), ("url", url), ("types[0]", "order.paid")],
            )
            .await;
        assert_eq!(s, 400, "{url}: {b}");
        assert!(b.to_string().contains(says), "{url}: {b}");
    }
    let (s, b) = app
        .call::<fns::AddWebhook>(
            &org.client,
            &[("slug", &slug), ("url", "https://example.com/hook")],
        )
        .await;
    assert_eq!(s, 400, "no message type: {b}");
    assert!(b.to_string().contains("at least one"), "{b}");
    let (s, b) = app
        .call::<fns::AddWebhook>(
            &org.client,
            &[
                ("slug", &slug),
                ("url", "https://example.com/hook"),
                ("types[0]", "order.lost"),
            ],
        )
        .await;
    assert_eq!(s, 400, "unknown type: {b}");

    // An endpoint saved while the policy allowed it (written here as an
    // older policy would have) is refused when sent, and says so.
    let (url, got) = receiver(0).await;
    let (s, b) = app
        .call::<fns::AddWebhook>(
            &org.client,
            &[
                ("slug", &slug),
                ("url", "https://example.com/hook"),
                ("types[0]", "order.paid"),
            ],
        )
        .await;
    assert_eq!(s, 200, "{b}");
    sqlx::query("UPDATE webhook_endpoints SET url = $1")
        .bind(&url)
        .execute(&app.pool)
        .await
        .unwrap();
    let (_, list) = app
        .call::<fns::ListWebhooks>(&org.client, &[("slug", &slug)])
        .await;
    let id = list[0]["id"].as_str().unwrap().to_owned();
    let (s, b) = app
        .call::<fns::TestWebhook>(&org.client, &[("slug", &slug), ("id", &id)])
        .await;
    assert_eq!(s, 200, "{b}");
    app.eventually(20, "the refused attempt in the log", || async {
        log(&app, &org, &slug, &id).await["attempts"]
            .as_array()
            .is_some_and(|a| !a.is_empty())
    })
    .await;
    let l = log(&app, &org, &slug, &id).await;
    assert!(l["attempts"][0]["code"].is_null(), "{l}");
    assert!(
        l["attempts"][0]["response"]
            .as_str()
            .unwrap()
            .contains("this machine or a private network"),
        "{l}"
    );
    assert!(got.lock().unwrap().is_empty(), "the receiver got a request");
}

#[tokio::test]
async fn a_rotated_secret_signs_beside_the_old_one_for_a_day() {
    let app = app(1.0).await;
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    let (url, got) = receiver(0).await;
    let (id, old) = add(&app, &org, &slug, &url, &["order.paid"]).await;
    let (s, new) = app
        .call::<fns::RotateWebhookSecret>(&org.client, &[("slug", &slug), ("id", &id)])
        .await;
    assert_eq!(s, 200, "{new}");
    let new = new.as_str().unwrap().to_owned();
    assert_ne!(new, old);
    let test = || async {
        let before = got.lock().unwrap().len();
        let (s, b) = app
            .call::<fns::TestWebhook>(&org.client, &[("slug", &slug), ("id", &id)])
            .await;
        assert_eq!(s, 200, "{b}");
        app.eventually(20, "the test message", || async {
            got.lock().unwrap().len() > before
        })
        .await;
    };
    test().await;
    // Receivers holding either secret verify it.
    let by_new = verified(&got, &new);
    assert_eq!(by_new[0].1["type"], "webhook.test");
    verified(&got, &old);
    let (_, list) = app
        .call::<fns::ListWebhooks>(&org.client, &[("slug", &slug)])
        .await;
    assert!(list[0]["rotating_until"].is_string(), "{list}");
    assert!(list[0]["secret_hint"]
        .as_str()
        .unwrap()
        .ends_with(&new[new.len() - 4..]));

    // A day later only the new one signs.
    sqlx::query("UPDATE webhook_endpoints SET previous_until = now() - interval '1 second'")
        .execute(&app.pool)
        .await
        .unwrap();
    test().await;
    let (headers, body) = got.lock().unwrap()[1].clone();
    assert!(Webhook::new(&new)
        .unwrap()
        .verify(body.as_bytes(), &headers)
        .is_ok());
    assert!(Webhook::new(&old)
        .unwrap()
        .verify(body.as_bytes(), &headers)
        .is_err());
    assert_eq!(
        headers["webhook-signature"]
            .to_str()
            .unwrap()
            .split(' ')
            .count(),
        1
    );
}

#[tokio::test]
async fn an_endpoint_failing_for_five_days_is_turned_off_and_members_cannot_manage_it() {
    let app = app(1.0).await;
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    // The receiver fails once, then works.
    let (url, got) = receiver(1).await;
    let (id, _) = add(&app, &org, &slug, &url, &["order.paid"]).await;
    // It has been failing for six days when this attempt fails too.
    sqlx::query("UPDATE webhook_endpoints SET failing_since = now() - interval '6 days'")
        .execute(&app.pool)
        .await
        .unwrap();
    let (s, b) = app
        .call::<fns::TestWebhook>(&org.client, &[("slug", &slug), ("id", &id)])
        .await;
    assert_eq!(s, 200, "{b}");
    app.eventually(20, "the endpoint turned off", || async {
        let (_, list) = app
            .call::<fns::ListWebhooks>(&org.client, &[("slug", &slug)])
            .await;
        list[0]["enabled"] == false
    })
    .await;
    assert_eq!(got.lock().unwrap().len(), 1);
    let (_, list) = app
        .call::<fns::ListWebhooks>(&org.client, &[("slug", &slug)])
        .await;
    assert_eq!(
        list[0]["disabled_reason"], "every delivery failed for five days",
        "{list}"
    );
    // The owners are told by email (a job, made with the change).
    let emails: i64 =
        sqlx::query_scalar("SELECT count(*) FROM jobs WHERE kind = 'webhook_disabled'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(emails, 1);
    assert!(app.drain_jobs().await >= 1);
    let l = log(&app, &org, &slug, &id).await;
    assert_eq!(l["attempts"][0]["code"], 503);
    assert_eq!(l["pending"], 1, "its message waits for it: {l}");

    // Turned on again, its failures are forgotten and the waiting message
    // goes (at its next turn of the schedule, 5 s on).
    let (s, b) = app
        .call::<fns::SwitchWebhook>(&org.client, &[("slug", &slug), ("id", &id), ("on", "true")])
        .await;
    assert_eq!(s, 200, "{b}");
    let (_, list) = app
        .call::<fns::ListWebhooks>(&org.client, &[("slug", &slug)])
        .await;
    assert_eq!(list[0]["enabled"], true);
    assert!(list[0]["disabled_reason"].is_null(), "{list}");
    app.eventually(30, "the waiting message delivered", || async {
        log(&app, &org, &slug, &id).await["delivered"] == 1
    })
    .await;
    assert_eq!(got.lock().unwrap().len(), 2);
    let (_, list) = app
        .call::<fns::ListWebhooks>(&org.client, &[("slug", &slug)])
        .await;
    assert!(list[0]["failing_since"].is_null(), "{list}");

    // Removed, it is gone with its log.
    let (s, b) = app
        .call::<fns::RemoveWebhook>(&org.client, &[("slug", &slug), ("id", &id)])
        .await;
    assert_eq!(s, 200, "{b}");
    let (_, list) = app
        .call::<fns::ListWebhooks>(&org.client, &[("slug", &slug)])
        .await;
    assert_eq!(list, serde_json::json!([]));
    let (s, _) = app
        .call::<fns::WebhookLog>(&org.client, &[("slug", &slug), ("id", &id)])
        .await;
    assert_eq!(s, 404);
}
