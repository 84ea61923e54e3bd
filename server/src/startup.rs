//! Wiring: connect to the backing services, build the router, run roles until shutdown.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use bus::Bus;
use leptos::prelude::LeptosOptions;
use services::live::fanout::Fanout;
use services::payments::{NoProvider, PaymentProvider, TestProvider};
use services::Platform;
use sqlx::migrate::MigrateDatabase;
use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::configuration::{PaymentProviderKind, Settings};
use crate::http::ServerState;

/// Connections to PostgreSQL, Redis and the bus.
#[derive(Clone)]
pub struct Deps {
    /// PostgreSQL pool.
    pub pool: PgPool,
    /// Analytics' database: `pool` itself, or a database of its own.
    pub analytics: PgPool,
    /// Redis client (for pub/sub connections).
    pub redis_client: redis::Client,
    /// Shared Redis connection.
    pub redis: redis::aio::ConnectionManager,
    /// Event bus.
    pub bus: Bus,
    /// The media assets' object store.
    pub assets: services::assets::Store,
}

/// How long a Redis connection attempt or command may take.
pub const REDIS_TIMEOUT: Duration = Duration::from_secs(2);

/// The Redis connection alone (the media role needs nothing else).
pub async fn connect_redis(settings: &Settings) -> anyhow::Result<redis::aio::ConnectionManager> {
    let client = redis::Client::open(settings.redis_url.as_str()).context("Redis URL")?;
    redis::aio::ConnectionManager::new_with_config(client, redis_config())
        .await
        .context("connecting to Redis")
}

fn redis_config() -> redis::aio::ConnectionManagerConfig {
    // Without timeouts a Redis that stops answering (not refusing) would hang
    // every request that touches it; with them the request fails and says so.
    redis::aio::ConnectionManagerConfig::new()
        .set_connection_timeout(REDIS_TIMEOUT)
        .set_response_timeout(REDIS_TIMEOUT)
        // A couple of quick retries (the default back-off grows to a minute
        // per attempt, which hangs start-up and requests instead of failing them).
        .set_number_of_retries(2)
        .set_max_delay(500)
}

/// Connects everything the settings name.
pub async fn connect(settings: &Settings) -> anyhow::Result<Deps> {
    if !sqlx::Postgres::database_exists(&settings.database_url)
        .await
        .unwrap_or(true)
    {
        tracing::info!("creating the database");
        sqlx::Postgres::create_database(&settings.database_url)
            .await
            .context("creating the database")?;
    }
    let pool = PgPoolOptions::new()
        .max_connections(settings.database_max_connections)
        .acquire_timeout(Duration::from_secs(5))
        .connect(&settings.database_url)
        .await
        .context("connecting to PostgreSQL")?;
    let analytics = match &settings.analytics_database_url {
        None => pool.clone(),
        Some(url) => {
            if !sqlx::Postgres::database_exists(url).await.unwrap_or(true) {
                tracing::info!("creating the analytics database");
                sqlx::Postgres::create_database(url)
                    .await
                    .context("creating the analytics database")?;
            }
            PgPoolOptions::new()
                .max_connections(settings.database_max_connections.clamp(2, 8))
                .acquire_timeout(Duration::from_secs(5))
                .connect(url)
                .await
                .context("connecting to the analytics database")?
        }
    };
    let redis_client = redis::Client::open(settings.redis_url.as_str()).context("Redis URL")?;
    let redis =
        redis::aio::ConnectionManager::new_with_config(redis_client.clone(), redis_config())
            .await
            .context("connecting to Redis")?;
    let bus = match &settings.kafka {
        Some(k) => Bus::kafka(k.to_bus())
            .await
            .context("setting up the Kafka client")?,
        None => Bus::embedded(),
    };
    tracing::info!(
        bus = bus.kind(),
        "connected to PostgreSQL, Redis and the bus"
    );
    let assets = services::assets::Store::open(&settings.assets.store, &settings.assets.options)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(Deps {
        pool,
        analytics,
        redis_client,
        redis,
        bus,
        assets,
    })
}

/// Leptos site options: `Leptos.toml` plus `LEPTOS_*` variables (set by cargo-leptos
/// when it runs the server). What the environment lacks comes from the values
/// cargo-leptos compiled into this binary, else leptos' own defaults.
pub fn leptos_options(path: &str) -> anyhow::Result<LeptosOptions> {
    let fallbacks = [
        (
            "LEPTOS_OUTPUT_NAME",
            option_env!("LEPTOS_OUTPUT_NAME"),
            None,
        ),
        (
            "LEPTOS_SITE_ROOT",
            option_env!("LEPTOS_SITE_ROOT"),
            Some("target/site"),
        ),
        (
            "LEPTOS_SITE_PKG_DIR",
            option_env!("LEPTOS_SITE_PKG_DIR"),
            Some("pkg"),
        ),
    ];
    let mut text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(_) => {
            tracing::warn!(
                path,
                "Leptos options file not found; using the environment only"
            );
            "[package.metadata.leptos]\n".to_owned()
        }
    };
    for (key, compiled, default) in fallbacks {
        if std::env::var_os(key).is_some() {
            continue;
        }
        let value = compiled
            .or(default)
            .with_context(|| format!("{key} is not set: build with cargo-leptos or set it"))?;
        let name = key
            .trim_start_matches("LEPTOS_")
            .to_lowercase()
            .replace('_', "-");
        text.push_str(&format!("\n{name} = {value:?}\n"));
    }
    let options = leptos::config::get_config_from_str(&text).context("parsing Leptos options")?;
    // With hashed names, Leptos reads the hashes beside this binary on
    // every page and panics without them: refuse to start instead.
    if options.hash_files {
        let hashes = crate::http::site::hashes_file(&options).context("locating this binary")?;
        anyhow::ensure!(
            hashes.is_file(),
            "hash-files is on but {} is missing: build with `cargo leptos build`, which writes it beside the binary",
            hashes.display()
        );
    }
    Ok(options)
}

/// The payment provider the settings choose, and the test provider again when
/// it is the one (its bank page signs webhooks with it).
pub fn payment_provider(
    settings: &Settings,
) -> (Arc<dyn PaymentProvider>, Option<Arc<TestProvider>>) {
    match settings.payments.provider {
        PaymentProviderKind::None => (Arc::new(NoProvider), None),
        PaymentProviderKind::Test => {
            tracing::warn!("the test payment provider is on: test cards pay for anything");
            let secret = settings
                .payments
                .test_webhook_secret
                .as_deref()
                .unwrap_or("");
            let test = Arc::new(TestProvider::new(secret));
            (test.clone(), Some(test))
        }
    }
}

/// Builds the platform the web roles share and starts this node's presence
/// and live hubs (Redis pub/sub → local sockets).
pub fn platform(settings: &Settings, deps: &Deps, payments: Arc<dyn PaymentProvider>) -> Platform {
    let presence = Arc::new(Fanout::new(64));
    let hub_tx = presence.clone();
    let client = deps.redis_client.clone();
    tokio::spawn(async move {
        loop {
            if let Err(e) = services::live::presence::run_hub(client.clone(), hub_tx.clone()).await
            {
                tracing::warn!(error = %e, "presence hub lost Redis; reconnecting");
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
    // Live log entries of every event, from every node.
    let live = Arc::new(Fanout::new(1024));
    let live_tx = live.clone();
    let client = deps.redis_client.clone();
    tokio::spawn(async move {
        loop {
            if let Err(e) = services::live::log::run_hub(client.clone(), live_tx.clone()).await {
                tracing::warn!(error = %e, "live hub lost Redis; reconnecting");
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
    Platform {
        pool: deps.pool.clone(),
        analytics_pool: deps.analytics.clone(),
        redis: deps.redis.clone(),
        bus: deps.bus.clone(),
        presence,
        live,
        payments,
        fees: services::payments::FeePolicy {
            bps: settings.platform_fee_bps,
            fixed_minor: settings.platform_fee_fixed_minor,
        },
        quota_locking: if settings.unsafe_disable_quota_locking {
            tracing::warn!(
                "UNSAFE: quota locking is off; tickets can be oversold (test-only setting)"
            );
            services::registrations::quotas::QuotaLocking::UnsafeUnlocked
        } else {
            services::registrations::quotas::QuotaLocking::Locked
        },
        redis_namespace: settings.redis_namespace.clone(),
        public_url: settings.public_url.trim_end_matches('/').to_owned(),
        turn: settings.media.turn.as_ref().and_then(|t| t.to_turn()),
        media_store: deps.assets.clone(),
        media_tools: Arc::new(crate::media_tools::Ffmpeg),
        webhook_targets: settings.webhook_targets(),
    }
}

/// The state of the web roles: the platform and Leptos' site options.
pub fn server_state(
    settings: &Settings,
    deps: &Deps,
    leptos_options: LeptosOptions,
) -> ServerState {
    let (payments, test_payments) = payment_provider(settings);
    ServerState {
        leptos_options,
        platform: platform(settings, deps, payments),
        test_payments,
        edge: Arc::new(settings.http.clone()),
    }
}

/// Serves HTTP on `listener` until `shutdown` flips (see `http::serve`).
pub async fn serve(
    state: ServerState,
    listener: TcpListener,
    shutdown: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let edge = state.edge.clone();
    let router = crate::http::router(state);
    tracing::info!(addr = %listener.local_addr()?, "serving HTTP");
    crate::http::serve(router, listener, &edge, shutdown).await?;
    Ok(())
}

/// Runs the outbox relay until shutdown, after creating the bus's topics.
pub async fn relay(deps: Deps, mut shutdown: watch::Receiver<bool>) -> anyhow::Result<()> {
    if deps.bus.ensure_topics_patiently(&mut shutdown).await {
        bus::relay::run(deps.pool, deps.bus, shutdown).await?;
    }
    Ok(())
}

/// Applies the migrations: the main database's, and analytics' own when it
/// has a database of its own.
pub async fn migrate(settings: &Settings, deps: &Deps) -> anyhow::Result<()> {
    services::migrate(&deps.pool).await?;
    if settings.analytics_database_url.is_some() {
        analytics::migrate_own(&deps.analytics).await?;
    }
    Ok(())
}

/// Runs the analytics consumer (creating the topics first if it starts
/// before the relay) and the maker of reports until shutdown.
pub async fn analytics(deps: Deps, shutdown: watch::Receiver<bool>) -> anyhow::Result<()> {
    // Reports are made from what was consumed, even while the bus is away.
    let reports = analytics::reports::run(deps.analytics.clone(), shutdown.clone());
    let consumer = async {
        let mut shutdown = shutdown.clone();
        if deps.bus.ensure_topics_patiently(&mut shutdown).await {
            let (log, pool) = (deps.pool.clone(), deps.analytics.clone());
            analytics::run(log, pool, deps.bus.clone(), shutdown).await?;
        }
        anyhow::Ok(())
    };
    // A consumer that fails ends the worker (and `convene all`), as before.
    tokio::try_join!(
        async {
            reports.await;
            anyhow::Ok(())
        },
        consumer
    )?;
    Ok(())
}

/// Runs the webhooks consumer (domain events into deliveries) and the
/// dispatcher (deliveries out) until shutdown.
pub async fn webhooks(
    deps: Deps,
    settings: &Settings,
    shutdown: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let dispatcher = Arc::new(services::webhooks::dispatch::Dispatcher::new(
        deps.pool.clone(),
        settings.webhook_targets(),
        settings.webhooks.retry_scale,
    )?);
    // Deliveries already made go out even while the bus is unreachable.
    let fanout = async {
        if deps
            .bus
            .ensure_topics_patiently(&mut shutdown.clone())
            .await
        {
            services::webhooks::fanout::run(deps.pool.clone(), deps.bus.clone(), shutdown.clone())
                .await?;
        }
        Ok::<_, services::Error>(())
    };
    tokio::try_join!(fanout, dispatcher.run(shutdown.clone()))?;
    Ok(())
}

/// The jobs worker the settings describe, reconciling through `payments`.
/// Without SMTP settings, emails are skipped (logged).
pub fn worker(
    deps: &Deps,
    settings: &Settings,
    payments: Arc<dyn PaymentProvider>,
) -> anyhow::Result<services::worker::Worker> {
    let mailer = match &settings.smtp {
        Some(s) => Some(s.mailer()?),
        None => None,
    };
    Ok(services::worker::Worker {
        pool: deps.pool.clone(),
        mailer,
        public_url: settings.public_url.trim_end_matches('/').to_owned(),
        payments,
        media: Some(services::worker::MediaWork {
            store: deps.assets.clone(),
            tools: Arc::new(crate::media_tools::Ffmpeg),
        }),
    })
}

/// Runs background jobs and the periodic housekeeping until shutdown.
pub async fn jobs(
    deps: Deps,
    settings: Settings,
    payments: Arc<dyn PaymentProvider>,
    shutdown: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    worker(&deps, &settings, payments)?
        .run(Duration::from_millis(500), shutdown)
        .await?;
    Ok(())
}

/// A watch channel that flips on Ctrl-C or SIGTERM.
pub fn shutdown_signal() -> watch::Receiver<bool> {
    let (tx, rx) = watch::channel(false);
    tokio::spawn(async move {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        let term = async {
            if let Ok(mut s) =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            {
                s.recv().await;
            }
        };
        #[cfg(not(unix))]
        let term = std::future::pending::<()>();
        tokio::select! { _ = ctrl_c => {}, _ = term => {} }
        tracing::info!("shutting down");
        let _ = tx.send(true);
    });
    rx
}
