//! Replay: the event's recordings and videos that organisers published,
//! with their stage, speakers and chapters from the agenda. Attendees see
//! those published to attendees and to the public, and resume where they
//! left off; anyone with the link sees the public ones.
//!
//! The player reports while it plays (every 15 s, on pause, and when the
//! page goes): [`replay_progress`] keeps the attendee's place and records
//! the watch time (`replay.watched`).

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use super::player::{media_video, MediaView};
use crate::error::AppError;
use crate::forms::error_list;
use crate::look::clock;

/// A chapter of a recording.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ChapterView {
    /// The agenda session's title.
    pub title: String,
    /// Its speakers.
    pub speakers: Vec<String>,
    /// Where it starts in the video.
    pub at_ms: i64,
}

/// A recording as Replay shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RecordingView {
    /// The asset's id.
    pub id: String,
    /// The video.
    pub video: MediaView,
    /// Where it was: the stage it was on air on, or the session it recorded.
    pub place: Option<String>,
    /// When it was on air, in the event's time.
    pub aired: Option<String>,
    /// Who speaks in it.
    pub speakers: Vec<String>,
    /// Its chapters.
    pub chapters: Vec<ChapterView>,
    /// Where the viewer left off.
    pub resume_ms: i64,
}

/// What a Replay page shows.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ReplayData {
    /// Event slug.
    pub slug: String,
    /// Event name.
    pub event: String,
    /// The viewer is an attendee (signed in): they resume where they left off.
    pub attendee: bool,
    /// The recordings they may watch.
    pub recordings: Vec<RecordingView>,
}

/// The event and who is looking: an admitted attendee, or anyone (None)
/// when there is no attendee session for this event.
#[cfg(feature = "ssr")]
async fn viewer(
    slug: &str,
) -> Result<
    (
        services::Platform,
        services::events::Event,
        Option<protocol::ids::AttendeeId>,
    ),
    AppError,
> {
    use crate::context::cookies;
    use services::Error;
    let platform = crate::context::platform()?;
    let token = cookies::read(cookies::ATTENDEE).await;
    // Matched before it becomes an AppError: that would set the response's
    // status for a refusal that only means "show the public part".
    match services::live::moderation::admit(&platform.pool, slug, token.as_deref()).await {
        Ok(admitted) => Ok((platform, admitted.event, Some(admitted.actor.id))),
        Err(Error::Unauthorized(_) | Error::Forbidden(_)) => {
            let event = services::events::get_public(&platform.pool, slug).await?;
            Ok((platform, event, None))
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(feature = "ssr")]
async fn view_of(
    pool: &sqlx::PgPool,
    event: &services::events::Event,
    r: services::replay::Recording,
) -> Result<RecordingView, AppError> {
    let speakers = services::replay::speakers(&r.chapters);
    Ok(RecordingView {
        id: r.asset.id.to_string(),
        video: MediaView {
            media: services::assets::watch_path(pool, r.asset.id).await?,
            title: r.asset.title.clone(),
            thumbnail: r.asset.thumbnail,
            captions: r.asset.captions,
            duration_ms: r.asset.duration_ms.unwrap_or(0),
        },
        place: r.stage.or(r.session.map(|s| format!("Session: {s}"))),
        aired: r
            .asset
            .aired_at
            .map(|at| services::time::local_time(at, &event.time_zone)),
        speakers,
        chapters: r
            .chapters
            .into_iter()
            .map(|c| ChapterView {
                title: c.title,
                speakers: c.speakers,
                at_ms: c.at_ms,
            })
            .collect(),
        resume_ms: r.resume_ms,
    })
}

/// The recordings of event `slug` the visitor may watch.
#[server(prefix = "/fn", endpoint = "replay_list")]
pub async fn replay_list(slug: String) -> Result<ReplayData, AppError> {
    let (platform, event, me) = viewer(&slug).await?;
    let mut recordings = Vec::new();
    for r in services::replay::list(&platform.pool, &event, me).await? {
        recordings.push(view_of(&platform.pool, &event, r).await?);
    }
    Ok(ReplayData {
        slug: event.slug.clone(),
        event: event.name.clone(),
        attendee: me.is_some(),
        recordings,
    })
}

/// One recording of event `slug`, if the visitor may watch it.
#[server(prefix = "/fn", endpoint = "replay_video")]
pub async fn replay_video(slug: String, id: String) -> Result<ReplayData, AppError> {
    let (platform, event, me) = viewer(&slug).await?;
    let id = id.trim().parse().map_err(|_| {
        AppError::new(
            crate::error::ErrorKind::NotFound,
            "no such recording in Replay",
        )
    })?;
    let r = services::replay::get(&platform.pool, &event, me, id).await?;
    Ok(ReplayData {
        slug: event.slug.clone(),
        event: event.name.clone(),
        attendee: me.is_some(),
        recordings: vec![view_of(&platform.pool, &event, r).await?],
    })
}

/// The attendee's player played `watched_ms` of recording `id` since its
/// last report and is at `position_ms`.
#[server(prefix = "/fn", endpoint = "replay_progress")]
pub async fn replay_progress(
    slug: String,
    id: String,
    position_ms: i64,
    watched_ms: i64,
) -> Result<(), AppError> {
    let (platform, event, me) = super::current_attendee(&slug).await?;
    let id = crate::error::parse_id("id", &id)?;
    let mut redis = platform.redis.clone();
    services::ratelimit::hit(
        &mut redis,
        &platform.redis_namespace,
        &services::ratelimit::REPLAY_REPORTS_PER_ATTENDEE,
        &me.id.to_string(),
    )
    .await?;
    services::replay::report(&platform.pool, &event, me.id, id, position_ms, watched_ms).await?;
    Ok(())
}

/// `/e/{slug}/replay`: the recordings.
#[component]
pub fn ReplayPage() -> impl IntoView {
    let params = use_params_map();
    let data = Resource::new(
        move || params.read().get("slug").unwrap_or_default(),
        replay_list,
    );
    view! {
        <Transition fallback=|| view! { <crate::look::Loading/> }>
            <ErrorBoundary fallback=error_list>
                {move || Suspend::new(async move { data.await.map(|d| view! { <Library d=d/> }) })}
            </ErrorBoundary>
        </Transition>
    }
}

#[component]
fn Library(d: ReplayData) -> impl IntoView {
    let slug = d.slug.clone();
    view! {
        <leptos_meta::Title text=format!("Replay · {}", d.event)/>
        <div class="space-y-4">
            <p class="text-sm text-slate-500">
                {if d.attendee {
                    view! { <a class="underline" href=format!("/e/{slug}/reception")>{d.event.clone()}</a> }.into_any()
                } else {
                    view! { <a class="underline" href=format!("/e/{slug}")>{d.event.clone()}</a> }.into_any()
                }}
                " · Replay"
            </p>
            <h1 class="text-2xl font-bold">"Replay"</h1>
            {d.recordings.is_empty().then(|| view! {
                <p class="empty" data-testid="no-recordings">"No recordings yet. Talks appear here once the organisers publish them."</p>
            })}
            <ul class="grid grid-cols-1 gap-4 sm:grid-cols-2 lg:grid-cols-3" data-testid="recordings">
                {d.recordings.into_iter().map(|r| {
                    let href = format!("/e/{slug}/replay/{}", r.id);
                    let meta = [r.place.clone(), r.aired.clone(), Some(clock(r.video.duration_ms))]
                        .into_iter().flatten().collect::<Vec<_>>().join(" · ");
                    view! {
                        <li class="card p-0 overflow-hidden" data-testid="recording">
                            <a href=href class="block">
                                {if r.video.thumbnail {
                                    view! { <img class="w-full aspect-video object-cover bg-black" src=format!("{}thumbnail.jpg", r.video.media) alt="" loading="lazy" data-testid="recording-thumbnail"/> }.into_any()
                                } else {
                                    view! { <div class="w-full aspect-video bg-slate-800"></div> }.into_any()
                                }}
                                <div class="p-3">
                                    <p class="font-semibold" data-testid="recording-title">{r.video.title.clone()}</p>
                                    <p class="text-sm text-slate-600">{meta}</p>
                                    {(!r.speakers.is_empty()).then(|| view! { <p class="text-sm" data-testid="recording-speakers">{r.speakers.join(", ")}</p> })}
                                    {(r.resume_ms > 0).then(|| view! { <p class="text-sm text-indigo-800" data-testid="recording-resume">{format!("Resume at {}", clock(r.resume_ms))}</p> })}
                                </div>
                            </a>
                        </li>
                    }
                }).collect::<Vec<_>>()}
            </ul>
        </div>
    }
}

/// `/e/{slug}/replay/{id}`: one recording, its chapters, resume.
#[component]
pub fn ReplayVideoPage() -> impl IntoView {
    let params = use_params_map();
    let data = Resource::new(
        move || {
            let p = params.read();
            (
                p.get("slug").unwrap_or_default(),
                p.get("id").unwrap_or_default(),
            )
        },
        |(slug, id)| replay_video(slug, id),
    );
    view! {
        <Transition fallback=|| view! { <crate::look::Loading/> }>
            <ErrorBoundary fallback=error_list>
                {move || Suspend::new(async move { data.await.map(|d| view! { <Watch d=d/> }) })}
            </ErrorBoundary>
        </Transition>
    }
}

#[component]
fn Watch(d: ReplayData) -> impl IntoView {
    let Some(r) = d.recordings.into_iter().next() else {
        return view! { <p class="empty">"No such recording in Replay."</p> }.into_any();
    };
    let node = NodeRef::<leptos::html::Video>::new();
    let seek = move |ms: i64| {
        #[cfg(feature = "hydrate")]
        {
            if let Some(v) = node.get_untracked() {
                v.set_current_time(ms as f64 / 1000.0);
                super::player::play(&v);
            }
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = ms;
    };
    #[cfg(feature = "hydrate")]
    {
        if d.attendee {
            report::follow(node, d.slug.clone(), r.id.clone(), r.resume_ms);
        }
    }
    let slug = d.slug.clone();
    let meta = [
        r.place.clone(),
        r.aired.clone(),
        Some(clock(r.video.duration_ms)),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(" · ");
    view! {
        <leptos_meta::Title text=format!("{} · Replay · {}", r.video.title, d.event)/>
        <div class="space-y-4">
            <p class="text-sm text-slate-500">{d.event.clone()} " · " <a class="underline" href=format!("/e/{slug}/replay")>"Replay"</a></p>
            <h1 class="text-2xl font-bold">{r.video.title.clone()}</h1>
            <p class="text-slate-600">{meta}</p>
            {(!r.speakers.is_empty()).then(|| view! { <p data-testid="recording-speakers">{r.speakers.join(", ")}</p> })}
            <div class="grid grid-cols-1 gap-4 md:grid-cols-3 items-start">
                <div class="md:col-span-2" data-resume=r.resume_ms data-testid="replay-player">
                    {media_video(&r.video, node, false)}
                </div>
                <section class="card" aria-labelledby="chapters-title">
                    <h2 class="font-semibold" id="chapters-title">"Chapters"</h2>
                    {r.chapters.is_empty().then(|| view! { <p class="empty" data-testid="no-chapters">"This video has no chapters."</p> })}
                    <ol class="space-y-1" data-testid="chapters">
                        {r.chapters.into_iter().map(|c| {
                            let at = c.at_ms;
                            view! {
                                <li data-testid="chapter">
                                    <button class="text-left underline-offset-2 hover:underline" data-at=at on:click=move |_| seek(at)>
                                        <span class="tabular-nums text-slate-600" data-testid="chapter-at">{clock(at)}</span>
                                        " " <span data-testid="chapter-title">{c.title.clone()}</span>
                                    </button>
                                    {(!c.speakers.is_empty()).then(|| view! { <span class="block text-sm text-slate-600">{c.speakers.join(", ")}</span> })}
                                </li>
                            }
                        }).collect::<Vec<_>>()}
                    </ol>
                </section>
            </div>
        </div>
    }
    .into_any()
}

/// The player's reports (attendees only).
#[cfg(feature = "hydrate")]
mod report {
    use leptos::prelude::*;
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::JsCast;

    /// Where the beacon goes: [`super::replay_progress`].
    const PROGRESS_PATH: &str = <super::ReplayProgress as leptos::server_fn::ServerFn>::PATH;

    /// The most one tick may add to the time played: a page frozen (a
    /// sleeping laptop, a tab restored from the back-forward cache) did
    /// not play while it was frozen.
    const MAX_TICK_MS: f64 = 1_100.0;

    /// How often a playing player reports.
    const EVERY_MS: f64 = 15_000.0;

    /// What has been played since the last report.
    #[derive(Clone, Copy, Default)]
    struct Since {
        /// Milliseconds played.
        played: f64,
        /// `Date.now()` of the last tick while playing.
        last: Option<f64>,
        /// `Date.now()` of the last report.
        reported: f64,
    }

    /// Starts at `resume_ms` once the video can seek, and reports while it
    /// plays, when it pauses, and when the page goes.
    pub fn follow(node: NodeRef<leptos::html::Video>, slug: String, id: String, resume_ms: i64) {
        let since = StoredValue::new(Since {
            reported: js_sys::Date::now(),
            ..Since::default()
        });
        let resumed = StoredValue::new(resume_ms <= 0);
        let (slug, id) = (StoredValue::new(slug), StoredValue::new(id));
        // Takes what was played; None when nothing was.
        let take = move || -> Option<(i64, i64)> {
            let video = node.get_untracked()?;
            let mut s = since.get_value();
            let now = js_sys::Date::now();
            if let Some(last) = s.last.take() {
                s.played += (now - last).min(MAX_TICK_MS);
            }
            if !video.paused() {
                s.last = Some(now);
            }
            let played = s.played;
            s.played = 0.0;
            s.reported = now;
            since.set_value(s);
            // Nothing played, nothing said: a page left before the video
            // loaded would otherwise wipe the attendee's place with 0.
            (played >= 1.0).then(|| ((video.current_time() * 1000.0) as i64, played as i64))
        };
        let send = move || {
            if let Some((position, watched)) = take() {
                let (slug, id) = (slug.get_value(), id.get_value());
                leptos::task::spawn_local(async move {
                    let _ = super::replay_progress(slug, id, position, watched).await;
                });
            }
        };
        let handle = set_interval_with_handle(
            move || {
                let Some(video) = node.get_untracked() else {
                    return;
                };
                if !resumed.get_value() && video.ready_state() >= 1 {
                    resumed.set_value(true);
                    video.set_current_time(resume_ms as f64 / 1000.0);
                }
                let mut s = since.get_value();
                let now = js_sys::Date::now();
                if video.paused() {
                    if let Some(last) = s.last.take() {
                        // Paused since the last tick: report the stretch.
                        s.played += (now - last).min(MAX_TICK_MS);
                        since.set_value(s);
                        send();
                    }
                    return;
                }
                if let Some(last) = s.last {
                    s.played += (now - last).min(MAX_TICK_MS);
                }
                s.last = Some(now);
                since.set_value(s);
                if now - s.reported >= EVERY_MS {
                    send();
                }
            },
            std::time::Duration::from_millis(250),
        );
        // When the tab goes, a beacon carries the last stretch.
        let beacon = Closure::<dyn Fn()>::new(move || {
            if let Some((position, watched)) = take() {
                let body = format!(
                    "slug={}&id={}&position_ms={position}&watched_ms={watched}",
                    String::from(js_sys::encode_uri_component(&slug.get_value())),
                    String::from(js_sys::encode_uri_component(&id.get_value())),
                );
                if let Some(w) = web_sys::window() {
                    let _ = w
                        .navigator()
                        .send_beacon_with_opt_str(PROGRESS_PATH, Some(&body));
                }
            }
        });
        if let Some(w) = web_sys::window() {
            let _ = w.add_event_listener_with_callback("pagehide", beacon.as_ref().unchecked_ref());
        }
        let beacon = send_wrapper::SendWrapper::new(beacon);
        on_cleanup(move || {
            if let Ok(h) = handle {
                h.clear();
            }
            if let Some(w) = web_sys::window() {
                let _ = w.remove_event_listener_with_callback(
                    "pagehide",
                    beacon.as_ref().unchecked_ref(),
                );
            }
            // Leaving within the app: the last stretch goes as a request.
            send();
        });
    }
}
