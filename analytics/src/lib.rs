//! Analytics: reads nothing but domain events. Its consumer group takes
//! registrations, area visits, engagement (messages, votes, questions,
//! meetings, watch time) from the bus into the `analytics` schema
//! (owner of every table in it), idempotently by message id, and the figures
//! the organiser's event page shows are computed from there. Everything in
//! it can be made again from the log ([`rebuild`]).

use protocol::events::{Envelope, Fact};
use protocol::ids::{EventId, OrderId};
use protocol::states::OrderStatus;
use sqlx::PgPool;
use tokio::sync::watch;

pub use error::{Error, Result};

pub mod engagement;
mod error;
pub mod journeys;
pub mod rebuild;
pub mod reports;
pub mod sales;
pub mod visits;

pub use rebuild::{GROUP, TOPICS};

/// The (area, action) row a fact becomes, if analytics keeps it.
fn row_of(fact: &Fact) -> Option<(protocol::ids::AttendeeId, String, &'static str)> {
    match fact {
        Fact::AttendeeRegistered(f) => Some((f.attendee_id, "registration".into(), "registered")),
        Fact::AttendeeEnteredArea(v) => Some((v.attendee_id, v.area.to_string(), "enter")),
        Fact::AttendeeLeftArea(v) => Some((v.attendee_id, v.area.to_string(), "leave")),
        _ => None,
    }
}

/// The status an order fact says its order reached, if it is one.
fn order_state_of(fact: &Fact) -> Option<(OrderId, OrderStatus)> {
    match fact {
        Fact::OrderPlaced(f) => Some((f.order_id, f.status)),
        Fact::OrderApproved(f) => Some((f.order_id, f.status)),
        Fact::OrderPaid(f) => Some((f.order_id, OrderStatus::Confirmed)),
        Fact::OrderCancelled(f) => Some((f.order_id, OrderStatus::Cancelled)),
        Fact::OrderRefunded(f) => Some((f.order_id, OrderStatus::Refunded)),
        _ => None,
    }
}

/// Stores one envelope if analytics keeps its kind; a message stored before
/// (redelivered) is ignored. Order facts move the order's state (the latest
/// fact wins, so a redelivered older one changes nothing).
#[tracing::instrument(skip_all, fields(message = %env.id, kind = env.fact.type_name()))]
pub async fn ingest(pool: &PgPool, env: &Envelope) -> Result<()> {
    visits::apply(pool, env).await?;
    reports::apply(pool, env).await?;
    engagement::apply(pool, env).await?;
    if let Some((order, status)) = order_state_of(&env.fact) {
        sqlx::query(
            "INSERT INTO analytics.order_states (order_id, event_id, status, occurred_at)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (order_id) DO UPDATE SET status = EXCLUDED.status, occurred_at = EXCLUDED.occurred_at
               WHERE analytics.order_states.occurred_at <= EXCLUDED.occurred_at",
        )
        .bind(order)
        .bind(env.event_id)
        .bind(status)
        .bind(env.occurred_at)
        .execute(pool)
        .await?;
        sales::apply(pool, env).await?;
    }
    let Some((attendee, area, action)) = row_of(&env.fact) else {
        return Ok(());
    };
    sqlx::query(
        "INSERT INTO analytics.activity_facts (message_id, event_id, attendee_id, area, action, occurred_at)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (message_id) DO NOTHING",
    )
    .bind(env.id)
    .bind(env.event_id)
    .bind(attendee)
    .bind(area)
    .bind(action)
    .bind(env.occurred_at)
    .execute(pool)
    .await?;
    Ok(())
}

/// Makes analytics' schema in a database of its own (`analytics/migrations/`,
/// the main migrations' analytics tables without their backfills from the
/// public schema). In the shared database the main migrations make it.
pub async fn migrate_own(pool: &PgPool) -> Result<()> {
    sqlx::migrate!("./migrations")
        .run(pool)
        .await
        .map_err(|e| Error::Internal(format!("analytics migrations: {e}")))
}

/// Runs the analytics consumer until `shutdown` flips: the group of the
/// current generation, then the next one's after each rebuild
/// ([`rebuild`]). `log` is the main database (the embedded log and its
/// positions), `pool` analytics' (the same one unless configured apart).
pub async fn run(
    log: PgPool,
    pool: PgPool,
    bus: bus::Bus,
    shutdown: watch::Receiver<bool>,
) -> Result<()> {
    let mut current = rebuild::generation(&pool).await?;
    loop {
        let group = rebuild::group(current);
        let consumer = bus.consumer(&log, &group, TOPICS)?;
        tracing::info!(bus = bus.kind(), %group, "analytics consumer started");
        let (stop, stopped) = watch::channel(false);
        let consuming = consumer.run(stopped, |env| {
            let pool = pool.clone();
            async move { ingest(&pool, &env).await }
        });
        tokio::pin!(consuming);
        let ended = tokio::select! {
            done = &mut consuming => {
                // It stops only when told to, or on an error.
                done?;
                return Ok(());
            }
            ended = rebuild::watch_generation(&pool, current, shutdown.clone(), &stop) => ended,
        };
        consuming.await?;
        match ended {
            rebuild::Ended::Shutdown => return Ok(()),
            rebuild::Ended::Rebuilt(next) => {
                bus.forget_group(&log, &group).await?;
                current = next;
            }
        }
    }
}

/// Event figures for the organiser's event page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EventStats {
    /// Confirmed orders (paid or free; not unpaid, awaiting approval,
    /// cancelled or refunded).
    pub registrations: i64,
    /// Times attendees entered Reception.
    pub reception_visits: i64,
    /// Distinct attendees who entered Reception.
    pub reception_visitors: i64,
}

/// Reads the figures of one event.
pub async fn event_stats(pool: &PgPool, event_id: EventId) -> Result<EventStats> {
    let (registrations, reception_visits, reception_visitors): (i64, i64, i64) = sqlx::query_as(
        "SELECT
            (SELECT count(*) FROM analytics.order_states WHERE event_id = $1 AND status = $2),
            count(*) FILTER (WHERE area = 'reception' AND action = 'enter'),
            count(DISTINCT attendee_id) FILTER (WHERE area = 'reception' AND action = 'enter')
         FROM analytics.activity_facts WHERE event_id = $1",
    )
    .bind(event_id)
    .bind(OrderStatus::Confirmed)
    .fetch_one(pool)
    .await?;
    Ok(EventStats {
        registrations,
        reception_visits,
        reception_visitors,
    })
}
