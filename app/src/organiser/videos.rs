//! Videos of an event (organiser side): upload pre-recorded videos, watch
//! them being processed, remove them. The list is a server function; the
//! upload runs in the browser against the resumable upload of
//! `/dashboard/events/{slug}/assets` (`server/src/http/assets.rs`): chunks of
//! [`CHUNK_BYTES`] with a progress bar, and after a failed chunk it asks the
//! server where to go on from and resumes there.

use leptos::prelude::*;
use leptos_meta::Title;
use serde::{Deserialize, Serialize};

use protocol::states::ReplayAudience;

use crate::error::AppError;
use crate::forms::{error_list, error_of, rows, successes, FormError};
use crate::look::clock;

/// Bytes per upload request (the server takes up to 8 MB).
pub const CHUNK_BYTES: f64 = 4.0 * 1024.0 * 1024.0;

/// A video as the dashboard lists it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct VideoRow {
    /// The asset's id.
    pub id: String,
    /// Its title.
    pub title: String,
    /// The uploaded file's name.
    pub filename: String,
    /// `uploading`, `processing`, `ready` or `failed`.
    pub status: String,
    /// Its size in bytes.
    pub size_bytes: i64,
    /// Bytes received (an interrupted upload).
    pub received_bytes: i64,
    /// How long it plays, in milliseconds.
    pub duration_ms: Option<i64>,
    /// Width × height, once probed.
    pub resolution: Option<String>,
    /// HLS renditions made.
    pub renditions: Vec<String>,
    /// How far processing got, in percent.
    pub progress: u8,
    /// Why it failed.
    pub error: Option<String>,
    /// WebVTT captions are attached.
    pub captions: bool,
    /// Who may watch it in Replay.
    pub replay: ReplayAudience,
    /// A recording (not an upload): "broadcast" of a stage, or "session".
    pub recording: Option<String>,
    /// Every camera, screen and microphone of a recording on its own.
    pub tracks: Vec<TrackRow>,
}

/// One track of a recording, to download for editing or transcription.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TrackRow {
    /// Whose and what: "Ada Lovelace · camera".
    pub label: String,
    /// `audio` or `video`.
    pub kind: String,
    /// Where it starts in the recording and how long it plays ("0:12, 4:05").
    pub span: String,
    /// Its size, as people read it.
    pub size: String,
    /// A signed path to download it (expires with media tokens).
    pub url: String,
}

/// The event's videos, newest first; organisers of the event only.
#[server(prefix = "/fn", endpoint = "event_videos")]
pub async fn event_videos(slug: String) -> Result<Vec<VideoRow>, AppError> {
    let platform = crate::context::platform()?;
    let me = super::current_organiser().await?;
    let all = services::assets::list(&platform.pool, &me, &slug).await?;
    let mut tracks: Vec<(String, TrackRow)> = Vec::new();
    if let Some(event) = all.first().map(|a| a.event_id) {
        let mut paths: std::collections::HashMap<protocol::ids::AssetId, String> =
            std::collections::HashMap::new();
        for t in services::assets::tracks(&platform.pool, event).await? {
            let path = match paths.get(&t.asset_id) {
                Some(p) => p.clone(),
                None => {
                    let p = services::assets::tracks_path(&platform.pool, t.asset_id).await?;
                    paths.insert(t.asset_id, p.clone());
                    p
                }
            };
            let what = match (t.kind.as_str(), t.screen) {
                ("audio", _) => "microphone",
                (_, true) => "screen",
                _ => "camera",
            };
            tracks.push((
                t.asset_id.to_string(),
                TrackRow {
                    label: format!("{} · {what}", t.who.as_deref().unwrap_or("Someone")),
                    span: format!("from {}, {} long", clock(t.start_ms), clock(t.length_ms)),
                    size: size(t.size_bytes),
                    url: format!("{path}{}", t.file),
                    kind: t.kind,
                },
            ));
        }
    }
    Ok(all
        .into_iter()
        .map(|a| VideoRow {
            id: a.id.to_string(),
            title: a.title,
            filename: a.filename,
            status: a.status.to_string(),
            size_bytes: a.size_bytes,
            received_bytes: a.received_bytes,
            duration_ms: a.duration_ms,
            resolution: a.width.zip(a.height).map(|(w, h)| format!("{w}×{h}")),
            renditions: a.renditions,
            progress: (a.progress.clamp(0.0, 1.0) * 100.0).floor() as u8,
            error: a.error,
            captions: a.captions,
            replay: a.replay,
            recording: a.recording.then(|| {
                if a.session_id.is_some() {
                    "session"
                } else {
                    "broadcast"
                }
                .to_owned()
            }),
            tracks: tracks
                .iter()
                .filter(|(of, _)| *of == a.id.to_string())
                .map(|(_, t)| t.clone())
                .collect(),
        })
        .collect())
}

/// Publishes video `id` to Replay for `replay` (`unpublished`, `attendees`
/// or `public`).
#[server(prefix = "/fn", endpoint = "publish_video")]
pub async fn publish_video(slug: String, id: String, replay: String) -> Result<(), AppError> {
    let platform = crate::context::platform()?;
    let me = super::current_organiser().await?;
    let id = crate::error::parse_id("id", &id)?;
    services::assets::set_replay(&platform.pool, &me, &slug, id, &replay).await?;
    Ok(())
}

/// Removes video `id` and its files.
#[server(prefix = "/fn", endpoint = "remove_video")]
pub async fn remove_video(slug: String, id: String) -> Result<(), AppError> {
    let platform = crate::context::platform()?;
    let me = super::current_organiser().await?;
    let id = crate::error::parse_id("id", &id)?;
    services::assets::remove(&platform.pool, &platform.media_store, &me, &slug, id).await?;
    Ok(())
}

/// Video `id` to watch in the dashboard (a signed media path, for the
/// organiser to check it before it goes on a stage or into Replay).
#[server(prefix = "/fn", endpoint = "preview_video")]
pub async fn preview_video(
    slug: String,
    id: String,
) -> Result<crate::attendee::player::MediaView, AppError> {
    let platform = crate::context::platform()?;
    let me = super::current_organiser().await?;
    let id = crate::error::parse_id("id", &id)?;
    let asset = services::assets::get(&platform.pool, &me, &slug, id).await?;
    if !asset.playable() {
        return Err(AppError::new(
            crate::error::ErrorKind::Invalid,
            "this video is not ready to play yet",
        ));
    }
    Ok(crate::attendee::player::MediaView {
        media: services::assets::preview_path(&platform.pool, &me, &slug, id).await?,
        title: asset.title,
        thumbnail: asset.thumbnail,
        captions: asset.captions,
        duration_ms: asset.duration_ms.unwrap_or(0),
    })
}

/// A size in bytes as people read it.
pub fn size(bytes: i64) -> String {
    let b = bytes.max(0) as f64;
    if b >= 1024.0 * 1024.0 * 1024.0 {
        format!("{:.1} GB", b / (1024.0 * 1024.0 * 1024.0))
    } else if b >= 1024.0 * 1024.0 {
        format!("{:.1} MB", b / (1024.0 * 1024.0))
    } else {
        format!("{} KB", (b / 1024.0).ceil() as i64)
    }
}

/// Where a running upload stands: bytes sent of the whole.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Sending {
    sent: f64,
    total: f64,
}

/// Videos: the list, and the uploader.
#[component]
pub fn VideosSection() -> impl IntoView {
    let params = leptos_router::hooks::use_params_map();
    let slug = Signal::derive(move || params.read().get("slug").unwrap_or_default());
    let remove = ServerAction::<RemoveVideo>::new();
    let removed = successes(remove.value());
    let publish = ServerAction::<PublishVideo>::new();
    let published = successes(publish.value());
    // Bumped when an upload ends and while anything is processing.
    let again = RwSignal::new(0u32);
    let data = Resource::new(
        move || (slug.get(), removed.get(), published.get(), again.get()),
        |(slug, ..)| event_videos(slug),
    );
    // Where a running upload stands (shown once the server said where it
    // starts: 0, or where an interrupted one stopped), and whether one runs.
    let sending = RwSignal::new(None::<Sending>);
    let busy = RwSignal::new(false);
    let failed = RwSignal::new(None::<String>);
    let file = NodeRef::<leptos::html::Input>::new();
    let title = NodeRef::<leptos::html::Input>::new();
    #[cfg(feature = "hydrate")]
    {
        // While a video is processing, look again every two seconds.
        let handle = set_interval_with_handle(
            move || {
                let busy = matches!(
                    data.get_untracked(),
                    Some(Ok(ref list)) if list.iter().any(|v| v.status == "processing")
                );
                if busy {
                    again.update(|n| *n += 1);
                }
            },
            std::time::Duration::from_secs(2),
        );
        on_cleanup(move || {
            if let Ok(h) = handle {
                h.clear();
            }
        });
    }
    let start = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        #[cfg(feature = "hydrate")]
        {
            let Some(input) = file.get_untracked() else {
                return;
            };
            let Some(chosen) = input.files().and_then(|f| f.get(0)) else {
                failed.set(Some("choose a video file first".into()));
                return;
            };
            let name = title.get_untracked().map(|t| t.value()).unwrap_or_default();
            failed.set(None);
            busy.set(true);
            let slug = slug.get_untracked();
            leptos::task::spawn_local(async move {
                let result = upload::run(&slug, &chosen, &name, move |sent, total| {
                    sending.set(Some(Sending { sent, total }))
                })
                .await;
                sending.set(None);
                busy.set(false);
                if let Err(e) = result {
                    failed.set(Some(e));
                } else {
                    input.set_value("");
                    if let Some(t) = title.get_untracked() {
                        t.set_value("");
                    }
                }
                again.update(|n| *n += 1);
            });
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (file, title, &failed, &sending, &busy);
    };
    view! {
        <Title text="Videos · Dashboard"/>
        <h2 class="text-xl font-semibold">"Videos"</h2>
        <p class="text-slate-600">"Pre-recorded videos for your stages, and the recordings of their broadcasts. Each is checked when it arrives, then made ready to stream at 360p and 720p."</p>
        <form class="card my-3 grid max-w-xl gap-3" on:submit=start data-testid="upload-video">
            <label class="block">"Video file"
                <input class="input" type="file" accept="video/*" node_ref=file required data-testid="video-file"/>
            </label>
            <label class="block">"Title (optional)"
                <input class="input" name="title" maxlength="200" node_ref=title/>
            </label>
            {move || sending.get().map(|s| {
                let pct = if s.total > 0.0 { (100.0 * s.sent / s.total).floor() } else { 0.0 };
                view! {
                    <div role="status" data-testid="upload-progress">
                        <progress class="w-full" max="100" value=pct aria-label="Upload progress"></progress>
                        <span class="text-sm">{format!("Uploading… {pct:.0} %")}</span>
                    </div>
                }
            })}
            {move || failed.get().map(|m| view! {
                <p class="rounded border border-red-300 bg-red-50 p-2 text-red-800" role="alert" data-testid="upload-error">{m}</p>
            })}
            <button class="btn" type="submit" disabled=move || busy.get()>"Upload"</button>
        </form>
        <FormError error=error_of(remove.value())/>
        <FormError error=error_of(publish.value())/>
        <Transition fallback=|| view! { <crate::look::Loading/> }>
            <ErrorBoundary fallback=error_list>
                {move || Suspend::new(async move {
                    data.await.map(|list| view! {
                        {list.is_empty().then(|| view! {
                            <p class="empty my-2" data-testid="no-videos">"No videos yet."</p>
                        })}
                        <ul class="my-2 space-y-2" data-testid="videos">
                            {rows(list, move |v| video_row(slug.get_untracked(), v, remove, publish, again))}
                        </ul>
                    })
                })}
            </ErrorBoundary>
        </Transition>
    }
}

fn video_row(
    slug: String,
    v: VideoRow,
    remove: ServerAction<RemoveVideo>,
    publish: ServerAction<PublishVideo>,
    again: RwSignal<u32>,
) -> impl IntoView {
    let status = match v.status.as_str() {
        "uploading" => format!(
            "Upload interrupted at {} of {}: choose the same file to resume",
            size(v.received_bytes),
            size(v.size_bytes)
        ),
        "processing" => format!("Processing… {} %", v.progress),
        "ready" => format!("Ready · {}", v.renditions.join(", ")),
        _ => "Failed".to_owned(),
    };
    let details = [
        v.duration_ms.map(clock),
        v.resolution.clone(),
        Some(size(v.size_bytes)),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(" · ");
    let processing = v.status == "processing";
    view! {
        <li class="card flex flex-wrap items-center justify-between gap-2" data-testid="video">
            <div>
                <p class="font-medium" data-testid="video-title">{v.title.clone()}</p>
                {v.recording.clone().map(|of| view! { <p class="text-sm text-slate-600" data-testid="video-recording" data-of=of.clone()>{if of == "session" { "Recording of a session" } else { "Recording of a broadcast" }}</p> })}
                {(!v.tracks.is_empty()).then(|| view! {
                    <details class="text-sm" data-testid="video-tracks">
                        <summary class="cursor-pointer">{format!("{} tracks on their own, for editing or transcription", v.tracks.len())}</summary>
                        <ul class="ml-4 list-disc">
                            {v.tracks.iter().map(|t| view! {
                                <li data-testid="video-track" data-kind=t.kind.clone()>
                                    <a class="underline" href=t.url.clone() download>{t.label.clone()}</a>
                                    " · " {t.span.clone()} " · " {t.size.clone()}
                                </li>
                            }).collect_view()}
                        </ul>
                    </details>
                })}
                <p class="text-sm text-slate-600">{details}</p>
                <p class="text-sm" data-testid="video-status" data-status=v.status.clone()>{status}</p>
                {processing.then(|| view! {
                    <progress class="w-48" max="100" value=v.progress aria-label="Processing progress"></progress>
                })}
                {v.error.clone().map(|e| view! { <p class="text-sm text-red-700">{e}</p> })}
                {(v.status == "ready").then(|| captions_form(slug.clone(), v.id.clone(), v.captions, again))}
                {(v.status == "ready").then(|| replay_form(slug.clone(), v.id.clone(), v.replay, publish))}
                {(v.status == "ready").then(|| preview(slug.clone(), v.id.clone()))}
            </div>
            <ActionForm action=remove>
                <input type="hidden" name="slug" value=slug/>
                <input type="hidden" name="id" value=v.id.clone()/>
                <button class="text-sm underline text-red-700" type="submit" aria-label=format!("Remove {}", v.title)>"Remove"</button>
            </ActionForm>
        </li>
    }
}

/// Who may watch a ready video in Replay.
fn replay_form(
    slug: String,
    id: String,
    now: ReplayAudience,
    publish: ServerAction<PublishVideo>,
) -> impl IntoView {
    let label = |a: ReplayAudience| match a {
        ReplayAudience::Unpublished => "Not in Replay",
        ReplayAudience::Attendees => "Attendees of the event",
        ReplayAudience::Public => "Anyone with the link",
    };
    let slug_shown = slug.clone();
    view! {
        <ActionForm action=publish attr:class="mt-2 flex flex-wrap items-end gap-2 text-sm" attr:data-testid="replay-form">
            <input type="hidden" name="slug" value=slug/>
            <input type="hidden" name="id" value=id/>
            <label>"Replay"
                <select class="input" name="replay" data-testid="replay-audience">
                    {ReplayAudience::ALL.iter().map(|a| view! {
                        <option value=a.as_str() selected=*a == now>{label(*a)}</option>
                    }).collect::<Vec<_>>()}
                </select>
            </label>
            <button class="btn" type="submit">"Save"</button>
            <span class="text-slate-600" data-testid="replay-now" data-replay=now.as_str()>{match now {
                ReplayAudience::Unpublished => "Not published".to_owned(),
                ReplayAudience::Attendees => format!("In Replay for attendees: /e/{slug_shown}/replay"),
                ReplayAudience::Public => format!("In Replay for anyone: /e/{slug_shown}/replay"),
            }}</span>
        </ActionForm>
    }
}

/// "Preview": the ready video in a player, on request.
fn preview(slug: String, id: String) -> impl IntoView {
    let shown = RwSignal::new(None::<Result<crate::attendee::player::MediaView, AppError>>);
    let node = NodeRef::<leptos::html::Video>::new();
    let open = move |_| {
        let (slug, id) = (slug.clone(), id.clone());
        leptos::task::spawn_local(async move {
            shown.set(Some(preview_video(slug, id).await));
        });
    };
    view! {
        <div class="mt-2" data-testid="preview">
            {move || match shown.get() {
                None => view! { <button class="btn" type="button" on:click=open.clone()>"Preview"</button> }.into_any(),
                Some(Ok(v)) => view! { <div class="max-w-md">{crate::attendee::player::media_video(&v, node, false)}</div> }.into_any(),
                Some(Err(e)) => view! { <p class="text-red-700" role="alert">{e.message}</p> }.into_any(),
            }}
        </div>
    }
}

/// Attaching WebVTT captions to a ready video (or replacing them).
fn captions_form(slug: String, id: String, attached: bool, again: RwSignal<u32>) -> impl IntoView {
    let file = NodeRef::<leptos::html::Input>::new();
    let failed = RwSignal::new(None::<String>);
    let attach = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        #[cfg(feature = "hydrate")]
        {
            let Some(chosen) = file
                .get_untracked()
                .and_then(|i| i.files())
                .and_then(|f| f.get(0))
            else {
                failed.set(Some("choose a WebVTT file first".into()));
                return;
            };
            let url = format!("/dashboard/events/{slug}/assets/{id}/captions");
            leptos::task::spawn_local(async move {
                match upload::put(&url, &chosen).await {
                    Ok(()) => {
                        failed.set(None);
                        again.update(|n| *n += 1);
                    }
                    Err(e) => failed.set(Some(e)),
                }
            });
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (&slug, &id, file, again);
    };
    view! {
        <form class="mt-2 flex flex-wrap items-end gap-2 text-sm" on:submit=attach data-testid="captions">
            {attached.then(|| view! { <span data-testid="has-captions">"Captions attached."</span> })}
            <label>{if attached { "Replace captions (.vtt)" } else { "Captions (.vtt)" }}
                <input class="input" type="file" accept=".vtt,text/vtt" node_ref=file required/>
            </label>
            <button class="btn" type="submit">"Attach"</button>
            {move || failed.get().map(|m| view! { <p class="text-red-700" role="alert" data-testid="captions-error">{m}</p> })}
        </form>
    }
}

/// The browser's side of an upload.
#[cfg(feature = "hydrate")]
mod upload {
    use js_sys::{Promise, JSON};
    use wasm_bindgen::{JsCast, JsValue};
    use wasm_bindgen_futures::JsFuture;
    use web_sys::{File, Headers, RequestInit, Response};

    /// What a request came to.
    enum Answer {
        /// 2xx, with its JSON.
        Ok(serde_json::Value),
        /// The server refused (4xx other than 409): its message, for good.
        Refused(String),
        /// Worth asking where to resume (a 409, a 5xx, the network).
        Retry,
    }

    async fn request(
        method: &str,
        url: &str,
        body: Option<&JsValue>,
        headers: &[(&str, String)],
    ) -> Answer {
        let init = RequestInit::new();
        init.set_method(method);
        let h = Headers::new().expect("headers");
        for (k, v) in headers {
            let _ = h.set(k, v);
        }
        init.set_headers(&h);
        if let Some(b) = body {
            init.set_body(b);
        }
        let Some(window) = web_sys::window() else {
            return Answer::Retry;
        };
        let Ok(res) = JsFuture::from(window.fetch_with_str_and_init(url, &init)).await else {
            return Answer::Retry;
        };
        let res: Response = res.unchecked_into();
        let status = res.status();
        let json = match res.json() {
            Ok(p) => JsFuture::from(p).await.ok(),
            Err(_) => None,
        };
        let json: serde_json::Value = json
            .and_then(|j| JSON::stringify(&j).ok())
            .and_then(|s| s.as_string())
            .and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or_default();
        match status {
            200..=299 => Answer::Ok(json),
            409 | 500.. => Answer::Retry,
            _ => Answer::Refused(
                json["message"]
                    .as_str()
                    .unwrap_or("the upload was refused")
                    .to_owned(),
            ),
        }
    }

    async fn sleep(ms: i32) {
        let wait = Promise::new(&mut |resolve, _| {
            if let Some(w) = web_sys::window() {
                let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
            }
        });
        let _ = JsFuture::from(wait).await;
    }

    /// Sends `file` as the body of a `PUT` to `url`.
    pub async fn put(url: &str, file: &File) -> Result<(), String> {
        match request("PUT", url, Some(file.as_ref()), &[]).await {
            Answer::Ok(_) => Ok(()),
            Answer::Refused(m) => Err(m),
            Answer::Retry => Err("the server could not be reached; try again".into()),
        }
    }

    /// Uploads `file` as a video of event `slug` titled `title`, calling
    /// `progress(sent, total)` after each chunk.
    pub async fn run(
        slug: &str,
        file: &File,
        title: &str,
        progress: impl Fn(f64, f64),
    ) -> Result<(), String> {
        let total = file.size();
        let base = format!("/dashboard/events/{slug}/assets");
        let form =
            serde_json::json!({ "filename": file.name(), "size": total as i64, "title": title });
        let json = [("content-type", "application/json".to_owned())];
        // The same file, interrupted earlier: go on where it stopped.
        let earlier = match request("GET", &base, None, &[]).await {
            Answer::Ok(list) => list.as_array().and_then(|l| {
                l.iter()
                    .find(|a| {
                        a["status"] == "uploading"
                            && a["filename"].as_str() == Some(file.name().as_str())
                            && a["size_bytes"].as_f64() == Some(total)
                    })
                    .cloned()
            }),
            _ => None,
        };
        let asset = match earlier {
            Some(a) => a,
            None => match request(
                "POST",
                &base,
                Some(&JsValue::from_str(&form.to_string())),
                &json,
            )
            .await
            {
                Answer::Ok(a) => a,
                Answer::Refused(m) => return Err(m),
                Answer::Retry => return Err("the server could not be reached; try again".into()),
            },
        };
        let url = format!("{base}/{}", asset["id"].as_str().unwrap_or_default());
        let mut sent = asset["received_bytes"].as_f64().unwrap_or(0.0);
        progress(sent, total);
        let mut failures = 0;
        while sent < total {
            let end = (sent + super::CHUNK_BYTES).min(total);
            let chunk = file
                .slice_with_f64_and_f64(sent, end)
                .map_err(|_| "the file could not be read".to_owned())?;
            let offset = [("upload-offset", format!("{sent}"))];
            match request("PATCH", &url, Some(&chunk.into()), &offset).await {
                Answer::Ok(a) => {
                    failures = 0;
                    sent = a["received_bytes"].as_f64().unwrap_or(end);
                    progress(sent, total);
                    if a["status"] != "uploading" {
                        break;
                    }
                }
                Answer::Refused(m) => return Err(m),
                Answer::Retry => {
                    failures += 1;
                    if failures > 5 {
                        return Err(
                            "the connection keeps failing; choose the same file again to resume"
                                .into(),
                        );
                    }
                    sleep(1000 * failures).await;
                    // Where the server has it up to.
                    if let Answer::Ok(a) = request("GET", &url, None, &[]).await {
                        sent = a["received_bytes"].as_f64().unwrap_or(sent);
                        progress(sent, total);
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn durations_and_sizes_read_as_people_say_them() {
        assert_eq!(super::clock(65_400), "1:05");
        assert_eq!(super::clock(3_725_000), "1:02:05");
        assert_eq!(super::size(1536), "2 KB");
        assert_eq!(super::size(5 * 1024 * 1024 + 1), "5.0 MB");
        assert_eq!(super::size(3 * 1024 * 1024 * 1024), "3.0 GB");
    }
}
