//! Transactional email over SMTP (lettre): the order confirmation with the QR
//! tickets and the attendee's sign-in link. Sent by the `jobs` worker.

use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use sqlx::PgPool;
use uuid::Uuid;

use crate::registrations::qr_svg;
use crate::{Error, Result};

/// An SMTP relay and the sender address.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Mailer {
    /// A mailer for a relay at `host:port` (plain SMTP, e.g. a local relay or test sink).
    pub fn new(host: &str, port: u16, from: &str) -> Result<Self> {
        let from: Mailbox = from
            .parse()
            .map_err(|e| Error::Internal(format!("smtp from address: {e}")))?;
        let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
            .port(port)
            .build();
        Ok(Mailer { transport, from })
    }

    /// Sends a message.
    pub async fn send(&self, message: Message) -> std::result::Result<(), String> {
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| format!("smtp: {e}"))
    }

    /// The sender.
    pub fn from(&self) -> &Mailbox {
        &self.from
    }
}

/// Builds the confirmation email of `order_id`, with a fresh sign-in link.
pub async fn order_confirmation(
    pool: &PgPool,
    from: &Mailbox,
    public_url: &str,
    order_id: Uuid,
) -> Result<Message> {
    let (code, status, total, currency, name, email, attendee_id, event, slug): (
        String,
        String,
        i64,
        String,
        String,
        String,
        Uuid,
        String,
        String,
    ) = sqlx::query_as(
        "SELECT o.code, o.status, o.total_minor, o.currency, a.name, a.email::text, a.id, e.name, e.slug
         FROM orders o JOIN attendees a ON a.id = o.attendee_id JOIN events e ON e.id = o.event_id
         WHERE o.id = $1",
    )
    .bind(order_id)
    .fetch_optional(pool)
    .await?
    .ok_or_else(|| Error::not_found("no such order"))?;
    let tickets: Vec<String> = sqlx::query_scalar(
        "SELECT code FROM tickets WHERE order_id = $1 AND voided_at IS NULL ORDER BY code",
    )
    .bind(order_id)
    .fetch_all(pool)
    .await?;
    let token = crate::ticketing::new_sign_in_link(pool, attendee_id).await?;
    let link = format!(
        "{}/e/{slug}/join?token={token}",
        public_url.trim_end_matches('/')
    );
    let total = crate::domain::format_money(total, &currency);
    let text = format!(
        "Hello {name},\n\nyour order {code} for {event} is {status} ({total}).\n\
         Your tickets are attached as QR codes; show one at the entrance.\n\n\
         Enter the event online with your personal sign-in link (single use, valid 48 hours):\n{link}\n"
    );
    let mut parts = MultiPart::mixed().singlepart(SinglePart::plain(text));
    for t in &tickets {
        let svg = qr_svg(t)?;
        parts = parts.singlepart(Attachment::new(format!("ticket-{t}.svg")).body(
            svg.into_bytes(),
            ContentType::parse("image/svg+xml").expect("valid content type"),
        ));
    }
    let to: Mailbox = format!("{name} <{email}>")
        .parse()
        .or_else(|_| email.parse())
        .map_err(|e| Error::Internal(format!("recipient address: {e}")))?;
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(format!("Your tickets for {event} (order {code})"))
        .multipart(parts)
        .map_err(|e| Error::Internal(format!("email: {e}")))
}

/// Job handler: sends one order confirmation. `Err` means "retry later".
pub async fn send_order_confirmation(
    pool: &PgPool,
    mailer: &Mailer,
    public_url: &str,
    payload: &serde_json::Value,
) -> std::result::Result<(), String> {
    let order_id: Uuid = payload["order_id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| "payload has no order_id".to_string())?;
    let message = order_confirmation(pool, mailer.from(), public_url, order_id)
        .await
        .map_err(|e| e.to_string())?;
    mailer.send(message).await
}

/// Job handler: emails a waiting-list offer with its buy link.
pub async fn send_waitlist_offer(
    pool: &PgPool,
    mailer: &Mailer,
    public_url: &str,
    payload: &serde_json::Value,
) -> std::result::Result<(), String> {
    let entry: Uuid = payload["entry_id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| "payload has no entry_id".to_string())?;
    let token = payload["token"]
        .as_str()
        .ok_or_else(|| "payload has no token".to_string())?;
    let row: Option<(String, String, String, String, Uuid, chrono::DateTime<chrono::Utc>)> = sqlx::query_as(
        "SELECT w.name, w.email::text, e.name, e.slug, w.ticket_type_id, w.offer_expires_at
         FROM waitlist_entries w JOIN events e ON e.id = w.event_id WHERE w.id = $1 AND w.status = 'offered'",
    )
    .bind(entry)
    .fetch_optional(pool)
    .await
    .map_err(|e| e.to_string())?;
    // Already converted or expired: nothing to send.
    let Some((name, email, event, slug, ticket_type, expires)) = row else {
        return Ok(());
    };
    let link = format!(
        "{}/e/{slug}?offer={token}&ticket={ticket_type}",
        public_url.trim_end_matches('/')
    );
    let text = format!(
        "Hello {name},\n\na seat for {event} has freed up and is held for you until {} UTC.\n\
         Get your ticket here:\n{link}\n",
        expires.format("%Y-%m-%d %H:%M")
    );
    let to: Mailbox = email
        .parse()
        .map_err(|e| format!("recipient address: {e}"))?;
    let message = Message::builder()
        .from(mailer.from().clone())
        .to(to)
        .subject(format!("A seat for {event} is waiting for you"))
        .singlepart(SinglePart::plain(text))
        .map_err(|e| format!("email: {e}"))?;
    mailer.send(message).await
}
