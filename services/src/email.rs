//! Transactional email over SMTP (lettre): the order confirmation with the QR
//! tickets and the attendee's sign-in link. Sent by the `jobs` worker.

use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use sqlx::PgPool;
use uuid::Uuid;

use crate::registrations::qr_svg;
use crate::{Error, Result};

/// How the connection to the SMTP relay is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    /// Plain SMTP (a local relay or test sink).
    #[default]
    None,
    /// STARTTLS, required (typically port 587).
    StartTls,
    /// Implicit TLS (typically port 465).
    Tls,
}

/// Where and how to send email.
#[derive(Clone)]
pub struct MailerSettings<'a> {
    /// Relay host.
    pub host: &'a str,
    /// Relay port.
    pub port: u16,
    /// Sender, e.g. `Convene <tickets@example.org>`.
    pub from: &'a str,
    /// Connection security.
    pub security: SmtpSecurity,
    /// User name and password for SMTP AUTH, if the relay needs them.
    pub credentials: Option<(&'a str, &'a str)>,
    /// Extra CA certificate (PEM) to trust, for relays with a private CA.
    pub root_cert_pem: Option<&'a [u8]>,
}

/// An SMTP relay and the sender address.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Mailer {
    /// A mailer for a plain-SMTP relay at `host:port` (e.g. a local relay or test sink).
    pub fn new(host: &str, port: u16, from: &str) -> Result<Self> {
        Self::with(MailerSettings {
            host,
            port,
            from,
            security: SmtpSecurity::None,
            credentials: None,
            root_cert_pem: None,
        })
    }

    /// A mailer with TLS and authentication as configured.
    pub fn with(s: MailerSettings<'_>) -> Result<Self> {
        let from: Mailbox = s
            .from
            .parse()
            .map_err(|e| Error::Internal(format!("smtp from address: {e}")))?;
        let tls_err = |e: lettre::transport::smtp::Error| Error::Internal(format!("smtp tls: {e}"));
        let tls = match s.security {
            SmtpSecurity::None => None,
            _ => {
                let mut params = TlsParameters::builder(s.host.to_owned());
                if let Some(pem) = s.root_cert_pem {
                    let cert = Certificate::from_pem(pem).map_err(tls_err)?;
                    params = params.add_root_certificate(cert);
                }
                Some(params.build_rustls().map_err(tls_err)?)
            }
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(s.host)
            .port(s.port)
            .tls(match (s.security, tls) {
                (SmtpSecurity::StartTls, Some(p)) => Tls::Required(p),
                (SmtpSecurity::Tls, Some(p)) => Tls::Wrapper(p),
                _ => Tls::None,
            });
        if let Some((user, password)) = s.credentials {
            builder = builder.credentials(Credentials::new(user.to_owned(), password.to_owned()));
        }
        Ok(Mailer {
            transport: builder.build(),
            from,
        })
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

/// Builds the email telling the buyer where order `order_id` stands: confirmed
/// (QR tickets attached, with a fresh sign-in link), awaiting approval, approved
/// and waiting for payment (with the payment link), or cancelled/refunded.
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
    let base = public_url.trim_end_matches('/');
    let total = crate::domain::format_money(total, &currency);
    let mut attachments = Vec::new();
    let (subject, text) = match status.as_str() {
        "confirmed" => {
            let tickets: Vec<String> = sqlx::query_scalar(
                "SELECT code FROM tickets WHERE order_id = $1 AND voided_at IS NULL ORDER BY code",
            )
            .bind(order_id)
            .fetch_all(pool)
            .await?;
            for t in &tickets {
                let svg = qr_svg(t)?;
                attachments.push(Attachment::new(format!("ticket-{t}.svg")).body(
                    svg.into_bytes(),
                    ContentType::parse("image/svg+xml").expect("valid content type"),
                ));
            }
            let token = crate::ticketing::new_sign_in_link(pool, attendee_id).await?;
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
        "awaiting_approval" => (
            format!("Your order for {event} awaits approval (order {code})"),
            format!(
                "Hello {name},\n\nwe received your order {code} for {event} ({total}). \
                 The organiser reviews every order for this ticket; you will hear from us soon.\n"
            ),
        ),
        "pending" => (
            format!("Your order for {event} is approved: complete payment (order {code})"),
            format!(
                "Hello {name},\n\nyour order {code} for {event} is approved. \
                 Complete the payment of {total} within 30 minutes to get your tickets:\n\
                 {base}/e/{slug}/pay/{code}\n"
            ),
        ),
        _ => (
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
    let to: Mailbox = format!("{name} <{email}>")
        .parse()
        .or_else(|_| email.parse())
        .map_err(|e| Error::Internal(format!("recipient address: {e}")))?;
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(subject)
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
    // Already converted or expired: nothing to send.
    let Some(offer) = crate::waitlist::issue_offer_token(pool, entry)
        .await
        .map_err(|e| e.to_string())?
    else {
        return Ok(());
    };
    let crate::waitlist::OfferToSend {
        token,
        name,
        email,
        event_name: event,
        slug,
        ticket_type_id: ticket_type,
        offer_expires_at: expires,
    } = offer;
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

/// Job handler: emails a team invitation with its accept link.
pub async fn send_team_invite(
    pool: &PgPool,
    mailer: &Mailer,
    public_url: &str,
    payload: &serde_json::Value,
) -> std::result::Result<(), String> {
    let id: Uuid = payload["invite_id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| "payload has no invite_id".to_string())?;
    // Accepted, revoked or expired: nothing to send.
    let Some(invite) = crate::team::issue_invite_token(pool, id)
        .await
        .map_err(|e| e.to_string())?
    else {
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
    let to: Mailbox = invite
        .email
        .parse()
        .map_err(|e| format!("recipient address: {e}"))?;
    let message = Message::builder()
        .from(mailer.from().clone())
        .to(to)
        .subject(format!("Join {} on Convene", invite.org_name))
        .singlepart(SinglePart::plain(text))
        .map_err(|e| format!("email: {e}"))?;
    mailer.send(message).await
}
