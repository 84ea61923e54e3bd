//! The attendee webapp: Reception (people, chat, direct messages) and Stages
//! (stream, chat, apps), all fed by one live socket per tab.

pub mod broadcast;
#[cfg(feature = "hydrate")]
mod call;
pub mod call_view;
pub mod check;
pub mod client;
pub mod devices;
pub mod networking;
pub mod panels;
pub mod player;
pub mod profile;
pub mod reception;
pub mod replay;
#[cfg(feature = "hydrate")]
mod seen;
pub mod session;
pub mod side;
#[cfg(feature = "hydrate")]
mod socket;
pub mod stage;

use protocol::live::{ChatView, DmView, Person};
use protocol::states::AttendeeRole;

use crate::error::AppError;

/// Someone in the event's people list.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PersonRow {
    /// Who.
    pub person: Person,
    /// Attendee or moderator.
    pub role: AttendeeRole,
}

/// The signed-in attendee of event `slug` (banned attendees are refused), with
/// the platform and the event.
#[cfg(feature = "ssr")]
pub(crate) async fn current_attendee(
    slug: &str,
) -> Result<
    (
        services::Platform,
        services::events::Event,
        services::live::participants::Actor,
    ),
    AppError,
> {
    use crate::context::cookies;
    let platform = crate::context::platform()?;
    let token = cookies::read(cookies::ATTENDEE).await;
    let admitted =
        services::live::moderation::admit(&platform.pool, slug, token.as_deref()).await?;
    Ok((platform, admitted.event, admitted.actor))
}

/// Signs the attendee out in this browser: ends the session (its live
/// sockets close within a heartbeat), clears the cookie and goes back to the
/// event's page.
#[leptos::server(prefix = "/fn", endpoint = "attendee_logout")]
pub async fn attendee_logout(slug: String) -> Result<(), AppError> {
    use crate::context::cookies;
    let platform = crate::context::platform()?;
    if let Some(token) = cookies::read(cookies::ATTENDEE).await {
        services::accounts::sessions::end(&platform.pool, &token).await?;
    }
    cookies::set(cookies::ATTENDEE, "", 0, platform.serves_https());
    // Only slug characters go into the redirect (never another site).
    let slug: String = slug
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    leptos_axum::redirect(&format!("/e/{slug}"));
    Ok(())
}

/// A small form that signs the attendee out of event `slug`.
#[leptos::component]
pub fn SignOutButton(slug: String) -> impl leptos::IntoView {
    use leptos::prelude::*;
    let action = ServerAction::<AttendeeLogout>::new();
    view! {
        <ActionForm action=action>
            <input type="hidden" name="slug" value=slug/>
            <button type="submit" class="underline text-sm">"Sign out"</button>
        </ActionForm>
    }
}

/// The event's people.
#[cfg(feature = "ssr")]
pub(crate) async fn people_of(
    platform: &services::Platform,
    event: protocol::ids::EventId,
) -> Result<Vec<PersonRow>, AppError> {
    page_of_people(platform, event, None, None).await
}

#[cfg(feature = "ssr")]
async fn page_of_people(
    platform: &services::Platform,
    event: protocol::ids::EventId,
    search: Option<&str>,
    after: Option<protocol::ids::AttendeeId>,
) -> Result<Vec<PersonRow>, AppError> {
    Ok(
        services::live::participants::people(&platform.pool, event, search, after)
            .await?
            .into_iter()
            .map(|p| PersonRow {
                person: p.person,
                role: p.role,
            })
            .collect(),
    )
}

/// People on one page of the people list (the server's `PEOPLE_PAGE`).
pub const PEOPLE_PAGE: usize = 100;

/// A page of the event's people by name: those whose name contains `q`,
/// after the person `after` (an attendee id); attendees of the event only.
#[leptos::server(prefix = "/fn", endpoint = "people")]
pub async fn people(
    slug: String,
    q: Option<String>,
    after: Option<String>,
) -> Result<Vec<PersonRow>, AppError> {
    let (platform, event, _) = current_attendee(&slug).await?;
    let after = match after.as_deref().map(str::trim).filter(|a| !a.is_empty()) {
        Some(a) => Some(crate::error::parse_id("after", a)?),
        None => None,
    };
    page_of_people(&platform, event.id, q.as_deref(), after).await
}

/// A page of a channel's chat history before `before` (a message `seq`), oldest first.
#[leptos::server(prefix = "/fn", endpoint = "chat_history")]
pub async fn chat_history(
    slug: String,
    channel: String,
    before: Option<i64>,
) -> Result<Vec<ChatView>, AppError> {
    let (platform, event, _) = current_attendee(&slug).await?;
    let channel: protocol::Channel = channel.parse().map_err(|e: protocol::places::BadPlace| {
        AppError::new(crate::error::ErrorKind::Invalid, e.to_string())
    })?;
    let page = services::live::chat::history(&platform.pool, event.id, channel, before, 50).await?;
    Ok(page.iter().map(|m| m.view()).collect())
}

/// My conversation with attendee `with`, oldest first.
#[leptos::server(prefix = "/fn", endpoint = "dm_history")]
pub async fn dm_history(
    slug: String,
    with: String,
    before: Option<i64>,
) -> Result<Vec<DmView>, AppError> {
    let (platform, _, me) = current_attendee(&slug).await?;
    let other = crate::error::parse_id("with", &with)?;
    let page = services::live::dm::history(&platform.pool, &me, other, before, 50).await?;
    Ok(page.iter().map(|m| m.view()).collect())
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    #[test]
    fn the_people_page_is_the_servers() {
        assert_eq!(
            super::PEOPLE_PAGE as i64,
            services::live::participants::PEOPLE_PAGE
        );
    }
}

/// A stage as Reception and the venue's bar list it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StageLink {
    /// Stage id.
    pub id: protocol::ids::StageId,
    /// Name.
    pub name: String,
}
