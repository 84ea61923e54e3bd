//! The team invitation email, with the link that accepts it.

use lettre::message::SinglePart;
use lettre::Message;
use sqlx::PgPool;

use super::budget;
use super::mailer::Mailer;
use crate::jobs::{JobError, TeamInviteEmail};
use crate::team;

/// Job handler: emails a team invitation (nothing when it was accepted,
/// revoked or expired meanwhile).
pub async fn send(
    pool: &PgPool,
    mailer: &Mailer,
    public_url: &str,
    job: TeamInviteEmail,
) -> Result<(), JobError> {
    let Some(invite) = team::issue_invite_token(pool, job.invite_id).await? else {
        return Ok(());
    };
    let who = invite.invited_by.as_deref().unwrap_or("A colleague");
    let text = format!(
        "Hello,\n\n{who} invites you to organise events with {} on Convene.\n\
         Accept within 7 days and choose your password here:\n{}/team/join?token={}\n",
        invite.org_name,
        public_url.trim_end_matches('/'),
        invite.token
    );
    let to = invite
        .email
        .parse()
        .map_err(|e| JobError::Permanent(format!("recipient address: {e}")))?;
    let message = Message::builder()
        .from(mailer.from().clone())
        .to(to)
        .subject(format!("Join {} on Convene", invite.org_name))
        .singlepart(SinglePart::plain(text))
        .map_err(|e| JobError::Permanent(format!("email: {e}")))?;
    budget::send(pool, mailer, budget::Kind::TeamInvite, message).await
}
