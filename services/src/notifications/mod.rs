//! Notifications: the emails Convene sends, each the handler of a job (see
//! `crate::jobs`), over the SMTP relay of [`mailer`].

pub mod budget;
pub mod invite_email;
pub mod mailer;
pub mod order_email;
pub mod password_reset_email;
pub mod sign_in_email;
pub mod waitlist_email;
pub mod webhook_email;

pub use mailer::{Mailer, MailerSettings, SmtpSecurity};
