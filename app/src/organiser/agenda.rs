//! The Reception content of an event's dashboard: agenda sessions, speakers and
//! sponsors, added and removed by the organiser.

use leptos::prelude::*;

use crate::error::AppError;
use crate::forms::{error_list, error_of, rows, succeeded, successes, FormError, Saved};

/// An agenda session as the organiser sees and edits it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct SessionRow {
    /// Its id.
    pub id: String,
    /// "time · title · speakers".
    pub label: String,
    /// Title.
    pub title: String,
    /// Description.
    pub description: String,
    /// Start as a `datetime-local` value in the event's zone.
    pub starts: String,
    /// End, likewise.
    pub ends: String,
    /// Its stage's id, or empty.
    pub stage: String,
    /// Speaker names, comma-separated.
    pub speakers: String,
}

/// A speaker as the organiser sees and edits them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct SpeakerRow {
    /// Their id.
    pub id: String,
    /// Name (also the label).
    pub label: String,
    /// One line.
    pub headline: String,
    /// Bio.
    pub bio: String,
    /// Photo URL or empty.
    pub photo_url: String,
    /// Their latest pre-event check, summed up (empty: none yet).
    pub check: String,
}

/// A sponsor as the organiser sees and edits it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct SponsorRow {
    /// Its id.
    pub id: String,
    /// "name (tier)".
    pub label: String,
    /// Name.
    pub name: String,
    /// Tier.
    pub tier: String,
    /// Website or empty.
    pub url: String,
    /// Logo URL or empty.
    pub logo_url: String,
}

/// A stage a session can run on.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct StageOption {
    /// Stage id.
    pub id: String,
    /// Name.
    pub name: String,
}

/// The Reception content of one of the organiser's events.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AgendaAdminData {
    /// Agenda sessions.
    pub agenda: Vec<SessionRow>,
    /// Speakers.
    pub speakers: Vec<SpeakerRow>,
    /// Sponsors.
    pub sponsors: Vec<SponsorRow>,
    /// The event's stages.
    pub stages: Vec<StageOption>,
}

/// The agenda, speakers and sponsors of an event of the signed-in organiser.
#[server(prefix = "/fn", endpoint = "agenda_admin")]
pub async fn agenda_admin(slug: String) -> Result<AgendaAdminData, AppError> {
    let platform = crate::context::platform()?;
    let me = super::current_organiser().await?;
    use services::live::{agenda, stages};
    use services::time::{local_input, local_time};
    let event = services::events::get_for_org(&platform.pool, &me, &slug).await?;
    let tz = event.time_zone.as_str();
    let agenda = agenda::sessions(&platform.pool, event.id)
        .await?
        .into_iter()
        .map(|s| {
            let label = format!(
                "{} · {}{}",
                local_time(s.starts_at, tz),
                s.title,
                if s.speakers.is_empty() {
                    String::new()
                } else {
                    format!(" · {}", s.speakers.join(", "))
                }
            );
            SessionRow {
                id: s.id.to_string(),
                label,
                description: s.description,
                starts: local_input(s.starts_at, tz),
                ends: local_input(s.ends_at, tz),
                stage: s.stage_id.map(|id| id.to_string()).unwrap_or_default(),
                speakers: s.speakers.join(", "),
                title: s.title,
            }
        })
        .collect();
    let checks = services::live::checks::latest_by_speaker(&platform.pool, event.id).await?;
    let speakers = agenda::speakers(&platform.pool, event.id)
        .await?
        .into_iter()
        .map(|s| SpeakerRow {
            check: checks
                .get(&s.id)
                .map(|c| {
                    format!(
                        "check {} ({:.0} ms, {:.0} kbit/s, {:.1} % lost; by {}, {})",
                        c.verdict,
                        c.rtt_ms,
                        c.bitrate_kbps,
                        c.loss_pct,
                        c.attendee_name,
                        local_time(c.created_at, tz)
                    )
                })
                .unwrap_or_default(),
            id: s.id.to_string(),
            label: s.name,
            headline: s.headline,
            bio: s.bio,
            photo_url: s.photo_url,
        })
        .collect();
    let sponsors = agenda::sponsors(&platform.pool, event.id)
        .await?
        .into_iter()
        .map(|s| SponsorRow {
            id: s.id.to_string(),
            label: format!("{} ({})", s.name, s.tier),
            name: s.name,
            tier: s.tier.as_str().to_owned(),
            url: s.url,
            logo_url: s.logo_url,
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

/// An optional id field: empty means none.
#[cfg(feature = "ssr")]
fn optional_id<T: std::str::FromStr>(
    field: &str,
    raw: &Option<String>,
) -> Result<Option<T>, AppError> {
    match raw.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => Ok(Some(crate::error::parse_id(field, s)?)),
        None => Ok(None),
    }
}

/// Adds a speaker, or with `id` changes that one.
#[cfg(feature = "ssr")]
async fn save_speaker(
    slug: &str,
    id: Option<String>,
    name: &str,
    headline: Option<String>,
    bio: Option<String>,
    photo_url: Option<String>,
) -> Result<(), AppError> {
    use services::live::agenda;
    let platform = crate::context::platform()?;
    let me = super::current_organiser().await?;
    let input = agenda::SpeakerInput {
        name,
        headline: headline.as_deref().unwrap_or(""),
        bio: bio.as_deref().unwrap_or(""),
        photo_url: photo_url.as_deref().unwrap_or(""),
    };
    match optional_id("id", &id)? {
        None => agenda::add_speaker(&platform.pool, &me, slug, input).await?,
        Some(id) => agenda::update_speaker(&platform.pool, &me, slug, id, input).await?,
    };
    Ok(())
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
    save_speaker(&slug, None, &name, headline, bio, photo_url).await
}

/// Changes speaker `id` (their sessions keep them).
#[server(prefix = "/fn", endpoint = "update_speaker")]
pub async fn update_speaker(
    slug: String,
    id: String,
    name: String,
    headline: Option<String>,
    bio: Option<String>,
    photo_url: Option<String>,
) -> Result<(), AppError> {
    save_speaker(&slug, Some(id), &name, headline, bio, photo_url).await
}

/// A session's form fields as they arrive.
#[cfg(feature = "ssr")]
struct SessionFields {
    title: String,
    description: Option<String>,
    starts: String,
    ends: String,
    stage: Option<String>,
    speakers: Option<String>,
}

/// Adds a session, or with `id` changes that one.
#[cfg(feature = "ssr")]
async fn save_session(slug: &str, id: Option<String>, f: SessionFields) -> Result<(), AppError> {
    use services::live::agenda;
    let platform = crate::context::platform()?;
    let me = super::current_organiser().await?;
    let input = agenda::NewSession {
        title: &f.title,
        description: f.description.as_deref().unwrap_or(""),
        starts_local: &f.starts,
        ends_local: &f.ends,
        stage: optional_id("stage", &f.stage)?,
        speakers: f.speakers.as_deref().unwrap_or(""),
    };
    match optional_id("id", &id)? {
        None => agenda::add_session(&platform.pool, &me, slug, input).await?,
        Some(id) => agenda::update_session(&platform.pool, &me, slug, id, input).await?,
    };
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
    let fields = SessionFields {
        title,
        description,
        starts,
        ends,
        stage,
        speakers,
    };
    save_session(&slug, None, fields).await
}

/// Changes agenda session `id`: the same fields as adding one.
#[server(prefix = "/fn", endpoint = "update_session")]
pub async fn update_session(
    slug: String,
    id: String,
    title: String,
    description: Option<String>,
    starts: String,
    ends: String,
    stage: Option<String>,
    speakers: Option<String>,
) -> Result<(), AppError> {
    let fields = SessionFields {
        title,
        description,
        starts,
        ends,
        stage,
        speakers,
    };
    save_session(&slug, Some(id), fields).await
}

/// Adds a sponsor, or with `id` changes that one.
#[cfg(feature = "ssr")]
async fn save_sponsor(
    slug: &str,
    id: Option<String>,
    name: &str,
    tier: &str,
    url: Option<String>,
    logo_url: Option<String>,
) -> Result<(), AppError> {
    use services::live::agenda;
    let platform = crate::context::platform()?;
    let me = super::current_organiser().await?;
    let input = agenda::SponsorInput {
        name,
        tier,
        url: url.as_deref().unwrap_or(""),
        logo_url: logo_url.as_deref().unwrap_or(""),
    };
    match optional_id("id", &id)? {
        None => agenda::add_sponsor(&platform.pool, &me, slug, input).await?,
        Some(id) => agenda::update_sponsor(&platform.pool, &me, slug, id, input).await?,
    };
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
    save_sponsor(&slug, None, &name, &tier, url, logo_url).await
}

/// Changes sponsor `id`.
#[server(prefix = "/fn", endpoint = "update_sponsor")]
pub async fn update_sponsor(
    slug: String,
    id: String,
    name: String,
    tier: String,
    url: Option<String>,
    logo_url: Option<String>,
) -> Result<(), AppError> {
    save_sponsor(&slug, Some(id), &name, &tier, url, logo_url).await
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
    let edit = Edits {
        session: ServerAction::<UpdateSession>::new(),
        speaker: ServerAction::<UpdateSpeaker>::new(),
        sponsor: ServerAction::<UpdateSponsor>::new(),
    };
    let done_speaker = successes(speaker.value());
    let done_session = successes(session.value());
    let done_sponsor = successes(sponsor.value());
    let done_remove = successes(remove.value());
    let done_edit_session = successes(edit.session.value());
    let done_edit_speaker = successes(edit.speaker.value());
    let done_edit_sponsor = successes(edit.sponsor.value());
    let data = Resource::new(
        move || {
            (
                slug.get(),
                stages_changed.get()
                    + done_speaker.get()
                    + done_session.get()
                    + done_sponsor.get()
                    + done_remove.get()
                    + done_edit_session.get()
                    + done_edit_speaker.get()
                    + done_edit_sponsor.get(),
            )
        },
        |(slug, _)| agenda_admin(slug),
    );
    let saved = Signal::derive(move || {
        succeeded(edit.session.value()).get()
            || succeeded(edit.speaker.value()).get()
            || succeeded(edit.sponsor.value()).get()
    });
    view! {
        <Transition fallback=|| view! { <crate::look::Loading/> }>
            <ErrorBoundary fallback=error_list>
                {move || Suspend::new(async move {
                    data.await.map(|d| view! {
                        <h2 class="text-xl font-semibold mt-6">"Agenda"</h2>
                        <Saved when=saved text="Saved."/>
                        <ul class="my-2 list-disc pl-6" data-testid="agenda-admin">
                            // A session's edit form lists the stages: a new stage redraws it.
                            {rows(d.agenda.iter().map(|a| (a.clone(), d.stages.clone())).collect(), move |(a, stages)| view! {
                                <li>{a.label.clone()} {remove_button(remove, slug.get_untracked(), "session", a.id.clone())}
                                {edit_session(edit.session, slug.get_untracked(), a, &stages)}</li> })}
                        </ul>
                        <div class="text-sm" data-testid="speakers-admin">"Speakers: "
                            {rows(d.speakers.clone(), move |s| view! { <span class="mr-2" data-testid="speaker-admin">{s.label.clone()}
                                <span class="text-slate-600" data-testid="speaker-check">{if s.check.is_empty() { " (no pre-event check yet)".to_owned() } else { format!(" ({})", s.check) }}</span>
                                {remove_button(remove, slug.get_untracked(), "speaker", s.id.clone())}
                                {edit_speaker(edit.speaker, slug.get_untracked(), s)}</span> })}
                        </div>
                        <div class="text-sm" data-testid="sponsors-admin">"Sponsors: "
                            {rows(d.sponsors.clone(), move |s| view! { <span class="mr-2">{s.label.clone()} {remove_button(remove, slug.get_untracked(), "sponsor", s.id.clone())}
                                {edit_sponsor(edit.sponsor, slug.get_untracked(), s)}</span> })}
                        </div>
                        <FormError error=error_of(remove.value())/>
                        <FormError error=error_of(edit.session.value())/>
                        <FormError error=error_of(edit.speaker.value())/>
                        <FormError error=error_of(edit.sponsor.value())/>
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

/// The edit actions of Reception content.
#[derive(Clone, Copy)]
struct Edits {
    session: ServerAction<UpdateSession>,
    speaker: ServerAction<UpdateSpeaker>,
    sponsor: ServerAction<UpdateSponsor>,
}

/// A session's "Edit" disclosure.
fn edit_session(
    action: ServerAction<UpdateSession>,
    slug: String,
    a: SessionRow,
    stages: &[StageOption],
) -> impl IntoView {
    let options = stages
        .iter()
        .map(|s| {
            let selected = s.id == a.stage;
            view! { <option value=s.id.clone() selected=selected>{s.name.clone()}</option> }
        })
        .collect::<Vec<_>>();
    view! {
        <details class="inline-block ml-2" data-testid="edit-session">
            <summary class="cursor-pointer text-xs underline">"Edit"<span class="sr-only">" " {a.title.clone()}</span></summary>
            <ActionForm action=action attr:class="grid grid-cols-2 gap-2 p-2 sm:min-w-[24rem]">
                <input type="hidden" name="slug" value=slug/>
                <input type="hidden" name="id" value=a.id/>
                <label class="block col-span-2">"Title"<input class="input" name="title" value=a.title required/></label>
                <label class="block">"Starts at (event time)"<input class="input" type="datetime-local" name="starts" value=a.starts required/></label>
                <label class="block">"Ends at (event time)"<input class="input" type="datetime-local" name="ends" value=a.ends required/></label>
                <label class="block">"Stage"
                    <select class="input" name="stage">
                        <option value="" selected=a.stage.is_empty()>"—"</option>
                        {options}
                    </select>
                </label>
                <label class="block">"Speaker names"<input class="input" name="speakers" value=a.speakers/></label>
                <label class="block col-span-2">"About the session"<textarea class="input" name="description" rows="2">{a.description}</textarea></label>
                <button class="btn col-span-2" type="submit">"Save session"</button>
            </ActionForm>
        </details>
    }
}

/// A speaker's "Edit" disclosure.
fn edit_speaker(action: ServerAction<UpdateSpeaker>, slug: String, s: SpeakerRow) -> impl IntoView {
    view! {
        <details class="inline-block ml-1" data-testid="edit-speaker">
            <summary class="cursor-pointer text-xs underline">"Edit"<span class="sr-only">" " {s.label.clone()}</span></summary>
            <ActionForm action=action attr:class="grid gap-2 p-2 sm:min-w-[18rem]">
                <input type="hidden" name="slug" value=slug/>
                <input type="hidden" name="id" value=s.id/>
                <label class="block">"Full name"<input class="input" name="name" value=s.label required/></label>
                <label class="block">"One line about them"<input class="input" name="headline" value=s.headline/></label>
                <label class="block">"Photo (https URL)"<input class="input" name="photo_url" value=s.photo_url/></label>
                <label class="block">"Biography"<textarea class="input" name="bio" rows="2">{s.bio}</textarea></label>
                <button class="btn" type="submit">"Save speaker"</button>
            </ActionForm>
        </details>
    }
}

/// A sponsor's "Edit" disclosure.
fn edit_sponsor(action: ServerAction<UpdateSponsor>, slug: String, s: SponsorRow) -> impl IntoView {
    let tier = s.tier.clone();
    view! {
        <details class="inline-block ml-1" data-testid="edit-sponsor">
            <summary class="cursor-pointer text-xs underline">"Edit"<span class="sr-only">" " {s.name.clone()}</span></summary>
            <ActionForm action=action attr:class="grid gap-2 p-2 sm:min-w-[18rem]">
                <input type="hidden" name="slug" value=slug/>
                <input type="hidden" name="id" value=s.id/>
                <label class="block">"Company name"<input class="input" name="name" value=s.name required/></label>
                <label class="block">"Level"
                    <select class="input" name="tier">
                        {["gold", "silver", "bronze", "partner"].into_iter().map(|t| view! {
                            <option value=t selected=t == tier>{t}</option>
                        }).collect::<Vec<_>>()}
                    </select>
                </label>
                <label class="block">"Web site (https URL)"<input class="input" name="url" value=s.url/></label>
                <label class="block">"Logo (https URL)"<input class="input" name="logo_url" value=s.logo_url/></label>
                <button class="btn" type="submit">"Save sponsor"</button>
            </ActionForm>
        </details>
    }
}
