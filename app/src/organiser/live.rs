//! The live part of an event's dashboard: stages and their stream sources, the
//! App store (install, configure, uninstall), moderators, and caption lines.
//! The Reception content (agenda, speakers, sponsors) is `super::agenda`.

use leptos::prelude::*;
use protocol::states::{AppKind, Placement, SettingKind, StageSourceKind};

use crate::error::AppError;
use crate::forms::{error_list, error_of, rows, successes, FormError};

/// A stage as the organiser sees it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct StageRow {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// What it plays.
    pub source_kind: StageSourceKind,
    /// Source URL.
    pub source_url: String,
    /// What a simulive stage plays and when, in the event's time.
    pub simulive: Option<String>,
}

/// A ready video of the event, which a stage can play as simulive.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ReadyVideo {
    /// The asset's id.
    pub id: String,
    /// Its title.
    pub title: String,
}

/// A setting an app takes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SettingRow {
    /// Key in the app's config.
    pub key: String,
    /// Label.
    pub label: String,
    /// Its kind (a checkbox for `bool`).
    pub kind: SettingKind,
}

/// An app of the catalogue, and whether it is installed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AppRow {
    /// Which app.
    pub id: AppKind,
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Where it appears.
    pub placements: Vec<Placement>,
    /// Its settings.
    pub settings: Vec<SettingRow>,
    /// Installed configuration (None when not installed).
    pub config: Option<String>,
}

/// Stages and apps of one of the organiser's events.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LiveAdminData {
    /// Stages.
    pub stages: Vec<StageRow>,
    /// The app catalogue.
    pub apps: Vec<AppRow>,
    /// Videos ready to play as simulive.
    pub videos: Vec<ReadyVideo>,
}

/// The live setup of an event of the signed-in organiser.
#[server(prefix = "/fn", endpoint = "live_admin")]
pub async fn live_admin(slug: String) -> Result<LiveAdminData, AppError> {
    let platform = crate::context::platform()?;
    let me = super::current_organiser().await?;
    use services::live::{apps, stages};
    let event = services::events::get_for_org(&platform.pool, &me, &slug).await?;
    let installed = apps::installed(&platform.pool, event.id).await?;
    let videos = services::assets::list(&platform.pool, &me, &slug).await?;
    let title_of = |id| {
        videos
            .iter()
            .find(|v| Some(v.id) == id)
            .map(|v| v.title.clone())
            .unwrap_or_default()
    };
    Ok(LiveAdminData {
        stages: stages::list(&platform.pool, event.id)
            .await?
            .into_iter()
            .map(|s| StageRow {
                id: s.id.to_string(),
                simulive: s.starts_at.map(|at| {
                    format!(
                        "{}, from {}",
                        title_of(s.source_asset),
                        services::time::local_time(at, &event.time_zone)
                    )
                }),
                name: s.name,
                source_kind: s.source_kind,
                source_url: s.source_url,
            })
            .collect(),
        videos: videos
            .iter()
            .filter(|v| v.playable())
            .map(|v| ReadyVideo {
                id: v.id.to_string(),
                title: v.title.clone(),
            })
            .collect(),
        apps: apps::CATALOGUE
            .iter()
            .map(|m| AppRow {
                id: m.id,
                name: m.name.into(),
                description: m.description.into(),
                placements: m.placements.to_vec(),
                settings: m
                    .settings
                    .iter()
                    .map(|s| SettingRow {
                        key: s.key.into(),
                        label: s.label.into(),
                        kind: s.kind,
                    })
                    .collect(),
                config: installed
                    .iter()
                    .find(|i| i.app_id == m.id)
                    .map(|i| i.config.to_string()),
            })
            .collect(),
    })
}

/// Adds a stage with its stream source (`hls`, `embed` or `none`).
#[server(prefix = "/fn", endpoint = "create_stage")]
pub async fn create_stage(
    slug: String,
    name: String,
    source_kind: String,
    source_url: Option<String>,
) -> Result<(), AppError> {
    let platform = crate::context::platform()?;
    let me = super::current_organiser().await?;
    let url = source_url.unwrap_or_default();
    services::live::stages::create(&platform.pool, &me, &slug, &name, &source_kind, &url).await?;
    Ok(())
}

/// Installs (or reconfigures) an app; `config` holds its settings by key.
#[server(prefix = "/fn", endpoint = "install_app")]
pub async fn install_app(
    slug: String,
    app: String,
    config: Option<std::collections::HashMap<String, String>>,
) -> Result<(), AppError> {
    let platform = crate::context::platform()?;
    let me = super::current_organiser().await?;
    let config = serde_json::to_value(config.unwrap_or_default())
        .map_err(|e| AppError::from(services::Error::from(e)))?;
    services::live::apps::install(&platform.pool, &me, &slug, &app, &config).await?;
    Ok(())
}

/// Uninstalls an app.
#[server(prefix = "/fn", endpoint = "uninstall_app")]
pub async fn uninstall_app(slug: String, app: String) -> Result<(), AppError> {
    let platform = crate::context::platform()?;
    let me = super::current_organiser().await?;
    services::live::apps::uninstall(&platform.pool, &me, &slug, &app).await?;
    Ok(())
}

/// A verified attendee as the moderators list shows them.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StaffCandidate {
    /// Attendee id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Email (the organiser's to see).
    pub email: String,
    /// Whether they moderate now.
    pub moderator: bool,
}

/// How many verified attendees the moderator picker lists.
#[cfg(feature = "ssr")]
const CANDIDATES: i64 = 500;

/// The event's verified attendees: who can be made a moderator, and who is one.
#[server(prefix = "/fn", endpoint = "staff_candidates")]
pub async fn staff_candidates(slug: String) -> Result<Vec<StaffCandidate>, AppError> {
    let platform = crate::context::platform()?;
    let me = super::current_organiser().await?;
    let event = services::events::get_for_org(&platform.pool, &me, &slug).await?;
    let people =
        services::registrations::attendees::verified(&platform.pool, event.id, CANDIDATES).await?;
    Ok(people
        .into_iter()
        .map(|a| StaffCandidate {
            id: a.id.to_string(),
            moderator: a.role == protocol::states::AttendeeRole::Moderator,
            name: a.name,
            email: a.email,
        })
        .collect())
}

/// Makes verified attendee `attendee_id` a moderator (`moderator` = "true",
/// or absent) or not (`moderator` = "false").
#[server(prefix = "/fn", endpoint = "set_moderator")]
pub async fn set_moderator(
    slug: String,
    attendee_id: String,
    moderator: Option<String>,
) -> Result<(), AppError> {
    let platform = crate::context::platform()?;
    let me = super::current_organiser().await?;
    let id = crate::error::parse_id("attendee_id", &attendee_id)?;
    let on = moderator.is_none() || crate::forms::checked(&moderator);
    services::live::moderation::set_moderator(&platform.pool, &me, &slug, id, on).await?;
    Ok(())
}

/// Posts a caption line in `language` to a stage (Translations app).
#[server(prefix = "/fn", endpoint = "post_caption")]
pub async fn post_caption(
    slug: String,
    stage: String,
    language: String,
    body: String,
) -> Result<(), AppError> {
    let platform = crate::context::platform()?;
    let me = super::current_organiser().await?;
    let channel = protocol::Channel::Stage(crate::error::parse_id("stage", &stage)?);
    let deps = platform.live_deps();
    services::live::actions::post_caption(&deps, &me, &slug, channel, &language, &body).await?;
    Ok(())
}

/// Changes a stage's stream source.
#[server(prefix = "/fn", endpoint = "set_stage_source")]
pub async fn set_stage_source(
    slug: String,
    stage: String,
    source_kind: String,
    source_url: Option<String>,
) -> Result<(), AppError> {
    let platform = crate::context::platform()?;
    let me = super::current_organiser().await?;
    let stage = crate::error::parse_id("stage", &stage)?;
    let url = source_url.unwrap_or_default();
    let source = services::live::actions::StageSource::Url {
        kind: &source_kind,
        url: &url,
    };
    services::live::actions::change_stage_source(&platform.live_deps(), &me, &slug, stage, source)
        .await?;
    Ok(())
}

/// Makes stage `stage` play video `asset` as simulive from `starts_at` (a
/// `datetime-local` value in the event's zone; empty: now).
#[server(prefix = "/fn", endpoint = "set_stage_simulive")]
pub async fn set_stage_simulive(
    slug: String,
    stage: String,
    asset: String,
    starts_at: Option<String>,
) -> Result<(), AppError> {
    let platform = crate::context::platform()?;
    let me = super::current_organiser().await?;
    let stage = crate::error::parse_id("stage", &stage)?;
    let asset = crate::error::parse_id("asset", &asset)?;
    let source = services::live::actions::StageSource::Simulive {
        asset,
        starts_local: starts_at.as_deref().unwrap_or_default(),
    };
    services::live::actions::change_stage_source(&platform.live_deps(), &me, &slug, stage, source)
        .await?;
    Ok(())
}

/// Renames stage `stage`.
#[server(prefix = "/fn", endpoint = "rename_stage")]
pub async fn rename_stage(slug: String, stage: String, name: String) -> Result<(), AppError> {
    let platform = crate::context::platform()?;
    let me = super::current_organiser().await?;
    let stage = crate::error::parse_id("stage", &stage)?;
    services::live::stages::rename(&platform.pool, &me, &slug, stage, &name).await?;
    Ok(())
}

/// Removes stage `stage` (agenda sessions on it stay, without a stage).
#[server(prefix = "/fn", endpoint = "remove_stage")]
pub async fn remove_stage(slug: String, stage: String) -> Result<(), AppError> {
    let platform = crate::context::platform()?;
    let me = super::current_organiser().await?;
    let stage = crate::error::parse_id("stage", &stage)?;
    services::live::stages::remove(&platform.pool, &me, &slug, stage).await?;
    Ok(())
}

/// The live setup section of the event page.
#[component]
pub fn LiveAdmin(#[prop(into)] slug: Signal<String>) -> impl IntoView {
    let add_stage = ServerAction::<CreateStage>::new();
    let install = ServerAction::<InstallApp>::new();
    let uninstall = ServerAction::<UninstallApp>::new();
    let caption = ServerAction::<PostCaption>::new();
    let source = ServerAction::<SetStageSource>::new();
    let rename = ServerAction::<RenameStage>::new();
    let remove = ServerAction::<RemoveStage>::new();
    let simulive = ServerAction::<SetStageSimulive>::new();
    let done_simulive = successes(simulive.value());
    let done_add_stage = successes(add_stage.value());
    let done_install = successes(install.value());
    let done_uninstall = successes(uninstall.value());
    let done_source = successes(source.value());
    let done_rename = successes(rename.value());
    let done_remove = successes(remove.value());
    let data = Resource::new(
        move || {
            (
                slug.get(),
                done_add_stage.get()
                    + done_install.get()
                    + done_uninstall.get()
                    + done_source.get()
                    + done_rename.get()
                    + done_remove.get()
                    + done_simulive.get(),
            )
        },
        |(slug, _)| live_admin(slug),
    );
    view! {
        <h2 class="text-xl font-semibold mt-8">"Stages"</h2>
        <Transition fallback=|| view! { <crate::look::Loading/> }>
            <ErrorBoundary fallback=error_list>
                {move || Suspend::new(async move {
                    data.await.map(|d| view! {
                        {d.stages.is_empty().then(|| view! {
                            <p class="empty my-2" data-testid="no-stages">"No stages yet. Add one below for your talks and streams."</p>
                        })}
                        <ul class="my-2 list-disc pl-6" data-testid="stage-list">
                            {rows(d.stages.clone(), move |s| {
                                let (source_id, rename_id, remove_id) = (s.id.clone(), s.id.clone(), s.id.clone());
                                let (rename_name, remove_name) = (s.name.clone(), s.name.clone());
                                view! {
                                <li data-testid="stage-row">{s.name.clone()} " · " {s.source_kind.as_str()} " " <code class="text-sm">{s.source_url.clone()}</code>
                                    {s.simulive.clone().map(|w| view! { " " <span class="text-sm" data-testid="stage-simulive">{w}</span> })}
                                    {(s.source_kind == StageSourceKind::Backstage).then(|| view! {
                                        " " <span class="text-sm" data-testid="stage-backstage">"Speakers: make them hosts of “Backstage: " {s.name.clone()} "” under "
                                            <a class="underline" href=format!("/dashboard/events/{}/sessions", slug.get_untracked())>"Sessions"</a>
                                            "; they go live from there."</span>
                                    })}
                                    " · " <a class="underline" href=format!("/e/{}/stage/{}", slug.get_untracked(), s.id)>"open"</a>
                                    <ActionForm action=source attr:class="inline-flex gap-1 ml-2">
                                        <input type="hidden" name="slug" value=slug.get_untracked()/>
                                        <input type="hidden" name="stage" value=source_id.clone()/>
                                        <select class="input text-sm w-auto" name="source_kind" aria-label="New source">
                                            <option value="hls">"HLS"</option>
                                            <option value="embed">"Embed"</option>
                                            <option value="backstage">"Live from backstage"</option>
                                            <option value="none">"None"</option>
                                        </select>
                                        <input class="input text-sm" name="source_url" aria-label="New source URL" placeholder="https://…"/>
                                        <button class="text-sm underline" type="submit">"Change source"</button>
                                    </ActionForm>
                                    <details class="inline-block ml-2" data-testid="edit-stage">
                                        <summary class="cursor-pointer text-sm underline">"Rename or remove…"<span class="sr-only">" " {s.name.clone()}</span></summary>
                                        <div class="flex flex-wrap gap-3 p-2">
                                            <ActionForm action=rename attr:class="flex items-end gap-2">
                                                <input type="hidden" name="slug" value=slug.get_untracked()/>
                                                <input type="hidden" name="stage" value=rename_id.clone()/>
                                                <label class="block text-sm">"Rename to"<input class="input" name="name" value=rename_name.clone() required/></label>
                                                <button class="btn text-sm" type="submit">"Rename"</button>
                                            </ActionForm>
                                            <ActionForm action=remove attr:class="flex items-end gap-2">
                                                <input type="hidden" name="slug" value=slug.get_untracked()/>
                                                <input type="hidden" name="stage" value=remove_id.clone()/>
                                                <span class="text-sm">{format!("Remove {}? Its agenda sessions stay, without a stage.", remove_name)}</span>
                                                <button class="btn text-sm bg-red-700 hover:bg-red-800" type="submit">"Yes, remove the stage"</button>
                                            </ActionForm>
                                        </div>
                                    </details>
                                </li>
                            }})}
                        </ul>
                        {(!d.stages.is_empty()).then(|| {
                            let stages = d.stages.clone();
                            let videos = d.videos.clone();
                            view! {
                            <h3 class="text-lg font-semibold mt-4">"Simulive"</h3>
                            <p class="text-sm text-slate-600">"Play one of the event's videos on a stage as if live: it starts at the time you set, and everyone watching is at the same moment of it."</p>
                            {if videos.is_empty() {
                                view! {
                                    <p class="empty my-2" data-testid="no-ready-videos">"No videos ready yet. Upload one under " <a class="underline" href=format!("/dashboard/events/{}/videos", slug.get_untracked())>"Videos"</a> "."</p>
                                }.into_any()
                            } else {
                                let stages = stages.clone();
                                view! {
                                    <ActionForm action=simulive attr:class="flex flex-wrap gap-2 items-end max-w-3xl my-2" attr:data-testid="simulive-form">
                                        <input type="hidden" name="slug" value=slug.get_untracked()/>
                                        <label class="block">"Stage"
                                            <select class="input" name="stage">
                                                {stages.into_iter().map(|s| view! { <option value=s.id>{s.name}</option> }).collect::<Vec<_>>()}
                                            </select>
                                        </label>
                                        <label class="block">"Video"
                                            <select class="input" name="asset">
                                                {videos.into_iter().map(|v| view! { <option value=v.id>{v.title}</option> }).collect::<Vec<_>>()}
                                            </select>
                                        </label>
                                        <label class="block">"Starts (event time; empty: now)"
                                            <input class="input" type="datetime-local" step="1" name="starts_at"/>
                                        </label>
                                        <button class="btn" type="submit">"Play on the stage"</button>
                                    </ActionForm>
                                }.into_any()
                            }}
                            <FormError error=error_of(simulive.value())/>
                            <h3 class="text-lg font-semibold mt-4">"Live captions"</h3>
                            <ActionForm action=caption attr:class="flex gap-2 items-end max-w-3xl">
                                <input type="hidden" name="slug" value=slug.get_untracked()/>
                                <label class="block">"Stage"
                                    <select class="input" name="stage">
                                        {stages.into_iter().map(|s| view! { <option value=s.id>{s.name}</option> }).collect::<Vec<_>>()}
                                    </select>
                                </label>
                                <label class="block">"Language"<input class="input w-20" name="language" value="en"/></label>
                                <label class="block flex-1">"Caption line"<input class="input" name="body"/></label>
                                <button class="btn" type="submit">"Post caption"</button>
                            </ActionForm>
                            <FormError error=error_of(caption.value())/>
                        }})}
                        <FormError error=error_of(source.value())/>
                        <FormError error=error_of(rename.value())/>
                        <FormError error=error_of(remove.value())/>
                        <h2 class="text-xl font-semibold mt-6">"App store"</h2>
                        <div class="grid grid-cols-2 gap-3 my-2" data-testid="app-store">
                            {d.apps.into_iter().map(|a| {
                                let installed = a.config.is_some();
                                let test_id = format!("app-{}", a.id);
                                let (app_id, app_id2) = (a.id.as_str(), a.id.as_str());
                                view! {
                                    <div class="card space-y-2" data-testid=test_id data-installed=installed.to_string()>
                                        <h3 class="font-semibold">{a.name.clone()} {installed.then_some(" ✓ installed")}</h3>
                                        <p class="text-sm">{a.description.clone()}</p>
                                        <p class="text-xs text-slate-500">"Appears on: " {a.placements.iter().map(|p| p.as_str()).collect::<Vec<_>>().join(", ")}</p>
                                        {a.config.clone().filter(|c| c != "{}").map(|c| view! { <p class="text-xs">"Settings: " <code>{c}</code></p> })}
                                        <ActionForm action=install attr:class="space-y-1">
                                            <input type="hidden" name="slug" value=slug.get_untracked()/>
                                            <input type="hidden" name="app" value=app_id/>
                                            {a.settings.iter().map(|s| {
                                                let name = format!("config[{}]", s.key);
                                                if s.kind == SettingKind::Bool {
                                                    view! { <label class="block text-sm"><input type="checkbox" name=name value="true"/>" " {s.label.clone()}</label> }.into_any()
                                                } else {
                                                    view! { <label class="block text-sm">{s.label.clone()}<input class="input" name=name/></label> }.into_any()
                                                }
                                            }).collect::<Vec<_>>()}
                                            <button class="btn text-sm" type="submit">{if installed { "Save settings" } else { "Install" }}</button>
                                        </ActionForm>
                                        {installed.then(|| view! {
                                            <ActionForm action=uninstall>
                                                <input type="hidden" name="slug" value=slug.get_untracked()/>
                                                <input type="hidden" name="app" value=app_id2/>
                                                <button class="text-sm underline text-red-700" type="submit">"Uninstall"</button>
                                            </ActionForm>
                                        })}
                                    </div>
                                }
                            }).collect::<Vec<_>>()}
                        </div>
                    })
                })}
            </ErrorBoundary>
        </Transition>
        <FormError error=error_of(install.value())/>
        <FormError error=error_of(uninstall.value())/>
        <h3 class="text-lg font-semibold mt-4">"Add a stage"</h3>
        <ActionForm action=add_stage attr:class="grid grid-cols-3 gap-3 max-w-3xl">
            <input type="hidden" name="slug" value=slug/>
            <label class="block">"Stage name"<input class="input" name="name" required/></label>
            <label class="block">"Source"
                <select class="input" name="source_kind">
                    <option value="hls">"HLS stream URL"</option>
                    <option value="embed">"Embeddable player URL"</option>
                    <option value="backstage">"Live from backstage (no URL)"</option>
                    <option value="none">"None yet"</option>
                </select>
            </label>
            <label class="block">"URL"<input class="input" name="source_url" placeholder="https://…"/></label>
            <div class="col-span-3"><FormError error=error_of(add_stage.value())/></div>
            <button class="btn col-span-3" type="submit">"Add stage"</button>
        </ActionForm>

    }
}

/// Moderators: the current ones (each with "Remove") and a picker of the
/// event's verified attendees.
#[component]
pub fn Moderators(#[prop(into)] slug: Signal<String>) -> impl IntoView {
    let set = ServerAction::<SetModerator>::new();
    let people = Resource::new(
        move || (slug.get(), set.version().get()),
        |(slug, _)| staff_candidates(slug),
    );
    view! {
        <h3 class="text-lg font-semibold mt-4">"Moderators"</h3>
        <p class="text-sm text-slate-600 max-w-xl">
            "Moderators are chosen among attendees who opened the sign-in link from their confirmation email, so that nobody can take a role by registering with someone else's address."
        </p>
        <Transition fallback=|| view! { <crate::look::Loading/> }>
            <ErrorBoundary fallback=error_list>
                {move || Suspend::new(async move {
                    people.await.map(|people| {
                        let (mods, others): (Vec<_>, Vec<_>) = people.into_iter().partition(|p| p.moderator);
                        let none_yet = mods.is_empty();
                        view! {
                            <ul class="my-2 space-y-1" data-testid="moderators">
                                {none_yet.then(|| view! { <li class="text-slate-500">"No moderators yet."</li> })}
                                {mods.into_iter().map(|m| view! {
                                    <li class="flex gap-2 items-center">
                                        <span>{m.name} " (" {m.email} ")"</span>
                                        <ActionForm action=set>
                                            <input type="hidden" name="slug" value=slug.get_untracked()/>
                                            <input type="hidden" name="attendee_id" value=m.id/>
                                            <input type="hidden" name="moderator" value="false"/>
                                            <button class="text-xs underline text-red-700" type="submit">"Remove"</button>
                                        </ActionForm>
                                    </li>
                                }).collect::<Vec<_>>()}
                            </ul>
                            {if others.is_empty() {
                                view! { <p class="text-sm text-slate-500" data-testid="no-candidates">"No verified attendees yet."</p> }.into_any()
                            } else {
                                view! {
                                    <ActionForm action=set attr:class="flex flex-wrap gap-2 items-end max-w-xl">
                                        <input type="hidden" name="slug" value=slug.get_untracked()/>
                                        <label class="block flex-1">"Attendee"
                                            <select class="input" name="attendee_id" required data-testid="moderator-picker">
                                                {others.into_iter().map(|p| view! {
                                                    <option value=p.id>{format!("{} ({})", p.name, p.email)}</option>
                                                }).collect::<Vec<_>>()}
                                            </select>
                                        </label>
                                        <button class="btn" type="submit">"Make moderator"</button>
                                    </ActionForm>
                                }.into_any()
                            }}
                        }
                    })
                })}
            </ErrorBoundary>
        </Transition>
        <FormError error=error_of(set.value())/>
        {move || set.value().get().and_then(|r| r.ok()).map(|_| view! { <p class="text-green-700" role="status">"Moderators updated."</p> })}
    }
}
