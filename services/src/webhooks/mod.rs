//! Longwave (owner of `webhook_endpoints`, `webhook_messages`,
//! `webhook_deliveries` and `webhook_attempts`): organisers' webhook
//! endpoints, and real-time delivery of their attendees' activity.
//!
//! The model: an endpoint belongs to an organisation and hears about all its
//! events or one event, and chooses the message types it wants. The
//! webhooks consumer ([`fanout`]) reads the domain events from the bus: each
//! one of an organisation that has endpoints becomes a *message* (its body
//! fixed once, the envelope's id as `webhook-id`, so a redelivered domain
//! event is the same message) and a *delivery* per enabled endpoint that
//! wants it. The dispatcher ([`dispatch`]) sends due deliveries, signed
//! anew per attempt ([`signing`]), to targets the policy allows
//! ([`targets`]), and retries on [`dispatch::SCHEDULE`]. Every attempt is
//! logged; organisers resend one message, replay everything since a time,
//! or send a test message.

pub mod dispatch;
pub mod fanout;
pub mod signing;
pub mod targets;

use chrono::{DateTime, Utc};
use protocol::ids::{DomainEventId, EventId, WebhookEndpointId};
use protocol::states::{DeliveryStatus, WebhookType};
use sqlx::PgPool;
use tracing::instrument;

use crate::accounts::Organiser;
use crate::events::Event;
use crate::{Error, Result};

pub use targets::Targets;

/// The type of the message "send test event" sends.
pub const TEST_TYPE: &str = "webhook.test";

/// Why an endpoint the platform turned off is off.
pub const DISABLED_REASON: &str = "every delivery failed for five days";

/// How long the previous secret keeps signing after a rotation.
pub const ROTATION_OVERLAP: chrono::Duration = chrono::Duration::hours(24);

/// An endpoint as its organisation sees it (the secret only by its end).
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// Its id.
    pub id: WebhookEndpointId,
    /// The one event it hears about (`None`: every event of the organisation).
    pub event_id: Option<EventId>,
    /// Where messages go.
    pub url: String,
    /// The organiser's note.
    pub description: String,
    /// The message types it wants.
    pub types: Vec<WebhookType>,
    /// Deliveries go out.
    pub enabled: bool,
    /// Why the platform turned it off, if it did.
    pub disabled_reason: Option<String>,
    /// The end of the signing secret.
    pub secret_hint: String,
    /// Until when the previous secret signs too (after a rotation).
    pub rotating_until: Option<DateTime<Utc>>,
    /// Since when every delivery has failed.
    pub failing_since: Option<DateTime<Utc>>,
    /// Messages delivered.
    pub delivered: i64,
    /// Messages waiting for an attempt that succeeds.
    pub pending: i64,
    /// Messages given up after the last attempt.
    pub failed: i64,
}

#[derive(sqlx::FromRow)]
struct EndpointRow {
    id: WebhookEndpointId,
    event_id: Option<EventId>,
    url: String,
    description: String,
    types: Vec<WebhookType>,
    enabled: bool,
    disabled_reason: Option<String>,
    secret: String,
    previous_until: Option<DateTime<Utc>>,
    failing_since: Option<DateTime<Utc>>,
    delivered: i64,
    pending: i64,
    failed: i64,
}

impl From<EndpointRow> for Endpoint {
    fn from(r: EndpointRow) -> Self {
        Endpoint {
            id: r.id,
            event_id: r.event_id,
            url: r.url,
            description: r.description,
            types: r.types,
            enabled: r.enabled,
            disabled_reason: r.disabled_reason,
            secret_hint: signing::hint(&r.secret),
            rotating_until: r.previous_until.filter(|t| *t > Utc::now()),
            failing_since: r.failing_since,
            delivered: r.delivered,
            pending: r.pending,
            failed: r.failed,
        }
    }
}

/// What an organiser fills in to add an endpoint.
#[derive(Debug, Clone)]
pub struct NewEndpoint {
    /// Where messages go.
    pub url: String,
    /// A note.
    pub description: String,
    /// The types it wants (at least one).
    pub types: Vec<WebhookType>,
    /// Only this event's messages (else every event of the organisation).
    pub only_event: Option<EventId>,
}

/// One attempt to deliver a message, for the endpoint's log.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Attempt {
    /// The message (`webhook-id` is `msg_` and its simple form).
    pub message_id: DomainEventId,
    /// Its type.
    pub message_type: String,
    /// 1 for the first try, and so on.
    pub attempt: i32,
    /// When it was made.
    pub at: DateTime<Utc>,
    /// The response's status, if one came.
    pub code: Option<i32>,
    /// The first bytes of the response, or why none came.
    pub response: String,
    /// How long it took.
    pub duration_ms: i32,
    /// Where the message's delivery stands now.
    pub status: DeliveryStatus,
}

/// The `webhook-id` of a message.
pub fn message_header_id(id: DomainEventId) -> String {
    format!("msg_{}", id.uuid().simple())
}

const SELECT_ENDPOINT: &str = "SELECT e.id, e.event_id, e.url, e.description, e.types, e.enabled,
        e.disabled_reason, e.secret, e.previous_until, e.failing_since,
        count(*) FILTER (WHERE d.status = 'delivered') AS delivered,
        count(*) FILTER (WHERE d.status = 'pending') AS pending,
        count(*) FILTER (WHERE d.status = 'failed') AS failed
     FROM webhook_endpoints e LEFT JOIN webhook_deliveries d ON d.endpoint_id = e.id";

/// The organisation's endpoints that hear about `event`: its own and those
/// for every event.
pub async fn list(pool: &PgPool, by: &Organiser, event: &Event) -> Result<Vec<Endpoint>> {
    let rows = sqlx::query_as::<_, EndpointRow>(&format!(
        "{SELECT_ENDPOINT} WHERE e.org_id = $1 AND (e.event_id IS NULL OR e.event_id = $2)
         GROUP BY e.id ORDER BY e.created_at"
    ))
    .bind(by.org_id)
    .bind(event.id)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(Endpoint::from).collect())
}

/// One endpoint of the organisation.
pub async fn get(pool: &PgPool, by: &Organiser, id: WebhookEndpointId) -> Result<Endpoint> {
    sqlx::query_as::<_, EndpointRow>(&format!(
        "{SELECT_ENDPOINT} WHERE e.org_id = $1 AND e.id = $2 GROUP BY e.id"
    ))
    .bind(by.org_id)
    .bind(id)
    .fetch_optional(pool)
    .await?
    .map(Endpoint::from)
    .ok_or_else(|| Error::not_found("no such webhook endpoint"))
}

/// Adds an endpoint; owners only. Answers its id and signing secret (shown
/// once; rotating makes a new one).
#[instrument(skip(pool, by, new), fields(org = %by.org_id))]
pub async fn create(
    pool: &PgPool,
    targets: &Targets,
    by: &Organiser,
    event: &Event,
    new: NewEndpoint,
) -> Result<(WebhookEndpointId, String)> {
    by.require_owner()?;
    let url = targets.check_url(&new.url)?;
    if new.types.is_empty() {
        return Err(Error::invalid("choose at least one kind of message"));
    }
    let description = new.description.trim();
    if description.chars().count() > 500 {
        return Err(Error::invalid(
            "the description is longer than 500 characters",
        ));
    }
    if new.only_event.is_some_and(|e| e != event.id) {
        return Err(Error::invalid(
            "an endpoint can only be limited to this event",
        ));
    }
    let mut types = new.types;
    types.sort();
    types.dedup();
    let id = WebhookEndpointId::new();
    let secret = signing::new_secret();
    sqlx::query(
        "INSERT INTO webhook_endpoints (id, org_id, event_id, url, description, types, secret)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(id)
    .bind(by.org_id)
    .bind(new.only_event)
    .bind(url.as_str())
    .bind(description)
    .bind(&types)
    .bind(&secret)
    .execute(pool)
    .await?;
    tracing::info!(endpoint = %id, "webhook endpoint added");
    Ok((id, secret))
}

/// Turns an endpoint on or off; owners only. Turning it on again clears
/// its failure record, and what waited for it goes out: deliveries still
/// pending, and those that failed since it began failing (from the start
/// of the schedule).
pub async fn set_enabled(
    pool: &PgPool,
    by: &Organiser,
    id: WebhookEndpointId,
    on: bool,
) -> Result<()> {
    by.require_owner()?;
    let mut tx = pool.begin().await?;
    let failing_since: Option<Option<DateTime<Utc>>> = sqlx::query_scalar(
        "SELECT failing_since FROM webhook_endpoints WHERE org_id = $1 AND id = $2 FOR UPDATE",
    )
    .bind(by.org_id)
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(failing_since) = failing_since else {
        return Err(Error::not_found("no such webhook endpoint"));
    };
    if let (true, Some(since)) = (on, failing_since) {
        sqlx::query(
            "UPDATE webhook_deliveries
             SET status = 'pending', attempts = 0, next_attempt_at = now(),
                 leased_until = NULL, lease = NULL, updated_at = now()
             WHERE endpoint_id = $1 AND status = 'failed' AND updated_at >= $2",
        )
        .bind(id)
        .bind(since)
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query(
        "UPDATE webhook_endpoints SET enabled = $2, disabled_reason = NULL,
            failing_since = CASE WHEN $2 THEN NULL ELSE failing_since END
         WHERE id = $1",
    )
    .bind(id)
    .bind(on)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Removes an endpoint and its log; owners only.
pub async fn remove(pool: &PgPool, by: &Organiser, id: WebhookEndpointId) -> Result<()> {
    by.require_owner()?;
    let done = sqlx::query("DELETE FROM webhook_endpoints WHERE org_id = $1 AND id = $2")
        .bind(by.org_id)
        .bind(id)
        .execute(pool)
        .await?;
    found(done.rows_affected())
}

/// Gives an endpoint a new secret; owners only. The one it replaces goes
/// on signing beside it for [`ROTATION_OVERLAP`], so receivers can switch
/// without losing a message. Answers the new secret.
#[instrument(skip(pool, by), fields(org = %by.org_id))]
pub async fn rotate(pool: &PgPool, by: &Organiser, id: WebhookEndpointId) -> Result<String> {
    by.require_owner()?;
    let secret = signing::new_secret();
    let done = sqlx::query(
        "UPDATE webhook_endpoints
         SET previous_secret = secret, previous_until = now() + $3, secret = $4
         WHERE org_id = $1 AND id = $2",
    )
    .bind(by.org_id)
    .bind(id)
    .bind(ROTATION_OVERLAP)
    .bind(&secret)
    .execute(pool)
    .await?;
    found(done.rows_affected())?;
    tracing::info!(endpoint = %id, "webhook secret rotated");
    Ok(secret)
}

/// The endpoint's latest attempts, newest first.
pub async fn attempts(
    pool: &PgPool,
    by: &Organiser,
    id: WebhookEndpointId,
    limit: i64,
) -> Result<Vec<Attempt>> {
    get(pool, by, id).await?;
    Ok(sqlx::query_as::<_, Attempt>(
        "SELECT a.message_id, m.type AS message_type, a.attempt, a.at, a.code, a.response,
                a.duration_ms, d.status
         FROM webhook_attempts a
         JOIN webhook_messages m ON m.id = a.message_id
         JOIN webhook_deliveries d ON d.message_id = a.message_id AND d.endpoint_id = a.endpoint_id
         WHERE a.endpoint_id = $1 ORDER BY a.id DESC LIMIT $2",
    )
    .bind(id)
    .bind(limit.clamp(1, 500))
    .fetch_all(pool)
    .await?)
}

/// Sends one message to the endpoint again, from the start of the schedule.
pub async fn resend(
    pool: &PgPool,
    by: &Organiser,
    id: WebhookEndpointId,
    message: DomainEventId,
) -> Result<()> {
    by.require_owner()?;
    let done = sqlx::query(&format!("{REQUEUE} WHERE m.id = $3 {REQUEUE_CONFLICT}"))
        .bind(by.org_id)
        .bind(id)
        .bind(message)
        .execute(pool)
        .await?;
    if done.rows_affected() == 0 {
        return Err(Error::not_found("no such message for this endpoint"));
    }
    Ok(())
}

/// Sends the endpoint every message it wants that happened since `since`
/// (again, for those it had), from the start of the schedule. Messages are
/// kept from the time the organisation has an endpoint. Answers how many.
pub async fn replay_since(
    pool: &PgPool,
    by: &Organiser,
    id: WebhookEndpointId,
    since: DateTime<Utc>,
) -> Result<u64> {
    by.require_owner()?;
    get(pool, by, id).await?;
    let done = sqlx::query(&format!(
        "{REQUEUE} WHERE m.occurred_at >= $3 AND m.type = ANY(e.types::text[]) {REQUEUE_CONFLICT}"
    ))
    .bind(by.org_id)
    .bind(id)
    .bind(since)
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}

/// Queues messages of the organisation ($1) for endpoint $2 (its event's,
/// or all if it has none), anew.
const REQUEUE: &str = "INSERT INTO webhook_deliveries (message_id, endpoint_id)
     SELECT m.id, e.id FROM webhook_messages m
     JOIN webhook_endpoints e ON e.id = $2 AND e.org_id = $1
        AND m.org_id = e.org_id AND (e.event_id IS NULL OR e.event_id = m.event_id)";
const REQUEUE_CONFLICT: &str = "ON CONFLICT (message_id, endpoint_id) DO UPDATE
     SET status = 'pending', attempts = 0, next_attempt_at = now(), leased_until = NULL,
         lease = NULL, updated_at = now()";

/// Queues a test message for the endpoint (whatever types it wants).
/// Answers its id.
pub async fn send_test(
    pool: &PgPool,
    by: &Organiser,
    id: WebhookEndpointId,
) -> Result<DomainEventId> {
    by.require_owner()?;
    let endpoint = get(pool, by, id).await?;
    let message = DomainEventId::new();
    let now = Utc::now();
    let body = serde_json::json!({
        "type": TEST_TYPE,
        "timestamp": now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "data": {
            "endpoint_id": id,
            "event_id": endpoint.event_id,
            "message": "A test message from Convene.",
        },
    })
    .to_string();
    let mut tx = pool.begin().await?;
    sqlx::query(
        "INSERT INTO webhook_messages (id, org_id, event_id, type, body, occurred_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(message)
    .bind(by.org_id)
    .bind(endpoint.event_id)
    .bind(TEST_TYPE)
    .bind(&body)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    sqlx::query("INSERT INTO webhook_deliveries (message_id, endpoint_id) VALUES ($1, $2)")
        .bind(message)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(message)
}

/// How long messages are kept (for resends and replays) once nothing waits
/// to deliver them; their deliveries and attempts go with them.
pub const RETENTION: chrono::Duration = chrono::Duration::days(30);

/// Deletes messages older than [`RETENTION`] that no delivery waits for.
pub async fn purge(pool: &PgPool) -> Result<u64> {
    let done = sqlx::query(
        "DELETE FROM webhook_messages m
         WHERE m.created_at < now() - $1
           AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d
                           WHERE d.message_id = m.id AND d.status = 'pending')",
    )
    .bind(RETENTION)
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}

/// An endpoint the platform turned off, for the email to its owners.
pub struct TurnedOff {
    /// Its organisation.
    pub org_id: protocol::ids::OrgId,
    /// Where it pointed.
    pub url: String,
}

/// Endpoint `id` if it is still off because it kept failing.
pub async fn turned_off(pool: &PgPool, id: WebhookEndpointId) -> Result<Option<TurnedOff>> {
    let row: Option<(protocol::ids::OrgId, String)> = sqlx::query_as(
        "SELECT org_id, url FROM webhook_endpoints
         WHERE id = $1 AND NOT enabled AND disabled_reason = $2",
    )
    .bind(id)
    .bind(DISABLED_REASON)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|(org_id, url)| TurnedOff { org_id, url }))
}

fn found(rows: u64) -> Result<()> {
    if rows == 0 {
        return Err(Error::not_found("no such webhook endpoint"));
    }
    Ok(())
}
