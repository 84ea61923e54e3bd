//! Analytics' data points from the browser (hydrate only): what this page
//! saw of its area, sent as `ClientMsg::Seen` (on the live socket, or as a
//! beacon while the socket is down: `socket::report`) every
//! [`REPORT_EVERY`], when the tab's visibility changes, when the page closes
//! and before the socket is closed for another page (a report is held back
//! until [`REPORT_GAP_MS`] after the previous one: the socket refuses
//! closer ones).
//!
//! A tick every second looks at the page's `<video>` elements, except those
//! showing this device's own camera (a preview is not watching): time counts
//! as watched when one of them advanced since the previous tick (playing,
//! not stalled or paused) and the tab was visible; as hidden when the tab was
//! hidden at the previous tick (a background tab's timers are slowed, so the
//! interval is charged to the state it began in). A change of the playing
//! picture's height is a change of quality.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use leptos::prelude::*;
use send_wrapper::SendWrapper;
use wasm_bindgen::{closure::Closure, JsCast, JsValue};
use web_sys::HtmlVideoElement;

use protocol::live::ClientMsg;
use protocol::Area;

/// How often the page reports.
const REPORT_EVERY: f64 = 30_000.0;

/// The least time between two reports (the socket's one second, and some).
const REPORT_GAP_MS: f64 = 1_500.0;

/// What the page saw since its last report.
struct Meter {
    area: Area,
    /// Sends on the page's live socket.
    send: fn(&ClientMsg),
    /// When the previous tick ran, and the previous report went out (ms).
    last_tick: f64,
    last_report: f64,
    /// Whether the tab was hidden at the previous tick.
    was_hidden: bool,
    watched_ms: f64,
    hidden_ms: f64,
    /// Each video's position at the previous tick.
    positions: Vec<(HtmlVideoElement, f64)>,
    /// The playing picture's height, and its changes since the report.
    height: u16,
    heights: Vec<u16>,
}

impl Meter {
    fn tick(&mut self) {
        let now = js_sys::Date::now();
        let dt = (now - self.last_tick).max(0.0);
        self.last_tick = now;
        let videos = page_videos();
        let mut advancing = false;
        let mut height = 0u16;
        for v in &videos {
            let at = v.current_time();
            let before = self
                .positions
                .iter()
                .find(|(seen, _)| seen == v)
                .map(|(_, t)| *t);
            if !v.paused() && before.is_some_and(|t| at > t) {
                advancing = true;
                height = height.max(v.video_height().min(u32::from(u16::MAX)) as u16);
            }
        }
        self.positions = videos
            .into_iter()
            .map(|v| {
                let at = v.current_time();
                (v, at)
            })
            .collect();
        if self.was_hidden {
            self.hidden_ms += dt;
        } else if advancing {
            self.watched_ms += dt;
        }
        self.was_hidden = document().hidden();
        if height > 0 && height != self.height {
            if self.height > 0 && self.heights.len() < protocol::events::DataPoints::MAX_HEIGHTS {
                self.heights.push(height);
            }
            self.height = height;
        }
        if now - self.last_report >= REPORT_EVERY {
            self.report();
        }
    }

    /// Sends what was seen since the last report (nothing when nothing was,
    /// or when the last report was too recent: it waits for the next).
    fn report(&mut self) {
        let now = js_sys::Date::now();
        if now - self.last_report < REPORT_GAP_MS {
            return;
        }
        self.last_report = now;
        let (watched, hidden) = (self.watched_ms as u32, self.hidden_ms as u32);
        if watched == 0 && hidden == 0 && self.heights.is_empty() {
            return;
        }
        (self.send)(&ClientMsg::Seen {
            area: self.area,
            watched_ms: watched,
            hidden_ms: hidden,
            heights: std::mem::take(&mut self.heights),
        });
        self.watched_ms = 0.0;
        self.hidden_ms = 0.0;
    }
}

/// Whether `v` shows a track of this device (a camera preview): local
/// tracks have a device id in their settings, received ones do not.
fn is_local(v: &HtmlVideoElement) -> bool {
    let get =
        |o: &JsValue, k: &str| js_sys::Reflect::get(o, &k.into()).unwrap_or(JsValue::UNDEFINED);
    let call = |o: &JsValue, k: &str| {
        get(o, k)
            .dyn_into::<js_sys::Function>()
            .ok()
            .and_then(|f| f.call0(o).ok())
            .unwrap_or(JsValue::UNDEFINED)
    };
    let stream = get(v.as_ref(), "srcObject");
    if stream.is_null() || stream.is_undefined() {
        return false;
    }
    let Ok(tracks) = call(&stream, "getVideoTracks").dyn_into::<js_sys::Array>() else {
        return false;
    };
    tracks.iter().any(|t| {
        get(&call(&t, "getSettings"), "deviceId")
            .as_string()
            .is_some_and(|d| !d.is_empty())
    })
}

/// The page's `<video>` elements, but for camera previews.
fn page_videos() -> Vec<HtmlVideoElement> {
    let doc: JsValue = document().into();
    let Ok(list) = js_sys::Reflect::get(&doc, &"querySelectorAll".into())
        .and_then(|f| f.dyn_into::<js_sys::Function>())
        .and_then(|f| f.call1(&doc, &"video".into()))
    else {
        return Vec::new();
    };
    let len = js_sys::Reflect::get(&list, &"length".into())
        .ok()
        .and_then(|l| l.as_f64())
        .unwrap_or(0.0) as u32;
    (0..len)
        .filter_map(|i| js_sys::Reflect::get_u32(&list, i).ok())
        .filter_map(|v| v.dyn_into::<HtmlVideoElement>().ok())
        .filter(|v| !is_local(v))
        .collect()
}

/// Starts measuring `area` for as long as the calling owner lives, reporting
/// with `send`; returns the flush to run before the socket closes.
pub fn start(area: Area, send: fn(&ClientMsg)) -> impl Fn() + Send + Sync + 'static {
    let now = js_sys::Date::now();
    let meter = Rc::new(RefCell::new(Meter {
        area,
        send,
        last_tick: now,
        last_report: now,
        was_hidden: document().hidden(),
        watched_ms: 0.0,
        hidden_ms: 0.0,
        positions: Vec::new(),
        height: 0,
        heights: Vec::new(),
    }));
    let ticking = SendWrapper::new(meter.clone());
    let handle =
        set_interval_with_handle(move || ticking.borrow_mut().tick(), Duration::from_secs(1));
    // Hidden or closing: what was seen goes out now (the socket is still
    // open), counted up to this moment.
    let m = meter.clone();
    let flush_now = Closure::<dyn FnMut()>::new(move || {
        let mut m = m.borrow_mut();
        m.tick();
        m.report();
    });
    let on = |name: &str| {
        let _ = window().add_event_listener_with_callback(name, flush_now.as_ref().unchecked_ref());
    };
    on("pagehide");
    let _ = document()
        .add_event_listener_with_callback("visibilitychange", flush_now.as_ref().unchecked_ref());
    let listener = SendWrapper::new(flush_now);
    on_cleanup(move || {
        if let Ok(h) = handle {
            h.clear();
        }
        let f = listener.take();
        let _ =
            window().remove_event_listener_with_callback("pagehide", f.as_ref().unchecked_ref());
        let _ = document()
            .remove_event_listener_with_callback("visibilitychange", f.as_ref().unchecked_ref());
    });
    let meter = SendWrapper::new(meter);
    move || {
        let mut m = meter.borrow_mut();
        m.tick();
        m.report();
    }
}
