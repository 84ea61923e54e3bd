//! How many emails one address receives (owner of `email_log`). Some emails
//! can be caused by anyone who knows an address (a registration, a waiting
//! list, a sign-in link): without a cap, the platform could be made to flood
//! someone's inbox. Every email counts against its recipient's hourly budget
//! ([`PER_RECIPIENT_PER_HOUR`]) and, for the kinds anyone can cause, a
//! smaller one of its own kind. Over budget, the email is dropped (logged):
//! the job is done, nothing is retried.

use lettre::Message;
use sqlx::PgPool;

use super::mailer::Mailer;
use crate::jobs::JobError;

/// Emails one address may receive per hour, all kinds together.
pub const PER_RECIPIENT_PER_HOUR: i64 = 20;

/// The kinds of email, each with its own hourly cap per recipient when
/// anyone can cause it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Where an order stands (caused by the buyer or the organiser).
    Order,
    /// A team invitation (caused by an organiser).
    TeamInvite,
    /// A waiting-list offer (caused by a freed seat).
    WaitlistOffer,
    /// A new sign-in link (caused by anyone registering the address again).
    SignInLink,
    /// A place in a waiting list (caused by anyone joining with the address).
    WaitlistPlace,
    /// A password reset link (caused by anyone asking for the address).
    PasswordReset,
    /// A webhook endpoint turned off (caused by its receiver failing).
    WebhookDisabled,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Order => "order",
            Kind::TeamInvite => "team_invite",
            Kind::WaitlistOffer => "waitlist_offer",
            Kind::SignInLink => "sign_in_link",
            Kind::WaitlistPlace => "waitlist_place",
            Kind::PasswordReset => "password_reset",
            Kind::WebhookDisabled => "webhook_disabled",
        }
    }

    /// The kind's own cap per recipient per hour, if any.
    fn per_hour(self) -> Option<i64> {
        match self {
            Kind::SignInLink | Kind::WaitlistPlace | Kind::PasswordReset => Some(3),
            Kind::TeamInvite => Some(5),
            Kind::Order | Kind::WaitlistOffer | Kind::WebhookDisabled => None,
        }
    }
}

/// Whether counts of the last hour (`all` kinds, this `kind`) leave room for one more.
fn within(kind: Kind, all: i64, of_kind: i64) -> bool {
    all < PER_RECIPIENT_PER_HOUR && kind.per_hour().is_none_or(|cap| of_kind < cap)
}

/// Sends `message` if its recipient has budget left; otherwise drops it.
pub async fn send(
    pool: &PgPool,
    mailer: &Mailer,
    kind: Kind,
    message: Message,
) -> Result<(), JobError> {
    let Some(recipient) = message.envelope().to().first().map(ToString::to_string) else {
        return Err(JobError::Permanent("email without a recipient".into()));
    };
    let Some(entry) = take(pool, kind, &recipient).await? else {
        tracing::warn!(
            kind = kind.name(),
            "recipient over its email budget; email dropped"
        );
        return Ok(());
    };
    let sent = mailer.send(message).await;
    if sent.is_err() {
        // Not received: it does not count (the retry will).
        sqlx::query("DELETE FROM email_log WHERE id = $1")
            .bind(entry)
            .execute(pool)
            .await
            .map_err(|e| JobError::Transient(format!("email log: {e}")))?;
    }
    sent
}

/// Counts one email to `recipient` if the budget allows; returns its entry.
async fn take(pool: &PgPool, kind: Kind, recipient: &str) -> Result<Option<i64>, JobError> {
    let db = |e: sqlx::Error| JobError::Transient(format!("email log: {e}"));
    let mut tx = pool.begin().await.map_err(db)?;
    // One count at a time per address (several workers may run).
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended(lower($1), 2))")
        .bind(recipient)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
    let (all, of_kind): (i64, i64) = sqlx::query_as(
        "SELECT count(*), count(*) FILTER (WHERE kind = $2) FROM email_log
         WHERE recipient = $1::citext AND sent_at > now() - interval '1 hour'",
    )
    .bind(recipient)
    .bind(kind.name())
    .fetch_one(&mut *tx)
    .await
    .map_err(db)?;
    if !within(kind, all, of_kind) {
        return Ok(None);
    }
    let id: i64 =
        sqlx::query_scalar("INSERT INTO email_log (recipient, kind) VALUES ($1, $2) RETURNING id")
            .bind(recipient)
            .bind(kind.name())
            .fetch_one(&mut *tx)
            .await
            .map_err(db)?;
    tx.commit().await.map_err(db)?;
    Ok(Some(id))
}

/// Deletes entries older than a day; returns how many.
pub async fn purge(pool: &PgPool) -> crate::Result<u64> {
    Ok(
        sqlx::query("DELETE FROM email_log WHERE sent_at < now() - interval '1 day'")
            .execute(pool)
            .await?
            .rows_affected(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_anyone_can_cause_have_a_smaller_budget() {
        assert!(within(Kind::SignInLink, 0, 0));
        assert!(within(Kind::SignInLink, 5, 2));
        assert!(!within(Kind::SignInLink, 5, 3));
        assert!(within(Kind::Order, 19, 19));
        assert!(!within(Kind::Order, 20, 0));
        assert!(!within(Kind::WaitlistOffer, PER_RECIPIENT_PER_HOUR, 0));
    }
}
