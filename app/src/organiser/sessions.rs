//! Video sessions of an event (organiser side): create one (title,
//! description, capacity, people on screen, who may go on screen, its agenda
//! entry), assign its hosts from the event's verified attendees, remove it.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::error::AppError;
use crate::forms::succeeded;
use crate::forms::{error_list, error_of, reset_on_success, rows, successes, FormError, Saved};

/// A session as the dashboard lists it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct SessionRow {
    /// Its id.
    pub id: String,
    /// Title.
    pub title: String,
    /// People at once.
    pub capacity: i32,
    /// People on screen at once.
    pub max_on_screen: i32,
    /// Who may go on screen.
    pub on_screen: protocol::states::OnScreenPolicy,
    /// Its agenda entry's title.
    pub agenda: Option<String>,
    /// Names of its assigned hosts.
    pub hosts: Vec<(String, String)>,
    /// A host ended it.
    pub ended: bool,
    /// A stage's backstage (it stays with its stage).
    pub backstage: bool,
}

/// What the sessions section shows.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SessionsData {
    /// The sessions.
    pub sessions: Vec<SessionRow>,
    /// Agenda entries to link to (id, title).
    pub agenda: Vec<(String, String)>,
    /// Verified attendees who can host (id, name and email).
    pub candidates: Vec<(String, String)>,
}

/// The event's sessions; organisers of the event only.
#[server(prefix = "/fn", endpoint = "sessions_admin")]
pub async fn sessions_admin(slug: String) -> Result<SessionsData, AppError> {
    use services::live::{agenda, sessions};
    let platform = crate::context::platform()?;
    let me = super::current_organiser().await?;
    let event = services::events::get_for_org(&platform.pool, &me, &slug).await?;
    let entries = agenda::sessions(&platform.pool, event.id).await?;
    let people =
        services::registrations::attendees::verified(&platform.pool, event.id, 500).await?;
    let name_of = |id: protocol::ids::AttendeeId| {
        people
            .iter()
            .find(|p| p.id == id)
            .map(|p| p.name.clone())
            .unwrap_or_else(|| "someone".into())
    };
    let mut rows = Vec::new();
    for s in sessions::list(&platform.pool, event.id).await? {
        let hosts = sessions::hosts(&platform.pool, s.id)
            .await?
            .into_iter()
            .map(|id| (id.to_string(), name_of(id)))
            .collect();
        rows.push(SessionRow {
            id: s.id.to_string(),
            agenda: s
                .agenda_session_id
                .and_then(|a| entries.iter().find(|e| e.id == a))
                .map(|e| e.title.clone()),
            title: s.title,
            capacity: s.capacity,
            max_on_screen: s.max_on_screen,
            on_screen: s.on_screen,
            hosts,
            ended: s.ended,
            backstage: s.backstage,
        });
    }
    Ok(SessionsData {
        sessions: rows,
        agenda: entries
            .into_iter()
            .map(|e| (e.id.to_string(), e.title))
            .collect(),
        candidates: people
            .into_iter()
            .map(|p| (p.id.to_string(), format!("{} <{}>", p.name, p.email)))
            .collect(),
    })
}

/// Adds a session.
#[server(prefix = "/fn", endpoint = "create_video_session")]
pub async fn create_video_session(
    slug: String,
    title: String,
    description: String,
    capacity: String,
    max_on_screen: String,
    on_screen: String,
    agenda_session: String,
) -> Result<(), AppError> {
    let platform = crate::context::platform()?;
    let me = super::current_organiser().await?;
    let form = services::live::sessions::SessionForm {
        title,
        description,
        capacity,
        max_on_screen,
        on_screen,
        agenda_session,
    };
    services::live::sessions::create(&platform.pool, &me, &slug, &form).await?;
    Ok(())
}

/// Removes session `id`.
#[server(prefix = "/fn", endpoint = "remove_video_session")]
pub async fn remove_video_session(slug: String, id: String) -> Result<(), AppError> {
    let platform = crate::context::platform()?;
    let me = super::current_organiser().await?;
    let id = crate::error::parse_id("session", &id)?;
    services::live::sessions::delete(&platform.pool, &me, &slug, id).await?;
    Ok(())
}

/// Makes `attendee` a host of session `id` (`host` = "true"), or no longer one.
#[server(prefix = "/fn", endpoint = "set_session_host")]
pub async fn set_session_host(
    slug: String,
    id: String,
    attendee: String,
    host: String,
) -> Result<(), AppError> {
    let platform = crate::context::platform()?;
    let me = super::current_organiser().await?;
    let id = crate::error::parse_id("session", &id)?;
    let attendee = crate::error::parse_id("attendee", &attendee)?;
    services::live::sessions::set_host(&platform.pool, &me, &slug, id, attendee, host == "true")
        .await?;
    Ok(())
}

/// `/dashboard/events/{slug}/sessions`.
#[component]
pub fn SessionsSection() -> impl IntoView {
    let params = leptos_router::hooks::use_params_map();
    let slug = Signal::derive(move || params.read().get("slug").unwrap_or_default());
    let add = ServerAction::<CreateVideoSession>::new();
    let remove = ServerAction::<RemoveVideoSession>::new();
    let host = ServerAction::<SetSessionHost>::new();
    let (a, r, h) = (
        successes(add.value()),
        successes(remove.value()),
        successes(host.value()),
    );
    let data = Resource::new(
        move || (slug.get(), a.get(), r.get(), h.get()),
        |(slug, ..)| sessions_admin(slug),
    );
    let form = NodeRef::new();
    reset_on_success(form, add.value());
    view! {
        <Title text="Sessions · Dashboard"/>
        <h2 class="text-xl font-semibold">"Video sessions"</h2>
        <p class="text-slate-600">"Rooms where attendees watch and choose to go on screen. The event's moderators host every session; add hosts per session below."</p>
        <FormError error=error_of(remove.value())/>
        <FormError error=error_of(host.value())/>
        <Saved when=succeeded(host.value()) text="Hosts saved."/>
        <Transition fallback=|| view! { <crate::look::Loading/> }>
            <ErrorBoundary fallback=error_list>
                {move || Suspend::new(async move {
                    data.await.map(|d| {
                        let agenda = d.agenda.clone();
                        view! {
                            {d.sessions.is_empty().then(|| view! {
                                <p class="empty my-2" data-testid="no-sessions">"No sessions yet. Add one below."</p>
                            })}
                            <ul class="my-2 space-y-2" data-testid="video-sessions">
                                {rows(d.sessions, move |s| session_row(slug.get_untracked(), s, d.candidates.clone(), remove, host))}
                            </ul>
                            <ActionForm action=add node_ref=form attr:class="grid grid-cols-2 gap-3 max-w-xl card" attr:data-testid="add-session">
                                <input type="hidden" name="slug" value=slug/>
                                <label class="block col-span-2">"Title"<input class="input" name="title" required maxlength="200"/></label>
                                <label class="block col-span-2">"Description"<textarea class="input" name="description" maxlength="4000"></textarea></label>
                                <label class="block">"Capacity"<input class="input" name="capacity" type="number" min="2" max="10000" value="50" required/></label>
                                <label class="block">"People on screen"<input class="input" name="max_on_screen" type="number" min="1" max="49" value="9" required/></label>
                                <label class="block">"Who may go on screen"
                                    <select class="input" name="on_screen">
                                        <option value="anyone">"Anyone"</option>
                                        <option value="request">"On request (a host approves)"</option>
                                        <option value="hosts">"Hosts only"</option>
                                    </select>
                                </label>
                                <label class="block">"Agenda entry"
                                    <select class="input" name="agenda_session">
                                        <option value="">"None"</option>
                                        {agenda.into_iter().map(|(id, title)| view! { <option value=id>{title}</option> }).collect::<Vec<_>>()}
                                    </select>
                                </label>
                                <div class="col-span-2"><FormError error=error_of(add.value())/></div>
                                <button class="btn col-span-2" type="submit">"Add session"</button>
                            </ActionForm>
                        }
                    })
                })}
            </ErrorBoundary>
        </Transition>
        <NetworkingSettings slug=slug/>
    }
}

fn session_row(
    slug: String,
    s: SessionRow,
    candidates: Vec<(String, String)>,
    remove: ServerAction<RemoveVideoSession>,
    host: ServerAction<SetSessionHost>,
) -> impl IntoView {
    let policy = match s.on_screen {
        protocol::states::OnScreenPolicy::Anyone => "anyone goes on screen",
        protocol::states::OnScreenPolicy::Request => "on screen on request",
        protocol::states::OnScreenPolicy::Hosts => "hosts only on screen",
    };
    let (slug2, slug3, id2, id3) = (slug.clone(), slug.clone(), s.id.clone(), s.id.clone());
    view! {
        <li class="card space-y-1" data-testid="video-session">
            <p><span class="font-semibold">{s.title.clone()}</span>
                " · " {s.capacity} " people, " {s.max_on_screen} " on screen, " {policy}
                {s.agenda.clone().map(|a| format!(" · agenda: {a}"))}
                {s.ended.then_some(" · ended")}</p>
            {s.backstage.then(|| view! { <p class="text-sm text-slate-600" data-testid="session-backstage">"The backstage of a stage: its hosts are the stage's speakers. It stays with the stage."</p> })}
            <p class="text-sm">"Hosts: "
                {if s.hosts.is_empty() { "the event's moderators".to_owned() } else { s.hosts.iter().map(|(_, n)| n.clone()).collect::<Vec<_>>().join(", ") }}</p>
            <div class="flex flex-wrap gap-3">
                <ActionForm action=host attr:class="flex flex-wrap items-end gap-2">
                    <input type="hidden" name="slug" value=slug2/>
                    <input type="hidden" name="id" value=id2/>
                    <input type="hidden" name="host" value="true"/>
                    <label class="block text-sm">"Add a host"
                        <select class="input" name="attendee">
                            {candidates.into_iter().map(|(id, label)| view! { <option value=id>{label}</option> }).collect::<Vec<_>>()}
                        </select>
                    </label>
                    <button class="btn" type="submit">"Add host"</button>
                </ActionForm>
                {(!s.backstage).then(|| view! {
                    <details>
                        <summary class="cursor-pointer underline text-sm">"Remove…"<span class="sr-only">" " {s.title.clone()}</span></summary>
                        <ActionForm action=remove attr:class="flex items-center gap-2 p-2">
                            <input type="hidden" name="slug" value=slug3/>
                            <input type="hidden" name="id" value=id3/>
                            <span class="text-sm">"Remove this session and its chat?"</span>
                            <button class="btn bg-red-700 hover:bg-red-800" type="submit">"Yes, remove it"</button>
                        </ActionForm>
                    </details>
                })}
            </div>
        </li>
    }
}

/// A report of one attendee by another, as the organiser reads it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct ReportRow {
    /// Who reported.
    pub reporter: String,
    /// Whom.
    pub reported: String,
    /// Why.
    pub reason: String,
    /// When (event time).
    pub at: String,
}

/// Networking in the dashboard: the call length, the matching rule and the reports.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NetworkingSetup {
    /// Length of a call, seconds.
    pub call_secs: i32,
    /// Whom networking pairs with whom.
    pub rule: protocol::states::MatchRule,
    /// The question whose answers must agree (by id).
    pub question: Option<String>,
    /// The event's choice questions (id, label): what pairing by answer can use.
    pub choice_questions: Vec<(String, String)>,
    /// Reports, newest first.
    pub reports: Vec<ReportRow>,
}

/// The event's networking settings and reports; organisers of the event only.
#[server(prefix = "/fn", endpoint = "networking_admin")]
pub async fn networking_admin(slug: String) -> Result<NetworkingSetup, AppError> {
    use services::networking::{meetings, safety};
    let platform = crate::context::platform()?;
    let me = super::current_organiser().await?;
    let event = services::events::get_for_org(&platform.pool, &me, &slug).await?;
    let reports = safety::reports(&platform.pool, &me, &slug).await?;
    let mut ids: Vec<protocol::ids::AttendeeId> = reports.iter().map(|r| r.reporter_id).collect();
    ids.extend(reports.iter().map(|r| r.reported_id));
    let names = services::registrations::attendees::names(&platform.pool, &ids).await?;
    let name = |id| names.get(&id).cloned().unwrap_or_else(|| "someone".into());
    let matching = meetings::matching(&platform.pool, event.id).await?;
    let choice_questions = services::registrations::questions::list(&platform.pool, event.id)
        .await?
        .into_iter()
        .filter(|q| q.kind == protocol::states::QuestionKind::Choice)
        .map(|q| (q.id.to_string(), q.label))
        .collect();
    Ok(NetworkingSetup {
        call_secs: meetings::call_secs(&platform.pool, event.id).await?,
        rule: matching.rule,
        question: matching.question.map(|q| q.to_string()),
        choice_questions,
        reports: reports
            .into_iter()
            .map(|r| ReportRow {
                reporter: name(r.reporter_id),
                reported: name(r.reported_id),
                reason: r.reason,
                at: services::time::local_time(r.created_at, &event.time_zone),
            })
            .collect(),
    })
}

/// Sets how long networking calls last (seconds).
#[server(prefix = "/fn", endpoint = "set_call_length")]
pub async fn set_call_length(slug: String, call_secs: String) -> Result<(), AppError> {
    let platform = crate::context::platform()?;
    let me = super::current_organiser().await?;
    services::networking::meetings::set_call_secs(&platform.pool, &me, &slug, &call_secs).await?;
    Ok(())
}

/// Sets whom networking pairs with whom: `rule` (`anyone`,
/// `same_ticket_type`, `other_ticket_type`, `same_answer`) and, for
/// `same_answer`, the choice `question` whose answers must agree.
#[server(prefix = "/fn", endpoint = "set_pairing")]
pub async fn set_pairing(slug: String, rule: String, question: String) -> Result<(), AppError> {
    let platform = crate::context::platform()?;
    let me = super::current_organiser().await?;
    services::networking::meetings::set_matching(&platform.pool, &me, &slug, &rule, &question)
        .await?;
    Ok(())
}

/// The networking part of the sessions section.
#[component]
fn NetworkingSettings(slug: Signal<String>) -> impl IntoView {
    use protocol::states::MatchRule;
    let set = ServerAction::<SetCallLength>::new();
    let pairing = ServerAction::<SetPairing>::new();
    // Loaded once: the forms keep what was saved, and loading again after
    // one form's save would build both anew, dropping what the organiser
    // was choosing in the other meanwhile.
    let data = Resource::new(move || slug.get(), networking_admin);
    let label = |r: MatchRule| match r {
        MatchRule::Anyone => "Anyone with anyone",
        MatchRule::SameTicketType => "People with the same ticket type",
        MatchRule::OtherTicketType => "People with different ticket types",
        MatchRule::SameAnswer => "People who gave the same answer to a question",
    };
    view! {
        <h2 class="text-xl font-semibold mt-8">"Networking"</h2>
        <Transition fallback=|| view! { <crate::look::Loading/> }>
            <ErrorBoundary fallback=error_list>
                {move || Suspend::new(async move {
                    data.await.map(|n| view! {
                        <ActionForm action=set attr:class="flex flex-wrap items-end gap-2" attr:data-testid="call-length">
                            <input type="hidden" name="slug" value=slug/>
                            <label class="block">"Length of a 1:1 call (seconds)"
                                <input class="input" name="call_secs" type="number" min="10" max="1800" value=n.call_secs required/></label>
                            <button class="btn" type="submit">"Save"</button>
                        </ActionForm>
                        <FormError error=error_of(set.value())/>
                        <Saved when=succeeded(set.value()) text="Call length saved."/>
                        <ActionForm action=pairing attr:class="flex flex-wrap items-end gap-2" attr:data-testid="pairing">
                            <input type="hidden" name="slug" value=slug/>
                            <label class="block">"Pair"
                                <select class="input" name="rule">
                                    {MatchRule::ALL.iter().map(|r| view! {
                                        <option value=r.as_str() selected=*r == n.rule>{label(*r)}</option>
                                    }).collect_view()}
                                </select></label>
                            <label class="block">"Question (for pairing by answer)"
                                <select class="input" name="question">
                                    <option value="">"—"</option>
                                    {n.choice_questions.iter().map(|(id, q)| view! {
                                        <option value=id.clone() selected=n.question.as_deref() == Some(id.as_str())>{q.clone()}</option>
                                    }).collect_view()}
                                </select></label>
                            <button class="btn" type="submit">"Save"</button>
                        </ActionForm>
                        <FormError error=error_of(pairing.value())/>
                        <Saved when=succeeded(pairing.value()) text="Pairing saved."/>
                        <h3 class="font-semibold">"Reports"</h3>
                        {n.reports.is_empty().then(|| view! { <p class="empty" data-testid="no-reports">"No reports."</p> })}
                        <ul class="space-y-1" data-testid="reports">
                            {rows(n.reports, |r| view! {
                                <li><span class="font-semibold">{r.reporter.clone()}</span> " reported " <span class="font-semibold">{r.reported.clone()}</span>
                                    " (" {r.at.clone()} "): " {r.reason.clone()}</li>
                            })}
                        </ul>
                    })
                })}
            </ErrorBoundary>
        </Transition>
    }
}
