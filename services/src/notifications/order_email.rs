//! The order status email: confirmed (QR tickets attached, with a fresh
//! sign-in link), awaiting approval, approved and waiting for payment (with
//! the payment link), or cancelled/refunded.

use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::Message;
use protocol::ids::OrderId;
use protocol::states::OrderStatus;
use sqlx::PgPool;

use super::budget;
use super::mailer::{mailbox, Mailer};
use crate::domain::format_money;
use crate::events;
use crate::jobs::{JobError, OrderEmail};
use crate::registrations::{attendees, orders};

/// Builds the email telling the buyer where order `order_id` stands.
pub async fn compose(
    pool: &PgPool,
    from: &Mailbox,
    public_url: &str,
    order_id: OrderId,
) -> Result<Message, JobError> {
    let o = orders::for_email(pool, order_id).await?;
    let event = events::get(pool, o.order.event_id).await?;
    let (code, name, slug, event) = (&o.order.code, &o.name, &event.slug, &event.name);
    let base = public_url.trim_end_matches('/');
    let total = format_money(o.order.total_minor, &o.order.currency);
    let mut attachments = Vec::new();
    let (subject, text) = match o.order.status {
        OrderStatus::Confirmed => {
            for t in &o.tickets {
                let svg = orders::qr_svg(t)?;
                attachments.push(Attachment::new(format!("ticket-{t}.svg")).body(
                    svg.into_bytes(),
                    ContentType::parse("image/svg+xml").expect("valid content type"),
                ));
            }
            let token = attendees::new_sign_in_link(
                pool,
                o.order.attendee_id,
                attendees::Delivery::ByEmail,
            )
            .await?;
            (
                format!("Your tickets for {event} (order {code})"),
                format!(
                    "Hello {name},\n\nyour order {code} for {event} is confirmed ({total}).\n\
                     Your tickets are attached as QR codes; show one at the entrance.\n\n\
                     Enter the event online with your personal sign-in link (single use, valid 48 hours):\n\
                     {base}/e/{slug}/join?token={token}\n"
                ),
            )
        }
        OrderStatus::AwaitingApproval => (
            format!("Your order for {event} awaits approval (order {code})"),
            format!(
                "Hello {name},\n\nwe received your order {code} for {event} ({total}). \
                 The organiser reviews every order for this ticket; you will hear from us soon.\n"
            ),
        ),
        OrderStatus::Pending => (
            format!("Your order for {event} is approved: complete payment (order {code})"),
            format!(
                "Hello {name},\n\nyour order {code} for {event} is approved. \
                 Complete the payment of {total} within 30 minutes to get your tickets:\n\
                 {base}/e/{slug}/pay/{code}\n"
            ),
        ),
        OrderStatus::Cancelled | OrderStatus::Refunded => (
            format!("Your order for {event} is cancelled (order {code})"),
            format!(
                "Hello {name},\n\nyour order {code} for {event} has been cancelled and its tickets \
                 are no longer valid. Anything you paid ({total}) is refunded to your card.\n"
            ),
        ),
    };
    let mut parts = MultiPart::mixed().singlepart(SinglePart::plain(text));
    for a in attachments {
        parts = parts.singlepart(a);
    }
    Message::builder()
        .from(from.clone())
        .to(mailbox(name, &o.email)?)
        .subject(subject)
        .multipart(parts)
        .map_err(|e| JobError::Permanent(format!("email: {e}")))
}

/// Job handler: sends one order status email.
pub async fn send(
    pool: &PgPool,
    mailer: &Mailer,
    public_url: &str,
    job: OrderEmail,
) -> Result<(), JobError> {
    let message = compose(pool, mailer.from(), public_url, job.order_id).await?;
    budget::send(pool, mailer, budget::Kind::Order, message).await
}
