//! The organisation's team: members, invitations (within the plan's seats) and
//! accepting an invitation.

use leptos::prelude::*;

use protocol::states::OrganiserRole;

use crate::error::AppError;
use crate::forms::{error_list, error_of, FormError};

/// Where someone on the team page stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum TeamStanding {
    /// A member with this role.
    Member(OrganiserRole),
    /// Invited, not joined yet.
    Invited,
}

/// A team member or open invitation as shown on the team page.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TeamRow {
    /// Organiser or invitation id.
    pub id: String,
    /// Name (empty for invitations).
    pub name: String,
    /// Email.
    pub email: String,
    /// Member (owner or member) or invited.
    pub standing: TeamStanding,
}

/// The team page's data.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TeamData {
    /// Members then invitations.
    pub rows: Vec<TeamRow>,
    /// "2 of 3 seats used", or "unlimited seats".
    pub seats: String,
}

/// The signed-in organiser's team.
#[server(prefix = "/fn", endpoint = "team")]
pub async fn team() -> Result<TeamData, AppError> {
    let platform = crate::context::platform()?;
    let me = super::current_organiser().await?;
    let t = services::team::team(&platform.pool, &me).await?;
    let used = t.members.len() + t.invites.len();
    let seats = match t.seats {
        Some(max) => format!("{used} of {max} seats used"),
        None => format!("{used} seats used (unlimited)"),
    };
    let mut rows: Vec<TeamRow> = t
        .members
        .into_iter()
        .map(|m| TeamRow {
            id: m.id.to_string(),
            name: m.name,
            email: m.email,
            standing: TeamStanding::Member(m.role),
        })
        .collect();
    rows.extend(t.invites.into_iter().map(|i| TeamRow {
        id: i.id.to_string(),
        name: String::new(),
        email: i.email,
        standing: TeamStanding::Invited,
    }));
    Ok(TeamData { rows, seats })
}

/// Invites someone by email (owners only; uses a seat).
#[server(prefix = "/fn", endpoint = "invite_member")]
pub async fn invite_member(email: String) -> Result<(), AppError> {
    let platform = crate::context::platform()?;
    let me = super::current_organiser().await?;
    services::team::invite(&platform.pool, &me, &email).await?;
    Ok(())
}

/// Removes a member or revokes an invitation (owners only).
#[server(prefix = "/fn", endpoint = "remove_member")]
pub async fn remove_member(id: String, invited: Option<String>) -> Result<(), AppError> {
    let platform = crate::context::platform()?;
    let me = super::current_organiser().await?;
    if crate::forms::checked(&invited) {
        let id = crate::error::parse_id("id", &id)?;
        services::team::revoke_invite(&platform.pool, &me, id).await?;
    } else {
        let id = crate::error::parse_id("id", &id)?;
        services::team::remove_member(&platform.pool, &me, id).await?;
    }
    Ok(())
}

/// What an invitation link is for.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct InvitationView {
    /// The organisation's name.
    pub organisation: String,
    /// The invited address.
    pub email: String,
}

/// The organisation an invitation is for, and the invited address.
#[server(prefix = "/fn", endpoint = "invitation")]
pub async fn invitation(token: String) -> Result<InvitationView, AppError> {
    let platform = crate::context::platform()?;
    let details = services::team::invite_details(&platform.pool, &token).await?;
    Ok(InvitationView {
        organisation: details.org_name,
        email: details.email,
    })
}

/// Accepts an invitation: creates the account, signs in, goes to the dashboard.
#[server(prefix = "/fn", endpoint = "accept_invite")]
pub async fn accept_invite(token: String, name: String, password: String) -> Result<(), AppError> {
    let platform = crate::context::platform()?;
    crate::context::limit_client(&platform, &services::ratelimit::SIGNUP_PER_CLIENT, None).await?;
    let session = services::team::accept(&platform.pool, &token, &name, &password)
        .await?
        .token;
    super::auth::start_session(&platform, &session);
    leptos_axum::redirect("/dashboard");
    Ok(())
}

/// `/dashboard/team`.
#[component]
pub fn TeamPage() -> impl IntoView {
    let invite = ServerAction::<InviteMember>::new();
    let remove = ServerAction::<RemoveMember>::new();
    let data = Resource::new(
        move || invite.version().get() + remove.version().get(),
        |_| team(),
    );
    view! {
        <h1 class="text-2xl font-bold mb-4">"Team"</h1>
        <Transition fallback=|| view! { <crate::look::Loading/> }>
            <ErrorBoundary fallback=error_list>
                {move || Suspend::new(async move {
                    data.await.map(|t| view! {
                        <p class="text-slate-600" data-testid="seats">{t.seats}</p>
                        <table class="w-full my-3" data-testid="team">
                            <thead><tr class="text-left"><th>"Name"</th><th>"Email"</th><th>"Role"</th><th></th></tr></thead>
                            <tbody>
                                {t.rows.into_iter().map(|r| {
                                    let invited = (r.standing == TeamStanding::Invited).to_string();
                                    let removable = r.standing != TeamStanding::Member(OrganiserRole::Owner);
                                    let role = match r.standing {
                                        TeamStanding::Member(role) => role.as_str(),
                                        TeamStanding::Invited => "invited",
                                    };
                                    view! {
                                    <tr>
                                        <td>{r.name}</td><td>{r.email}</td><td>{role}</td>
                                        <td>{removable.then(|| view! {
                                            <ActionForm action=remove>
                                                <input type="hidden" name="id" value=r.id.clone()/>
                                                <input type="hidden" name="invited" value=invited.clone()/>
                                                <button type="submit" class="underline text-red-700">"Remove"</button>
                                            </ActionForm>
                                        })}</td>
                                    </tr>
                                }}).collect::<Vec<_>>()}
                            </tbody>
                        </table>
                    })
                })}
            </ErrorBoundary>
        </Transition>
        <FormError error=error_of(remove.value())/>
        <h2 class="text-xl font-semibold mt-6">"Invite a colleague"</h2>
        <ActionForm action=invite attr:class="flex gap-3 items-end max-w-xl">
            <label class="block flex-1">"Email"<input class="input" type="email" name="email" required/></label>
            <button class="btn" type="submit">"Send invitation"</button>
        </ActionForm>
        <FormError error=error_of(invite.value())/>
    }
}

/// `/team/join?token=…`: accept an invitation.
#[component]
pub fn JoinTeamPage() -> impl IntoView {
    let query = leptos_router::hooks::use_query_map();
    let token = move || query.read().get("token").unwrap_or_default();
    let details = Resource::new(token, invitation);
    let accept = ServerAction::<AcceptInvite>::new();
    view! {
        <Transition fallback=|| view! { <crate::look::Loading/> }>
            <ErrorBoundary fallback=error_list>
                {move || Suspend::new(async move {
                    details.await.map(|i| view! {
                        <h1 class="text-2xl font-bold mb-4">"Join " {i.organisation} " on Convene"</h1>
                        <p class="mb-3">"Your account: " {i.email}</p>
                        <ActionForm action=accept attr:class="space-y-3 max-w-md">
                            <input type="hidden" name="token" value=token/>
                            <label class="block">"Your name"<input class="input" name="name" required autocomplete="name"/></label>
                            <label class="block">"Password (at least 10 characters)"
                                <input class="input" type="password" name="password" required minlength="10" autocomplete="new-password"/>
                            </label>
                            <FormError error=error_of(accept.value())/>
                            <button class="btn" type="submit">"Join the team"</button>
                        </ActionForm>
                    })
                })}
            </ErrorBoundary>
        </Transition>
    }
}
