//! Background jobs in PostgreSQL (owner of `jobs`): work that must not be lost
//! with a request (emails) is a row, inserted in the transaction that causes
//! it, claimed with `FOR UPDATE SKIP LOCKED` (several workers may run),
//! retried with exponential back-off and given up after `max_attempts`.
//!
//! Each kind of job is a type of its own (one file each below) with its
//! [`Job::KIND`] and a typed payload; `crate::worker` holds the one exhaustive
//! dispatcher from kinds to handlers.

mod asset_renditions;
mod asset_thumbnail;
mod order_email;
mod password_reset_email;
mod queue;
mod sign_in_link_email;
mod team_invite_email;
mod waitlist_joined_email;
mod waitlist_offer_email;
mod webhook_disabled_email;

pub use asset_renditions::AssetRenditions;
pub use asset_thumbnail::AssetThumbnail;
pub use order_email::OrderEmail;
pub use password_reset_email::PasswordResetEmail;
pub use queue::{
    backoff, enqueue, purge, run_once, unfinished, Claimed, Job, JobError, Unfinished,
};
pub use sign_in_link_email::SignInLinkEmail;
pub use team_invite_email::TeamInviteEmail;
pub use waitlist_joined_email::WaitlistJoinedEmail;
pub use waitlist_offer_email::WaitlistOfferEmail;
pub use webhook_disabled_email::WebhookDisabledEmail;
