//! The waiting-list offer email: a seat is held for the person, with the link
//! that buys it.

use lettre::message::SinglePart;
use lettre::Message;
use sqlx::PgPool;

use super::mailer::{mailbox, Mailer};
use crate::events;
use crate::jobs::{JobError, WaitlistOfferEmail};
use crate::registrations::waitlist;

/// Job handler: emails a waiting-list offer with its buy link (nothing when the
/// offer was taken or expired meanwhile).
pub async fn send(
    pool: &PgPool,
    mailer: &Mailer,
    public_url: &str,
    job: WaitlistOfferEmail,
) -> Result<(), JobError> {
    let Some(offer) = waitlist::issue_offer_token(pool, job.entry_id).await? else {
        return Ok(());
    };
    let event = events::get(pool, offer.event_id).await?;
    let link = format!(
        "{}/e/{}?offer={}&ticket={}",
        public_url.trim_end_matches('/'),
        event.slug,
        offer.token,
        offer.ticket_type_id
    );
    let text = format!(
        "Hello {},\n\na seat for {} has freed up and is held for you until {} UTC.\n\
         Get your ticket here:\n{link}\n",
        offer.name,
        event.name,
        offer.offer_expires_at.format("%Y-%m-%d %H:%M")
    );
    let message = Message::builder()
        .from(mailer.from().clone())
        .to(mailbox(&offer.name, &offer.email)?)
        .subject(format!("A seat for {} is waiting for you", event.name))
        .singlepart(SinglePart::plain(text))
        .map_err(|e| JobError::Permanent(format!("email: {e}")))?;
    mailer.send(message).await
}
