//! The attendee webapp: Reception (people, chat, direct messages) and Stages
//! (stream, chat, apps), all fed by one live socket per tab.

pub mod client;
pub mod reception;
pub mod stage;

use crate::error::AppError;

/// The signed-in attendee of event `slug` (banned attendees are refused).
#[cfg(feature = "ssr")]
pub(crate) async fn current_attendee(
    slug: &str,
) -> Result<
    (
        crate::state::AppState,
        services::events::Event,
        services::chat::Actor,
    ),
    AppError,
> {
    use crate::state::cookies;
    let state = crate::state::app_state()?;
    let event = services::events::get_public(&state.pool, slug).await?;
    let token = cookies::read(cookies::ATTENDEE).await;
    let attendee =
        services::registrations::attendee_from_session(&state.pool, &event, token.as_deref())
            .await?;
    if services::chat::sanction_of(&state.pool, event.id, attendee.id, "ban")
        .await?
        .is_some()
    {
        return Err(AppError::new(
            crate::error::ErrorKind::Forbidden,
            "a moderator removed you from this event",
        ));
    }
    let actor = services::chat::actor(&state.pool, attendee.id).await?;
    Ok((state, event, actor))
}

/// The event's people as (id, name, role).
#[cfg(feature = "ssr")]
pub(crate) async fn people_of(
    state: &crate::state::AppState,
    event: uuid::Uuid,
) -> Result<Vec<(String, String, String)>, AppError> {
    Ok(services::chat::people(&state.pool, event)
        .await?
        .into_iter()
        .map(|p| (p.id.to_string(), p.name, p.role))
        .collect())
}

/// A page of a channel's chat history before `before` (a message `seq`), oldest first.
#[leptos::server(endpoint = "chat_history")]
pub async fn chat_history(
    slug: String,
    channel: String,
    before: Option<i64>,
) -> Result<Vec<crate::wire::ChatView>, AppError> {
    let (state, event, _) = current_attendee(&slug).await?;
    let page = services::chat::history(&state.pool, event.id, &channel, before, 50).await?;
    Ok(page.iter().map(Into::into).collect())
}

/// My conversation with attendee `with`, oldest first.
#[leptos::server(endpoint = "dm_history")]
pub async fn dm_history(
    slug: String,
    with: String,
    before: Option<i64>,
) -> Result<Vec<crate::wire::DmView>, AppError> {
    let (state, _, me) = current_attendee(&slug).await?;
    let other = crate::error::parse_id("with", &with)?;
    let page = services::chat::dm_history(&state.pool, &me, other, before, 50).await?;
    Ok(page.iter().map(Into::into).collect())
}
