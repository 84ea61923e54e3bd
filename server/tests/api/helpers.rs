//! Test harness: a real server on a random port over a fresh database, real
//! Redis and a real Kafka-protocol broker (topics isolated by a unique prefix).

use std::net::SocketAddr;
use std::time::Duration;

use convene_server::configuration::{KafkaConfig, Settings};
use convene_server::startup::{self, Deps};
use leptos::prelude::LeptosOptions;
use serde_json::Value;
use sqlx::migrate::MigrateDatabase;
use sqlx::PgPool;
use tokio::net::TcpListener;
use tokio::sync::watch;
use uuid::Uuid;

/// A running server and handles to its backing services.
pub struct TestApp {
    /// Base URL, e.g. `http://127.0.0.1:41234`.
    pub base: String,
    /// Listening address.
    pub addr: SocketAddr,
    /// Pool on the test's own database.
    pub pool: PgPool,
    /// Settings the server runs with.
    pub settings: Settings,
    /// Connections (shared with the server).
    pub deps: Deps,
    /// Stops the server and its workers when dropped or set.
    pub shutdown: watch::Sender<bool>,
}

/// Which background workers to run beside the web role.
#[derive(Clone, Copy)]
pub struct Workers {
    /// Outbox relay.
    pub relay: bool,
    /// Analytics consumer.
    pub analytics: bool,
}

impl Workers {
    /// The web role alone.
    pub const NONE: Workers = Workers {
        relay: false,
        analytics: false,
    };
}

/// An environment variable, or `default`.
pub fn env_or(key: &str, default: &str) -> String {
    std::env::var(key).unwrap_or_else(|_| default.to_owned())
}

/// Settings for a fresh database and unique Kafka topics.
pub async fn test_settings() -> Settings {
    let base = env_or(
        "CONVENE_TEST_DATABASE_URL",
        "postgres://postgres:postgres@127.0.0.1:5432",
    );
    let db = format!("convene_test_{}", Uuid::new_v4().simple());
    let database_url = format!("{}/{db}", base.trim_end_matches('/'));
    sqlx::Postgres::create_database(&database_url)
        .await
        .expect("create test database");
    Settings {
        database_url,
        database_max_connections: 8,
        redis_url: env_or("CONVENE_TEST_REDIS_URL", "redis://127.0.0.1:6379"),
        // Own rate-limit counters per test: runs and tests never share a window.
        redis_namespace: format!("test-{}:", Uuid::new_v4().simple()),
        public_url: "http://127.0.0.1".into(),
        leptos_config: String::new(),
        demo: false,
        unsafe_disable_quota_locking: false,
        test_payment_webhook_secret: "test-secret".into(),
        smtp: None,
        platform_fee_bps: 250,
        platform_fee_fixed_minor: 30,
        kafka: Some(KafkaConfig {
            brokers: env_or("CONVENE_TEST_KAFKA", "127.0.0.1:19092"),
            topic_prefix: format!("t{}.", Uuid::new_v4().simple()),
            partitions: 3,
        }),
    }
}

/// Connects and migrates the settings' database.
pub async fn connect(settings: &Settings) -> Deps {
    let deps = startup::connect(settings).await.expect("connect");
    services::migrate(&deps.pool).await.expect("migrate");
    deps
}

/// Starts the web role (and the given workers) on `settings`.
pub async fn start(settings: Settings, deps: Deps, workers: Workers) -> TestApp {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut settings = settings;
    settings.public_url = format!("http://{addr}");
    let leptos = LeptosOptions::builder()
        .output_name("convene")
        .site_root("target/site")
        .site_pkg_dir("pkg")
        .site_addr(addr)
        .build();
    let (tx, rx) = watch::channel(false);
    let state = startup::app_state(&settings, &deps, leptos);
    tokio::spawn(startup::serve(state, listener, rx.clone()));
    if workers.relay {
        tokio::spawn(startup::relay(deps.clone(), rx.clone()));
    }
    if workers.analytics {
        tokio::spawn(startup::analytics(deps.clone(), rx.clone()));
    }
    TestApp {
        base: format!("http://{addr}"),
        addr,
        pool: deps.pool.clone(),
        settings,
        deps,
        shutdown: tx,
    }
}

/// Connects `settings` (fresh database, migrated) and starts a server with `workers`.
pub async fn spawn_with(settings: Settings, workers: Workers) -> TestApp {
    let deps = connect(&settings).await;
    start(settings, deps, workers).await
}

/// A server with relay and analytics on a fresh database.
pub async fn spawn_app() -> TestApp {
    spawn_with(
        test_settings().await,
        Workers {
            relay: true,
            analytics: true,
        },
    )
    .await
}

/// A server without background workers.
pub async fn spawn_web_only() -> TestApp {
    spawn_with(test_settings().await, Workers::NONE).await
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}

/// A browser-like client: keeps cookies, does not follow redirects.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// A signed-up organiser's client and the event slugs it made.
pub struct Organiser {
    /// Client holding the organiser's session cookie.
    pub client: reqwest::Client,
    /// Email used.
    pub email: String,
}

impl TestApp {
    /// Calls a server function with form fields; returns status and JSON body.
    pub async fn call(
        &self,
        client: &reqwest::Client,
        endpoint: &str,
        form: &[(&str, &str)],
    ) -> (u16, Value) {
        let res = client
            .post(format!("{}/api/{endpoint}", self.base))
            .form(form)
            .send()
            .await
            .expect("request");
        let status = res.status().as_u16();
        let text = res.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, body)
    }

    /// Signs up a new organiser with a unique email.
    pub async fn organiser(&self) -> Organiser {
        let client = client();
        let email = format!("org-{}@example.org", Uuid::new_v4().simple());
        let (status, body) = self
            .call(
                &client,
                "signup",
                &[
                    ("name", "Ada"),
                    ("organisation", "Ada Events"),
                    ("email", &email),
                    ("password", "a long password"),
                ],
            )
            .await;
        assert_eq!(status, 200, "signup failed: {body}");
        // Tests that are not about plans run on the biggest one (see billing tests for limits).
        sqlx::query("UPDATE organisations SET plan_id = 'growth' WHERE id = (SELECT org_id FROM organisers WHERE email = $1)")
            .bind(&email)
            .execute(&self.pool)
            .await
            .unwrap();
        Organiser { client, email }
    }

    /// Creates an event as `org`; returns its slug.
    pub async fn event(&self, org: &Organiser) -> String {
        let slug = format!("ev-{}", &Uuid::new_v4().simple().to_string()[..12]);
        let (status, body) = self
            .call(&org.client, "create_event", &event_form(&slug))
            .await;
        assert_eq!(status, 200, "create_event failed: {body}");
        slug
    }

    /// Registers `email` for `slug`; returns the JSON result.
    pub async fn register(&self, slug: &str, email: &str) -> (u16, Value) {
        self.call(
            &client(),
            "register",
            &[("slug", slug), ("name", "Grace"), ("email", email)],
        )
        .await
    }

    /// Registers a new attendee for `slug`; returns their sign-in token.
    pub async fn sign_in_token(&self, slug: &str) -> String {
        let email = format!("att-{}@example.org", Uuid::new_v4().simple());
        let (status, body) = self.register(slug, &email).await;
        assert_eq!(status, 200, "register failed: {body}");
        let link = body["sign_in_link"].as_str().unwrap();
        link.split("token=").nth(1).unwrap().to_owned()
    }

    /// Registers and signs in an attendee; returns their client and session cookie (`name=value`).
    pub async fn attendee(&self, slug: &str) -> (reqwest::Client, String) {
        let token = self.sign_in_token(slug).await;
        let c = client();
        let res = c
            .post(format!("{}/e/{slug}/join", self.base))
            .form(&[("token", token.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 303, "redeem failed");
        let cookie = res
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with("convene_attendee="))
            .and_then(|v| v.split(';').next())
            .expect("attendee cookie")
            .to_owned();
        (c, cookie)
    }

    /// Waits until `f` returns true (polling), or panics after `secs`.
    pub async fn eventually<F, Fut>(&self, secs: u64, what: &str, mut f: F)
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
        loop {
            if f().await {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for {what}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// A valid create-event form for `slug`.
pub fn event_form(slug: &str) -> Vec<(&'static str, &str)> {
    vec![
        ("name", "RustConf Hybrid"),
        ("slug", slug),
        ("description", "Talks and hallway track."),
        ("starts", "2027-05-01T09:00"),
        ("ends", "2027-05-02T17:00"),
        ("time_zone", "Europe/Berlin"),
    ]
}
