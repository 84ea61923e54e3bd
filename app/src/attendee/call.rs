//! The browser's side of a video session (hydrate only): an
//! `RTCPeerConnection` to the session's media node for what this page
//! receives, and on screen a second for what it sends ([`Leg`]), signalled
//! over the live socket. The node always offers; this side answers. The
//! sending connection is negotiated once: its three transceivers are this
//! side's microphone, camera and screen, all answered as sending (the screen
//! without a track until shared, so sharing needs no new negotiation).
//! Signalling is handled strictly in order (one task reads a queue), since
//! `addIceCandidate` must not race `setRemoteDescription`.
//!
//! Who is on screen is read from the connection itself: each remote stream's
//! id is its publisher's attendee id, and after every offer the streams whose
//! transceivers still receive are the tiles.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use futures::channel::mpsc;
use futures::StreamExt;
use js_sys::{Array, Reflect};
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::{closure::Closure, JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    MediaStream, MediaStreamConstraints, MediaStreamTrack, RtcConfiguration, RtcIceCandidateInit,
    RtcPeerConnection, RtcPeerConnectionIceEvent, RtcRtpTransceiver, RtcRtpTransceiverDirection,
    RtcSdpType, RtcSessionDescriptionInit, RtcTrackEvent,
};

use protocol::live::{ClientMsg, ServerMsg};
use protocol::media::{IceCandidate, Leg};

use super::call_view::{CallStatus, CallView, JoinGrant};

thread_local! {
    /// The running call's inbox (media messages from the live socket).
    static INBOX: RefCell<Option<mpsc::UnboundedSender<ServerMsg>>> = const { RefCell::new(None) };
    /// Remote streams by publisher (attendee id).
    static STREAMS: RefCell<HashMap<String, MediaStream>> = RefCell::new(HashMap::new());
    /// The camera and microphone, once the attendee allowed them.
    static LOCAL: RefCell<Option<MediaStream>> = const { RefCell::new(None) };
    /// The screen being shared.
    static SCREEN: RefCell<Option<MediaStream>> = const { RefCell::new(None) };
    /// The running call's receiving connection.
    static PC: RefCell<Option<RtcPeerConnection>> = const { RefCell::new(None) };
    /// The running call's sending connection (on screen).
    static SENDING: RefCell<Option<RtcPeerConnection>> = const { RefCell::new(None) };
    /// The running call's room.
    static ROOM: RefCell<String> = const { RefCell::new(String::new()) };
}

/// Hands a media message of the live socket to the running call.
pub fn deliver(msg: ServerMsg) {
    INBOX.with(|i| {
        if let Some(tx) = i.borrow().as_ref() {
            let _ = tx.unbounded_send(msg);
        }
    });
}

/// The remote stream of `attendee`, if they are on screen.
pub fn stream_of(attendee: &str) -> Option<MediaStream> {
    STREAMS.with(|s| s.borrow().get(attendee).cloned())
}

/// The local camera and microphone, if open.
pub fn local_stream() -> Option<MediaStream> {
    LOCAL.with(|l| l.borrow().clone())
}

/// The screen this page shares, if any.
pub fn screen_stream() -> Option<MediaStream> {
    SCREEN.with(|l| l.borrow().clone())
}

/// The sending connection's transceiver at `index` (0 microphone, 1 camera,
/// 2 screen; None: not on screen).
fn transceiver(index: u32) -> Option<RtcRtpTransceiver> {
    let pc = SENDING.with(|p| p.borrow().clone())?;
    pc.get_transceivers().get(index).dyn_into().ok()
}

/// Shares a screen the attendee picks (the browser asks which). `ended`
/// runs when they stop it from the browser's own bar.
pub async fn share_screen(
    send: impl Fn(ClientMsg) + Clone + 'static,
    ended: impl Fn() + 'static,
) -> Result<(), String> {
    let devices = window().navigator().media_devices().map_err(js_err)?;
    let promise = devices.get_display_media().map_err(js_err)?;
    let stream: MediaStream = JsFuture::from(promise)
        .await
        .map_err(js_err)?
        .unchecked_into();
    let Ok(track) = stream
        .get_video_tracks()
        .get(0)
        .dyn_into::<MediaStreamTrack>()
    else {
        return Err("the browser gave no picture of the screen".into());
    };
    {
        let send = send.clone();
        let on_ended = Closure::<dyn FnMut()>::new(move || {
            stop_screen(&send);
            ended();
        });
        track.set_onended(Some(on_ended.as_ref().unchecked_ref()));
        on_ended.forget();
    }
    SCREEN.with(|s| *s.borrow_mut() = Some(stream));
    // The screen's transceiver was answered as sending: the track goes on
    // it, and the node publishes it when it flows. Not negotiated yet: the
    // answer attaches it.
    if let Some(t) = transceiver(2) {
        if t.current_direction() == Some(RtcRtpTransceiverDirection::Sendonly) {
            JsFuture::from(t.sender().replace_track(Some(&track)))
                .await
                .map_err(js_err)?;
        }
    }
    send(ClientMsg::MediaScreen {
        room: ROOM.with(|r| r.borrow().clone()),
        on: true,
    });
    Ok(())
}

/// Tells the node how high `publisher`'s camera shows here (device pixels).
pub fn view(send: &impl Fn(ClientMsg), publisher: protocol::ids::AttendeeId, height: u16) {
    if PC.with(|p| p.borrow().is_none()) {
        return;
    }
    send(ClientMsg::MediaView {
        room: ROOM.with(|r| r.borrow().clone()),
        publisher,
        height,
    });
}

/// Stops every track of `stream` (the camera light goes off, the browser's
/// sharing bar goes away).
fn stop_tracks(stream: &MediaStream) {
    for t in stream.get_tracks().iter() {
        t.unchecked_into::<MediaStreamTrack>().stop();
    }
}

/// Stops sharing the screen.
pub fn stop_screen(send: &impl Fn(ClientMsg)) {
    let Some(stream) = SCREEN.with(|s| s.borrow_mut().take()) else {
        return;
    };
    stop_tracks(&stream);
    if let Some(t) = transceiver(2) {
        drop(JsFuture::from(t.sender().replace_track(None)));
    }
    send(ClientMsg::MediaScreen {
        room: ROOM.with(|r| r.borrow().clone()),
        on: false,
    });
}

fn js_err(e: JsValue) -> String {
    e.as_string()
        .or_else(|| {
            Reflect::get(&e, &"message".into())
                .ok()
                .and_then(|m| m.as_string())
        })
        .unwrap_or_else(|| "the browser refused".into())
}

/// Opens the camera and microphone (`camera`, `microphone`: device ids, or
/// empty for the default) and keeps them as the local stream.
pub async fn open_devices(camera: String, microphone: String) -> Result<MediaStream, String> {
    let devices = window().navigator().media_devices().map_err(js_err)?;
    let pick = |id: &str| -> JsValue {
        if id.is_empty() {
            JsValue::TRUE
        } else {
            let c = js_sys::Object::new();
            let exact = js_sys::Object::new();
            let _ = Reflect::set(&exact, &"exact".into(), &id.into());
            let _ = Reflect::set(&c, &"deviceId".into(), &exact);
            c.into()
        }
    };
    // 720p where the camera has it: the SFU asks for three simulcast
    // layers, and a browser sends as many as the picture is large for (a
    // 480-line camera makes two).
    let video = pick(&camera);
    let video = if video.is_object() {
        video
    } else {
        js_sys::Object::new().into()
    };
    for (side, ideal) in [("width", 1280), ("height", 720)] {
        let c = js_sys::Object::new();
        let _ = Reflect::set(&c, &"ideal".into(), &ideal.into());
        let _ = Reflect::set(&video, &side.into(), &c);
    }
    let constraints = MediaStreamConstraints::new();
    constraints.set_video(&video);
    constraints.set_audio(&pick(&microphone));
    let promise = devices
        .get_user_media_with_constraints(&constraints)
        .map_err(js_err)?;
    let stream: MediaStream = JsFuture::from(promise)
        .await
        .map_err(js_err)?
        .unchecked_into();
    close_devices();
    LOCAL.with(|l| *l.borrow_mut() = Some(stream.clone()));
    Ok(stream)
}

/// Stops the camera and microphone.
pub fn close_devices() {
    if let Some(old) = LOCAL.with(|l| l.borrow_mut().take()) {
        stop_tracks(&old);
    }
}

/// Turns the local microphone on or off.
pub fn set_microphone(on: bool) {
    if let Some(s) = local_stream() {
        for t in s.get_audio_tracks().iter() {
            t.unchecked_into::<MediaStreamTrack>().set_enabled(on);
        }
    }
}

/// A device the browser offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    /// Its id.
    pub id: String,
    /// Its label (empty before permission).
    pub label: String,
    /// `videoinput` or `audioinput`.
    pub kind: String,
}

/// The cameras and microphones.
pub async fn devices() -> Vec<Device> {
    let Ok(md) = window().navigator().media_devices() else {
        return Vec::new();
    };
    let Ok(promise) = md.enumerate_devices() else {
        return Vec::new();
    };
    let Ok(list) = JsFuture::from(promise).await else {
        return Vec::new();
    };
    Array::from(&list)
        .iter()
        .map(|d| {
            let get = |k: &str| {
                Reflect::get(&d, &k.into())
                    .ok()
                    .and_then(|v| v.as_string())
                    .unwrap_or_default()
            };
            Device {
                id: get("deviceId"),
                label: get("label"),
                kind: get("kind"),
            }
        })
        .filter(|d| d.kind == "videoinput" || d.kind == "audioinput")
        .collect()
}

/// Ends the running call, if any.
pub fn stop(send: &impl Fn(ClientMsg)) {
    if let Some(stream) = SCREEN.with(|s| s.borrow_mut().take()) {
        stop_tracks(&stream);
    }
    INBOX.with(|i| i.borrow_mut().take());
    if let Some(pc) = SENDING.with(|p| p.borrow_mut().take()) {
        pc.close();
    }
    if let Some(pc) = PC.with(|p| p.borrow_mut().take()) {
        pc.close();
        send(ClientMsg::MediaLeave {
            room: ROOM.with(|r| r.borrow().clone()),
        });
    }
    STREAMS.with(|s| s.borrow_mut().clear());
}

/// Starts a call with `grant` (publishing the local stream when `publish`;
/// only through its TURN servers when `relay_only`), replacing one that
/// runs. `send` puts a message on the live socket.
pub fn start(
    grant: JoinGrant,
    relay_only: bool,
    publish: bool,
    view: CallView,
    send: impl Fn(ClientMsg) + Clone + 'static,
) -> Result<(), String> {
    if relay_only && grant.ice_servers.is_empty() {
        return Err("no relay (TURN) server is configured".into());
    }
    let JoinGrant {
        room,
        token,
        ice_servers,
    } = grant;
    stop(&send);
    ROOM.with(|r| *r.borrow_mut() = room.clone());
    let config = RtcConfiguration::new();
    let servers = Array::new();
    for s in &ice_servers {
        let server = js_sys::Object::new();
        let urls = Array::new();
        for u in &s.urls {
            urls.push(&u.into());
        }
        let _ = Reflect::set(&server, &"urls".into(), &urls);
        let _ = Reflect::set(&server, &"username".into(), &s.username.as_str().into());
        let _ = Reflect::set(&server, &"credential".into(), &s.credential.as_str().into());
        servers.push(&server);
    }
    config.set_ice_servers(&servers);
    if relay_only {
        config.set_ice_transport_policy(web_sys::RtcIceTransportPolicy::Relay);
    }
    let pc = connection(&config, Leg::Subscribe, &room, view, send.clone())?;
    let sending = match publish {
        true => Some(connection(
            &config,
            Leg::Publish,
            &room,
            view,
            send.clone(),
        )?),
        false => None,
    };
    let (tx, mut rx) = mpsc::unbounded::<ServerMsg>();
    INBOX.with(|i| *i.borrow_mut() = Some(tx));
    PC.with(|p| *p.borrow_mut() = Some(pc.clone()));
    SENDING.with(|p| *p.borrow_mut() = sending.clone());

    // Which stream each remote track belongs to.
    let owners: Rc<RefCell<HashMap<String, String>>> = Rc::default();
    {
        let owners = owners.clone();
        let on_track = Closure::<dyn FnMut(RtcTrackEvent)>::new(move |ev: RtcTrackEvent| {
            let Some(stream) = ev.streams().get(0).dyn_into::<MediaStream>().ok() else {
                return;
            };
            owners.borrow_mut().insert(ev.track().id(), stream.id());
            STREAMS.with(|s| s.borrow_mut().insert(stream.id(), stream));
        });
        pc.set_ontrack(Some(on_track.as_ref().unchecked_ref()));
        on_track.forget();
    }

    send(ClientMsg::MediaJoin {
        room: room.clone(),
        token,
    });
    view.status.set(CallStatus::Connecting);
    let mine = pc.clone();
    spawn_local(async move {
        // Per leg (receiving, sending): whether its first offer was applied,
        // and the candidates that came before it.
        let mut described = [false; 2];
        let mut waiting: [Vec<IceCandidate>; 2] = Default::default();
        let index = |leg: Leg| usize::from(leg == Leg::Publish);
        let on = |leg: Leg| match leg {
            Leg::Subscribe => Some(mine.clone()),
            Leg::Publish => sending.clone(),
        };
        while let Some(msg) = rx.next().await {
            // A newer call replaced this one.
            let current = PC.with(|p| p.borrow().as_ref().is_some_and(|p| p == &mine));
            if !current {
                break;
            }
            match msg {
                ServerMsg::MediaOffer { room: r, leg, sdp } if r == room => {
                    let Some(pc) = on(leg) else { continue };
                    match answer(&pc, &sdp, leg == Leg::Publish).await {
                        Ok(answer) => {
                            described[index(leg)] = true;
                            for c in std::mem::take(&mut waiting[index(leg)]) {
                                add_candidate(&pc, c).await;
                            }
                            send(ClientMsg::MediaAnswer {
                                room: room.clone(),
                                leg,
                                sdp: answer,
                            });
                            if leg == Leg::Subscribe {
                                view.tiles.set(receiving(&mine, &owners.borrow()));
                            }
                        }
                        Err(e) => view.status.set(CallStatus::Lost(e)),
                    }
                }
                ServerMsg::MediaCandidate {
                    room: r,
                    leg,
                    candidate,
                } if r == room => {
                    let Some(pc) = on(leg) else { continue };
                    if described[index(leg)] {
                        add_candidate(&pc, candidate).await;
                    } else {
                        waiting[index(leg)].push(candidate);
                    }
                }
                ServerMsg::MediaSpeaker { room: r, speaker } if r == room => {
                    view.speaker.set(speaker.map(|s| s.to_string()));
                }
                ServerMsg::MediaClosed {
                    room: r,
                    reason,
                    rejoin,
                    full,
                } if r == room => {
                    mine.close();
                    if let Some(pc) = &sending {
                        pc.close();
                    }
                    SENDING.with(|p| {
                        if p.borrow().as_ref() == sending.as_ref() {
                            p.borrow_mut().take();
                        }
                    });
                    PC.with(|p| {
                        if p.borrow().as_ref() == Some(&mine) {
                            p.borrow_mut().take();
                        }
                    });
                    view.tiles.set(Vec::new());
                    view.status.set(if full {
                        CallStatus::Full
                    } else if rejoin {
                        CallStatus::Rejoin(reason)
                    } else {
                        CallStatus::Lost(reason)
                    });
                    break;
                }
                _ => {}
            }
        }
    });
    Ok(())
}

/// A connection of the call on `leg`, trickling its candidates to the node
/// and telling `view` when it is up or failed.
fn connection(
    config: &RtcConfiguration,
    leg: Leg,
    room: &str,
    view: CallView,
    send: impl Fn(ClientMsg) + 'static,
) -> Result<RtcPeerConnection, String> {
    let pc = RtcPeerConnection::new_with_configuration(config).map_err(js_err)?;
    {
        let room = room.to_owned();
        let on_candidate = Closure::<dyn FnMut(RtcPeerConnectionIceEvent)>::new(
            move |ev: RtcPeerConnectionIceEvent| {
                let Some(c) = ev.candidate() else { return };
                let json = js_sys::JSON::stringify(&c.to_json())
                    .ok()
                    .and_then(|s| s.as_string())
                    .unwrap_or_default();
                if let Ok(candidate) = serde_json::from_str::<IceCandidate>(&json) {
                    send(ClientMsg::MediaCandidate {
                        room: room.clone(),
                        leg,
                        candidate,
                    });
                }
            },
        );
        pc.set_onicecandidate(Some(on_candidate.as_ref().unchecked_ref()));
        on_candidate.forget();
    }
    {
        let pc2 = pc.clone();
        let on_state = Closure::<dyn FnMut(JsValue)>::new(move |_: JsValue| {
            let state = Reflect::get(&pc2, &"connectionState".into())
                .ok()
                .and_then(|v| v.as_string())
                .unwrap_or_default();
            match state.as_str() {
                "connected" => view.status.set(CallStatus::Connected),
                "failed" => view.status.set(CallStatus::Lost(
                    "the video connection failed; reload to try again".into(),
                )),
                _ => {}
            }
        });
        pc.set_onconnectionstatechange(Some(on_state.as_ref().unchecked_ref()));
        on_state.forget();
    }
    Ok(pc)
}

/// Applies the node's offer and makes the answer. On the sending leg
/// (`publish`), the node's three transceivers are answered as sending:
/// microphone and camera with their tracks, the screen with its track when
/// shared (else none yet, until [`share_screen`] puts one on).
async fn answer(pc: &RtcPeerConnection, sdp: &str, publish: bool) -> Result<String, String> {
    let offer = RtcSessionDescriptionInit::new(RtcSdpType::Offer);
    offer.set_sdp(sdp);
    JsFuture::from(pc.set_remote_description(&offer))
        .await
        .map_err(js_err)?;
    if publish {
        let local = local_stream();
        let first = |tracks: Option<Array>| {
            tracks.and_then(|t| t.get(0).dyn_into::<MediaStreamTrack>().ok())
        };
        let wanted = [
            ("audio", first(local.as_ref().map(|l| l.get_audio_tracks()))),
            ("video", first(local.as_ref().map(|l| l.get_video_tracks()))),
            (
                "video",
                first(screen_stream().map(|s| s.get_video_tracks())),
            ),
        ];
        let transceivers = pc.get_transceivers();
        for (i, (kind, track)) in wanted.into_iter().enumerate() {
            let Ok(t) = transceivers.get(i as u32).dyn_into::<RtcRtpTransceiver>() else {
                break;
            };
            if t.receiver().track().kind() != kind {
                continue;
            }
            t.set_direction(RtcRtpTransceiverDirection::Sendonly);
            let (Some(track), None) = (track, t.sender().track()) else {
                continue;
            };
            JsFuture::from(t.sender().replace_track(Some(&track)))
                .await
                .map_err(js_err)?;
        }
    }
    let answer = JsFuture::from(pc.create_answer()).await.map_err(js_err)?;
    let sdp = Reflect::get(&answer, &"sdp".into())
        .ok()
        .and_then(|s| s.as_string())
        .unwrap_or_default();
    let local = RtcSessionDescriptionInit::new(RtcSdpType::Answer);
    local.set_sdp(&sdp);
    JsFuture::from(pc.set_local_description(&local))
        .await
        .map_err(js_err)?;
    Ok(sdp)
}

async fn add_candidate(pc: &RtcPeerConnection, c: IceCandidate) {
    let init = RtcIceCandidateInit::new(&c.candidate);
    init.set_sdp_mid(c.sdp_mid.as_deref());
    init.set_sdp_m_line_index(c.sdp_mline_index);
    let _ = JsFuture::from(pc.add_ice_candidate_with_opt_rtc_ice_candidate_init(Some(&init))).await;
}

/// The publishers whose tracks this connection receives now, in a stable order.
fn receiving(pc: &RtcPeerConnection, owners: &HashMap<String, String>) -> Vec<String> {
    let mut ids: Vec<String> = pc
        .get_transceivers()
        .iter()
        .filter_map(|t| {
            let t: RtcRtpTransceiver = t.unchecked_into();
            let live = matches!(
                t.current_direction(),
                Some(RtcRtpTransceiverDirection::Recvonly | RtcRtpTransceiverDirection::Sendrecv)
            );
            live.then(|| owners.get(&t.receiver().track().id()).cloned())
                .flatten()
        })
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

/// What the connection has received so far, from `getStats`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Received {
    /// Audio bytes.
    pub audio_bytes: f64,
    /// Video bytes.
    pub video_bytes: f64,
    /// Video frames decoded.
    pub frames_decoded: f64,
}

/// Sums the inbound RTP statistics of the running call.
pub async fn received() -> Received {
    let mut r = Received::default();
    let Some(pc) = PC.with(|p| p.borrow().clone()) else {
        return r;
    };
    let Ok(report) = JsFuture::from(pc.get_stats()).await else {
        return r;
    };
    let map: &js_sys::Map = report.unchecked_ref();
    map.for_each(&mut |stat, _| {
        let get = |k: &str| Reflect::get(&stat, &k.into()).ok();
        if get("type").and_then(|t| t.as_string()).as_deref() != Some("inbound-rtp") {
            return;
        }
        let bytes = get("bytesReceived").and_then(|b| b.as_f64()).unwrap_or(0.0);
        match get("kind").and_then(|k| k.as_string()).as_deref() {
            Some("audio") => r.audio_bytes += bytes,
            Some("video") => {
                r.video_bytes += bytes;
                r.frames_decoded += get("framesDecoded").and_then(|f| f.as_f64()).unwrap_or(0.0);
            }
            _ => {}
        }
    });
    r
}

/// What the running call sends and how the node receives it, from `getStats`
/// (the node's receiver reports give round trip, jitter and loss).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sent {
    /// When the statistics were taken (ms, the browser's clock).
    pub at_ms: f64,
    /// Video bytes sent.
    pub video_bytes: f64,
    /// Round-trip time, ms (None until measured).
    pub rtt_ms: Option<f64>,
    /// Jitter at the node, ms.
    pub jitter_ms: f64,
    /// Fraction of packets lost on the way, 0..1.
    pub fraction_lost: f64,
    /// How the media goes: `host`, `srflx`, `prflx` or `relay` (this side's
    /// candidate of the pair in use).
    pub path: Option<String>,
}

/// Reads the running call's outgoing statistics (its sending connection's).
pub async fn sent() -> Sent {
    let mut s = Sent {
        at_ms: js_sys::Date::now(),
        ..Default::default()
    };
    let Some(pc) = SENDING.with(|p| p.borrow().clone()) else {
        return s;
    };
    let Ok(report) = JsFuture::from(pc.get_stats()).await else {
        return s;
    };
    let map: &js_sys::Map = report.unchecked_ref();
    let mut pair_rtt = None;
    let mut local_candidate: Option<String> = None;
    let mut candidate_types: HashMap<String, String> = HashMap::new();
    map.for_each(&mut |stat, _| {
        let get = |k: &str| Reflect::get(&stat, &k.into()).ok();
        let num = |k: &str| get(k).and_then(|v| v.as_f64());
        let kind = get("kind").and_then(|k| k.as_string());
        match get("type").and_then(|t| t.as_string()).as_deref() {
            Some("outbound-rtp") if kind.as_deref() == Some("video") => {
                s.video_bytes += num("bytesSent").unwrap_or(0.0);
            }
            Some("remote-inbound-rtp") => {
                if let Some(rtt) = num("roundTripTime") {
                    s.rtt_ms = Some(s.rtt_ms.unwrap_or(0.0).max(rtt * 1000.0));
                }
                s.jitter_ms = s.jitter_ms.max(num("jitter").unwrap_or(0.0) * 1000.0);
                s.fraction_lost = s.fraction_lost.max(num("fractionLost").unwrap_or(0.0));
            }
            Some("candidate-pair") if get("nominated").and_then(|n| n.as_bool()) == Some(true) => {
                if let Some(rtt) = num("currentRoundTripTime") {
                    pair_rtt = Some(rtt * 1000.0);
                }
                local_candidate = get("localCandidateId").and_then(|v| v.as_string());
            }
            Some("local-candidate") => {
                if let (Some(id), Some(kind)) = (
                    get("id").and_then(|v| v.as_string()),
                    get("candidateType").and_then(|v| v.as_string()),
                ) {
                    candidate_types.insert(id, kind);
                }
            }
            _ => {}
        }
    });
    s.rtt_ms = s.rtt_ms.or(pair_rtt);
    s.path = local_candidate.and_then(|id| candidate_types.remove(&id));
    s
}

/// A level meter on the local microphone.
pub struct Meter {
    ctx: web_sys::AudioContext,
    analyser: web_sys::AnalyserNode,
}

impl Meter {
    /// Listens to the local stream's microphone.
    pub fn new() -> Result<Meter, String> {
        let stream = local_stream().ok_or("the microphone is not open")?;
        let ctx = web_sys::AudioContext::new().map_err(js_err)?;
        let analyser = ctx.create_analyser().map_err(js_err)?;
        analyser.set_fft_size(1024);
        let source = ctx.create_media_stream_source(&stream).map_err(js_err)?;
        source.connect_with_audio_node(&analyser).map_err(js_err)?;
        Ok(Meter { ctx, analyser })
    }

    /// The level now: root mean square of the last samples, 0..1.
    pub fn level(&self) -> f32 {
        let mut samples = vec![0f32; 1024];
        self.analyser.get_float_time_domain_data(&mut samples);
        (samples.iter().map(|s| s * s).sum::<f32>() / samples.len() as f32).sqrt()
    }
}

impl Drop for Meter {
    fn drop(&mut self) {
        if let Ok(p) = self.ctx.close() {
            drop(JsFuture::from(p));
        }
    }
}

/// Plays a one-second 440 Hz tone on the speakers.
pub fn play_tone() -> Result<(), String> {
    let ctx = web_sys::AudioContext::new().map_err(js_err)?;
    let osc = ctx.create_oscillator().map_err(js_err)?;
    osc.frequency().set_value(440.0);
    let gain = ctx.create_gain().map_err(js_err)?;
    gain.gain().set_value(0.2);
    osc.connect_with_audio_node(&gain).map_err(js_err)?;
    gain.connect_with_audio_node(&ctx.destination())
        .map_err(js_err)?;
    osc.start().map_err(js_err)?;
    osc.stop_with_when(ctx.current_time() + 1.0)
        .map_err(js_err)?;
    Ok(())
}
