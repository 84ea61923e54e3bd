//! The Reception content of an event's dashboard: agenda sessions, speakers and
//! sponsors, added and removed by the organiser.

use leptos::prelude::*;

use crate::error::AppError;
use crate::forms::{error_list, error_of, FormError};

/// A line of Reception content the organiser can remove.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ItemRow {
    /// Its id.
    pub id: String,
    /// What the organiser sees.
    pub label: String,
}

/// A stage a session can run on.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StageOption {
    /// Stage id.
    pub id: String,
    /// Name.
    pub name: String,
}

/// The Reception content of one of the organiser's events.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AgendaAdminData {
    /// Agenda sessions ("time · title · speakers").
    pub agenda: Vec<ItemRow>,
    /// Speakers (by name).
    pub speakers: Vec<ItemRow>,
    /// Sponsors ("name (tier)").
    pub sponsors: Vec<ItemRow>,
    /// The event's stages.
    pub stages: Vec<StageOption>,
}

/// The agenda, speakers and sponsors of an event of the signed-in organiser.
#[server(prefix = "/fn", endpoint = "agenda_admin")]
pub async fn agenda_admin(slug: String) -> Result<AgendaAdminData, AppError> {
    let platform = crate::context::platform()?;
    let me = super::current_organiser().await?;
    use services::live::{agenda, stages};
    let event = services::events::get_for_org(&platform.pool, &me, &slug).await?;
    let agenda = agenda::sessions(&platform.pool, event.id)
        .await?
        .into_iter()
        .map(|s| {
            let line = format!(
                "{} · {}{}",
                services::time::local_time(s.starts_at, &event.time_zone),
                s.title,
                if s.speakers.is_empty() {
                    String::new()
                } else {
                    format!(" · {}", s.speakers.join(", "))
                }
            );
            ItemRow {
                id: s.id.to_string(),
                label: line,
            }
        })
        .collect();
    let speakers = agenda::speakers(&platform.pool, event.id)
        .await?
        .into_iter()
        .map(|s| ItemRow {
            id: s.id.to_string(),
            label: s.name,
        })
        .collect();
    let sponsors = agenda::sponsors(&platform.pool, event.id)
        .await?
        .into_iter()
        .map(|s| ItemRow {
            id: s.id.to_string(),
            label: format!("{} ({})", s.name, s.tier),
        })
        .collect();
    let stages = stages::list(&platform.pool, event.id)
        .await?
        .into_iter()
        .map(|s| StageOption {
            id: s.id.to_string(),
            name: s.name,
        })
        .collect();
    Ok(AgendaAdminData {
        agenda,
        speakers,
        sponsors,
        stages,
    })
}

/// Adds a speaker.
#[server(prefix = "/fn", endpoint = "add_speaker")]
pub async fn add_speaker(
    slug: String,
    name: String,
    headline: Option<String>,
    bio: Option<String>,
    photo_url: Option<String>,
) -> Result<(), AppError> {
    let platform = crate::context::platform()?;
    let me = super::current_organiser().await?;
    services::live::agenda::add_speaker(
        &platform.pool,
        &me,
        &slug,
        &name,
        headline.as_deref().unwrap_or(""),
        bio.as_deref().unwrap_or(""),
        photo_url.as_deref().unwrap_or(""),
    )
    .await?;
    Ok(())
}

/// Adds a session to the agenda (times in the event's zone; speakers by name, comma-separated).
#[server(prefix = "/fn", endpoint = "add_session")]
pub async fn add_session(
    slug: String,
    title: String,
    description: Option<String>,
    starts: String,
    ends: String,
    stage: Option<String>,
    speakers: Option<String>,
) -> Result<(), AppError> {
    let platform = crate::context::platform()?;
    let me = super::current_organiser().await?;
    let stage = match stage.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => Some(crate::error::parse_id("stage", s)?),
        None => None,
    };
    let input = services::live::agenda::NewSession {
        title: &title,
        description: description.as_deref().unwrap_or(""),
        starts_local: &starts,
        ends_local: &ends,
        stage,
        speakers: speakers.as_deref().unwrap_or(""),
    };
    services::live::agenda::add_session(&platform.pool, &me, &slug, input).await?;
    Ok(())
}

/// Adds a sponsor.
#[server(prefix = "/fn", endpoint = "add_sponsor")]
pub async fn add_sponsor(
    slug: String,
    name: String,
    tier: String,
    url: Option<String>,
    logo_url: Option<String>,
) -> Result<(), AppError> {
    let platform = crate::context::platform()?;
    let me = super::current_organiser().await?;
    services::live::agenda::add_sponsor(
        &platform.pool,
        &me,
        &slug,
        &name,
        &tier,
        url.as_deref().unwrap_or(""),
        logo_url.as_deref().unwrap_or(""),
    )
    .await?;
    Ok(())
}

/// Removes an agenda session, a speaker or a sponsor (`kind`).
#[server(prefix = "/fn", endpoint = "remove_agenda_item")]
pub async fn remove_agenda_item(slug: String, kind: String, id: String) -> Result<(), AppError> {
    let platform = crate::context::platform()?;
    let me = super::current_organiser().await?;
    let item: services::live::agenda::Item = kind.parse()?;
    let id = crate::error::parse_id("id", &id)?;
    services::live::agenda::remove(&platform.pool, &me, &slug, item, id).await?;
    Ok(())
}

/// A small "Remove" button for an agenda item. A form: never put it inside a
/// `<p>`, which the HTML parser closes before it (and hydration then fails).
fn remove_button(
    action: ServerAction<RemoveAgendaItem>,
    slug: String,
    kind: &'static str,
    id: String,
) -> impl IntoView {
    view! {
        <ActionForm action=action attr:class="inline">
            <input type="hidden" name="slug" value=slug/>
            <input type="hidden" name="kind" value=kind/>
            <input type="hidden" name="id" value=id/>
            <button type="submit" class="text-xs underline text-red-700 ml-2">"Remove"</button>
        </ActionForm>
    }
}

/// The Reception content section of the event page. `stages_changed` ticks
/// when a stage is added, so the session form offers it.
#[component]
pub fn AgendaAdmin(
    #[prop(into)] slug: Signal<String>,
    #[prop(into)] stages_changed: Signal<usize>,
) -> impl IntoView {
    let speaker = ServerAction::<AddSpeaker>::new();
    let session = ServerAction::<AddSession>::new();
    let sponsor = ServerAction::<AddSponsor>::new();
    let remove = ServerAction::<RemoveAgendaItem>::new();
    let data = Resource::new(
        move || {
            (
                slug.get(),
                stages_changed.get()
                    + speaker.version().get()
                    + session.version().get()
                    + sponsor.version().get()
                    + remove.version().get(),
            )
        },
        |(slug, _)| agenda_admin(slug),
    );
    view! {
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            <ErrorBoundary fallback=error_list>
                {move || Suspend::new(async move {
                    data.await.map(|d| view! {
                        <h2 class="text-xl font-semibold mt-6">"Agenda"</h2>
                        <ul class="my-2 list-disc pl-6" data-testid="agenda-admin">
                            {d.agenda.iter().map(|a| view! { <li>{a.label.clone()} {remove_button(remove, slug.get_untracked(), "session", a.id.clone())}</li> }).collect::<Vec<_>>()}
                        </ul>
                        <div class="text-sm" data-testid="speakers-admin">"Speakers: "
                            {d.speakers.iter().map(|s| view! { <span class="mr-2">{s.label.clone()} {remove_button(remove, slug.get_untracked(), "speaker", s.id.clone())}</span> }).collect::<Vec<_>>()}
                        </div>
                        <div class="text-sm" data-testid="sponsors-admin">"Sponsors: "
                            {d.sponsors.iter().map(|s| view! { <span class="mr-2">{s.label.clone()} {remove_button(remove, slug.get_untracked(), "sponsor", s.id.clone())}</span> }).collect::<Vec<_>>()}
                        </div>
                        <FormError error=error_of(remove.value())/>
                        <ActionForm action=session attr:class="grid grid-cols-2 gap-2 max-w-3xl my-2">
                            <input type="hidden" name="slug" value=slug.get_untracked()/>
                            <label class="block col-span-2">"Session title"<input class="input" name="title" required/></label>
                            <label class="block">"Session starts (event time)"<input class="input" type="datetime-local" name="starts" required/></label>
                            <label class="block">"Session ends (event time)"<input class="input" type="datetime-local" name="ends" required/></label>
                            <label class="block">"On stage"
                                <select class="input" name="stage">
                                    <option value="">"—"</option>
                                    {d.stages.iter().map(|s| view! { <option value=s.id.clone()>{s.name.clone()}</option> }).collect::<Vec<_>>()}
                                </select>
                            </label>
                            <label class="block">"Speakers (names, comma-separated)"<input class="input" name="speakers"/></label>
                            <label class="block col-span-2">"Session description"<textarea class="input" name="description" rows="2"></textarea></label>
                            <button class="btn col-span-2" type="submit">"Add session"</button>
                        </ActionForm>
                    })
                })}
            </ErrorBoundary>
        </Transition>
        <FormError error=error_of(session.value())/>
        <h3 class="text-lg font-semibold mt-4">"Add a speaker"</h3>
        <ActionForm action=speaker attr:class="grid grid-cols-2 gap-2 max-w-3xl">
            <input type="hidden" name="slug" value=slug/>
            <label class="block">"Speaker name"<input class="input" name="name" required/></label>
            <label class="block">"Headline"<input class="input" name="headline" placeholder="CTO at Example"/></label>
            <label class="block">"Photo URL"<input class="input" name="photo_url" placeholder="https://…"/></label>
            <label class="block col-span-2">"Bio"<textarea class="input" name="bio" rows="2"></textarea></label>
            <button class="btn col-span-2" type="submit">"Add speaker"</button>
        </ActionForm>
        <FormError error=error_of(speaker.value())/>
        <h3 class="text-lg font-semibold mt-4">"Add a sponsor"</h3>
        <ActionForm action=sponsor attr:class="grid grid-cols-4 gap-2 max-w-3xl">
            <input type="hidden" name="slug" value=slug/>
            <label class="block">"Sponsor name"<input class="input" name="name" required/></label>
            <label class="block">"Tier"
                <select class="input" name="tier">
                    <option value="gold">"Gold"</option><option value="silver">"Silver"</option>
                    <option value="bronze">"Bronze"</option><option value="partner">"Partner"</option>
                </select>
            </label>
            <label class="block">"Website"<input class="input" name="url" placeholder="https://…"/></label>
            <label class="block">"Logo URL"<input class="input" name="logo_url" placeholder="https://…"/></label>
            <button class="btn col-span-4" type="submit">"Add sponsor"</button>
        </ActionForm>
        <FormError error=error_of(sponsor.value())/>
    }
}
