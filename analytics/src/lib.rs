//! Analytics: reads nothing but domain events. Its consumer group takes
//! registrations, area visits, engagement (messages, votes, questions,
//! meetings, watch time) from the bus into the `analytics` schema
//! (owner of every table in it), idempotently by message id, and the figures
//! the organiser's event page shows are computed from there. Everything in
//! it can be made again from the log ([`rebuild`]).

use protocol::events::{Envelope, Fact};
use protocol::ids::{EventId, OrderId};
use protocol::states::OrderStatus;
use sqlx::{PgConnection, PgPool};
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

/// Stores one envelope (see [`ingest_batch`]).
pub async fn ingest(pool: &PgPool, env: &Envelope) -> Result<()> {
    ingest_batch(pool, std::slice::from_ref(env)).await
}

/// Stores a batch of envelopes, in one transaction: one commit per batch,
/// not one per statement, which is what bounds a consumer's rate. Each is
/// applied if analytics keeps its kind; a message stored before
/// (redelivered) is ignored. Order facts move the order's state (the latest
/// fact wins, so a redelivered older one changes nothing).
///
/// Activity (the bulk of the log: entries, heartbeats, leaves) goes in a few
/// set-based statements: the stays in order per connection and area
/// ([`visits::apply_all`]), the activity rows in one insert. Those touch no
/// table the other facts touch, which are applied one by one first.
#[tracing::instrument(skip_all, fields(messages = envs.len()))]
pub async fn ingest_batch(pool: &PgPool, envs: &[Envelope]) -> Result<()> {
    let mut tx = pool.begin().await?;
    let (moves, others): (Vec<&Envelope>, Vec<&Envelope>) =
        envs.iter().partition(|env| visits::is_move(&env.fact));
    for env in others {
        apply(&mut tx, env).await?;
    }
    visits::apply_all(&mut tx, &moves).await?;
    record_rows(&mut tx, envs).await?;
    tx.commit().await?;
    Ok(())
}

/// The activity rows of `envs`, in one insert (each once, by message id).
async fn record_rows(conn: &mut PgConnection, envs: &[Envelope]) -> Result<()> {
    let rows: Vec<_> = envs
        .iter()
        .filter_map(|env| row_of(&env.fact).map(|row| (env, row)))
        .collect();
    if rows.is_empty() {
        return Ok(());
    }
    let ids: Vec<_> = rows.iter().map(|(env, _)| env.id).collect();
    let events: Vec<_> = rows.iter().map(|(env, _)| env.event_id).collect();
    let attendees: Vec<_> = rows.iter().map(|(_, (a, ..))| *a).collect();
    let areas: Vec<&str> = rows.iter().map(|(_, (_, area, _))| area.as_str()).collect();
    let actions: Vec<&str> = rows.iter().map(|(_, (.., action))| *action).collect();
    let ats: Vec<_> = rows.iter().map(|(env, _)| env.occurred_at).collect();
    sqlx::query(
        "INSERT INTO analytics.activity_facts (message_id, event_id, attendee_id, area, action, occurred_at)
         SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::timestamptz[])
         ON CONFLICT (message_id) DO NOTHING",
    )
    .bind(ids)
    .bind(events)
    .bind(attendees)
    .bind(areas)
    .bind(actions)
    .bind(ats)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Applies one envelope that is not a move on `conn` (its activity row aside).
async fn apply(conn: &mut PgConnection, env: &Envelope) -> Result<()> {
    reports::apply(conn, env).await?;
    engagement::apply(conn, env).await?;
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
        .execute(&mut *conn)
        .await?;
        sales::apply(conn, env).await?;
    }
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
        let consuming = consumer.run_batches(stopped, |envs| {
            let pool = pool.clone();
            async move { ingest_batch(&pool, &envs).await }
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
