//! The password reset email: a single-use link, valid for an hour, that sets
//! a new password for the organiser's account.

use lettre::message::SinglePart;
use lettre::Message;
use sqlx::PgPool;

use super::budget;
use super::mailer::{mailbox, Mailer};
use crate::accounts::{organisers, resets};
use crate::jobs::{JobError, PasswordResetEmail};

/// Job handler: emails the organiser a new password reset link.
pub async fn send(
    pool: &PgPool,
    mailer: &Mailer,
    public_url: &str,
    job: PasswordResetEmail,
) -> Result<(), JobError> {
    let organiser = organisers::get(pool, job.organiser_id).await?;
    let token = resets::issue(pool, organiser.id).await?;
    let text = format!(
        "Hello {},\n\nsomeone (probably you) asked to reset the password of your Convene account.\n\
         Set a new password here (the link works once, for one hour):\n\
         {}/reset-password?token={token}\n\n\
         If this was not you, ignore this email: your password stays as it is.\n",
        organiser.name,
        public_url.trim_end_matches('/'),
    );
    let message = Message::builder()
        .from(mailer.from().clone())
        .to(mailbox(&organiser.name, &organiser.email)?)
        .subject("Reset your Convene password")
        .singlepart(SinglePart::plain(text))
        .map_err(|e| JobError::Permanent(format!("email: {e}")))?;
    budget::send(pool, mailer, budget::Kind::PasswordReset, message).await
}
