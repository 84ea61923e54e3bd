//! `convene`: every server role of Convene in one binary.

use anyhow::Context;
use clap::Parser;
use convene_server::cli::{Cli, Command, Worker};
use convene_server::{configuration, demo, startup};
use tokio::net::TcpListener;

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn,tower_http=info".into()),
        )
        // Logs on stderr; stdout is for commands' output (`server-fns`).
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let settings = configuration::load(cli.config.as_deref()).context("loading configuration")?;
    tracing::info!(?settings, "configuration loaded");
    settings
        .check()
        .map_err(anyhow::Error::msg)
        .context("unsafe configuration")?;
    let command = cli.command.unwrap_or(Command::All);
    // Read before the runtime starts threads: it may fill LEPTOS_* defaults.
    let leptos = match command {
        Command::Serve | Command::All => Some(startup::leptos_options(&settings.leptos_config)?),
        _ => None,
    };
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run(command, settings, leptos))
}

async fn run(
    command: Command,
    settings: configuration::Settings,
    leptos: Option<leptos::prelude::LeptosOptions>,
) -> anyhow::Result<()> {
    let shutdown = startup::shutdown_signal();
    match command {
        Command::ServerFns => {
            let paths: std::collections::BTreeMap<&str, &str> =
                leptos::server_fn::axum::server_fn_paths()
                    .map(|(path, _)| (path.rsplit('/').next().unwrap_or(path), path))
                    .collect();
            println!("{}", serde_json::to_string_pretty(&paths)?);
        }
        Command::Migrate => {
            let deps = startup::connect(&settings).await?;
            startup::migrate(&settings, &deps).await?;
            tracing::info!("migrations applied");
        }
        Command::RebuildAnalytics => {
            let deps = startup::connect(&settings).await?;
            startup::migrate(&settings, &deps).await?;
            let generation =
                analytics::rebuild::start(&deps.analytics, &deps.pool, &deps.bus).await?;
            println!(
                "analytics rebuild started (generation {generation}): the analytics workers \
                 consume the log again from its beginning"
            );
        }
        Command::Demo => {
            let deps = startup::connect(&settings).await?;
            services::migrate(&deps.pool).await?;
            demo::seed(&deps.pool).await?;
        }
        Command::Media => {
            let deps = startup::connect_redis(&settings).await?;
            convene_server::media_node::run(&settings, deps, shutdown).await?;
        }
        Command::Worker { name } => {
            let deps = startup::connect(&settings).await?;
            match name {
                Worker::Relay => startup::relay(deps, shutdown).await?,
                Worker::Analytics => startup::analytics(deps, shutdown).await?,
                Worker::Webhooks => startup::webhooks(deps, &settings, shutdown).await?,
                Worker::Jobs => {
                    let payments = startup::payment_provider(&settings).0;
                    startup::jobs(deps, settings, payments, shutdown).await?
                }
            }
        }
        Command::Serve | Command::All => {
            let leptos = leptos.context("Leptos options")?;
            let deps = startup::connect(&settings).await?;
            let all = matches!(command, Command::All);
            if all {
                startup::migrate(&settings, &deps).await?;
                if settings.demo {
                    demo::seed(&deps.pool).await?;
                }
            }
            let listener = TcpListener::bind(leptos.site_addr)
                .await
                .with_context(|| format!("binding {}", leptos.site_addr))?;
            let state = startup::server_state(&settings, &deps, leptos);
            if all {
                let (relay, analytics, jobs) = (deps.clone(), deps.clone(), deps.clone());
                let (hooks, s5) = (deps.clone(), shutdown.clone());
                let (s1, s2, s3) = (shutdown.clone(), shutdown.clone(), shutdown.clone());
                let settings = settings.clone();
                // One provider for both: the test provider's records live in it.
                let payments = state.platform.payments.clone();
                let (media_redis, s4) = (deps.redis.clone(), shutdown.clone());
                let workers = async move {
                    let media = async {
                        if settings.media.in_all {
                            convene_server::media_node::run(&settings, media_redis, s4).await
                        } else {
                            Ok(())
                        }
                    };
                    tokio::try_join!(
                        startup::relay(relay, s1),
                        startup::analytics(analytics, s2),
                        startup::jobs(jobs, settings.clone(), payments, s3),
                        startup::webhooks(hooks, &settings, s5),
                        media
                    )
                };
                tokio::try_join!(startup::serve(state, listener, shutdown), workers)?;
            } else {
                startup::serve(state, listener, shutdown).await?;
            }
        }
    }
    Ok(())
}
