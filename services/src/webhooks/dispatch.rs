//! The dispatcher: sends due deliveries and records each attempt.
//!
//! Deliveries are claimed with a lease (`leased_until`), so several
//! dispatchers may run and a crashed one's claims lapse and go out again
//! (at least once; a receiver deduplicates on `webhook-id`). The claim
//! takes at most [`PER_ENDPOINT`] deliveries of one endpoint in flight, so
//! a slow receiver holds its own queue, not everyone's; each send runs as a
//! task of its own, at most [`IN_FLIGHT`] at once. A 2xx within [`TIMEOUT`]
//! is success; anything else (no redirects are followed) is tried again
//! after the next step of [`SCHEDULE`], with jitter, until the last.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use protocol::ids::{DomainEventId, WebhookEndpointId};
use protocol::states::DeliveryStatus;
use rand::Rng;
use sqlx::PgPool;
use tokio::sync::{watch, Notify, Semaphore};

use super::{message_header_id, signing, Targets, DISABLED_REASON};
use crate::{Error, Result};

/// The wait before each attempt: the first goes at once, then 5 s, 5 min,
/// 30 min, 2 h, 5 h, 10 h and 10 h (about a day and a half in all).
pub const SCHEDULE: [Duration; 8] = [
    Duration::ZERO,
    Duration::from_secs(5),
    Duration::from_secs(5 * 60),
    Duration::from_secs(30 * 60),
    Duration::from_secs(2 * 3600),
    Duration::from_secs(5 * 3600),
    Duration::from_secs(10 * 3600),
    Duration::from_secs(10 * 3600),
];

/// How long a receiver has to answer.
pub const TIMEOUT: Duration = Duration::from_secs(15);

/// Deliveries to one endpoint in flight at once.
pub const PER_ENDPOINT: i64 = 4;

/// Deliveries in flight at once, in all.
pub const IN_FLIGHT: usize = 64;

/// How much of a response is read and kept for the log.
pub const RESPONSE_BYTES: usize = 1024;

/// An endpoint whose deliveries have all failed this long is turned off.
pub const DISABLE_AFTER: chrono::Duration = chrono::Duration::days(5);

/// How often the queue is looked at when it was empty.
const POLL: Duration = Duration::from_millis(250);

/// The wait after `attempts` failed attempts, or `None` when that was the
/// last. `scale` shortens the schedule (tests); `jitter` in [0, 1) spreads
/// retries over ±20 % so receivers coming back are not hit at once.
pub fn delay_after(attempts: usize, scale: f64, jitter: f64) -> Option<Duration> {
    let base = SCHEDULE.get(attempts)?;
    Some(base.mul_f64(scale * (0.8 + 0.4 * jitter)))
}

/// One claimed delivery, with what sending it needs.
#[derive(sqlx::FromRow)]
struct Claimed {
    message_id: DomainEventId,
    endpoint_id: WebhookEndpointId,
    lease: uuid::Uuid,
    attempts: i32,
    body: String,
    url: String,
    secret: String,
    previous: Option<String>,
}

/// What an attempt got: a status and the first bytes, or why nothing came.
type Outcome = std::result::Result<(u16, String), String>;

/// Sends webhooks.
pub struct Dispatcher {
    pool: PgPool,
    client: reqwest::Client,
    targets: Targets,
    scale: f64,
}

impl Dispatcher {
    /// A dispatcher sending to what `targets` allows; `scale` multiplies
    /// [`SCHEDULE`] (1.0 in production).
    pub fn new(pool: PgPool, targets: Targets, scale: f64) -> Result<Self> {
        let client = reqwest::Client::builder()
            .dns_resolver(targets.resolver())
            .redirect(reqwest::redirect::Policy::none())
            .timeout(TIMEOUT)
            .user_agent("Convene-Webhooks/1")
            // A proxy would connect where the resolver above never looks.
            .no_proxy()
            .build()
            .map_err(|e| Error::Internal(format!("webhook client: {e}")))?;
        Ok(Dispatcher {
            pool,
            client,
            targets,
            scale: scale.max(0.0),
        })
    }

    /// Sends until `shutdown` flips. Sends in flight then are dropped; their
    /// leases lapse and they go out again.
    pub async fn run(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) -> Result<()> {
        let permits = Arc::new(Semaphore::new(IN_FLIGHT));
        // A send that ends may free its endpoint's turn: look again then
        // rather than after the poll interval.
        let done = Arc::new(Notify::new());
        tracing::info!("webhook dispatcher started");
        while !*shutdown.borrow() {
            let free = permits.available_permits();
            let claimed = if free == 0 {
                Vec::new()
            } else {
                match self.claim(free as i64).await {
                    Ok(c) => c,
                    Err(e) => {
                        tracing::warn!(error = %e, "claiming webhook deliveries failed");
                        Vec::new()
                    }
                }
            };
            if claimed.is_empty() {
                tokio::select! {
                    _ = tokio::time::sleep(POLL) => {}
                    _ = done.notified() => {}
                    _ = shutdown.changed() => {}
                }
                continue;
            }
            for c in claimed {
                let Ok(permit) = permits.clone().acquire_owned().await else {
                    break;
                };
                let (me, done) = (self.clone(), done.clone());
                tokio::spawn(async move {
                    if let Err(e) = me.deliver(c).await {
                        tracing::warn!(error = %e, "recording a webhook attempt failed");
                    }
                    drop(permit);
                    done.notify_one();
                });
            }
        }
        Ok(())
    }

    /// Claims up to `limit` due deliveries, no more than [`PER_ENDPOINT`]
    /// of one endpoint in flight (counting those already out).
    async fn claim(&self, limit: i64) -> Result<Vec<Claimed>> {
        Ok(sqlx::query_as::<_, Claimed>(
            "WITH busy AS (
                SELECT endpoint_id, count(*) AS n FROM webhook_deliveries
                WHERE status = 'pending' AND leased_until > now() GROUP BY endpoint_id
             ), due AS (
                SELECT d.message_id, d.endpoint_id,
                       row_number() OVER (PARTITION BY d.endpoint_id
                                          ORDER BY d.next_attempt_at, d.message_id)
                         + coalesce(b.n, 0) AS place
                FROM webhook_deliveries d
                JOIN webhook_endpoints e ON e.id = d.endpoint_id AND e.enabled
                LEFT JOIN busy b ON b.endpoint_id = d.endpoint_id
                WHERE d.status = 'pending' AND d.next_attempt_at <= now()
                  AND (d.leased_until IS NULL OR d.leased_until <= now())
             )
             UPDATE webhook_deliveries d SET leased_until = now() + $1, lease = gen_random_uuid()
             FROM (SELECT message_id, endpoint_id FROM due WHERE place <= $2
                   ORDER BY place LIMIT $3) c, webhook_messages m, webhook_endpoints e
             WHERE d.message_id = c.message_id AND d.endpoint_id = c.endpoint_id
               AND m.id = d.message_id AND e.id = d.endpoint_id
               AND d.status = 'pending' AND (d.leased_until IS NULL OR d.leased_until <= now())
             RETURNING d.message_id, d.endpoint_id, d.lease, d.attempts, m.body, e.url, e.secret,
                       CASE WHEN e.previous_until > now() THEN e.previous_secret END AS previous",
        )
        .bind(chrono::Duration::from_std(TIMEOUT * 3).unwrap_or_default())
        .bind(PER_ENDPOINT)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Sends one delivery and records the attempt.
    async fn deliver(&self, c: Claimed) -> Result<()> {
        let started = Instant::now();
        let outcome = self.post(&c).await;
        let took = started.elapsed();
        self.record(&c, &outcome, took).await
    }

    async fn post(&self, c: &Claimed) -> Outcome {
        // Checked again: the policy may be stricter than when it was saved.
        let url = self.targets.check_url(&c.url).map_err(|e| e.to_string())?;
        let id = message_header_id(c.message_id);
        let timestamp = Utc::now().timestamp();
        let mut secrets = vec![c.secret.as_str()];
        secrets.extend(c.previous.as_deref());
        let signature =
            signing::header(&secrets, &id, timestamp, &c.body).map_err(|e| e.to_string())?;
        let mut response = self
            .client
            .post(url)
            .header("webhook-id", &id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(c.body.clone())
            .send()
            .await
            .map_err(describe)?;
        let code = response.status().as_u16();
        let mut first = Vec::new();
        while first.len() < RESPONSE_BYTES {
            match response.chunk().await {
                Ok(Some(bytes)) => first.extend_from_slice(&bytes),
                Ok(None) | Err(_) => break,
            }
        }
        first.truncate(RESPONSE_BYTES);
        Ok((code, String::from_utf8_lossy(&first).into_owned()))
    }

    /// Logs the attempt and moves the delivery on: delivered, due again
    /// later, or failed after the last attempt. An endpoint failing for
    /// [`DISABLE_AFTER`] is turned off.
    async fn record(&self, c: &Claimed, outcome: &Outcome, took: Duration) -> Result<()> {
        let ok = matches!(outcome, Ok((200..=299, _)));
        let attempt = c.attempts + 1;
        let next = if ok {
            None
        } else {
            delay_after(attempt as usize, self.scale, rand::thread_rng().gen())
        };
        let status = match (ok, next) {
            (true, _) => DeliveryStatus::Delivered,
            (false, Some(_)) => DeliveryStatus::Pending,
            (false, None) => DeliveryStatus::Failed,
        };
        let (code, response) = match outcome {
            Ok((code, text)) => (Some(i32::from(*code)), text.clone()),
            Err(why) => (None, why.clone()),
        };
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO webhook_attempts (message_id, endpoint_id, attempt, code, response, duration_ms)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(c.message_id)
        .bind(c.endpoint_id)
        .bind(attempt)
        .bind(code)
        .bind(response.replace('\0', ""))
        .bind(i32::try_from(took.as_millis()).unwrap_or(i32::MAX))
        .execute(&mut *tx)
        .await?;
        // Under its own lease only: a resend or replay meanwhile started the
        // delivery anew, and that one stands.
        sqlx::query(
            "UPDATE webhook_deliveries
             SET status = $3, attempts = $4, leased_until = NULL, lease = NULL,
                 updated_at = now(), next_attempt_at = now() + $5
             WHERE message_id = $1 AND endpoint_id = $2 AND lease = $6",
        )
        .bind(c.message_id)
        .bind(c.endpoint_id)
        .bind(status)
        .bind(attempt)
        // PostgreSQL's intervals hold microseconds.
        .bind(chrono::Duration::microseconds(
            i64::try_from(next.unwrap_or_default().as_micros()).unwrap_or(i64::MAX),
        ))
        .bind(c.lease)
        .execute(&mut *tx)
        .await?;
        if ok {
            sqlx::query(
                "UPDATE webhook_endpoints SET failing_since = NULL
                 WHERE id = $1 AND failing_since IS NOT NULL",
            )
            .bind(c.endpoint_id)
            .execute(&mut *tx)
            .await?;
        } else {
            // Only the failure that finds it on and failing for too long
            // turns it off (and tells the owners once); one its owner
            // turned off keeps their reason.
            let turned_off: Option<bool> = sqlx::query_scalar(
                "WITH old AS (
                    SELECT enabled, coalesce(failing_since, now()) <= now() - $2 AS too_long
                    FROM webhook_endpoints WHERE id = $1 FOR UPDATE
                 )
                 UPDATE webhook_endpoints e
                 SET failing_since = coalesce(e.failing_since, now()),
                     enabled = e.enabled AND NOT old.too_long,
                     disabled_reason = CASE WHEN old.enabled AND old.too_long THEN $3
                                            ELSE e.disabled_reason END
                 FROM old WHERE e.id = $1
                 RETURNING old.enabled AND old.too_long",
            )
            .bind(c.endpoint_id)
            .bind(DISABLE_AFTER)
            .bind(DISABLED_REASON)
            .fetch_optional(&mut *tx)
            .await?;
            if turned_off == Some(true) {
                tracing::warn!(endpoint = %c.endpoint_id, "webhook endpoint failing for five days: turned off");
                crate::jobs::enqueue(
                    &mut tx,
                    &crate::jobs::WebhookDisabledEmail {
                        endpoint_id: c.endpoint_id,
                    },
                )
                .await?;
            }
        }
        tx.commit().await?;
        match status {
            DeliveryStatus::Failed => {
                tracing::warn!(message = %c.message_id, endpoint = %c.endpoint_id, "webhook delivery failed after its last attempt")
            }
            DeliveryStatus::Pending => {
                tracing::debug!(message = %c.message_id, endpoint = %c.endpoint_id, attempt, "webhook attempt failed; will retry")
            }
            DeliveryStatus::Delivered => {}
        }
        Ok(())
    }
}

/// Why a request got no response, without the URL (it is in the log beside).
fn describe(e: reqwest::Error) -> String {
    if e.is_timeout() {
        format!("no answer within {} s", TIMEOUT.as_secs())
    } else if e.is_connect() {
        let mut why = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            why = s.to_string();
            source = s.source();
        }
        format!("could not connect: {why}")
    } else {
        e.without_url().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_follow_the_schedule_then_stop() {
        assert_eq!(delay_after(1, 1.0, 0.5), Some(Duration::from_secs(5)));
        assert_eq!(delay_after(2, 1.0, 0.5), Some(Duration::from_secs(300)));
        assert_eq!(delay_after(7, 1.0, 0.5), Some(Duration::from_secs(36_000)));
        assert_eq!(delay_after(8, 1.0, 0.5), None);
        // Jitter stays within ±20 %; the scale shortens it all.
        assert_eq!(delay_after(1, 1.0, 0.0), Some(Duration::from_secs(4)));
        assert!(delay_after(1, 1.0, 0.999).unwrap() < Duration::from_secs(6));
        assert_eq!(delay_after(2, 0.01, 0.5), Some(Duration::from_secs(3)));
    }
}
