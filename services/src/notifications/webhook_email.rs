//! The email to an organisation's owners when the platform turned one of
//! their webhook endpoints off.

use lettre::message::SinglePart;
use lettre::Message;
use protocol::states::OrganiserRole;
use sqlx::PgPool;

use super::budget;
use super::mailer::{mailbox, Mailer};
use crate::accounts::organisers;
use crate::jobs::{JobError, WebhookDisabledEmail};
use crate::webhooks;

/// Job handler: emails each owner (nothing when the endpoint is on again or
/// was removed meanwhile).
pub async fn send(
    pool: &PgPool,
    mailer: &Mailer,
    public_url: &str,
    job: WebhookDisabledEmail,
) -> Result<(), JobError> {
    let Some(off) = webhooks::turned_off(pool, job.endpoint_id).await? else {
        return Ok(());
    };
    for owner in organisers::of_org(pool, off.org_id)
        .await?
        .into_iter()
        .filter(|o| o.role == OrganiserRole::Owner)
    {
        let text = format!(
            "Hello {},\n\nevery delivery to your webhook endpoint\n{}\nhas failed for five days, \
             so we turned it off. Messages for it are kept: once the receiver works again, \
             turn the endpoint on in an event's Webhooks section, and what failed or \
             waited since it began failing is sent again.\n\n\
             {}/dashboard\n",
            owner.name,
            off.url,
            public_url.trim_end_matches('/'),
        );
        let message = Message::builder()
            .from(mailer.from().clone())
            .to(mailbox(&owner.name, &owner.email)?)
            .subject("A webhook endpoint was turned off")
            .singlepart(SinglePart::plain(text))
            .map_err(|e| JobError::Permanent(format!("email: {e}")))?;
        budget::send(pool, mailer, budget::Kind::WebhookDisabled, message).await?;
    }
    Ok(())
}
