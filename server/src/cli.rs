//! The `convene` command line.

use clap::{Parser, Subcommand, ValueEnum};

/// Convene: virtual and hybrid events.
#[derive(Debug, Parser)]
#[command(name = "convene", version)]
pub struct Cli {
    /// Configuration file (TOML); `CONVENE_*` variables override it.
    #[arg(long, global = true, env = "CONVENE_CONFIG")]
    pub config: Option<String>,
    /// What to run (default: `all`).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Roles and tasks.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Web roles: SSR pages, server functions, WebSocket.
    Serve,
    /// One background worker.
    Worker {
        /// Which worker.
        name: Worker,
    },
    /// Everything in one process: migrate, serve, every worker and (unless
    /// `media.in_all` is off) the media role.
    All,
    /// The media role: the SFU and its signalling endpoint for web nodes.
    Media,
    /// Apply database migrations.
    Migrate,
    /// Rebuild analytics from the log: empty its aggregates and consume every
    /// domain event again (running analytics workers switch over within a
    /// second; the figures fill up as they catch up). Refused when the log
    /// no longer holds its first messages.
    RebuildAnalytics,
    /// Seed the demo organisation and event (idempotent).
    Demo,
    /// Print every server function's path as JSON, by name (`{"register": "/fn/register"}`),
    /// for tools and end-to-end tests that call them.
    ServerFns,
}

/// Background workers.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Worker {
    /// Publishes outbox rows to the bus.
    Relay,
    /// Consumes attendee activity into the analytics schema.
    Analytics,
    /// Runs background jobs (emails).
    Jobs,
    /// Delivers organisers' webhooks (Longwave).
    Webhooks,
}
