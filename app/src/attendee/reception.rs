//! Reception: event information, the stages, the people in the event with
//! green dots, the Reception chat and direct messages.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use protocol::live::{ChatView, Person};
use protocol::states::SponsorTier;
use protocol::{Area, Channel};

use super::client::LiveState;
use super::panels::{ChatPanel, DmInbox, Notice, PeopleTab};
use super::side::{PanelState, SidePanel, Tab, TabPanel};
use super::{PersonRow, StageLink};
use crate::error::AppError;
use crate::forms::error_list;
use crate::views::EventView;

/// A session of the agenda.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SessionView {
    /// Title.
    pub title: String,
    /// Description.
    pub description: String,
    /// Start (RFC 3339), shown in the viewer's zone.
    pub starts: String,
    /// End (RFC 3339).
    pub ends: String,
    /// Start in the event's zone (shown before the browser takes over).
    pub starts_event_tz: String,
    /// Stage name.
    pub stage: Option<String>,
    /// Speaker names.
    pub speakers: Vec<String>,
    /// Running when the page was made.
    pub now: bool,
    /// The next to start when the page was made.
    pub next: bool,
}

/// A speaker card.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SpeakerView {
    /// Name.
    pub name: String,
    /// Headline.
    pub headline: String,
    /// Bio (text).
    pub bio: String,
    /// Photo URL.
    pub photo_url: String,
}

/// A sponsor.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SponsorView {
    /// Name.
    pub name: String,
    /// Tier.
    pub tier: SponsorTier,
    /// Website.
    pub url: String,
    /// Logo URL.
    pub logo_url: String,
}

/// What Reception shows to a signed-in attendee.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ReceptionInfo {
    /// The event.
    pub event: EventView,
    /// The attendee's name.
    pub attendee: String,
    /// Whether the attendee moderates.
    pub moderator: bool,
    /// People in the event when the page was rendered.
    pub online: u64,
    /// Stages.
    pub stages: Vec<StageLink>,
    /// Video sessions still running.
    pub sessions: Vec<super::session::SessionLink>,
    /// Everyone admitted.
    pub people: Vec<PersonRow>,
    /// The live log's position when the page was made (the socket resumes there).
    pub cursor: String,
    /// The latest Reception chat messages.
    pub chat: Vec<ChatView>,
    /// The agenda.
    pub agenda: Vec<SessionView>,
    /// Speakers.
    pub speakers: Vec<SpeakerView>,
    /// Sponsors.
    pub sponsors: Vec<SponsorView>,
}

/// Reception data; only for attendees of this event.
#[server(prefix = "/fn", endpoint = "reception")]
pub async fn reception(slug: String) -> Result<ReceptionInfo, AppError> {
    use services::live::{agenda, chat, log, presence, stages};
    let (platform, event, me) = super::current_attendee(&slug).await?;
    let mut redis = platform.redis.clone();
    let online = presence::count(&mut redis, event.id).await?;
    let stages = stages::list(&platform.pool, event.id)
        .await?
        .into_iter()
        .map(|s| StageLink {
            id: s.id,
            name: s.name,
        })
        .collect();
    // A backstage is listed to its speakers only.
    let mut video_sessions = Vec::new();
    for s in services::live::sessions::list(&platform.pool, event.id).await? {
        if s.ended
            || (s.backstage
                && !services::live::sessions::is_host(&platform.pool, &me, s.id).await?)
        {
            continue;
        }
        video_sessions.push(super::session::SessionLink {
            id: s.id,
            title: s.title,
        });
    }
    // The cursor is read before the history, so nothing falls between the two.
    let cursor = log::head(&mut redis, event.id).await?;
    let chat = chat::history(&platform.pool, event.id, Channel::Reception, None, 50).await?;
    let sessions = agenda::sessions(&platform.pool, event.id).await?;
    let (now, next) = agenda::now_and_next(&sessions, chrono::Utc::now());
    let agenda = sessions
        .into_iter()
        .map(|s| SessionView {
            now: now.contains(&s.id),
            next: next.contains(&s.id),
            starts_event_tz: services::time::local_time(s.starts_at, &event.time_zone),
            starts: s.starts_at.to_rfc3339(),
            ends: s.ends_at.to_rfc3339(),
            title: s.title,
            description: s.description,
            stage: s.stage_name,
            speakers: s.speakers,
        })
        .collect();
    let speakers = agenda::speakers(&platform.pool, event.id)
        .await?
        .into_iter()
        .map(|s| SpeakerView {
            name: s.name,
            headline: s.headline,
            bio: s.bio,
            photo_url: s.photo_url,
        })
        .collect();
    let sponsors = agenda::sponsors(&platform.pool, event.id)
        .await?
        .into_iter()
        .map(|s| SponsorView {
            name: s.name,
            tier: s.tier,
            url: s.url,
            logo_url: s.logo_url,
        })
        .collect();
    Ok(ReceptionInfo {
        cursor,
        agenda,
        speakers,
        sponsors,
        people: super::people_of(&platform, event.id).await?,
        event: EventView::from(&event),
        moderator: me.moderator(),
        attendee: me.name,
        online,
        stages,
        sessions: video_sessions,
        chat: chat.iter().map(|m| m.view()).collect(),
    })
}

/// `/e/{slug}/reception`.
#[component]
pub fn ReceptionPage() -> impl IntoView {
    let params = use_params_map();
    let data = Resource::new(
        move || params.read().get("slug").unwrap_or_default(),
        reception,
    );
    view! {
        <Transition fallback=|| view! { <crate::look::Loading/> }>
            <ErrorBoundary fallback=error_list>
                {move || Suspend::new(async move {
                    data.await.map(|r| view! { <Reception r=r/> })
                })}
            </ErrorBoundary>
        </Transition>
    }
}

#[component]
fn Reception(r: ReceptionInfo) -> impl IntoView {
    let live = LiveState::new(r.online, r.moderator);
    live.chat.set(r.chat.clone());
    live.connect(r.event.slug.clone(), Area::Reception, r.cursor.clone());
    let talking_to = RwSignal::new(None::<Person>);
    let slug = r.event.slug.clone();
    let open_dm = super::panels::dm_opener(slug, live, talking_to);
    let event_slug = r.event.slug.clone();
    let brand = r.event.brand_style();
    let logo = (!r.event.logo_url.is_empty()).then(|| {
        view! {
            <img class="h-12 w-auto" src=r.event.logo_url.clone() alt=format!("{} logo", r.event.name) data-testid="event-logo"/>
        }
    });
    let cover = (!r.event.cover_url.is_empty()).then(|| {
        view! { <img class="h-40 w-full rounded-lg object-cover md:h-56" src=r.event.cover_url.clone() alt="" data-testid="event-cover"/> }
    });
    let panel = PanelState::new();
    panel.follow_conversations(talking_to);
    view! {
        <leptos_meta::Title text=format!("Reception · {}", r.event.name)/>
        <super::panels::VenueNav slug=event_slug.clone() stages=r.stages.clone() here=None live=live/>
        <div class="branded space-y-4 pb-16 md:pb-0" style=brand>
            {cover}
            <div class="flex flex-wrap items-center gap-4">
                {logo}
                <div class="flex-1 min-w-0">
                    <p class="text-sm text-slate-500">"Reception"</p>
                    <h1 class="text-3xl font-bold">{r.event.name.clone()}</h1>
                </div>
            </div>
            <div class="flex flex-wrap items-center gap-4">
                <p>"Welcome, " <span data-testid="attendee-name">{r.attendee}</span></p>
                <a class="underline text-sm" href=format!("/e/{event_slug}/profile") data-testid="profile-link">"Your profile and photo"</a>
                <p class="inline-flex items-center gap-2 rounded-full border border-slate-200 bg-white px-3 py-1 text-sm" aria-live="polite">
                    <span class=move || if live.connected.get() { "h-2.5 w-2.5 rounded-full bg-green-500" } else { "h-2.5 w-2.5 rounded-full bg-slate-400" }></span>
                    <span data-testid="online-count">{move || live.online.get()}</span>
                    " in the event right now"
                </p>
                <super::SignOutButton slug=event_slug.clone()/>
            </div>
            <Notice live=live/>
            <DmInbox live=live talking_to=talking_to open=open_dm/>
            <div class="grid grid-cols-1 md:grid-cols-3 gap-4 items-start">
                <div class="md:col-span-2 space-y-4">
                    <section class="card space-y-2">
                        <p class="text-slate-600">{r.event.starts} " – " {r.event.ends} " (" {r.event.time_zone} ")"</p>
                        <p class="whitespace-pre-line">{r.event.description}</p>
                    </section>
                    {(!r.stages.is_empty()).then(|| view! {
                        <h2 class="text-xl font-semibold">"Stages"</h2>
                        <ul class="grid gap-3 sm:grid-cols-2" data-testid="stages">
                            {r.stages.into_iter().map(|s| {
                                let href = format!("/e/{}/stage/{}", event_slug, s.id);
                                let area = Area::Stage(s.id);
                                view! {
                                    <li>
                                        <a class="card flex items-center gap-3 hover:border-slate-400" href=href>
                                            <span class="grid h-10 w-10 place-items-center rounded bg-slate-800 text-white" aria-hidden="true">"▶"</span>
                                            <span class="flex-1 font-semibold underline">{s.name}</span>
                                            <span class="text-sm text-slate-500">{move || live.in_area(area)} " watching"</span>
                                        </a>
                                    </li>
                                }
                            }).collect::<Vec<_>>()}
                        </ul>
                    })}
                    {(!r.sessions.is_empty()).then(|| view! {
                        <h2 class="text-xl font-semibold">"Sessions"</h2>
                        <ul class="grid gap-3 sm:grid-cols-2" data-testid="sessions">
                            {r.sessions.into_iter().map(|s| {
                                let href = format!("/e/{}/session/{}", event_slug, s.id);
                                let area = Area::Session(s.id);
                                view! {
                                    <li>
                                        <a class="card flex items-center gap-3 hover:border-slate-400" href=href>
                                            <span class="grid h-10 w-10 place-items-center rounded bg-indigo-700 text-white" aria-hidden="true">"◉"</span>
                                            <span class="flex-1 font-semibold underline">{s.title}</span>
                                            <span class="text-sm text-slate-500">{move || live.in_area(area)} " here"</span>
                                        </a>
                                    </li>
                                }
                            }).collect::<Vec<_>>()}
                        </ul>
                    })}
                    {(!r.agenda.is_empty()).then(|| view! { <Agenda sessions=r.agenda.clone() slug=event_slug.clone()/> })}
                    {(!r.speakers.is_empty()).then(|| view! {
                        <h2 class="text-xl font-semibold">"Speakers"</h2>
                        <div class="grid gap-3 sm:grid-cols-2 lg:grid-cols-3" data-testid="speakers">
                            {r.speakers.clone().into_iter().map(|s| view! {
                                <div class="card flex gap-3" data-testid="speaker">
                                    {(!s.photo_url.is_empty()).then(|| view! { <img class="h-16 w-16 rounded-full object-cover" src=s.photo_url.clone() alt=s.name.clone()/> })}
                                    <div>
                                        <p class="font-semibold">{s.name.clone()}</p>
                                        <p class="text-sm text-slate-600">{s.headline.clone()}</p>
                                        <p class="text-sm whitespace-pre-line">{s.bio.clone()}</p>
                                    </div>
                                </div>
                            }).collect::<Vec<_>>()}
                        </div>
                    })}
                    {(!r.sponsors.is_empty()).then(|| view! {
                        <h2 class="text-xl font-semibold">"Sponsors"</h2>
                        <ul class="flex flex-wrap gap-3" data-testid="sponsors">
                            {r.sponsors.clone().into_iter().map(|s| view! {
                                <li class="card">
                                    <a href=s.url.clone() rel="noopener noreferrer" target="_blank" class="flex items-center gap-2">
                                        {(!s.logo_url.is_empty()).then(|| view! { <img class="h-8" src=s.logo_url.clone() alt=""/> })}
                                        <span class="font-semibold">{s.name.clone()}</span>
                                        <span class="text-xs uppercase text-slate-500">{s.tier.as_str()}</span>
                                    </a>
                                </li>
                            }).collect::<Vec<_>>()}
                        </ul>
                    })}
                </div>
                <SidePanel tabs=vec![Tab::Chat, Tab::People] panel=panel live=live channel=Channel::Reception>
                    <TabPanel tab=Tab::Chat panel=panel>
                        <ChatPanel channel=Channel::Reception live=live/>
                    </TabPanel>
                    <TabPanel tab=Tab::People panel=panel>
                        <PeopleTab slug=event_slug.clone() people=r.people live=live talking_to=talking_to open=open_dm/>
                    </TabPanel>
                </SidePanel>
            </div>
        </div>
    }
}

/// The agenda, with times in the viewer's time zone and the "happening now" /
/// "up next" marks (recomputed in the browser every 30 s).
#[component]
fn Agenda(sessions: Vec<SessionView>, slug: String) -> impl IntoView {
    let marks = RwSignal::new(sessions.iter().map(|s| (s.now, s.next)).collect::<Vec<_>>());
    #[cfg(feature = "hydrate")]
    {
        let times: Vec<(f64, f64)> = sessions
            .iter()
            .map(|s| (js_sys::Date::parse(&s.starts), js_sys::Date::parse(&s.ends)))
            .collect();
        let recompute = move || {
            let now = js_sys::Date::now();
            let next = times
                .iter()
                .filter(|(start, _)| *start > now)
                .map(|(start, _)| *start)
                .fold(f64::INFINITY, f64::min);
            marks.set(
                times
                    .iter()
                    .map(|(start, end)| (*start <= now && now < *end, *start == next))
                    .collect(),
            );
        };
        // After hydration, so the server's markup is adopted first.
        Effect::new(move |_| {
            recompute();
            let _ = set_interval_with_handle(recompute.clone(), std::time::Duration::from_secs(30));
        });
    }
    view! {
        <h2 class="text-xl font-semibold">"Agenda"</h2>
        <ol class="space-y-2" data-testid="agenda">
            {sessions.into_iter().enumerate().map(|(i, s)| {
                let badge = move || match marks.get().get(i).copied() {
                    Some((true, _)) => Some(view! { <span class="text-xs font-semibold text-white bg-red-600 rounded px-1" data-testid="happening-now">"Happening now"</span> }),
                    Some((false, true)) => Some(view! { <span class="text-xs font-semibold bg-amber-200 rounded px-1" data-testid="up-next">"Up next"</span> }),
                    _ => None,
                };
                view! {
                    <li class="card" data-testid="session">
                        <p class="text-sm text-slate-600">
                            <LocalTime at=s.starts.clone() fallback=s.starts_event_tz.clone()/>
                            {s.stage.clone().map(|st| format!(" · {st}"))}
                            " " {badge}
                        </p>
                        <p class="font-semibold">{s.title.clone()}</p>
                        {(!s.speakers.is_empty()).then(|| view! {
                            <p class="text-sm">{s.speakers.join(", ")}
                                " · " <a class="underline" href=format!("/e/{slug}/check") data-testid="speaker-check-link">"Speaking? Check your camera and connection"</a></p>
                        })}
                        <p class="text-sm whitespace-pre-line">{s.description.clone()}</p>
                    </li>
                }
            }).collect::<Vec<_>>()}
        </ol>
    }
}

/// A time shown in the viewer's own time zone once the page runs in the browser
/// (the server renders it in the event's zone).
#[component]
pub fn LocalTime(
    /// RFC 3339 instant.
    at: String,
    /// What the server shows.
    fallback: String,
) -> impl IntoView {
    let text = RwSignal::new(fallback);
    #[cfg(feature = "hydrate")]
    {
        let at = at.clone();
        Effect::new(move |_| {
            let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_str(&at));
            let opts = js_sys::Object::new();
            for (k, v) in [
                ("weekday", "short"),
                ("day", "numeric"),
                ("month", "short"),
                ("hour", "2-digit"),
                ("minute", "2-digit"),
                ("timeZoneName", "short"),
            ] {
                let _ = js_sys::Reflect::set(&opts, &k.into(), &v.into());
            }
            text.set(String::from(date.to_locale_string("default", &opts)));
        });
    }
    view! { <time datetime=at data-testid="local-time">{move || text.get()}</time> }
}
