//! Video of the event's own media (simulive stages and Replay): an HLS
//! master playlist under a signed media path (`/media/<token>/`), played
//! natively or with hls.js by `public/hls-attach.js`, with the thumbnail as
//! poster and WebVTT captions when attached.
//!
//! A simulive stage ([`Simulive`]) shows "starting soon" with a countdown,
//! then the video at the shared position, then "ended", switching on the
//! server's clock without a reload ([`protocol::simulive`] decides).

use leptos::prelude::*;
use protocol::simulive::{self, Phase};

use crate::error::AppError;

/// One of the event's videos, as a player needs it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MediaView {
    /// Its title.
    pub title: String,
    /// Its media path prefix (`/media/<token>/`), good for some hours.
    pub media: String,
    /// A thumbnail was made (the poster).
    pub thumbnail: bool,
    /// WebVTT captions are attached.
    pub captions: bool,
    /// How long it plays.
    pub duration_ms: i64,
}

/// A video a stage plays as simulive. Its `media` path is empty until the
/// video is released ([`simulive::released`]); the player then asks for it
/// ([`simulive_media`]).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SimuliveView {
    /// The stage.
    pub stage: protocol::ids::StageId,
    /// The video.
    pub video: MediaView,
    /// When it starts (Unix milliseconds).
    pub starts_ms: i64,
}

/// The server's clock (Unix milliseconds), for players that keep to it.
#[server(prefix = "/fn", endpoint = "server_clock")]
pub async fn server_clock() -> Result<i64, AppError> {
    Ok(chrono::Utc::now().timestamp_millis())
}

/// The media path of the video stage `stage` of event `slug` plays as
/// simulive, once it is released (a minute before its start until its end).
#[server(prefix = "/fn", endpoint = "simulive_media")]
pub async fn simulive_media(slug: String, stage: String) -> Result<String, AppError> {
    use crate::error::ErrorKind;
    let (platform, event, _me) = super::current_attendee(&slug).await?;
    let stage = crate::error::parse_id("stage", &stage)?;
    let s = services::live::stages::get(&platform.pool, event.id, stage).await?;
    let (Some(asset), Some(starts)) = (s.source_asset, s.starts_at) else {
        return Err(AppError::new(
            ErrorKind::NotFound,
            "this stage plays no video",
        ));
    };
    let video = services::assets::of_event(&platform.pool, event.id, asset).await?;
    let now = chrono::Utc::now().timestamp_millis();
    if !simulive::released(
        starts.timestamp_millis(),
        video.duration_ms.unwrap_or(0),
        now,
    ) {
        return Err(AppError::new(
            ErrorKind::Forbidden,
            "the video is not on air now",
        ));
    }
    Ok(services::assets::watch_path(&platform.pool, video.id).await?)
}

/// The `<video>` of one of the event's videos.
pub fn media_video(v: &MediaView, node: NodeRef<leptos::html::Video>, live: bool) -> impl IntoView {
    let poster = v.thumbnail.then(|| format!("{}thumbnail.jpg", v.media));
    let captions = v.captions.then(|| format!("{}captions.vtt", v.media));
    view! {
        <video class="w-full aspect-video bg-black rounded" controls playsinline
            autoplay=live muted=live prop:muted=live poster=poster node_ref=node
            data-hls-src=format!("{}master.m3u8", v.media) data-testid="video-player"
            aria-label=v.title.clone()>
            {captions.map(|src| view! { <track kind="captions" src=src srclang="en" label="Captions" default/> })}
        </video>
    }
}

/// Plays `video`, ignoring a refusal (an interrupted or blocked play is not
/// an error on the page: the viewer still has the controls).
#[cfg(feature = "hydrate")]
pub fn play(video: &web_sys::HtmlMediaElement) {
    if let Ok(promise) = video.play() {
        leptos::task::spawn_local(async move {
            let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
        });
    }
}

/// A simulive stage's player. `now_ms` is the server's clock when the page
/// was made; in the browser the clock is measured again ([`server_clock`]).
#[component]
pub fn Simulive(v: SimuliveView, now_ms: i64, slug: String) -> impl IntoView {
    #[cfg(feature = "hydrate")]
    let slug_for_media = slug.clone();
    let now = RwSignal::new(now_ms);
    let (starts, duration) = (v.starts_ms, v.video.duration_ms);
    let phase = Memo::new(move |_| simulive::phase(starts, duration, now.get()));
    // 0 soon, 1 live, 2 ended: the player is made once per phase, not per tick.
    let kind = Memo::new(move |_| match phase.get() {
        Phase::Soon { .. } => 0u8,
        Phase::Live { .. } => 1,
        Phase::Ended => 2,
    });
    let node = NodeRef::<leptos::html::Video>::new();
    // The video's media path, empty until released.
    let media = RwSignal::new(v.video.media.clone());
    #[cfg(feature = "hydrate")]
    {
        // Viewers who came early ask for the video at different moments in
        // the 10 to 30 seconds before the start, not all at once.
        let ask_before = 10_000.0 + js_sys::Math::random() * 20_000.0;
        let asking = StoredValue::new(false);
        let stage = v.stage;
        let ask = move || {
            if asking.get_value() || !media.get_untracked().is_empty() {
                return;
            }
            asking.set_value(true);
            let slug = slug_for_media.clone();
            leptos::task::spawn_local(async move {
                if let Ok(path) = simulive_media(slug, stage.to_string()).await {
                    media.set(path);
                }
                asking.set_value(false);
            });
        };
        // Seeks made to keep in step: at most one per 10 s, so a slow
        // connection is not sent back to an unloaded position over and over.
        let last_seek = StoredValue::new(f64::NEG_INFINITY);
        // The server's time is this browser's plus `offset`: first from the
        // page (late by its load), then measured over one round trip.
        let offset = RwSignal::new(now_ms as f64 - js_sys::Date::now());
        // The video has been put at the shared position once (it is made
        // anew, unstarted, when the phase turns live).
        let started = StoredValue::new(false);
        leptos::task::spawn_local(async move {
            let sent = js_sys::Date::now();
            if let Ok(server) = server_clock().await {
                let back = js_sys::Date::now();
                offset.set(server as f64 + (back - sent) / 2.0 - back);
            }
        });
        let handle = set_interval_with_handle(
            move || {
                let at = (js_sys::Date::now() + offset.get_untracked()) as i64;
                now.set(at);
                let position_ms = match simulive::phase(starts, duration, at) {
                    Phase::Soon { in_ms } => {
                        if (in_ms as f64) < ask_before {
                            ask();
                        }
                        return;
                    }
                    Phase::Live { position_ms } => {
                        ask();
                        position_ms
                    }
                    Phase::Ended => return,
                };
                // Start at the shared position, and keep a playing video
                // there (a viewer who paused is put back when they play again).
                if let Some(video) = node.get_untracked() {
                    if video.ready_state() >= 1 && !started.get_value() {
                        started.set_value(true);
                        video.set_current_time(position_ms as f64 / 1000.0);
                        play(&video);
                    } else if video.ready_state() >= 3 && !video.seeking() && !video.paused() {
                        // HAVE_FUTURE_DATA: playing, not stalled on a load.
                        let drift = video.current_time() * 1000.0 - position_ms as f64;
                        let now = js_sys::Date::now();
                        if drift.abs() > simulive::MAX_DRIFT_MS as f64
                            && now - last_seek.get_value() > 10_000.0
                        {
                            last_seek.set_value(now);
                            video.set_current_time(position_ms as f64 / 1000.0);
                        }
                    }
                }
            },
            std::time::Duration::from_millis(250),
        );
        on_cleanup(move || {
            if let Ok(h) = handle {
                h.clear();
            }
        });
    }
    let video = v.video.clone();
    let replay = format!("/e/{slug}/replay");
    view! {
        {move || match kind.get() {
            0 => view! {
                <div class="w-full aspect-video bg-slate-800 text-white grid place-items-center rounded text-center" data-testid="player" data-phase="soon">
                    <div>
                        <p class="text-xl font-semibold">"Starting soon"</p>
                        <p>{video.title.clone()}</p>
                        <p class="text-3xl tabular-nums" data-testid="countdown" aria-live="off">
                            {move || match phase.get() { Phase::Soon { in_ms } => simulive::countdown(in_ms), _ => String::new() }}
                        </p>
                    </div>
                </div>
            }.into_any(),
            1 => view! {
                <div data-testid="player" data-phase="live">
                    <p class="mb-1 text-sm font-semibold text-red-700"><span aria-hidden="true">"● "</span>"Live"</p>
                    {let video = video.clone(); move || {
                        let path = media.get();
                        if path.is_empty() {
                            view! { <div class="w-full aspect-video bg-black rounded" data-testid="video-loading"></div> }.into_any()
                        } else {
                            media_video(&MediaView { media: path, ..video.clone() }, node, true).into_any()
                        }
                    }}
                </div>
            }.into_any(),
            _ => view! {
                <div class="w-full aspect-video bg-slate-800 text-white grid place-items-center rounded text-center" data-testid="player" data-phase="ended">
                    <div>
                        <p class="text-xl font-semibold">"This stream has ended"</p>
                        <p>"Recordings the organisers publish are in " <a class="underline" href=replay.clone()>"Replay"</a> "."</p>
                    </div>
                </div>
            }.into_any(),
        }}
    }
}
