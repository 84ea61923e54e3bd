//! A stage live from its backstage. The audience sees "starting soon", then
//! the speakers on air over WebRTC (receive only: the media node sends an
//! audience member nothing but who is on air), then "ended", each without
//! reloading. In the backstage (a video session only the speakers enter) the
//! hosts choose who is on air and the layout, go live and end.

use leptos::prelude::*;

use protocol::ids::{AttendeeId, StageId, VideoSessionId};
#[cfg(feature = "hydrate")]
use protocol::live::ClientMsg;
use protocol::states::{StageLayout, StageLive};

use super::call_view::{screen_owner, CallStatus, CallView, JoinGrant};
use super::client::LiveState;
use crate::error::AppError;

/// A stage's broadcast as its pages show it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BroadcastView {
    /// The stage.
    pub stage: StageId,
    /// Its name.
    pub name: String,
    /// Its backstage.
    pub backstage: VideoSessionId,
    /// Not started, live or ended.
    pub state: StageLive,
    /// Who the audience sees, in the layout's order.
    pub on_air: Vec<AttendeeId>,
    /// How.
    pub layout: StageLayout,
    /// The viewer speaks on this stage (hosts its backstage).
    pub speaker: bool,
    /// The viewer, a speaker, passed the pre-event check lately (going on
    /// screen backstage needs it).
    pub checked: bool,
}

#[cfg(feature = "ssr")]
impl BroadcastView {
    /// The broadcast of `s` (None: it does not broadcast from a backstage).
    pub async fn of(
        pool: &sqlx::PgPool,
        me: &services::live::participants::Actor,
        s: &services::live::stages::Stage,
    ) -> Result<Option<BroadcastView>, AppError> {
        let Some(backstage) = s.broadcasting_from() else {
            return Ok(None);
        };
        let speaker = services::live::sessions::is_host(pool, me, backstage).await?;
        let checked = speaker && services::live::checks::passed(pool, me).await?;
        Ok(Some(BroadcastView {
            stage: s.id,
            name: s.name.clone(),
            backstage,
            state: s.live_state,
            on_air: s.on_air.clone(),
            layout: s.layout,
            speaker,
            checked,
        }))
    }
}

/// How a viewer watches a live stage.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "via", rename_all = "snake_case")]
pub enum Watch {
    /// Over WebRTC through the media node, receive only.
    Rtc(JoinGrant),
    /// The HLS stream of the live mix, for viewers past the node's WebRTC
    /// limit.
    Hls {
        /// The playlist (a signed path).
        url: String,
    },
}

/// How to watch the speakers on air of a stage that is live: a token for
/// WebRTC, or with `hls` (the media node said it is full) the live mix's
/// HLS stream.
#[server(prefix = "/fn", endpoint = "stage_watch")]
pub async fn stage_watch(
    slug: String,
    stage: String,
    hls: Option<bool>,
) -> Result<Watch, AppError> {
    use services::live::{sessions, stages};
    let (platform, event, me) = super::current_attendee(&slug).await?;
    let id: StageId = crate::error::parse_id("stage", &stage)?;
    let s = stages::get(&platform.pool, event.id, id).await?;
    let backstage = s
        .broadcasting_from()
        .filter(|_| s.on_air_now())
        .ok_or_else(|| {
            AppError::new(crate::error::ErrorKind::Conflict, "this stage is not live")
        })?;
    let g = sessions::audience_grant(&platform.pool, &me, backstage).await?;
    if hls == Some(true) {
        let recording = s.live_recording.ok_or_else(|| {
            AppError::new(crate::error::ErrorKind::Conflict, "this stage is not live")
        })?;
        let url = services::live::hls::watch_path(&platform.pool, recording).await?;
        return Ok(Watch::Hls { url });
    }
    Ok(Watch::Rtc(JoinGrant::of(&platform, &me, g)))
}

/// The stage a backstage serves, for its hosts (None: the session is no
/// stage's backstage).
#[server(prefix = "/fn", endpoint = "backstage_of")]
pub async fn backstage_of(
    slug: String,
    session: String,
) -> Result<Option<BroadcastView>, AppError> {
    use services::live::{sessions, stages};
    let (platform, event, me) = super::current_attendee(&slug).await?;
    let session: VideoSessionId = crate::error::parse_id("session", &session)?;
    if !sessions::is_host(&platform.pool, &me, session).await? {
        return Err(AppError::new(
            crate::error::ErrorKind::Forbidden,
            "only the stage's speakers see its backstage",
        ));
    }
    match stages::of_backstage(&platform.pool, event.id, session).await? {
        Some(s) => BroadcastView::of(&platform.pool, &me, &s).await,
        None => Ok(None),
    }
}

/// A backstage host changes the broadcast: `action` is `go_live`, `end`, or
/// `on_air` with `on_air` (attendee ids, comma-separated, in order) and
/// `layout` (`solo`, `side_by_side`, `screen_speaker`).
#[server(prefix = "/fn", endpoint = "stage_broadcast")]
pub async fn stage_broadcast(
    slug: String,
    stage: String,
    action: String,
    on_air: String,
    layout: String,
) -> Result<BroadcastView, AppError> {
    use crate::error::{parse_id, ErrorKind};
    use services::live::stages::Broadcast;
    let (platform, _event, me) = super::current_attendee(&slug).await?;
    let id: StageId = parse_id("stage", &stage)?;
    let what = match action.as_str() {
        "go_live" => Broadcast::GoLive,
        "end" => Broadcast::End,
        "on_air" => {
            let people = on_air
                .split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(|p| parse_id::<AttendeeId>("person on air", p))
                .collect::<Result<Vec<_>, _>>()?;
            let layout: StageLayout = layout.trim().parse().map_err(|_| {
                AppError::new(
                    ErrorKind::Invalid,
                    "layout must be solo, side_by_side or screen_speaker",
                )
            })?;
            Broadcast::OnAir(people, layout)
        }
        _ => {
            return Err(AppError::new(
                ErrorKind::Invalid,
                "action must be go_live, end or on_air",
            ))
        }
    };
    let deps = platform.live_deps();
    let s = services::live::actions::broadcast(&deps, &me, id, what).await?;
    BroadcastView::of(&platform.pool, &me, &s)
        .await?
        .ok_or_else(|| AppError::new(ErrorKind::Conflict, "this stage does not broadcast"))
}

/// The audience's player: starting soon, the speakers on air, or ended.
#[component]
pub fn LiveBroadcast(
    b: BroadcastView,
    slug: String,
    live: LiveState,
    /// Who is on air and the layout, as the stage's latest load says.
    air: RwSignal<(Vec<AttendeeId>, StageLayout)>,
) -> impl IntoView {
    let backstage = format!("/e/{slug}/session/{}", b.backstage);
    let speaker_link = b.speaker.then(|| {
        view! { <p class="mt-2 text-sm">"You speak on this stage: " <a class="underline" href=backstage.clone() data-testid="go-backstage">"go backstage"</a></p> }
    });
    match b.state {
        StageLive::Off => view! {
            <div>
                <div class="w-full aspect-video bg-slate-800 text-white grid place-items-center rounded text-center" data-testid="player" data-phase="soon">
                    <div>
                        <p class="text-xl font-semibold">"Starting soon"</p>
                        <p>"The speakers are getting ready backstage."</p>
                    </div>
                </div>
                {speaker_link}
            </div>
        }
        .into_any(),
        StageLive::Ended => {
            let replay = format!("/e/{slug}/replay");
            view! {
                <div class="w-full aspect-video bg-slate-800 text-white grid place-items-center rounded text-center" data-testid="player" data-phase="ended">
                    <div>
                        <p class="text-xl font-semibold">"This broadcast has ended"</p>
                        <p>"Recordings the organisers publish are in " <a class="underline" href=replay>"Replay"</a> "."</p>
                    </div>
                </div>
            }
            .into_any()
        }
        StageLive::Live => view! {
            <div>
                <OnAir stage=b.stage slug=slug live=live air=air/>
                {speaker_link}
            </div>
        }
        .into_any(),
    }
}

/// The speakers on air, laid out as the hosts chose.
#[component]
fn OnAir(
    stage: StageId,
    slug: String,
    live: LiveState,
    air: RwSignal<(Vec<AttendeeId>, StageLayout)>,
) -> impl IntoView {
    let call = CallView::new(CallStatus::Idle);
    // The live mix's playlist, once the media node has as many WebRTC
    // viewers as it takes (None: over WebRTC).
    let hls = RwSignal::new(None::<String>);
    #[cfg(feature = "hydrate")]
    {
        use std::sync::atomic::{AtomicBool, Ordering};
        // Set when the player goes: a join under way or due then is dropped.
        let gone = std::sync::Arc::new(AtomicBool::new(false));
        let left = gone.clone();
        let join = move |via_hls: bool| {
            let slug = slug.clone();
            let gone = gone.clone();
            leptos::task::spawn_local(async move {
                if gone.load(Ordering::Relaxed) {
                    return;
                }
                let watch = stage_watch(slug, stage.to_string(), Some(via_hls)).await;
                if gone.load(Ordering::Relaxed) {
                    return;
                }
                match watch {
                    Ok(Watch::Rtc(g)) => {
                        let send = move |m: ClientMsg| live.send(m);
                        if let Err(e) = super::call::start(g, false, false, call, send) {
                            call.status.set(CallStatus::Lost(e));
                        }
                    }
                    Ok(Watch::Hls { url }) => hls.set(Some(url)),
                    Err(e) => call.status.set(CallStatus::Lost(e.message)),
                }
            });
        };
        // Joined once the socket is up, and again after it reconnects or a
        // media node went away; the stream, once on it, needs neither.
        let join_now = join.clone();
        Effect::new(move |was: Option<bool>| {
            let up = live.connected.get();
            if up && was != Some(true) && hls.get_untracked().is_none() {
                join_now(false);
            }
            up
        });
        Effect::new(move |_| match call.status.get() {
            CallStatus::Rejoin(_) => {
                let join = join.clone();
                set_timeout(move || join(false), std::time::Duration::from_secs(2));
            }
            CallStatus::Full => join(true),
            _ => {}
        });
        on_cleanup(move || {
            left.store(true, Ordering::Relaxed);
            super::call::stop(&|m| live.send(m));
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (stage, slug, live);
    let on_hls = move || hls.get().is_some();
    // People first in the order on air, then their screens; the layout
    // decides what shows.
    let shown = move || {
        let tiles = call.tiles.get();
        let (order, layout) = air.get();
        let rank = |id: &str| {
            let owner = screen_owner(id).unwrap_or(id);
            order
                .iter()
                .position(|a| a.to_string() == owner)
                .unwrap_or(usize::MAX)
        };
        let mut people: Vec<String> = tiles
            .iter()
            .filter(|t| screen_owner(t).is_none())
            .cloned()
            .collect();
        people.sort_by_key(|t| rank(t));
        let mut screens: Vec<String> = tiles
            .iter()
            .filter(|t| screen_owner(t).is_some())
            .cloned()
            .collect();
        screens.sort_by_key(|t| rank(t));
        match layout {
            StageLayout::Solo => people.into_iter().take(1).collect::<Vec<_>>(),
            StageLayout::SideBySide => people,
            StageLayout::ScreenSpeaker => screens
                .into_iter()
                .take(1)
                .chain(people.into_iter().take(1))
                .collect(),
        }
    };
    let layout = move || air.get().1;
    let grid = move || match (layout(), shown().len()) {
        (_, 0 | 1) => "grid gap-2 grid-cols-1",
        (StageLayout::ScreenSpeaker, _) => "grid gap-2 grid-cols-4",
        _ => "grid gap-2 grid-cols-2",
    };
    view! {
        <div data-testid="player" data-phase="live" data-layout=move || layout().as_str()>
            <p class="mb-1 text-sm font-semibold text-red-700"><span aria-hidden="true">"● "</span>"Live"</p>
            {move || hls.get().map(|url| view! {
                // public/hls-attach.js plays it (natively or with hls.js).
                <video class="w-full aspect-video bg-black rounded" controls autoplay muted playsinline
                    data-hls-src=url data-testid="air-hls"></video>
            })}
            <div class=grid data-testid="on-air" class:hidden=on_hls>
                <For each=shown key=|id| id.clone() let:id>
                    {
                        let screen = screen_owner(&id).is_some();
                        let wide = move || screen && layout() == StageLayout::ScreenSpeaker;
                        view! { <AirTile id=id.clone() call=call wide=Signal::derive(wide)/> }
                    }
                </For>
            </div>
            {move || (shown().is_empty() && !on_hls()).then(|| view! {
                <div class="w-full aspect-video bg-black text-white grid place-items-center rounded" data-testid="air-waiting">
                    {move || match call.status.get() {
                        CallStatus::Lost(why) => why,
                        _ => "Connecting to the stage…".into(),
                    }}
                </div>
            })}
        </div>
    }
}

/// One stream on air: picture, and sound (a button when the browser wants a
/// gesture first).
#[component]
fn AirTile(id: String, call: CallView, wide: Signal<bool>) -> impl IntoView {
    let video = NodeRef::<leptos::html::Video>::new();
    let audio = NodeRef::<leptos::html::Audio>::new();
    let sound_blocked = RwSignal::new(false);
    let screen = screen_owner(&id).is_some();
    #[cfg(not(feature = "hydrate"))]
    let _ = call;
    #[cfg(feature = "hydrate")]
    {
        let id = id.clone();
        Effect::new(move |_| {
            call.tiles.track();
            let stream = super::call::stream_of(&id);
            let id_of = |s: Option<web_sys::MediaStream>| s.map(|s| s.id());
            if let Some(el) = video.get() {
                if id_of(el.src_object()) != id_of(stream.clone()) {
                    el.set_src_object(stream.as_ref());
                }
            }
            if let Some(el) = audio.get() {
                if id_of(el.src_object()) != id_of(stream.clone()) {
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
    view! {
        <figure class="relative rounded bg-slate-900 overflow-hidden" class:col-span-3=move || wide.get()
            data-testid=if screen { "air-screen" } else { "air-tile" } data-attendee=id.clone()>
            <video node_ref=video class="w-full aspect-video" class:object-cover=!screen class:object-contain=screen
                autoplay muted playsinline data-testid="air-video"></video>
            {(!screen).then(|| view! { <audio node_ref=audio autoplay></audio> })}
            {move || sound_blocked.get().then(|| view! {
                <button class="absolute bottom-2 left-2 btn" on:click=move |_| {
                    sound_blocked.set(false);
                    #[cfg(feature = "hydrate")]
                    if let Some(el) = audio.get() {
                        let _ = el.play();
                    }
                }>"Turn sound on"</button>
            })}
        </figure>
    }
}

/// The backstage hosts' controls: who is on air, the layout, go live, end.
/// The web node tells the media node what changed (see `sync_air` in the
/// live socket); the page only asks for the change.
#[component]
pub fn BackstagePanel(
    b: BroadcastView,
    slug: String,
    live: LiveState,
    /// People on screen in the backstage now (attendee ids) with their names.
    on_screen: Signal<Vec<(String, String)>>,
) -> impl IntoView {
    let state = RwSignal::new(b.clone());
    let error = RwSignal::new(None::<String>);
    let slug = StoredValue::new(slug);
    // Another host's change reaches this page as the stage changing.
    let seen = StoredValue::new(0usize);
    Effect::new(move |_| {
        let news = live.call_news.get();
        let changed = news.iter().skip(seen.get_value()).any(
            |i| matches!(i, protocol::live::LiveItem::StageChanged { stage } if *stage == b.stage),
        );
        seen.set_value(news.len());
        if changed {
            let session = state.get_untracked().backstage.to_string();
            leptos::task::spawn_local(async move {
                if let Ok(Some(v)) = backstage_of(slug.get_value(), session).await {
                    state.set(v);
                }
            });
        }
    });
    let act = move |action: &'static str, people: Vec<AttendeeId>, layout: StageLayout| {
        let on_air = people
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(",");
        let stage = state.get_untracked().stage.to_string();
        // Shown at once, so a second change made before the answer builds on
        // this one (the answer then confirms or corrects it).
        if action == "on_air" {
            state.update(|v| {
                v.on_air = people;
                v.layout = layout;
            });
        }
        leptos::task::spawn_local(async move {
            match stage_broadcast(
                slug.get_value(),
                stage,
                action.into(),
                on_air,
                layout.as_str().into(),
            )
            .await
            {
                Ok(v) => {
                    error.set(None);
                    state.set(v);
                }
                Err(e) => {
                    error.set(Some(e.message));
                    let session = state.get_untracked().backstage.to_string();
                    if let Ok(Some(v)) = backstage_of(slug.get_value(), session).await {
                        state.set(v);
                    }
                }
            }
        });
    };
    let toggle = move |id: AttendeeId| {
        let v = state.get_untracked();
        let mut list = v.on_air.clone();
        if let Some(i) = list.iter().position(|a| *a == id) {
            list.remove(i);
        } else {
            list.push(id);
        }
        act("on_air", list, v.layout);
    };
    let set_layout = move |raw: String| {
        if let Ok(layout) = raw.parse::<StageLayout>() {
            let v = state.get_untracked();
            act("on_air", v.on_air, layout);
        }
    };
    let go = move |_| act("go_live", Vec::new(), StageLayout::Solo);
    let end = move |_| act("end", Vec::new(), StageLayout::Solo);
    let layouts = [
        (StageLayout::Solo, "One speaker"),
        (StageLayout::SideBySide, "Side by side"),
        (StageLayout::ScreenSpeaker, "Screen share with speaker"),
    ];
    let check = format!("/e/{}/check", slug.get_value());
    view! {
        <section class="card space-y-3" aria-labelledby="broadcast-h" data-testid="backstage-panel">
            <h2 id="broadcast-h" class="font-semibold">"Broadcast: " {b.name.clone()}</h2>
            {(!b.checked).then(|| view! {
                <p class="text-sm rounded bg-amber-50 border border-amber-300 p-2" data-testid="backstage-check">
                    "Before going on screen here, take the "
                    <a class="underline" href=check data-testid="backstage-check-link">"pre-event check"</a>
                    ": it tests your camera, microphone and connection."
                </p>
            })}
            <p role="status" data-testid="broadcast-state" data-state=move || state.get().state.as_str()>
                {move || match state.get().state {
                    StageLive::Off => "Not live yet: the audience sees “starting soon”.",
                    StageLive::Live => "Live: the audience sees who is on air.",
                    StageLive::Ended => "Ended: the audience sees that the broadcast is over.",
                }}
            </p>
            <fieldset class="space-y-1">
                <legend class="text-sm font-medium">"On air"</legend>
                {move || on_screen.get().is_empty().then(|| view! {
                    <p class="text-sm text-slate-600">"Nobody is on screen backstage yet."</p>
                })}
                <For each=move || on_screen.get() key=|(id, _)| id.clone() let:person>
                    {
                        let (id, name) = person;
                        let attendee: Option<AttendeeId> = id.parse().ok();
                        let checked = move || attendee.is_some_and(|a| state.get().on_air.contains(&a));
                        view! {
                            <label class="flex items-center gap-2">
                                <input type="checkbox" data-testid="on-air-toggle" data-attendee=id.clone()
                                    prop:checked=checked
                                    on:change=move |_| if let Some(a) = attendee { toggle(a) }/>
                                {name}
                            </label>
                        }
                    }
                </For>
            </fieldset>
            <label class="block text-sm">"Layout "
                <select class="input" data-testid="layout" on:change=move |ev| set_layout(event_target_value(&ev))>
                    {layouts.into_iter().map(|(l, label)| view! {
                        <option value=l.as_str() selected=move || state.get().layout == l>{label}</option>
                    }).collect_view()}
                </select>
            </label>
            <div class="flex gap-2">
                {move || match state.get().state {
                    StageLive::Live => view! {
                        <button class="btn bg-red-700 hover:bg-red-800" data-testid="end-broadcast" on:click=end>"End the broadcast"</button>
                    }.into_any(),
                    _ => view! {
                        <button class="btn" data-testid="go-live" on:click=go>"Go live"</button>
                    }.into_any(),
                }}
            </div>
            {move || error.get().map(|e| view! { <p class="text-red-700" role="alert">{e}</p> })}
        </section>
    }
}
