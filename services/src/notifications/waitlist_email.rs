//! The waiting-list emails: the place in line of someone who asked to join,
//! and the offer of a seat held for them, with the link that buys it.

use lettre::message::SinglePart;
use lettre::Message;
use sqlx::PgPool;

use super::budget;
use super::mailer::{mailbox, Mailer};
use crate::events;
use crate::jobs::{JobError, WaitlistJoinedEmail, WaitlistOfferEmail};
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
    budget::send(pool, mailer, budget::Kind::WaitlistOffer, message).await
}

/// Job handler: tells someone who asked to join a waiting list their place
/// in line (nothing when the entry no longer waits).
pub async fn send_place(
    pool: &PgPool,
    mailer: &Mailer,
    public_url: &str,
    job: WaitlistJoinedEmail,
) -> Result<(), JobError> {
    let Some(place) = waitlist::place(pool, job.entry_id).await? else {
        return Ok(());
    };
    let event = events::get(pool, place.event_id).await?;
    let text = format!(
        "Hello {},\n\nyou are number {} in line for \"{}\" at {}.\n\
         When a seat frees up it is held for you for 24 hours and we email you a link to buy it.\n\
         The event: {}/e/{}\n",
        place.name,
        place.position,
        place.ticket_type,
        event.name,
        public_url.trim_end_matches('/'),
        event.slug,
    );
    let message = Message::builder()
        .from(mailer.from().clone())
        .to(mailbox(&place.name, &place.email)?)
        .subject(format!("You are on the waiting list for {}", event.name))
        .singlepart(SinglePart::plain(text))
        .map_err(|e| JobError::Permanent(format!("email: {e}")))?;
    budget::send(pool, mailer, budget::Kind::WaitlistPlace, message).await
}
