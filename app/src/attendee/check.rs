//! The pre-event check: before going on screen (speakers are linked here from
//! the agenda), an attendee sees their camera, hears their microphone on a
//! level meter, plays a test sound, and makes a call through the SFU whose
//! round trip, jitter, loss and outgoing bitrate come from the browser's
//! statistics. The server judges the numbers and keeps the result;
//! organisers see each speaker's latest check on the agenda.

use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

use protocol::states::CheckVerdict;
use protocol::Area;

use super::call_view::{CallStatus, CallView};
use super::client::LiveState;
use super::devices::DevicePickers;
use crate::error::AppError;
use crate::forms::error_list;

/// What the check page needs.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CheckData {
    /// Event slug.
    pub slug: String,
    /// Event name.
    pub event: String,
    /// The event's speakers (id, name), to check as one of them.
    pub speakers: Vec<(String, String)>,
    /// People in the event now.
    pub online: u64,
    /// The live log's position (the page's socket carries the test call).
    pub cursor: String,
    /// A relay (TURN) server is configured: the call may be tested through it.
    pub relay: bool,
}

/// The check page's data; attendees of the event only.
#[server(prefix = "/fn", endpoint = "check_page")]
pub async fn check_info(slug: String) -> Result<CheckData, AppError> {
    use services::live::{agenda, log, presence};
    let (platform, event, _me) = super::current_attendee(&slug).await?;
    let mut redis = platform.redis.clone();
    Ok(CheckData {
        online: presence::count(&mut redis, event.id).await?,
        cursor: log::head(&mut redis, event.id).await?,
        speakers: agenda::speakers(&platform.pool, event.id)
            .await?
            .into_iter()
            .map(|s| (s.id.to_string(), s.name))
            .collect(),
        slug: event.slug.clone(),
        event: event.name.clone(),
        relay: platform.turn.is_some(),
    })
}

/// A join token for the attendee's own check room.
#[server(prefix = "/fn", endpoint = "check_token")]
pub async fn check_token(slug: String) -> Result<super::session::JoinGrant, AppError> {
    let (platform, _event, me) = super::current_attendee(&slug).await?;
    let g = services::live::checks::grant(&platform.pool, &me).await?;
    Ok(super::session::JoinGrant::of(&platform, &me, g))
}

/// One judged measure.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct JudgedView {
    /// Which measure.
    pub measure: String,
    /// Its verdict.
    pub verdict: CheckVerdict,
    /// What to do (empty when good).
    pub advice: String,
}

/// Saves a check (numbers as measured by the browser; `speaker` optional)
/// and returns the server's verdicts.
#[allow(clippy::too_many_arguments)]
#[server(prefix = "/fn", endpoint = "save_check")]
pub async fn save_check(
    slug: String,
    speaker: String,
    camera: bool,
    microphone: bool,
    rtt_ms: f32,
    jitter_ms: f32,
    loss_pct: f32,
    bitrate_kbps: f32,
) -> Result<Vec<JudgedView>, AppError> {
    use services::live::checks;
    let (platform, _event, me) = super::current_attendee(&slug).await?;
    let speaker = match speaker.trim() {
        "" => None,
        raw => Some(crate::error::parse_id("speaker", raw)?),
    };
    let m = checks::Measured {
        camera,
        microphone,
        rtt_ms,
        jitter_ms,
        loss_pct,
        bitrate_kbps,
    };
    Ok(checks::save(&platform.pool, &me, speaker, &m)
        .await?
        .into_iter()
        .map(|j| JudgedView {
            measure: j.measure.into(),
            verdict: j.verdict,
            advice: j.advice.into(),
        })
        .collect())
}

/// `/e/{slug}/check[?speaker=<id>]`.
#[component]
pub fn CheckPage() -> impl IntoView {
    let params = use_params_map();
    let data = Resource::new(
        move || params.read().get("slug").unwrap_or_default(),
        check_info,
    );
    view! {
        <Transition fallback=|| view! { <crate::look::Loading/> }>
            <ErrorBoundary fallback=error_list>
                {move || Suspend::new(async move { data.await.map(|d| view! { <Check d=d/> }) })}
            </ErrorBoundary>
        </Transition>
    }
}

/// The measured numbers, as shown.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
struct Numbers {
    /// `host`, `relay`, ... (the browser's side of the path the call took).
    path: Option<&'static str>,
    rtt_ms: f32,
    jitter_ms: f32,
    loss_pct: f32,
    bitrate_kbps: f32,
}

fn verdict_class(v: CheckVerdict) -> &'static str {
    match v {
        CheckVerdict::Good => "text-green-800",
        CheckVerdict::Fair => "text-amber-800",
        CheckVerdict::Poor => "text-red-700",
    }
}

#[component]
fn Check(d: CheckData) -> impl IntoView {
    let live = LiveState::new(d.online, false);
    live.connect(d.slug.clone(), Area::Check, d.cursor.clone());
    let query = use_query_map();
    let speaker = RwSignal::new(query.read_untracked().get("speaker").unwrap_or_default());
    let video = NodeRef::<leptos::html::Video>::new();
    let opened = RwSignal::new(0u32);
    let camera_ok = RwSignal::new(false);
    let level = RwSignal::new(0f32);
    let heard = RwSignal::new(false);
    let problem = RwSignal::new(None::<String>);
    let running = RwSignal::new(false);
    let relay_only = RwSignal::new(false);
    let numbers = RwSignal::new(None::<Numbers>);
    let judged = RwSignal::new(Vec::<JudgedView>::new());
    let call = CallView::new(CallStatus::Idle);
    let slug = StoredValue::new(d.slug.clone());
    #[cfg(feature = "hydrate")]
    {
        // Each stream the pickers open (the default devices first, then
        // each one picked) gets a level meter of its own.
        let meter = StoredValue::new(None::<leptos::prelude::IntervalHandle>);
        Effect::new(move |_| {
            if opened.get() == 0 {
                return;
            }
            if let Some(h) = meter.get_value() {
                h.clear();
            }
            camera_ok.set(
                super::call::local_stream().is_some_and(|s| s.get_video_tracks().length() > 0),
            );
            match super::call::Meter::new() {
                Ok(m) => {
                    let m = std::rc::Rc::new(m);
                    let handle = set_interval_with_handle(
                        move || {
                            let l = m.level();
                            level.set(l);
                            if l > 0.01 {
                                heard.set(true);
                            }
                        },
                        std::time::Duration::from_millis(100),
                    );
                    meter.set_value(handle.ok());
                }
                Err(e) => problem.set(Some(e)),
            }
        });
        on_cleanup(move || {
            if let Some(h) = meter.get_value() {
                h.clear();
            }
        });
        on_cleanup(move || {
            super::call::stop(&|m| live.send(m));
            super::call::close_devices();
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (camera_ok, call, slug, opened);
    let tone = move |_| {
        #[cfg(feature = "hydrate")]
        if let Err(e) = super::call::play_tone() {
            problem.set(Some(e));
        }
    };
    let test = move |_| {
        running.set(true);
        judged.set(Vec::new());
        numbers.set(None);
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            let result =
                network_test(slug.get_value(), relay_only.get_untracked(), live, call).await;
            running.set(false);
            match result {
                Ok(n) => {
                    numbers.set(Some(n));
                    let saved = save_check(
                        slug.get_value(),
                        speaker.get_untracked(),
                        camera_ok.get_untracked(),
                        heard.get_untracked(),
                        n.rtt_ms,
                        n.jitter_ms,
                        n.loss_pct,
                        n.bitrate_kbps,
                    )
                    .await;
                    match saved {
                        Ok(j) => judged.set(j),
                        Err(e) => problem.set(Some(e.message)),
                    }
                }
                Err(e) => problem.set(Some(e)),
            }
        });
    };
    let reception = format!("/e/{}/reception", d.slug);
    let figure = move |measure: &'static str| {
        let n = numbers.get()?;
        Some(match measure {
            "rtt" => format!("{:.0} ms", n.rtt_ms),
            "jitter" => format!("{:.1} ms", n.jitter_ms),
            "loss" => format!("{:.1} %", n.loss_pct),
            "bitrate" => format!("{:.0} kbit/s", n.bitrate_kbps),
            _ => String::new(),
        })
    };
    let label = |m: &str| match m {
        "camera" => "Camera",
        "microphone" => "Microphone",
        "rtt" => "Round trip",
        "jitter" => "Jitter",
        "loss" => "Packet loss",
        "bitrate" => "Outgoing video",
        _ => "",
    };
    view! {
        <leptos_meta::Title text=format!("Pre-event check · {}", d.event)/>
        <div class="space-y-4 max-w-2xl">
            <p class="text-sm text-slate-500"><a class="underline" href=reception>{d.event.clone()}</a> " · Pre-event check"</p>
            <h1 class="text-2xl font-bold">"Check your camera, microphone and connection"</h1>
            {move || problem.get().map(|p| view! { <p class="text-red-700" role="alert" data-testid="check-problem">{p}</p> })}
            <section class="card space-y-2">
                <h2 class="font-semibold">"Camera and microphone"</h2>
                <video node_ref=video class="w-full max-w-sm aspect-video bg-black rounded" autoplay muted playsinline data-testid="check-video"></video>
                <DevicePickers video=video opened=opened problem=problem/>
            </section>
            <section class="card space-y-2">
                <h2 class="font-semibold">"Microphone"</h2>
                <label class="block">"Level (speak to see it move)"
                    <meter class="w-full" min="0" max="0.5" value=move || level.get().to_string() data-testid="mic-level"
                        data-heard=move || heard.get().to_string()></meter>
                </label>
                <h2 class="font-semibold">"Speakers"</h2>
                <button class="btn" data-testid="play-tone" on:click=tone>"Play a test sound"</button>
            </section>
            <section class="card space-y-2">
                <h2 class="font-semibold">"Connection"</h2>
                {(!d.speakers.is_empty()).then(|| view! {
                    <label class="block">"I am speaking as"
                        <select class="input" data-testid="check-speaker" on:change=move |ev| speaker.set(event_target_value(&ev))>
                            <option value="">"Not a speaker"</option>
                            {d.speakers.iter().map(|(id, name)| {
                                let id2 = id.clone();
                                view! { <option value=id.clone() selected=move || speaker.get() == id2>{name.clone()}</option> }
                            }).collect::<Vec<_>>()}
                        </select>
                    </label>
                })}
                <p class="text-sm text-slate-600">"A short call through Convene's media server measures what your audience would get."</p>
                {d.relay.then(|| view! {
                    <label class="block"><input type="checkbox" data-testid="check-relay" on:change=move |ev| relay_only.set(event_target_checked(&ev))/>
                        " Only through the relay server (TURN), as behind a strict firewall"</label>
                })}
                {move || numbers.get().and_then(|n| n.path).map(|p| view! {
                    <p data-testid="check-path">"Path: " {if p == "relay" { "through the relay server" } else { "direct" }}</p>
                })}
                <button class="btn" data-testid="run-check" disabled=move || running.get() on:click=test>
                    {move || if running.get() { "Testing…" } else { "Test my connection" }}
                </button>
                <table class="w-full text-left" data-testid="check-results" aria-live="polite">
                    <tbody>
                        <For each=move || judged.get() key=|j| j.measure.clone() let:j>
                            {
                                let m: &'static str = match j.measure.as_str() {
                                    "camera" => "camera", "microphone" => "microphone", "rtt" => "rtt",
                                    "jitter" => "jitter", "loss" => "loss", _ => "bitrate",
                                };
                                view! {
                                    <tr data-testid=format!("check-{m}")>
                                        <th class="py-1 pr-3">{label(m)}</th>
                                        <td class="pr-3" data-testid="figure">{move || figure(m)}</td>
                                        <td class=verdict_class(j.verdict) data-testid="verdict">{j.verdict.as_str()}</td>
                                        <td class="text-sm">{j.advice.clone()}</td>
                                    </tr>
                                }
                            }
                        </For>
                    </tbody>
                </table>
            </section>
        </div>
    }
}

/// Publishes to the check room for a few seconds and reads what the node
/// reports back.
#[cfg(feature = "hydrate")]
async fn network_test(
    slug: String,
    relay_only: bool,
    live: LiveState,
    call: CallView,
) -> Result<Numbers, String> {
    use std::time::Duration;
    let grant = check_token(slug).await.map_err(|e| e.message)?;
    let send = move |m| live.send(m);
    super::call::start(grant, relay_only, true, call, send)?;
    let wait = |ms: u64| browser_sleep(Duration::from_millis(ms));
    for _ in 0..150 {
        if call.status.get_untracked() == CallStatus::Connected {
            break;
        }
        if let CallStatus::Lost(e) | CallStatus::Rejoin(e) = call.status.get_untracked() {
            return Err(e);
        }
        wait(100).await;
    }
    if call.status.get_untracked() != CallStatus::Connected {
        super::call::stop(&send);
        return Err("the test call did not connect; a firewall may block it".into());
    }
    // Let the encoder ramp up and a receiver report arrive, then measure.
    wait(2000).await;
    let first = super::call::sent().await;
    wait(4000).await;
    let last = super::call::sent().await;
    super::call::stop(&send);
    let Some(rtt_ms) = last.rtt_ms else {
        return Err("the media server reported nothing back; try again".into());
    };
    let seconds = ((last.at_ms - first.at_ms) / 1000.0).max(0.001);
    Ok(Numbers {
        path: match last.path.as_deref() {
            Some("relay") => Some("relay"),
            Some(_) => Some("direct"),
            None => None,
        },
        rtt_ms: rtt_ms as f32,
        jitter_ms: last.jitter_ms as f32,
        loss_pct: (last.fraction_lost * 100.0) as f32,
        bitrate_kbps: ((last.video_bytes - first.video_bytes) * 8.0 / 1000.0 / seconds).max(0.0)
            as f32,
    })
}

/// Resolves after `d` (a browser timer).
#[cfg(feature = "hydrate")]
async fn browser_sleep(d: std::time::Duration) {
    let (tx, rx) = futures::channel::oneshot::channel::<()>();
    set_timeout(
        move || {
            let _ = tx.send(());
        },
        d,
    );
    let _ = rx.await;
}
