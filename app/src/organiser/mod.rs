//! Organiser dashboard: account, events list, one event's page.

pub mod agenda;
pub mod analytics;
pub mod auth;
pub mod dashboard;
pub mod event;
pub mod live;
pub mod questions;
pub mod registrations;
pub mod sessions;
pub mod team;
pub mod videos;
pub mod webhooks;

#[cfg(feature = "ssr")]
use crate::error::AppError;

/// The signed-in organiser of the current request, or `Unauthorized`.
#[cfg(feature = "ssr")]
pub async fn current_organiser() -> Result<services::accounts::Organiser, AppError> {
    let platform = crate::context::platform()?;
    let token = crate::context::cookies::read(crate::context::cookies::ORGANISER).await;
    Ok(services::accounts::organisers::from_session(&platform.pool, token.as_deref()).await?)
}
