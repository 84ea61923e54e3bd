//! The running platform as every interface sees it (server functions, the
//! live socket, plain HTTP handlers, later REST and media signalling):
//! connections, the fan-out hubs of this node, the payment provider and the
//! settings services take. Built once by the server; cheap to clone.

use std::sync::Arc;

use redis::aio::ConnectionManager;
use sqlx::PgPool;

use crate::live::actions::LiveDeps;
use crate::live::fanout::Fanout;
use crate::live::{log, presence};
use crate::payments::{FeePolicy, PaymentProvider};
use crate::registrations::quotas::QuotaLocking;

/// Everything a request may need.
#[derive(Clone)]
pub struct Platform {
    /// PostgreSQL pool.
    pub pool: PgPool,
    /// Analytics' database (the same pool unless it has one of its own).
    pub analytics_pool: PgPool,
    /// Redis connection (auto-reconnecting).
    pub redis: ConnectionManager,
    /// The event bus (readiness; producers go through the outbox).
    pub bus: bus::Bus,
    /// Presence snapshots, from every node, per event (this node's sockets).
    pub presence: Arc<Fanout<Arc<presence::Snapshot>>>,
    /// Live log entries, from every node, per event (this node's sockets).
    pub live: Arc<Fanout<Arc<log::Entry>>>,
    /// Payment provider for paid orders and plans (configured; "none" refuses charges).
    pub payments: Arc<dyn PaymentProvider>,
    /// Platform fee on paid orders.
    pub fees: FeePolicy,
    /// How ticket quotas are guarded (always `Locked` outside the concurrency control test).
    pub quota_locking: QuotaLocking,
    /// Public base URL, e.g. `https://events.example.org` (links, cookies).
    pub public_url: String,
    /// Prefix of this deployment's keys in Redis (lets deployments share a Redis).
    pub redis_namespace: String,
    /// TURN servers handed to browsers (none configured: direct connections only).
    pub turn: Option<crate::live::turn::Turn>,
    /// Where media assets live.
    pub media_store: crate::assets::Store,
    /// Where organisers' webhooks may point.
    pub webhook_targets: crate::webhooks::Targets,
    /// ffprobe and ffmpeg (uploads are probed when they complete).
    pub media_tools: Arc<dyn crate::assets::Tools>,
}

impl Platform {
    /// What live actions need.
    pub fn live_deps(&self) -> LiveDeps {
        LiveDeps {
            pool: self.pool.clone(),
            redis: self.redis.clone(),
            namespace: self.redis_namespace.clone(),
        }
    }

    /// Whether the platform is served over https (cookies get `Secure`).
    pub fn serves_https(&self) -> bool {
        self.public_url.starts_with("https://")
    }
}
