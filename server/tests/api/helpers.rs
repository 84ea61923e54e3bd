//! Test harness: a real server on a random port over a fresh database, real
//! Redis and a real Kafka-protocol broker (topics isolated by a unique prefix).
//! Server functions are called by the path Leptos generates for them; when a
//! test ends, the jobs it queued are run and none may be left unprocessed.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use convene_server::configuration::{KafkaConfig, PaymentProviderKind, PaymentsConfig, Settings};
use convene_server::startup::{self, Deps};
use leptos::prelude::LeptosOptions;
use leptos::server_fn::ServerFn;
use serde_json::Value;
use services::payments::PaymentProvider;
use sqlx::migrate::MigrateDatabase;
use sqlx::PgPool;
use tokio::net::TcpListener;
use tokio::sync::watch;
use uuid::Uuid;

/// Every server function, by the type `#[server]` generates for it.
#[allow(unused_imports)] // not every test calls every function
pub mod fns {
    pub use app::attendee::broadcast::{BackstageOf, StageBroadcast, StageWatch};
    pub use app::attendee::check::{CheckInfo, CheckToken, SaveCheck};
    pub use app::attendee::networking::{
        BlockPerson, ConnectWith, MeetSomeone, MeetingToken, NetworkingInfo, ReportPerson,
        SaveCard, StopWaiting,
    };
    pub use app::attendee::player::{ServerClock, SimuliveMedia};
    pub use app::attendee::profile::MyProfile;
    pub use app::attendee::reception::Reception;
    pub use app::attendee::replay::{ReplayList, ReplayProgress, ReplayVideo};
    pub use app::attendee::session::{
        KeepOnScreen, LeaveScreen, SessionPeople, SessionToken, VideoSession,
    };
    pub use app::attendee::stage::StageInfo;
    pub use app::attendee::{AttendeeLogout, ChatHistory, DmHistory, People};
    pub use app::checkout::{BuyPlan, CheckoutInfo};
    pub use app::organiser::agenda::{
        AddSession, AddSpeaker, AddSponsor, AgendaAdmin, RemoveAgendaItem, UpdateSession,
        UpdateSpeaker, UpdateSponsor,
    };
    pub use app::organiser::analytics::{EventFigures, Reports, RequestReport};
    pub use app::organiser::auth::{Login, Logout, RequestPasswordReset, ResetPassword, Signup};
    pub use app::organiser::dashboard::{CreateEvent, Dashboard};
    pub use app::organiser::event::{
        CreatePromoCode, CreateTicketType, EnterAsHost, EventOverview, RemoveTicketType,
        SetBranding, SetEmbedOrigins, UpdateEvent, UpdateTicketType, WithdrawPromoCode,
    };
    pub use app::organiser::live::{
        CreateStage, InstallApp, LiveAdmin, PostCaption, RemoveStage, RenameStage, SetModerator,
        SetStageSimulive, SetStageSource, StaffCandidates, UninstallApp,
    };
    pub use app::organiser::questions::{
        CreateQuestion, ListQuestions, RemoveQuestion, UpdateQuestion,
    };
    pub use app::organiser::registrations::{
        ApproveOrder, CancelOrder, ListRegistrations, RegistrationDetail, TicketTypeNames,
    };
    pub use app::organiser::sessions::{
        CreateVideoSession, NetworkingAdmin, RemoveVideoSession, SessionsAdmin, SetCallLength,
        SetPairing, SetSessionHost,
    };
    pub use app::organiser::team::{AcceptInvite, Invitation, InviteMember, RemoveMember, Team};
    pub use app::organiser::videos::{EventVideos, PreviewVideo, PublishVideo, RemoveVideo};
    pub use app::organiser::webhooks::{
        AddWebhook, ListWebhooks, RemoveWebhook, ReplayWebhook, ResendWebhook, RotateWebhookSecret,
        SwitchWebhook, TestWebhook, WebhookLog,
    };
    pub use app::registration::access::SendSignInLink;
    pub use app::registration::order::BuyerOrder;
    pub use app::registration::pay::Pay;
    pub use app::registration::{JoinWaitlist, PublicEvent, Register};
    pub use app::ui::Whoami;
}

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
    /// The server's payment provider (the test provider keeps its records in it).
    pub payments: Arc<dyn PaymentProvider>,
    /// The same provider as the test provider, when it is the one.
    test_payments: Option<Arc<services::payments::TestProvider>>,
    /// Stops the server and its workers when dropped or set.
    pub shutdown: watch::Sender<bool>,
    /// Set by tests that leave failing jobs behind on purpose.
    unfinished_jobs_expected: AtomicBool,
}

/// Which background workers to run beside the web role.
#[derive(Clone, Copy)]
pub struct Workers {
    /// Outbox relay.
    pub relay: bool,
    /// Analytics consumer.
    pub analytics: bool,
    /// Webhooks consumer and dispatcher.
    pub webhooks: bool,
}

impl Workers {
    /// The web role alone.
    pub const NONE: Workers = Workers {
        relay: false,
        analytics: false,
        webhooks: false,
    };
}

/// An environment variable, or `default`.
pub fn env_or(key: &str, default: &str) -> String {
    std::env::var(key).unwrap_or_else(|_| default.to_owned())
}

/// The test payment provider's webhook secret in tests.
pub const TEST_PAYMENTS_SECRET: &str = "test-payments-secret-of-at-least-32-chars";

/// The public URL of test settings that stands for "the server's own
/// address" (known only once it listens); a test may set another.
const OWN_ADDRESS: &str = "http://127.0.0.1";

/// Settings for a fresh database and unique Kafka topics (the test payment
/// provider on).
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
        analytics_database_url: None,
        database_max_connections: 8,
        redis_url: env_or("CONVENE_TEST_REDIS_URL", "redis://127.0.0.1:6379"),
        // Own rate-limit counters per test: runs and tests never share a window.
        redis_namespace: format!("test-{}:", Uuid::new_v4().simple()),
        public_url: OWN_ADDRESS.into(),
        leptos_config: String::new(),
        demo: false,
        allow_demo_over_https: false,
        unsafe_disable_quota_locking: false,
        payments: PaymentsConfig {
            provider: PaymentProviderKind::Test,
            test_webhook_secret: Some(TEST_PAYMENTS_SECRET.into()),
            allow_test_provider_over_https: false,
        },
        smtp: None,
        http: Default::default(),
        media: Default::default(),
        // A store of its own per test (under the system's temporary directory).
        assets: convene_server::configuration::AssetSettings {
            store: format!(
                "file://{}",
                std::env::temp_dir()
                    .join(format!("convene-test-assets-{}", Uuid::new_v4().simple()))
                    .display()
            ),
            options: Default::default(),
        },
        webhooks: Default::default(),
        platform_fee_bps: 250,
        platform_fee_fixed_minor: 30,
        kafka: Some(KafkaConfig {
            brokers: env_or("CONVENE_TEST_KAFKA", "127.0.0.1:19092"),
            topic_prefix: format!("t{}.", Uuid::new_v4().simple()),
            partitions: 3,
            client: Default::default(),
        }),
    }
}

/// Connects and migrates the settings' database.
pub async fn connect(settings: &Settings) -> Deps {
    let deps = startup::connect(settings).await.expect("connect");
    startup::migrate(settings, &deps).await.expect("migrate");
    deps
}

/// Starts the web role (and the given workers) on `settings`.
pub async fn start(settings: Settings, deps: Deps, workers: Workers) -> TestApp {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut settings = settings;
    if settings.public_url == OWN_ADDRESS {
        settings.public_url = format!("http://{addr}");
    }
    let leptos = LeptosOptions::builder()
        .output_name("convene")
        .site_root("target/site")
        .site_pkg_dir("pkg")
        .site_addr(addr)
        .build();
    let (tx, rx) = watch::channel(false);
    let state = startup::server_state(&settings, &deps, leptos);
    let payments = state.platform.payments.clone();
    let test_payments = state.test_payments.clone();
    tokio::spawn(startup::serve(state, listener, rx.clone()));
    if workers.relay {
        tokio::spawn(startup::relay(deps.clone(), rx.clone()));
    }
    if workers.analytics {
        tokio::spawn(startup::analytics(deps.clone(), rx.clone()));
    }
    if workers.webhooks {
        let (deps, settings, rx) = (deps.clone(), settings.clone(), rx.clone());
        tokio::spawn(async move { startup::webhooks(deps, &settings, rx).await });
    }
    TestApp {
        base: format!("http://{addr}"),
        addr,
        pool: deps.pool.clone(),
        settings,
        deps,
        payments,
        test_payments,
        shutdown: tx,
        unfinished_jobs_expected: AtomicBool::new(false),
    }
}

/// A web-only server whose emails go to the SMTP sink (MailDev), sent by
/// `from`; the test runs the jobs (`drain_jobs`) or a worker of its own.
pub async fn spawn_with_smtp(from: &str) -> TestApp {
    let smtp = env_or("CONVENE_TEST_SMTP", "127.0.0.1:1025");
    let (host, port) = smtp
        .split_once(':')
        .expect("CONVENE_TEST_SMTP is host:port");
    let mut settings = test_settings().await;
    settings.smtp = Some(convene_server::configuration::SmtpConfig::plain(
        host,
        port.parse().expect("SMTP port"),
        from,
    ));
    spawn_with(settings, Workers::NONE).await
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
            webhooks: false,
        },
    )
    .await
}

/// A server without background workers.
pub async fn spawn_web_only() -> TestApp {
    spawn_with(test_settings().await, Workers::NONE).await
}

impl Drop for TestApp {
    /// Stops the server, then runs every job the test queued (emails go to the
    /// test's SMTP sink, or are skipped without one) and fails the test if any
    /// is left unprocessed or failed: a job kind nobody handles, a payload that
    /// does not parse, a handler that errs.
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        if std::thread::panicking() || self.unfinished_jobs_expected.load(Ordering::Relaxed) {
            return;
        }
        let settings = self.settings.clone();
        // The test's runtime is busy dropping us: run on a thread and runtime of our own.
        let left = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime")
                .block_on(async move {
                    let pool = sqlx::postgres::PgPoolOptions::new()
                        .max_connections(2)
                        .connect(&settings.database_url)
                        .await
                        .expect("test database");
                    let worker = services::worker::Worker {
                        pool: pool.clone(),
                        mailer: settings.smtp.as_ref().map(|s| s.mailer().expect("mailer")),
                        public_url: settings.public_url.clone(),
                        payments: Arc::new(services::payments::NoProvider),
                        media: Some(services::worker::MediaWork {
                            store: services::assets::Store::open(
                                &settings.assets.store,
                                &settings.assets.options,
                            )
                            .expect("asset store"),
                            tools: Arc::new(convene_server::media_tools::Ffmpeg),
                        }),
                    };
                    // A worker of the test may still hold a job for a moment.
                    let mut left = Vec::new();
                    for _ in 0..20 {
                        worker.drain().await.expect("draining jobs");
                        left = services::jobs::unfinished(&pool).await.expect("jobs");
                        if left.is_empty() {
                            break;
                        }
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                    pool.close().await;
                    left
                })
        })
        .join()
        .expect("draining thread");
        assert!(left.is_empty(), "the test left jobs unprocessed: {left:?}");
    }
}

/// A browser-like client: keeps cookies, does not follow redirects.
/// A client that sends `cookie` (`name=value`) on every request, whatever
/// the server later tells it to forget.
pub fn client_with_cookie(cookie: &str) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("cookie", cookie.parse().unwrap());
    reqwest::Client::builder()
        .default_headers(headers)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// A client address of its own (10.x.y.z), for tests of many buyers behind
/// a trusted proxy.
pub fn some_address() -> String {
    let b = Uuid::new_v4().into_bytes();
    format!("10.{}.{}.{}", b[0], b[1], b[2])
}

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
    /// The URL of server function `S`.
    pub fn url_of<S: ServerFn>(&self) -> String {
        format!("{}{}", self.base, S::PATH)
    }

    /// Calls server function `S` with form fields; returns status and JSON body.
    pub async fn call<S: ServerFn>(
        &self,
        client: &reqwest::Client,
        form: &[(&str, &str)],
    ) -> (u16, Value) {
        self.call_via::<S>(client, None, form).await
    }

    /// Like [`TestApp::call`], through a proxy that says the request came
    /// from `forwarded_for` (believed only when the settings trust 127.0.0.1).
    pub async fn call_via<S: ServerFn>(
        &self,
        client: &reqwest::Client,
        forwarded_for: Option<&str>,
        form: &[(&str, &str)],
    ) -> (u16, Value) {
        let mut req = client.post(self.url_of::<S>()).form(form);
        if let Some(addr) = forwarded_for {
            req = req.header("x-forwarded-for", addr);
        }
        let res = req.send().await.expect("request");
        let status = res.status().as_u16();
        let text = res.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, body)
    }

    /// Runs every due job now (as the jobs worker would, with the test's SMTP
    /// settings); returns how many ran.
    pub async fn drain_jobs(&self) -> usize {
        startup::worker(&self.deps, &self.settings, self.payments.clone())
            .expect("worker")
            .drain()
            .await
            .expect("draining jobs")
    }

    /// The server's test payment provider (its bank's records).
    pub fn test_provider(&self) -> Arc<services::payments::TestProvider> {
        self.test_payments
            .clone()
            .expect("the test payment provider is on")
    }

    /// For tests that leave a failing or rescheduled job behind on purpose.
    pub fn expect_unfinished_jobs(&self) {
        self.unfinished_jobs_expected.store(true, Ordering::Relaxed);
    }

    /// Signs up a new organiser with a unique email.
    pub async fn organiser(&self) -> Organiser {
        let client = client();
        let email = format!("org-{}@example.org", Uuid::new_v4().simple());
        let (status, body) = self
            .call::<fns::Signup>(
                &client,
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
            .call::<fns::CreateEvent>(&org.client, &event_form(&slug))
            .await;
        assert_eq!(status, 200, "create_event failed: {body}");
        slug
    }

    /// Registers `email` for `slug`; returns the JSON result.
    pub async fn register(&self, slug: &str, email: &str) -> (u16, Value) {
        self.call::<fns::Register>(
            &client(),
            &[("slug", slug), ("name", "Grace"), ("email", email)],
        )
        .await
    }

    /// Registers a new attendee for `slug`; returns their sign-in token.
    pub async fn sign_in_token(&self, slug: &str) -> String {
        let email = format!("att-{}@example.org", Uuid::new_v4().simple());
        let (status, body) = self.register(slug, &email).await;
        assert_eq!(status, 200, "register failed: {body}");
        link_token(&body)
    }

    /// A sign-in token as the emails carry it (opening it verifies the
    /// attendee's address), as if read from their inbox.
    pub async fn emailed_link(&self, attendee: protocol::ids::AttendeeId) -> String {
        use services::registrations::attendees::{new_sign_in_link, Delivery};
        new_sign_in_link(&self.pool, attendee, Delivery::ByEmail)
            .await
            .unwrap()
    }

    /// Redeems a sign-in token of event `slug` in a new browser-like client;
    /// returns it and its attendee session cookie (`name=value`).
    pub async fn sign_in(&self, slug: &str, token: &str) -> (reqwest::Client, String) {
        let c = client();
        let res = c
            .post(format!("{}/e/{slug}/join", self.base))
            .form(&[("token", token)])
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

    /// Registers and signs in an attendee; returns their client and session cookie.
    pub async fn attendee(&self, slug: &str) -> (reqwest::Client, String) {
        let token = self.sign_in_token(slug).await;
        self.sign_in(slug, &token).await
    }

    /// Adds `n` attendees to event `slug` straight in the database, each with
    /// a confirmed free order and ticket (for lists far longer than a page):
    /// named `Person 001`, `Person 002`, ... (as many digits as `n` has),
    /// ordered ten per second over the last `n / 10` seconds, so several
    /// share an instant.
    pub async fn bulk_attendees(&self, slug: &str, n: i64) {
        sqlx::query(
            "WITH e AS (SELECT id FROM events WHERE slug = $1),
                  tt AS (SELECT t.id FROM ticket_types t, e WHERE t.event_id = e.id LIMIT 1),
                  a AS (INSERT INTO attendees (id, event_id, email, name)
                        SELECT gen_random_uuid(), e.id, 'bulk' || g || '@example.org',
                               'Person ' || lpad(g::text, length($2::text), '0')
                        FROM e, generate_series(1, $2) g RETURNING id, event_id, email),
                  o AS (INSERT INTO orders (id, event_id, attendee_id, code, status, total_minor, currency, idempotency_key, created_at)
                        SELECT gen_random_uuid(), a.event_id, a.id, 'BULK' || lpad(split_part(substr(a.email, 5), '@', 1), 6, '0'),
                               'confirmed', 0, 'EUR', 'bulk-' || a.id,
                               now() - (split_part(substr(a.email, 5), '@', 1)::int / 10) * interval '1 second'
                        FROM a RETURNING id, event_id, attendee_id, code)
             INSERT INTO tickets (id, event_id, attendee_id, ticket_type_id, code, order_id)
             SELECT gen_random_uuid(), o.event_id, o.attendee_id, tt.id, 'T' || o.code, o.id FROM o, tt",
        )
        .bind(slug)
        .bind(n)
        .execute(&self.pool)
        .await
        .unwrap();
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

/// The token of the sign-in link in a `register` answer.
pub fn link_token(receipt: &Value) -> String {
    receipt["sign_in_link"]
        .as_str()
        .and_then(|l| l.split("token=").nth(1))
        .expect("a sign-in link")
        .to_owned()
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
