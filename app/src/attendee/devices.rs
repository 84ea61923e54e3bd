//! Camera and microphone pickers shared by the go-on-screen preview and the
//! pre-event check: they open the chosen devices (the browser's defaults
//! first) as the page's local stream, show it in the page's `<video>`, and
//! list the devices once the browser has allowed them (labels are empty
//! before).

use leptos::prelude::*;

/// The camera and microphone pickers over `video`. `opened` is bumped each
/// time a stream opens (a meter listens again); `problem` says why none did.
#[component]
pub fn DevicePickers(
    video: NodeRef<leptos::html::Video>,
    opened: RwSignal<u32>,
    problem: RwSignal<Option<String>>,
) -> impl IntoView {
    let cameras = RwSignal::new(Vec::<(String, String)>::new());
    let microphones = RwSignal::new(Vec::<(String, String)>::new());
    let camera = RwSignal::new(String::new());
    let microphone = RwSignal::new(String::new());
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        let (cam, mic) = (camera.get(), microphone.get());
        let Some(el) = video.get() else { return };
        leptos::task::spawn_local(async move {
            match super::call::open_devices(cam, mic).await {
                Ok(stream) => {
                    problem.set(None);
                    el.set_src_object(Some(&stream));
                    opened.update(|n| *n += 1);
                    let devices = super::call::devices().await;
                    let of = |kind: &str| {
                        devices
                            .iter()
                            .filter(|d| d.kind == kind)
                            .enumerate()
                            .map(|(i, d)| {
                                let label = if d.label.is_empty() {
                                    format!("Device {}", i + 1)
                                } else {
                                    d.label.clone()
                                };
                                (d.id.clone(), label)
                            })
                            .collect::<Vec<_>>()
                    };
                    cameras.set(of("videoinput"));
                    microphones.set(of("audioinput"));
                }
                Err(e) => problem.set(Some(format!(
                    "Your camera or microphone could not be opened ({e}). Allow them in the browser, or pick another device."
                ))),
            }
        });
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = (video, opened, problem);
    view! {
        <label class="block">"Camera"
            <select class="input" data-testid="camera-picker" on:change=move |ev| camera.set(event_target_value(&ev))>
                <For each=move || cameras.get() key=|(id, _)| id.clone() let:c>
                    <option value=c.0.clone() selected=move || camera.get() == c.0>{c.1.clone()}</option>
                </For>
            </select>
        </label>
        <label class="block">"Microphone"
            <select class="input" data-testid="microphone-picker" on:change=move |ev| microphone.set(event_target_value(&ev))>
                <For each=move || microphones.get() key=|(id, _)| id.clone() let:m>
                    <option value=m.0.clone() selected=move || microphone.get() == m.0>{m.1.clone()}</option>
                </For>
            </select>
        </label>
    }
}
