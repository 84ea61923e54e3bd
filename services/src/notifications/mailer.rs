//! SMTP with lettre: plain, STARTTLS or implicit TLS, optional AUTH and a
//! private CA.

use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::jobs::JobError;
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

    /// Sends a message; a relay that refuses or cannot be reached is worth retrying.
    pub async fn send(&self, message: Message) -> std::result::Result<(), JobError> {
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| JobError::Transient(format!("smtp: {e}")))
    }

    /// The sender.
    pub fn from(&self) -> &Mailbox {
        &self.from
    }
}

/// A recipient `Name <address>` (or the bare address when the name cannot be quoted).
pub fn mailbox(name: &str, email: &str) -> std::result::Result<Mailbox, JobError> {
    format!("{name} <{email}>")
        .parse()
        .or_else(|_| email.parse())
        .map_err(|e| JobError::Permanent(format!("recipient address: {e}")))
}
