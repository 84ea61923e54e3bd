//! A video session: attendees watch (receive only: no camera permission is
//! asked) and choose to go on screen, after a preview with device pickers.
//! A grid shows who is on screen (pin one; pages past nine); hosts approve
//! requests, mute people, take them off screen, remove them and end the
//! session. Chat and presence use the session's channel and area.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use protocol::ids::{AttendeeId, VideoSessionId};
use protocol::live::{ChatView, ClientMsg, LiveItem, Person};
use protocol::states::{OnScreenPolicy, ScreenPlace, SessionAction};
use protocol::{Area, Channel};

pub use super::call_view::JoinGrant;
use super::call_view::{screen_owner, screen_tile, CallStatus, CallView};
use super::client::LiveState;
use super::devices::DevicePickers;
use super::panels::{ChatPanel, Notice};
use super::PersonRow;
use crate::error::AppError;
use crate::forms::error_list;

/// A session in the Reception's list.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SessionLink {
    /// Its id.
    pub id: VideoSessionId,
    /// Title.
    pub title: String,
}

/// What a session page shows.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SessionData {
    /// Event slug.
    pub slug: String,
    /// Event name.
    pub event: String,
    /// The session.
    pub id: VideoSessionId,
    /// Title.
    pub title: String,
    /// Description.
    pub description: String,
    /// Who may go on screen.
    pub policy: OnScreenPolicy,
    /// People on screen at once.
    pub max_on_screen: i32,
    /// The viewer hosts it.
    pub host: bool,
    /// A host ended it.
    pub ended: bool,
    /// A host is recording it.
    pub recording: bool,
    /// The stage it is the backstage of, for its hosts.
    pub broadcast: Option<super::broadcast::BroadcastView>,
    /// People in the event now.
    pub online: u64,
    /// The live log's position when the page was made.
    pub cursor: String,
    /// Latest chat messages.
    pub chat: Vec<ChatView>,
    /// Everyone admitted (names for the tiles).
    pub people: Vec<PersonRow>,
}

/// A session of the event, for its attendees.
#[server(prefix = "/fn", endpoint = "video_session")]
pub async fn video_session(slug: String, id: String) -> Result<SessionData, AppError> {
    use services::live::{chat, log, presence, sessions};
    let (platform, event, me) = super::current_attendee(&slug).await?;
    let id: VideoSessionId = id
        .trim()
        .parse()
        .map_err(|_| AppError::new(crate::error::ErrorKind::NotFound, "no such session"))?;
    let s = sessions::get(&platform.pool, event.id, id).await?;
    let mut redis = platform.redis.clone();
    let online = presence::count(&mut redis, event.id).await?;
    let cursor = log::head(&mut redis, event.id).await?;
    let chat = chat::history(&platform.pool, event.id, Channel::Session(id), None, 50).await?;
    let host = sessions::is_host(&platform.pool, &me, id).await?;
    let broadcast = match (s.backstage, host) {
        (true, true) => {
            match services::live::stages::of_backstage(&platform.pool, event.id, id).await? {
                Some(stage) => {
                    super::broadcast::BroadcastView::of(&platform.pool, &me, &stage).await?
                }
                None => None,
            }
        }
        (true, false) => {
            return Err(AppError::new(
                crate::error::ErrorKind::Forbidden,
                "only the stage's speakers enter its backstage",
            ))
        }
        _ => None,
    };
    Ok(SessionData {
        host,
        broadcast,
        people: super::people_of(&platform, event.id).await?,
        slug: event.slug.clone(),
        event: event.name.clone(),
        id,
        title: s.title,
        description: s.description,
        policy: s.on_screen,
        max_on_screen: s.max_on_screen,
        ended: s.ended,
        recording: s.recording,
        online,
        cursor,
        chat: chat.iter().map(|m| m.view()).collect(),
    })
}

/// Who is in a session of the event now (attendee ids; the page has their names).
#[server(prefix = "/fn", endpoint = "session_people")]
pub async fn session_people(slug: String, id: String) -> Result<Vec<AttendeeId>, AppError> {
    use services::live::{presence, sessions};
    let (platform, event, _me) = super::current_attendee(&slug).await?;
    let id: VideoSessionId = crate::error::parse_id("session", &id)?;
    sessions::get(&platform.pool, event.id, id).await?;
    let mut redis = platform.redis.clone();
    Ok(presence::people_in(&mut redis, event.id, protocol::Area::Session(id)).await?)
}

/// A join token: to watch, or (`on_screen` = "true") to go on screen as the
/// session allows.
#[server(prefix = "/fn", endpoint = "session_token")]
pub async fn session_token(
    slug: String,
    id: String,
    on_screen: String,
) -> Result<JoinGrant, AppError> {
    let (platform, _event, me) = super::current_attendee(&slug).await?;
    let id = crate::error::parse_id("session", &id)?;
    if on_screen == "true" {
        services::live::checks::before_screen(&platform.pool, &me, id).await?;
    }
    let mut redis = platform.redis.clone();
    let grant = services::live::sessions::grant(
        &platform.pool,
        &mut redis,
        &platform.redis_namespace,
        &me,
        id,
        on_screen == "true",
    )
    .await?;
    Ok(JoinGrant::of(&platform, &me, grant))
}

/// Renews the viewer's place on screen; false when they no longer hold one.
#[server(prefix = "/fn", endpoint = "keep_on_screen")]
pub async fn keep_on_screen(slug: String, id: String) -> Result<ScreenPlace, AppError> {
    let (platform, _event, me) = super::current_attendee(&slug).await?;
    let id = crate::error::parse_id("session", &id)?;
    let mut redis = platform.redis.clone();
    Ok(services::live::sessions::keep_on_screen(
        &platform.pool,
        &mut redis,
        &platform.redis_namespace,
        &me,
        id,
    )
    .await?)
}

/// Gives up the viewer's place on screen.
#[server(prefix = "/fn", endpoint = "leave_screen")]
pub async fn leave_screen(slug: String, id: String) -> Result<(), AppError> {
    let (platform, _event, me) = super::current_attendee(&slug).await?;
    let id = crate::error::parse_id("session", &id)?;
    let mut redis = platform.redis.clone();
    services::live::sessions::leave_screen(&mut redis, &platform.redis_namespace, me.id, id)
        .await?;
    Ok(())
}

/// Tiles per page of the grid.
const PER_PAGE: usize = 9;

/// `/e/{slug}/session/{id}`.
#[component]
pub fn SessionPage() -> impl IntoView {
    let params = use_params_map();
    let data = Resource::new(
        move || {
            let p = params.read();
            (
                p.get("slug").unwrap_or_default(),
                p.get("id").unwrap_or_default(),
            )
        },
        |(slug, id)| video_session(slug, id),
    );
    view! {
        <Transition fallback=|| view! { <crate::look::Loading/> }>
            <ErrorBoundary fallback=error_list>
                {move || Suspend::new(async move {
                    data.await.map(|s| view! { <Session s=s/> })
                })}
            </ErrorBoundary>
        </Transition>
    }
}

/// Everything the page's controls share.
#[derive(Clone, Copy)]
struct Ctl {
    slug: StoredValue<String>,
    id: VideoSessionId,
    live: LiveState,
    call: CallView,
    on_screen: RwSignal<bool>,
    mic_on: RwSignal<bool>,
    /// This page shares its screen.
    sharing: RwSignal<bool>,
    /// Bumped to (re)join; the value says whether on screen.
    joins: RwSignal<(u32, bool)>,
    /// A host is recording the session.
    recording: RwSignal<bool>,
    /// Removed, or the session ended: the page joins nothing more.
    gone: RwSignal<bool>,
}

impl Ctl {
    fn join(&self, on_screen: bool) {
        // Gone, or the page was left (its signals disposed) before a
        // delayed rejoin ran.
        if self.gone.try_get_untracked().unwrap_or(true) {
            return;
        }
        self.joins.update(|(n, s)| {
            *n += 1;
            *s = on_screen;
        });
    }
}

#[component]
fn Session(s: SessionData) -> impl IntoView {
    let live = LiveState::new(s.online, s.host);
    live.chat.set(s.chat.clone());
    let channel = Channel::Session(s.id);
    let area = Area::Session(s.id);
    live.connect(s.slug.clone(), area, s.cursor.clone());
    let ctl = Ctl {
        slug: StoredValue::new(s.slug.clone()),
        id: s.id,
        live,
        call: CallView::new(if s.ended {
            CallStatus::Lost("This session has ended.".into())
        } else {
            CallStatus::Idle
        }),
        on_screen: RwSignal::new(false),
        mic_on: RwSignal::new(true),
        sharing: RwSignal::new(false),
        joins: RwSignal::new((0, false)),
        recording: RwSignal::new(s.recording && !s.ended),
        gone: RwSignal::new(s.ended),
    };
    let preview = RwSignal::new(false);
    let pinned = RwSignal::new(None::<String>);
    let page = RwSignal::new(0usize);
    let approved = RwSignal::new(false);
    let waiting = RwSignal::new(false);
    let requests = RwSignal::new(Vec::<Person>::new());
    let people = StoredValue::new(s.people.clone());
    let name_of = move |id: &str| {
        people.with_value(|p| {
            p.iter()
                .find(|r| r.person.id.to_string() == id)
                .map(|r| r.person.name.clone())
                .unwrap_or_else(|| "Someone".into())
        })
    };
    let ended = s.ended;
    drive(ctl, ended, preview);
    follow_news(ctl, approved, waiting, requests, preview);

    // Screens first (they show large), then people; one's own first of each.
    let everyone = move || {
        let mut t = ctl.call.tiles.get();
        if ctl.on_screen.get() {
            if let Some(me) = live.me.get() {
                t.insert(0, me.id.to_string());
                if ctl.sharing.get() {
                    t.insert(0, screen_tile(&me.id.to_string()));
                }
            }
        }
        t.sort_by_key(|id| screen_owner(id).is_none());
        t
    };
    let shown = move || {
        let all = everyone();
        let pages = all.len().div_ceil(PER_PAGE).max(1);
        let p = page.get().min(pages - 1);
        all.into_iter()
            .skip(p * PER_PAGE)
            .take(PER_PAGE)
            .collect::<Vec<_>>()
    };
    let pages = move || everyone().len().div_ceil(PER_PAGE).max(1);
    // As many columns as let the tiles fill the area: one tile takes it
    // whole, two to four share it two by two, more go three abreast on a
    // wide screen (a larger tile is sent a larger simulcast layer).
    let grid_class = move || match shown().len() {
        0 | 1 => "grid gap-2 grid-cols-1",
        2..=4 => "grid gap-2 grid-cols-2",
        _ => "grid gap-2 grid-cols-2 lg:grid-cols-3",
    };
    let host = s.host;
    let policy = s.policy;
    let me_id = move || live.me.get().map(|m| m.id.to_string()).unwrap_or_default();
    let reception = format!("/e/{}/reception", s.slug);
    view! {
        <leptos_meta::Title text=format!("{} · {}", s.title, s.event)/>
        <div class="space-y-4">
            <p class="text-sm text-slate-500"><a class="underline" href=reception>{s.event.clone()}</a> {if s.broadcast.is_some() { " · Backstage" } else { " · Session" }}</p>
            <h1 class="text-2xl font-bold">{s.title.clone()}</h1>
            {(!s.description.is_empty()).then(|| view! { <p class="whitespace-pre-line text-slate-700">{s.description.clone()}</p> })}
            <p class="text-slate-600" aria-live="polite">
                <span data-testid="in-session">{move || live.in_area(area)}</span> " in this session · "
                <span data-testid="on-screen-count">{move || everyone().iter().filter(|id| screen_owner(id).is_none()).count()}</span> " on screen (at most " {s.max_on_screen} ")"
            </p>
            {move || ctl.recording.get().then(|| view! {
                <p class="inline-flex items-center gap-2 rounded bg-red-50 px-2 py-1 text-sm font-semibold text-red-800" role="status" data-testid="recording-badge">
                    <span aria-hidden="true" class="inline-block h-2 w-2 rounded-full bg-red-600"></span>
                    "Recording: everyone on screen is in the recording"
                </p>
            })}
            <Notice live=live/>
            <p role="status" class="text-sm" data-testid="call-status">{move || match ctl.call.status.get() {
                CallStatus::Idle => String::new(),
                CallStatus::Connecting => "Connecting to the session…".into(),
                CallStatus::Connected => if ctl.on_screen.get() { "You are on screen.".into() } else { "You are watching.".into() },
                CallStatus::Rejoin(r) | CallStatus::Lost(r) => r,
                CallStatus::Full => "This session is full.".into(),
            }}</p>
            <div class="grid grid-cols-1 md:grid-cols-3 gap-4 items-start">
                <div class="md:col-span-2 space-y-3">
                    <div class=grid_class data-testid="grid">
                        <For each=shown key=|id| id.clone() let:id>
                            {
                                let owner = screen_owner(&id).unwrap_or(&id).to_owned();
                                let mine = owner == me_id();
                                let name = match (mine, screen_owner(&id).is_some()) {
                                    (true, false) => "You".to_owned(),
                                    (true, true) => "Your screen".to_owned(),
                                    (false, false) => name_of(&id),
                                    (false, true) => format!("{}'s screen", name_of(&owner)),
                                };
                                view! { <Tile id=id.clone() name=name mine=mine pinned=pinned host=host ctl=ctl/> }
                            }
                        </For>
                    </div>
                    {move || everyone().is_empty().then(|| view! {
                        <p class="empty" data-testid="nobody-on-screen">"Nobody is on screen yet."</p>
                    })}
                    {move || (pages() > 1).then(|| view! {
                        <nav class="flex items-center gap-2" aria-label="Pages of the grid">
                            <button class="btn" on:click=move |_| page.update(|p| *p = p.saturating_sub(1))>"Previous"</button>
                            <span>{move || format!("Page {} of {}", page.get().min(pages() - 1) + 1, pages())}</span>
                            <button class="btn" on:click=move |_| page.update(|p| *p += 1)>"Next"</button>
                        </nav>
                    })}
                    <CallStats ctl=ctl/>
                    {(!ended).then(|| view! { <Controls ctl=ctl policy=policy host=host preview=preview approved=approved waiting=waiting/> })}
                    {move || preview.get().then(|| view! { <Preview ctl=ctl preview=preview/> })}
                </div>
                <div class="space-y-3">
                    {s.broadcast.clone().map(|b| {
                        let on_screen = Signal::derive(move || {
                            let me = me_id();
                            everyone()
                                .into_iter()
                                .filter(|id| screen_owner(id).is_none())
                                .map(|id| {
                                    let name = if id == me { "You".to_owned() } else { name_of(&id) };
                                    (id, name)
                                })
                                .collect::<Vec<_>>()
                        });
                        view! { <super::broadcast::BackstagePanel b=b slug=s.slug.clone() live=live on_screen=on_screen/> }
                    })}
                    {(host && s.broadcast.is_none()).then(|| view! { <HostPanel ctl=ctl requests=requests/> })}
                    <PeopleHere ctl=ctl area=area people=people/>
                    <ChatPanel channel=channel live=live/>
                </div>
            </div>
        </div>
    }
}

/// The buttons under the grid: go on screen (or ask to), leave the screen,
/// the microphone.
#[component]
fn Controls(
    ctl: Ctl,
    policy: OnScreenPolicy,
    host: bool,
    preview: RwSignal<bool>,
    approved: RwSignal<bool>,
    waiting: RwSignal<bool>,
) -> impl IntoView {
    let may_go = move || {
        host || match policy {
            OnScreenPolicy::Anyone => true,
            OnScreenPolicy::Request => approved.get(),
            OnScreenPolicy::Hosts => false,
        }
    };
    let id = ctl.id;
    let leave = move |_| {
        ctl.on_screen.set(false);
        ctl.sharing.set(false);
        #[cfg(feature = "hydrate")]
        {
            let slug = ctl.slug.get_value();
            leptos::task::spawn_local(async move {
                let _ = leave_screen(slug, id.to_string()).await;
            });
            super::call::close_devices();
        }
        ctl.join(false);
    };
    let toggle_screen = move |_| {
        let on = !ctl.sharing.get_untracked();
        #[cfg(feature = "hydrate")]
        {
            let live = ctl.live;
            let send = move |m: ClientMsg| live.send(m);
            if on {
                leptos::task::spawn_local(async move {
                    match super::call::share_screen(send, move || ctl.sharing.set(false)).await {
                        Ok(()) => ctl.sharing.set(true),
                        Err(e) => live
                            .notice
                            .set(Some(format!("The screen could not be shared: {e}"))),
                    }
                });
            } else {
                super::call::stop_screen(&send);
                ctl.sharing.set(false);
            }
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = on;
    };
    let toggle_mic = move |_| {
        let on = !ctl.mic_on.get_untracked();
        ctl.mic_on.set(on);
        #[cfg(feature = "hydrate")]
        super::call::set_microphone(on);
    };
    view! {
        <div class="flex flex-wrap gap-2" data-testid="controls">
            {move || match (ctl.on_screen.get(), may_go()) {
                (true, _) => view! {
                    <button class="btn" data-testid="mic" aria-pressed=move || (!ctl.mic_on.get()).to_string() on:click=toggle_mic>
                        {move || if ctl.mic_on.get() { "Mute microphone" } else { "Unmute microphone" }}
                    </button>
                    <button class="btn" data-testid="share-screen" aria-pressed=move || ctl.sharing.get().to_string() on:click=toggle_screen>
                        {move || if ctl.sharing.get() { "Stop sharing" } else { "Share screen" }}
                    </button>
                    <button class="btn bg-slate-600 hover:bg-slate-700" data-testid="leave-screen" on:click=leave>"Leave the screen"</button>
                }.into_any(),
                (false, true) => view! {
                    <button class="btn" data-testid="go-on-screen" on:click=move |_| preview.set(true)>"Go on screen…"</button>
                }.into_any(),
                (false, false) if policy == OnScreenPolicy::Request => view! {
                    <button class="btn" data-testid="ask-screen" disabled=move || waiting.get()
                        on:click=move |_| { waiting.set(true); ctl.live.send(ClientMsg::RequestScreen { session: id }); }>
                        {move || if waiting.get() { "Waiting for a host…" } else { "Ask to go on screen" }}
                    </button>
                }.into_any(),
                (false, false) => view! { <p class="text-sm text-slate-600">"Only the hosts go on screen in this session."</p> }.into_any(),
            }}
        </div>
    }
}

/// The camera preview and device pickers before going on screen.
#[component]
fn Preview(ctl: Ctl, preview: RwSignal<bool>) -> impl IntoView {
    let video = NodeRef::<leptos::html::Video>::new();
    let problem = RwSignal::new(None::<String>);
    // Going on screen waits for the camera and microphone to be open.
    let opened = RwSignal::new(0u32);
    let ready = move || opened.get() > 0;
    let go = move |_| {
        preview.set(false);
        ctl.on_screen.set(true);
        ctl.mic_on.set(true);
        ctl.join(true);
    };
    let cancel = move |_| {
        preview.set(false);
        #[cfg(feature = "hydrate")]
        super::call::close_devices();
    };
    view! {
        <section class="card space-y-3" data-testid="preview" aria-label="Before you go on screen">
            <h2 class="font-semibold">"Check how you look and sound"</h2>
            <p class="text-sm"><a class="underline" href=format!("/e/{}/check", ctl.slug.get_value()) target="_blank">"Test your connection first"</a></p>
            {move || ctl.recording.get().then(|| view! {
                <p class="text-sm text-red-800" data-testid="preview-recording">"This session is being recorded: what you show and say will be in the recording."</p>
            })}
            <video node_ref=video class="w-full max-w-sm aspect-video bg-black rounded" autoplay muted playsinline data-testid="preview-video"></video>
            {move || problem.get().map(|p| view! { <p class="text-red-700" role="alert">{p}</p> })}
            <DevicePickers video=video opened=opened problem=problem/>
            <div class="flex gap-2">
                <button class="btn" data-testid="join-on-screen" disabled=move || problem.get().is_some() || !ready() on:click=go>"Go on screen"</button>
                <button class="btn bg-slate-600 hover:bg-slate-700" on:click=cancel>"Cancel"</button>
            </div>
        </section>
    }
}

/// One person on screen.
#[component]
fn Tile(
    id: String,
    name: String,
    mine: bool,
    pinned: RwSignal<Option<String>>,
    host: bool,
    ctl: Ctl,
) -> impl IntoView {
    let video = NodeRef::<leptos::html::Video>::new();
    let audio = NodeRef::<leptos::html::Audio>::new();
    let sound_blocked = RwSignal::new(false);
    #[cfg(feature = "hydrate")]
    {
        let id = id.clone();
        Effect::new(move |_| {
            // Re-run when the publishers change (their stream may be new).
            ctl.call.tiles.track();
            ctl.sharing.track();
            let stream = match (mine, screen_owner(&id).is_some()) {
                (true, false) => super::call::local_stream(),
                (true, true) => super::call::screen_stream(),
                (false, _) => super::call::stream_of(&id),
            };
            // Setting the same stream again would reload the element (and
            // restart its picture): only a new stream is set.
            let id_of = |s: Option<web_sys::MediaStream>| s.map(|s| s.id());
            let fresh =
                |el: &web_sys::HtmlMediaElement| id_of(el.src_object()) != id_of(stream.clone());
            if let Some(el) = video.get() {
                if fresh(&el) {
                    el.set_src_object(stream.as_ref());
                }
            }
            if !mine {
                if let Some(el) = audio.get() {
                    if !fresh(&el) {
                        return;
                    }
                    el.set_src_object(stream.as_ref());
                    if let Ok(p) = el.play() {
                        leptos::task::spawn_local(async move {
                            if wasm_bindgen_futures::JsFuture::from(p).await.is_err() {
                                sound_blocked.set(true);
                            }
                        });
                    }
                }
            }
        });
    }
    let key = StoredValue::new(id.clone());
    let screen = screen_owner(&id).is_some();
    // A camera's tile tells the node how high it shows (the simulcast layer
    // follows) each second it changes (pinned, paged, resized).
    #[cfg(feature = "hydrate")]
    if let (false, false, Ok(publisher)) = (mine, screen, id.parse::<AttendeeId>()) {
        let last = StoredValue::new(0u16);
        let ticks = StoredValue::new(0u32);
        let handle = set_interval_with_handle(
            move || {
                ticks.update_value(|t| *t += 1);
                let Some(el) = video.get_untracked() else {
                    return;
                };
                let ratio = window().device_pixel_ratio().max(1.0);
                let px = (f64::from(el.client_height()) * ratio).ceil();
                // In steps of 90 px, so small changes send nothing.
                let height = ((px / 90.0).ceil() * 90.0).clamp(90.0, 2160.0) as u16;
                // Said again now and then: a new connection starts from the default.
                if height != last.get_value() || ticks.get_value().is_multiple_of(10) {
                    last.set_value(height);
                    super::call::view(&|m| ctl.live.send(m), publisher, height);
                }
            },
            std::time::Duration::from_secs(1),
        );
        on_cleanup(move || {
            if let Ok(h) = handle {
                h.clear();
            }
        });
    }
    // Screens always show large.
    let is_pinned =
        move || screen || key.with_value(|k| pinned.get().as_deref() == Some(k.as_str()));
    let speaking = move || {
        !screen && key.with_value(|k| ctl.call.speaker.get().as_deref() == Some(k.as_str()))
    };
    let pin_key = id.clone();
    let attendee: Option<AttendeeId> = id.parse().ok();
    let session = ctl.id;
    let act = move |action: SessionAction| {
        if let Some(attendee) = attendee {
            ctl.live.send(ClientMsg::ControlSession {
                session,
                attendee,
                action,
            });
        }
    };
    view! {
        <figure class="relative rounded bg-slate-900 overflow-hidden ring-emerald-400" class:col-span-full=is_pinned
            class:ring-4=speaking data-speaking=move || speaking().to_string()
            data-testid=if screen { "screen-tile" } else { "tile" } data-attendee=id.clone() data-mine=mine.to_string()>
            <video node_ref=video class="w-full aspect-video" class:object-cover=!screen class:object-contain=screen
                autoplay muted playsinline data-testid="tile-video"></video>
            {(!mine && !screen).then(|| view! { <audio node_ref=audio autoplay data-testid="tile-audio"></audio> })}
            <figcaption class="absolute bottom-0 left-0 right-0 flex flex-wrap items-center gap-2 bg-black/60 px-2 py-1 text-sm text-white">
                <span class="flex-1" data-testid="tile-name">{name.clone()}
                    {move || speaking().then(|| view! { <span class="sr-only">" (speaking)"</span> })}
                </span>
                {move || sound_blocked.get().then(|| view! {
                    <button class="underline" on:click=move |_| {
                        sound_blocked.set(false);
                        #[cfg(feature = "hydrate")]
                        if let Some(el) = audio.get() {
                            let _ = el.play();
                        }
                    }>"Turn sound on"</button>
                })}
                {(!screen).then(|| view! {
                    <button class="underline" aria-pressed=move || is_pinned().to_string()
                        on:click=move |_| pinned.update(|p| *p = if p.as_deref() == Some(pin_key.as_str()) { None } else { Some(pin_key.clone()) })>
                        {move || if is_pinned() { "Unpin" } else { "Pin" }}<span class="sr-only">" " {name.clone()}</span>
                    </button>
                })}
                {(host && !mine && !screen).then(|| view! {
                    <button class="underline" data-testid="host-mute" on:click=move |_| act(SessionAction::Mute)>"Mute"</button>
                    <button class="underline" data-testid="host-off-screen" on:click=move |_| act(SessionAction::OffScreen)>"Off screen"</button>
                    <button class="underline" data-testid="host-remove" on:click=move |_| act(SessionAction::Remove)>"Remove"</button>
                })}
            </figcaption>
        </figure>
    }
}

/// The connection's figures (what it received), refreshed every two seconds.
#[component]
fn CallStats(ctl: Ctl) -> impl IntoView {
    let figures = RwSignal::new((0.0f64, 0.0f64, 0.0f64));
    #[cfg(feature = "hydrate")]
    {
        let handle = set_interval_with_handle(
            move || {
                leptos::task::spawn_local(async move {
                    let r = super::call::received().await;
                    figures.set((r.audio_bytes, r.video_bytes, r.frames_decoded));
                });
            },
            std::time::Duration::from_secs(2),
        );
        on_cleanup(move || {
            if let Ok(h) = handle {
                h.clear();
            }
        });
    }
    let _ = ctl;
    view! {
        <details class="text-sm text-slate-600" data-testid="call-stats">
            <summary class="cursor-pointer">"Connection"</summary>
            <dl class="grid grid-cols-2 gap-x-4 max-w-xs">
                <dt>"Audio received"</dt><dd data-testid="audio-bytes" data-value=move || figures.get().0.to_string()>{move || format!("{:.0} kB", figures.get().0 / 1000.0)}</dd>
                <dt>"Video received"</dt><dd data-testid="video-bytes" data-value=move || figures.get().1.to_string()>{move || format!("{:.0} kB", figures.get().1 / 1000.0)}</dd>
                <dt>"Frames decoded"</dt><dd data-testid="frames-decoded">{move || figures.get().2.to_string()}</dd>
            </dl>
        </details>
    }
}

/// Who is in the session now, fetched again whenever the count changes.
#[component]
fn PeopleHere(ctl: Ctl, area: Area, people: StoredValue<Vec<PersonRow>>) -> impl IntoView {
    let here = RwSignal::new(Vec::<AttendeeId>::new());
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        let _count = ctl.live.in_area(area);
        let (slug, id) = (ctl.slug.get_value(), ctl.id.to_string());
        leptos::task::spawn_local(async move {
            if let Ok(ids) = session_people(slug, id).await {
                here.set(ids);
            }
        });
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = (ctl, area);
    let rows = move || {
        people.with_value(|all| {
            here.get()
                .iter()
                .filter_map(|id| all.iter().find(|r| r.person.id == *id))
                .map(|r| (r.person.id, r.person.name.clone()))
                .collect::<Vec<_>>()
        })
    };
    view! {
        <section class="card space-y-1" data-testid="people-here" aria-label="People in this session">
            <h2 class="font-semibold">"People here"</h2>
            <ul class="text-sm">
                <For each=rows key=|(id, _)| *id let:row>
                    <li data-testid="person-here">{row.1}</li>
                </For>
            </ul>
        </section>
    }
}

/// What hosts have beside the grid: requests to go on screen, and ending the session.
#[component]
fn HostPanel(ctl: Ctl, requests: RwSignal<Vec<Person>>) -> impl IntoView {
    let session = ctl.id;
    view! {
        <section class="card space-y-2" data-testid="host-panel">
            <h2 class="font-semibold">"You host this session"</h2>
            {move || requests.get().is_empty().then(|| view! { <p class="empty">"No requests to go on screen."</p> })}
            <ul class="space-y-1" data-testid="requests">
                <For each=move || requests.get() key=|p| p.id let:p>
                    {
                        let who = p.id;
                        let answer = move |approve: bool| {
                            ctl.live.send(ClientMsg::AnswerScreen { session, attendee: who, approve });
                            requests.update(|r| r.retain(|x| x.id != who));
                        };
                        view! {
                            <li class="flex flex-wrap items-center gap-2" data-testid="request">
                                <span class="flex-1">{p.name.clone()}</span>
                                <button class="btn" on:click=move |_| answer(true)>"Let on screen"</button>
                                <button class="underline" on:click=move |_| answer(false)>"Decline"</button>
                            </li>
                        }
                    }
                </For>
            </ul>
            <button class="btn" data-testid="record-session" aria-pressed=move || ctl.recording.get().to_string()
                on:click=move |_| ctl.live.send(ClientMsg::RecordSession { session, on: !ctl.recording.get_untracked() })>
                {move || if ctl.recording.get() { "Stop recording" } else { "Record the session" }}
            </button>
            <p class="text-sm text-slate-600">"A recording shows whoever speaks large, and keeps each camera and microphone on its own. It appears under the event's Videos once processed."</p>
            <button class="btn bg-red-700 hover:bg-red-800" data-testid="end-session"
                on:click=move |_| ctl.live.send(ClientMsg::EndSession { session })>"End the session for everyone"</button>
        </section>
    }
}

/// Joins the media room whenever asked (and again when the live socket
/// reconnects, or a dropped link says to), and keeps a place on screen.
#[allow(unused_variables)]
fn drive(ctl: Ctl, ended: bool, preview: RwSignal<bool>) {
    #[cfg(feature = "hydrate")]
    {
        use std::time::Duration;
        let id = ctl.id;
        // The socket must be open before `media_join` can go out.
        Effect::new(move |was: Option<bool>| {
            let up = ctl.live.connected.get();
            let lost = matches!(ctl.call.status.get_untracked(), CallStatus::Lost(_));
            if up && was != Some(true) && !ended && !lost {
                let on = ctl.on_screen.get_untracked();
                ctl.join(on);
            }
            up
        });
        Effect::new(move |_| {
            let (n, on_screen) = ctl.joins.get();
            if n == 0 || !ctl.live.connected.get_untracked() {
                return;
            }
            let slug = ctl.slug.get_value();
            leptos::task::spawn_local(async move {
                let send = move |m: ClientMsg| ctl.live.send(m);
                let token = session_token(slug, id.to_string(), on_screen.to_string()).await;
                // Removed (or ended) while asking: the news has closed the
                // page's call. Left meanwhile: its signals are gone too.
                if ctl.gone.try_get_untracked().unwrap_or(true) {
                    return;
                }
                match token {
                    Ok(g) => {
                        // A new connection starts without the screen.
                        ctl.sharing.set(false);
                        ctl.call.speaker.set(None);
                        if let Err(e) = super::call::start(g, false, on_screen, ctl.call, send) {
                            ctl.call.status.set(CallStatus::Lost(e));
                        }
                    }
                    Err(e) => {
                        if on_screen {
                            ctl.on_screen.set(false);
                            super::call::close_devices();
                            ctl.live.notice.set(Some(e.message.clone()));
                            ctl.join(false);
                        } else {
                            ctl.call.status.set(CallStatus::Lost(e.message));
                        }
                    }
                }
            });
        });
        // A dropped link (a media node went away) is joined again shortly.
        Effect::new(move |_| {
            if let CallStatus::Rejoin(_) = ctl.call.status.get() {
                let on = ctl.on_screen.get_untracked();
                set_timeout(move || ctl.join(on), Duration::from_secs(2));
            }
        });
        // Keep the place on screen; losing it means back to watching.
        let handle = set_interval_with_handle(
            move || {
                if !ctl.on_screen.get_untracked() {
                    return;
                }
                let slug = ctl.slug.get_value();
                leptos::task::spawn_local(async move {
                    match keep_on_screen(slug, id.to_string()).await {
                        Ok(ScreenPlace::Lost) => {
                            ctl.on_screen.set(false);
                            super::call::close_devices();
                            ctl.join(false);
                        }
                        Ok(ScreenPlace::Removed) => {
                            leave_for_good(ctl, preview, REMOVED);
                        }
                        Ok(ScreenPlace::Held) | Err(_) => {}
                    }
                });
            },
            Duration::from_secs(15),
        );
        on_cleanup(move || {
            if let Ok(h) = handle {
                h.clear();
            }
            super::call::stop(&|m| ctl.live.send(m));
            super::call::close_devices();
        });
    }
}

/// Acts on session news from the live log: requests (hosts), answers (the
/// asker), a host's mute, off-screen or removal, the session ending.
fn follow_news(
    ctl: Ctl,
    approved: RwSignal<bool>,
    waiting: RwSignal<bool>,
    requests: RwSignal<Vec<Person>>,
    preview: RwSignal<bool>,
) {
    let seen = StoredValue::new(0usize);
    Effect::new(move |_| {
        let news = ctl.live.call_news.get();
        let me = ctl.live.me.get_untracked().map(|m| m.id);
        for item in news.iter().skip(seen.get_value()) {
            match item {
                LiveItem::ScreenRequest {
                    session,
                    attendee,
                    approved: answer,
                } if *session == ctl.id => {
                    let mine = Some(attendee.id) == me;
                    match (answer, mine) {
                        (None, false) => requests.update(|r| {
                            if !r.iter().any(|p| p.id == attendee.id) {
                                r.push(attendee.clone());
                            }
                        }),
                        (Some(yes), true) => {
                            waiting.set(false);
                            approved.set(*yes);
                            ctl.live.notice.set(Some(if *yes {
                                "A host let you on screen: press “Go on screen…”.".into()
                            } else {
                                "A host declined your request to go on screen.".into()
                            }));
                        }
                        (Some(_), false) => requests.update(|r| r.retain(|p| p.id != attendee.id)),
                        (None, true) => {}
                    }
                }
                LiveItem::SessionControl { session, action } if *session == ctl.id => {
                    match action {
                        SessionAction::Mute => {
                            ctl.mic_on.set(false);
                            #[cfg(feature = "hydrate")]
                            super::call::set_microphone(false);
                            ctl.live
                                .notice
                                .set(Some("A host muted your microphone.".into()));
                        }
                        SessionAction::OffScreen => {
                            approved.set(false);
                            if ctl.on_screen.get_untracked() {
                                ctl.on_screen.set(false);
                                #[cfg(feature = "hydrate")]
                                super::call::close_devices();
                                ctl.join(false);
                            }
                            ctl.live
                                .notice
                                .set(Some("A host took you off screen; you are watching.".into()));
                        }
                        SessionAction::Remove => {
                            leave_for_good(ctl, preview, REMOVED);
                        }
                    }
                }
                LiveItem::SessionEnded { session } if *session == ctl.id => {
                    ctl.recording.set(false);
                    leave_for_good(ctl, preview, "This session has ended.");
                }
                LiveItem::SessionRecording { session, recording } if *session == ctl.id => {
                    ctl.recording.set(*recording);
                }
                _ => {}
            }
        }
        seen.set_value(news.len());
    });
}

/// What a removed attendee's page says.
const REMOVED: &str = "A host removed you from this session.";

fn leave_for_good(ctl: Ctl, preview: RwSignal<bool>, why: &str) {
    ctl.gone.set(true);
    ctl.on_screen.set(false);
    ctl.sharing.set(false);
    preview.set(false);
    #[cfg(feature = "hydrate")]
    {
        super::call::stop(&|m| ctl.live.send(m));
        super::call::close_devices();
    }
    ctl.call.tiles.set(Vec::new());
    ctl.call.status.set(CallStatus::Lost(why.into()));
}
