//! The jobs worker: the one exhaustive dispatcher from a job's kind to its
//! handler, the loop that runs due jobs, and the periodic housekeeping
//! (expired waiting-list offers, unpaid orders, payments and refunds whose
//! provider answer was lost, plans whose period ended).

use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use tokio::sync::watch;

use crate::accounts;
use crate::assets::{self, Store, Tools};
use crate::billing::purchases;
use crate::jobs::{
    self, AssetRenditions, AssetThumbnail, Claimed, Job, JobError, OrderEmail, PasswordResetEmail,
    SignInLinkEmail, TeamInviteEmail, WaitlistJoinedEmail, WaitlistOfferEmail,
    WebhookDisabledEmail,
};
use crate::notifications::{
    budget, invite_email, order_email, password_reset_email, sign_in_email, waitlist_email,
    webhook_email, Mailer,
};
use crate::payments::PaymentProvider;
use crate::registrations::{attendees, lifecycle, orders, payment, waitlist};
use crate::Result;

/// Days relayed outbox messages and finished jobs are kept (for inspection
/// and for consumers that were down) before the purge deletes them.
pub const RETENTION_DAYS: i64 = 7;

/// What handlers need.
#[derive(Clone)]
pub struct Worker {
    /// PostgreSQL.
    pub pool: PgPool,
    /// The SMTP relay; without one, emails are logged as skipped.
    pub mailer: Option<Mailer>,
    /// Base of the links in emails.
    pub public_url: String,
    /// The payment provider, asked what became of payments whose answer was lost.
    pub payments: Arc<dyn PaymentProvider>,
    /// Where media assets live and the tools that transform them; a worker
    /// without them leaves media jobs to one that has them.
    pub media: Option<MediaWork>,
}

/// What media jobs need.
#[derive(Clone)]
pub struct MediaWork {
    /// The assets' object store.
    pub store: Store,
    /// ffprobe and ffmpeg.
    pub tools: Arc<dyn Tools>,
}

/// Which jobs a loop of the worker runs. Media transforms take minutes:
/// they have a loop of their own, so an email never waits behind one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lane {
    /// Emails and the like.
    Quick,
    /// Media transforms.
    Media,
}

impl Lane {
    /// The kinds of job it runs.
    pub fn kinds(self) -> Vec<&'static str> {
        let media = [AssetRenditions::KIND, AssetThumbnail::KIND];
        AnyJob::KINDS
            .iter()
            .copied()
            .filter(|k| media.contains(k) == (self == Lane::Media))
            .collect()
    }
}

/// How long a payment or refund may wait for its provider's answer before
/// the reconciliation asks the provider (longer than a provider call may take).
pub const RECONCILE_AFTER: chrono::Duration = chrono::Duration::minutes(2);

/// Declares every kind of job: the [`AnyJob`] enum, parsed from a claimed row.
macro_rules! any_job {
    ($($variant:ident),+ $(,)?) => {
        /// A claimed job, parsed into its type.
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub enum AnyJob {
            $(
                #[doc = concat!("A [`jobs::", stringify!($variant), "`].")]
                $variant($variant),
            )+
        }

        impl AnyJob {
            /// Every kind the dispatcher knows.
            pub const KINDS: &'static [&'static str] = &[$(<$variant as Job>::KIND),+];

            /// Parses a claimed row; an unknown kind or a bad payload is permanent.
            pub fn parse(job: &Claimed) -> Result<Self, JobError> {
                $(
                    if job.kind == <$variant as Job>::KIND {
                        return job.parse::<$variant>().map(AnyJob::$variant);
                    }
                )+
                Err(JobError::Permanent(format!("unknown job kind '{}'", job.kind)))
            }
        }
    };
}

any_job!(
    OrderEmail,
    WaitlistOfferEmail,
    TeamInviteEmail,
    SignInLinkEmail,
    WaitlistJoinedEmail,
    PasswordResetEmail,
    AssetRenditions,
    AssetThumbnail,
    WebhookDisabledEmail
);

impl Worker {
    /// Runs one job.
    pub async fn handle(&self, job: AnyJob) -> Result<(), JobError> {
        match (&job, &self.media) {
            (AnyJob::AssetRenditions(j), Some(m)) => {
                return assets::transform::renditions(
                    &self.pool,
                    &m.store,
                    m.tools.as_ref(),
                    j.asset_id,
                )
                .await
            }
            (AnyJob::AssetThumbnail(j), Some(m)) => {
                return assets::transform::thumbnail(
                    &self.pool,
                    &m.store,
                    m.tools.as_ref(),
                    j.asset_id,
                )
                .await
            }
            (AnyJob::AssetRenditions(_) | AnyJob::AssetThumbnail(_), None) => {
                return Err(JobError::Transient(
                    "this worker has no media store or tools".into(),
                ))
            }
            _ => {}
        }
        let Some(mailer) = &self.mailer else {
            tracing::info!(?job, "no SMTP relay configured; email skipped");
            return Ok(());
        };
        let (pool, url) = (&self.pool, self.public_url.as_str());
        match job {
            AnyJob::OrderEmail(j) => order_email::send(pool, mailer, url, j).await,
            AnyJob::WaitlistOfferEmail(j) => waitlist_email::send(pool, mailer, url, j).await,
            AnyJob::TeamInviteEmail(j) => invite_email::send(pool, mailer, url, j).await,
            AnyJob::SignInLinkEmail(j) => sign_in_email::send(pool, mailer, url, j).await,
            AnyJob::PasswordResetEmail(j) => password_reset_email::send(pool, mailer, url, j).await,
            AnyJob::WaitlistJoinedEmail(j) => {
                waitlist_email::send_place(pool, mailer, url, j).await
            }
            AnyJob::WebhookDisabledEmail(j) => webhook_email::send(pool, mailer, url, j).await,
            AnyJob::AssetRenditions(_) | AnyJob::AssetThumbnail(_) => {
                unreachable!("media jobs are handled above")
            }
        }
    }

    /// Runs one due job of any kind; returns whether there was one.
    pub async fn run_one(&self) -> Result<bool> {
        Ok(self.run_one_of(Lane::Quick).await? || self.run_one_of(Lane::Media).await?)
    }

    /// Runs one due job of `lane`; returns whether there was one.
    pub async fn run_one_of(&self, lane: Lane) -> Result<bool> {
        jobs::run_once(&self.pool, &lane.kinds(), |claimed| async move {
            self.handle(AnyJob::parse(&claimed)?).await
        })
        .await
    }

    /// Runs every due job now, one after another; returns how many ran.
    pub async fn drain(&self) -> Result<usize> {
        let mut n = 0;
        while self.run_one().await? {
            n += 1;
        }
        Ok(n)
    }

    /// Runs media jobs until `shutdown` flips, polling every `poll` when idle.
    async fn run_media(&self, poll: Duration, mut shutdown: watch::Receiver<bool>) {
        while !*shutdown.borrow() {
            match self.run_one_of(Lane::Media).await {
                Ok(true) => continue,
                Ok(false) => {}
                Err(e) => tracing::warn!(error = %e, "job queue unavailable"),
            }
            tokio::select! {
                _ = tokio::time::sleep(poll) => {}
                _ = shutdown.changed() => {}
            }
        }
    }

    /// The periodic housekeeping: expired offers pass their seat on, unpaid
    /// and unapproved orders release theirs, payments and refunds whose
    /// answer was lost are reconciled, plans whose period ended lapse. Each
    /// chore runs even when another fails.
    pub async fn housekeeping(&self) {
        let provider = self.payments.as_ref();
        if let Err(e) = payment::reconcile(&self.pool, provider, RECONCILE_AFTER).await {
            tracing::warn!(error = %e, "reconciling order payments failed");
        }
        if let Err(e) = purchases::reconcile(&self.pool, provider, RECONCILE_AFTER).await {
            tracing::warn!(error = %e, "reconciling plan purchases failed");
        }
        if let Err(e) = purchases::lapse(&self.pool).await {
            tracing::warn!(error = %e, "lapsing ended plans failed");
        }
        if let Err(e) = waitlist::expire_offers(&self.pool).await {
            tracing::warn!(error = %e, "expiring waiting-list offers failed");
        }
        let ttl = orders::PENDING_ORDER_TTL_MINUTES;
        if let Err(e) = lifecycle::expire_pending(&self.pool, ttl).await {
            tracing::warn!(error = %e, "expiring unpaid orders failed");
        }
        let ttl = orders::APPROVAL_TTL_DAYS;
        if let Err(e) = lifecycle::expire_unapproved(&self.pool, ttl).await {
            tracing::warn!(error = %e, "expiring unapproved orders failed");
        }
    }

    /// Deletes what nobody needs any more: ended sessions, spent sign-in
    /// links, relayed messages every consumer has passed and finished jobs
    /// (the last two after [`RETENTION_DAYS`]). Each purge runs even when
    /// another fails.
    pub async fn purge(&self) {
        let keep = chrono::Duration::days(RETENTION_DAYS);
        let results = [
            ("sessions", accounts::sessions::purge(&self.pool).await),
            ("sign-in links", attendees::purge_links(&self.pool).await),
            (
                "outbox messages",
                bus::outbox::purge(&self.pool, keep.num_seconds())
                    .await
                    .map_err(Into::into),
            ),
            ("jobs", jobs::purge(&self.pool, keep).await),
            ("email log", budget::purge(&self.pool).await),
            ("webhook messages", crate::webhooks::purge(&self.pool).await),
        ];
        for (what, result) in results {
            match result {
                Ok(0) => {}
                Ok(n) => tracing::info!(n, what, "purged"),
                Err(e) => tracing::warn!(error = %e, what, "purging failed"),
            }
        }
    }

    /// Runs jobs until `shutdown` flips (polling every `poll` when idle), the
    /// housekeeping every 5 s and the purge every 10 minutes, however busy
    /// the queue is; media jobs in a loop of their own (with a store and
    /// tools).
    pub async fn run(&self, poll: Duration, shutdown: watch::Receiver<bool>) -> Result<()> {
        let media = async {
            if self.media.is_some() {
                self.run_media(poll, shutdown.clone()).await;
            }
        };
        let (quick, ()) = tokio::join!(self.run_quick(poll, shutdown.clone()), media);
        quick
    }

    async fn run_quick(&self, poll: Duration, mut shutdown: watch::Receiver<bool>) -> Result<()> {
        const CHORES_EVERY: Duration = Duration::from_secs(5);
        const PURGE_EVERY: Duration = Duration::from_secs(600);
        let mut chores_due = tokio::time::Instant::now();
        let mut purge_due = tokio::time::Instant::now();
        loop {
            if *shutdown.borrow() {
                return Ok(());
            }
            // Checked between jobs (a job is never interrupted), so a queue
            // that never empties does not starve the chores.
            if tokio::time::Instant::now() >= chores_due {
                self.housekeeping().await;
                chores_due = tokio::time::Instant::now() + CHORES_EVERY;
            }
            if tokio::time::Instant::now() >= purge_due {
                self.purge().await;
                purge_due = tokio::time::Instant::now() + PURGE_EVERY;
            }
            match self.run_one_of(Lane::Quick).await {
                Ok(true) => continue,
                Ok(false) => {}
                Err(e) => tracing::warn!(error = %e, "job queue unavailable"),
            }
            tokio::select! {
                _ = tokio::time::sleep_until(chores_due) => {}
                _ = tokio::time::sleep(poll) => {}
                _ = shutdown.changed() => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_jobs_have_a_lane_of_their_own() {
        let (quick, media) = (Lane::Quick.kinds(), Lane::Media.kinds());
        assert_eq!(media, [AssetRenditions::KIND, AssetThumbnail::KIND]);
        assert!(quick.contains(&OrderEmail::KIND));
        assert_eq!(quick.len() + media.len(), AnyJob::KINDS.len());
        assert!(quick.iter().all(|k| !media.contains(k)));
    }

    #[test]
    fn every_kind_is_dispatched_and_unknown_ones_fail_for_good() {
        let claimed = |kind: &str| Claimed {
            id: 1,
            kind: kind.into(),
            payload: serde_json::json!({}),
            attempts: 0,
        };
        let mut kinds = AnyJob::KINDS.to_vec();
        kinds.sort();
        kinds.dedup();
        assert_eq!(kinds.len(), AnyJob::KINDS.len(), "kinds are distinct");
        assert!(matches!(
            AnyJob::parse(&claimed("nope")),
            Err(JobError::Permanent(m)) if m.contains("unknown job kind")
        ));
        // A known kind with an empty payload is a bad payload, not an unknown kind.
        for kind in AnyJob::KINDS {
            assert!(matches!(
                AnyJob::parse(&claimed(kind)),
                Err(JobError::Permanent(m)) if !m.contains("unknown")
            ));
        }
    }
}
