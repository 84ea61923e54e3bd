//! The sign-in link email: sent when someone registers again with an address
//! already registered for the event. Opening it verifies the address.

use lettre::message::SinglePart;
use lettre::Message;
use sqlx::PgPool;

use super::budget;
use super::mailer::{mailbox, Mailer};
use crate::events;
use crate::jobs::{JobError, SignInLinkEmail};
use crate::registrations::attendees::{self, Delivery};

/// Job handler: emails the attendee a new single-use sign-in link.
pub async fn send(
    pool: &PgPool,
    mailer: &Mailer,
    public_url: &str,
    job: SignInLinkEmail,
) -> Result<(), JobError> {
    let attendee = attendees::get(pool, job.attendee_id).await?;
    let event = events::get(pool, attendee.event_id).await?;
    let token = attendees::new_sign_in_link(pool, attendee.id, Delivery::ByEmail).await?;
    let text = format!(
        "Hello {},\n\nsomeone (probably you) asked to register {} for {}, which is already registered.\n\
         No second order was made. Enter the event with your personal sign-in link (single use, valid 48 hours):\n\
         {}/e/{}/join?token={token}\n\n\
         If this was not you, you can ignore this email: nobody else got this link.\n",
        attendee.name,
        attendee.email,
        event.name,
        public_url.trim_end_matches('/'),
        event.slug,
    );
    let message = Message::builder()
        .from(mailer.from().clone())
        .to(mailbox(&attendee.name, &attendee.email)?)
        .subject(format!("Your sign-in link for {}", event.name))
        .singlepart(SinglePart::plain(text))
        .map_err(|e| JobError::Permanent(format!("email: {e}")))?;
    budget::send(pool, mailer, budget::Kind::SignInLink, message).await
}
