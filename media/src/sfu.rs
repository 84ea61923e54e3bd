//! Rooms, their participants and the forwarding between them (the model is
//! in the crate docs). Longer than most files: rooms, peers, negotiation and
//! subscriptions share private state and one lock order, so they stay
//! together; what stands alone is beside it (`speaker`, `simulcast`,
//! `network`).
//!
//! Locks, always taken in this order: a room's state, then a peer's
//! negotiation or subscriptions. A track published while someone joins is
//! never missed: `join` subscribes to the room's tracks and adds the peer in
//! one critical section, and `publish` adds the track and lists the peers in
//! another, so each sees the other.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU16, AtomicU32, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use futures::FutureExt;
use rtc::media_stream::MediaStreamTrack;
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtp;
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodec, RTCRtpCodingParameters, RTCRtpEncodingParameters, RTCRtpParameters, RtpCodecKind,
};
use rtc::rtp_transceiver::{RTCRtpTransceiverDirection, RTCRtpTransceiverInit};
use tokio::sync::{mpsc, watch, Mutex};
use tokio::task::JoinHandle;
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_local::{TrackLocal, TrackLocalEvent};
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};
use webrtc::peer_connection::{
    PeerConnection, PeerConnectionEventHandler, RTCIceCandidateInit, RTCPeerConnectionIceEvent,
    RTCPeerConnectionState, RTCSessionDescription,
};
use webrtc::rtp_transceiver::{RtpSender, RtpTransceiver};

use crate::engine::{self, is_keyframe_request, payload_type};
use crate::network::{announce, PortRange};
use crate::recorder::Recording;
use crate::simulcast::{self, Fit, Layers, Rewriter};
use crate::speaker::{next_speaker, Loudness, SPEAKER_INTERVAL};
pub use protocol::media::Leg;
use protocol::states::StageLayout;

/// The tile height a subscriber is assumed to show a camera at until its
/// page says ([`Participant::view`]).
pub const DEFAULT_VIEW_HEIGHT: u16 = 360;

/// At most one keyframe request per published track in this interval
/// (Chromium asks often while it cannot decode; one keyframe serves all).
pub const KEYFRAME_INTERVAL: Duration = Duration::from_millis(500);

/// What the server tells a participant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signal {
    /// An offer to answer on a leg: the server always offers.
    Offer(Leg, String),
    /// One of the server's ICE candidates on a leg, trickled after its first
    /// offer there (it may arrive before the offer: hold it until the offer
    /// is applied).
    Candidate(Leg, RTCIceCandidateInit),
    /// Who speaks in the room now (None: nobody).
    Speaker(Option<String>),
}

/// How someone takes part in a room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seat {
    /// Receives everyone who publishes.
    Viewer,
    /// Also publishes a microphone, a camera and a screen.
    Publisher,
    /// A stage's audience: receives only the publishers on air
    /// ([`Participant::set_on_air`]), so a backstage stays private.
    Audience,
}

/// Why the SFU refused.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An answer arrived while no offer waited for one.
    #[error("no offer is waiting for an answer")]
    NoOfferPending,
    /// The browser's description or candidate could not be used.
    #[error("unusable session description or candidate: {0}")]
    BadSignal(String),
    /// The WebRTC stack failed.
    #[error("media: {0}")]
    WebRtc(String),
    /// A viewer asked to publish (a screen).
    #[error("only people on screen can share a screen")]
    NotPublishing,
    /// Signalling for a sending connection from a viewer, who has none.
    #[error("no sending connection: only people on screen send")]
    NoSendingLeg,
    /// An audience seat asked of a node that has as many as it takes
    /// ([`Config::max_audience`]).
    #[error("this media server has as many viewers as it takes over WebRTC")]
    Full,
}

fn webrtc(e: impl std::fmt::Display) -> Error {
    Error::WebRtc(e.to_string())
}

/// Where the SFU listens.
#[derive(Debug, Clone)]
pub struct Config {
    /// The address peer connections bind (one UDP port each: `webrtc` 0.21
    /// has no UDP mux). An explicit address: a wildcard leaves out loopback.
    pub ip: IpAddr,
    /// The UDP ports connections take (None: any the system gives), so a
    /// firewall can open exactly those.
    pub ports: Option<PortRange>,
    /// The address browsers are told to reach (behind a 1:1 NAT, the public
    /// one; None: `ip`). `webrtc` 0.21 stores `with_nat_1to1_ips` but never
    /// reads it, so the SFU rewrites its own candidates ([`announce`]).
    pub announce: Option<IpAddr>,
    /// Whether publishers are asked for their camera in simulcast layers
    /// ([`crate::simulcast`]).
    pub simulcast: bool,
    /// Whether subscribers' bandwidth estimates (REMB) cap their layers
    /// ([`simulcast::Fit`]). Off by default: Chromium's REMB climbs slowly
    /// and reads a busy CPU as congestion (see the module's docs).
    pub bandwidth: bool,
    /// The runtime the SFU's connections and forwarding run on (None: the
    /// caller's). A load tool gives it one of its own, to tell its CPU apart.
    pub runtime: Option<tokio::runtime::Handle>,
    /// Where recordings are made and where finished ones go (None: this
    /// node does not record).
    pub recordings: Option<Recordings>,
    /// Audience seats ([`Seat::Audience`]) this node takes at most, over
    /// all its rooms (None: no limit); past it, viewers watch the live
    /// mix's HLS stream ([`crate::live`]).
    pub max_audience: Option<usize>,
}

/// Where a node records.
#[derive(Debug, Clone)]
pub struct Recordings {
    /// Recordings are made in a folder of their own under this one.
    pub dir: std::path::PathBuf,
    /// Each finished (or failed) recording is sent here.
    pub done: mpsc::UnboundedSender<Recorded>,
    /// Where the files of a recorded broadcast's live mix go as they are
    /// made (None: no live mix).
    pub live: Option<mpsc::UnboundedSender<crate::live::LiveFile>>,
}

/// A recording that stopped.
#[derive(Debug)]
pub struct Recorded {
    /// The room it was made in.
    pub room: String,
    /// What the host said to record under ([`Participant::set_on_air`]).
    pub label: String,
    /// This recording's own id: a broadcast recorded in several parts (its
    /// room made again after everyone left) has one per part.
    pub part: u128,
    /// The mixed file, or why there is none.
    pub result: Result<crate::recorder::Finished, String>,
}

impl Config {
    /// Connections on `ip`, any port, announced as they are.
    pub fn on(ip: IpAddr) -> Config {
        Config {
            ip,
            ports: None,
            announce: None,
            simulcast: false,
            bandwidth: false,
            runtime: None,
            recordings: None,
            max_audience: None,
        }
    }
}

/// The SFU: rooms by name.
pub struct Sfu {
    config: Config,
    rooms: std::sync::Mutex<HashMap<String, Arc<Room>>>,
    /// The next port of the range to try.
    next_port: std::sync::atomic::AtomicUsize,
    /// Audience seats taken, over all rooms.
    audience: Arc<AtomicUsize>,
}

impl Sfu {
    /// An SFU with no rooms.
    pub fn new(config: Config) -> Arc<Sfu> {
        Arc::new(Sfu {
            config,
            rooms: std::sync::Mutex::new(HashMap::new()),
            next_port: std::sync::atomic::AtomicUsize::new(0),
            audience: Arc::new(AtomicUsize::new(0)),
        })
    }

    /// Audience seats taken now, over all rooms.
    pub fn audience(&self) -> usize {
        self.audience.load(Ordering::Relaxed)
    }

    /// Takes an audience seat, unless the node has as many as it takes and
    /// `enforce` (the stage has a live mix to send the others to).
    fn take_seat(&self, enforce: bool) -> Result<AudienceSeat, Error> {
        let max = match self.config.max_audience {
            Some(max) if enforce => max,
            _ => usize::MAX,
        };
        self.audience
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .map_err(|_| Error::Full)?;
        Ok(AudienceSeat(self.audience.clone()))
    }

    /// Rooms with someone in them.
    pub fn rooms(&self) -> usize {
        self.lock_rooms().len()
    }

    /// The names of the rooms with someone in them.
    pub fn room_names(&self) -> Vec<String> {
        self.lock_rooms().keys().cloned().collect()
    }

    /// Tracks published in `room` now.
    pub async fn tracks_in(&self, room: &str) -> usize {
        let room = self.lock_rooms().get(room).cloned();
        match room {
            Some(r) => r.state.lock().await.tracks.len(),
            None => 0,
        }
    }

    /// Whose tracks `participant` of `room` receives now (publisher ids,
    /// sorted, one per publisher).
    pub async fn receiving(&self, room: &str, participant: &str) -> Vec<String> {
        let room = self.lock_rooms().get(room).cloned();
        let Some(room) = room else {
            return Vec::new();
        };
        let peer = room.state.lock().await.peers.get(participant).cloned();
        let Some(peer) = peer else {
            return Vec::new();
        };
        let mut owners: Vec<String> = peer
            .subscriptions
            .lock()
            .await
            .iter()
            .map(|s| s.track.owner.clone())
            .collect();
        owners.sort();
        owners.dedup();
        owners
    }

    /// Before `participant` takes an audience seat in room `name`: the seat
    /// of their connection there, which this join replaces, is given back
    /// (a viewer reconnecting at the limit is not refused by themselves).
    /// Answers whether the room has a live mix now (a recorded broadcast on
    /// a node that streams one): only then are viewers past the limit sent
    /// away, since only then is there a stream for them.
    async fn before_audience_join(&self, name: &str, participant: &str) -> bool {
        let room = self.lock_rooms().get(name).cloned();
        let Some(room) = room else {
            return false;
        };
        let state = room.state.lock().await;
        if let Some(old) = state.peers.get(participant) {
            old.seat.lock().unwrap_or_else(|e| e.into_inner()).take();
        }
        state
            .recording
            .as_ref()
            .is_some_and(|(rec, _, _)| rec.live().is_some_and(|l| l.streams()))
    }

    /// The room called `name`, made if there is none.
    fn room(self: &Arc<Self>, name: &str) -> Arc<Room> {
        let mut rooms = self.lock_rooms();
        if let Some(r) = rooms.get(name) {
            if !r.closing.load(std::sync::atomic::Ordering::Acquire) {
                return r.clone();
            }
        }
        let room = Arc::new(Room {
            name: name.to_owned(),
            sfu: Arc::downgrade(self),
            closing: std::sync::atomic::AtomicBool::new(false),
            state: Mutex::new(RoomState::default()),
            air: Mutex::new(()),
        });
        rooms.insert(name.to_owned(), room.clone());
        tokio::spawn(follow_speakers(Arc::downgrade(&room)));
        room
    }

    /// A peer connection bound to the next free port of the range (or any
    /// port without one).
    async fn connection(&self, handler: Arc<Events>) -> Result<Arc<dyn PeerConnection>, Error> {
        let Some(range) = self.config.ports else {
            return engine::peer_connection(std::net::SocketAddr::new(self.config.ip, 0), handler)
                .await
                .map_err(Error::WebRtc);
        };
        let mut last = String::new();
        for _ in 0..range.len() {
            let n = self
                .next_port
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let addr = std::net::SocketAddr::new(self.config.ip, range.nth(n));
            // A port another connection (or program) holds fails to bind: next.
            if std::net::UdpSocket::bind(addr).is_err() {
                continue;
            }
            match engine::peer_connection(addr, handler.clone()).await {
                Ok(pc) => return Ok(pc),
                Err(e) => last = e,
            }
        }
        Err(Error::WebRtc(format!(
            "no free UDP port in {}-{} {last}",
            range.nth(0),
            range.nth(range.len() - 1)
        )))
    }

    fn lock_rooms(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Room>>> {
        // A panic elsewhere never leaves the map half-changed: every change is one call.
        self.rooms.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Puts `participant` in `room` (made on first use). With `publish`,
    /// they get a publishing connection whose offer has room for their
    /// microphone, camera and screen. The receiver
    /// carries the offers and candidates to pass to their browser. Someone
    /// who is in the room already (another tab, a rejoin to go on screen) is
    /// replaced: their earlier connection closes.
    pub async fn join(
        self: &Arc<Self>,
        room: &str,
        participant: &str,
        seat: Seat,
    ) -> Result<(Participant, mpsc::UnboundedReceiver<Signal>), Error> {
        let (sfu, room, participant) = (self.clone(), room.to_owned(), participant.to_owned());
        match self.config.runtime.clone() {
            Some(runtime) => runtime
                .spawn(async move { sfu.join_here(&room, &participant, seat).await })
                .await
                .map_err(webrtc)?,
            None => sfu.join_here(&room, &participant, seat).await,
        }
    }

    async fn join_here(
        self: &Arc<Self>,
        room: &str,
        participant: &str,
        seat: Seat,
    ) -> Result<(Participant, mpsc::UnboundedReceiver<Signal>), Error> {
        let name = room;
        let publish = seat == Seat::Publisher;
        // Taken before anything is made, given back when they leave (or
        // when joining fails and it is dropped).
        let audience_seat = match seat {
            Seat::Audience => {
                Some(self.take_seat(self.before_audience_join(name, participant).await)?)
            }
            _ => None,
        };
        let (signals, rx) = mpsc::unbounded_channel();
        let (connected, _) = watch::channel(false);
        let connected = Arc::new(connected);
        let announce = self.config.announce.map(|public| (self.config.ip, public));
        let events = |leg: Leg| {
            Arc::new(Events {
                leg,
                room: std::sync::OnceLock::new(),
                me: std::sync::OnceLock::new(),
                peer: participant.to_owned(),
                signals: signals.clone(),
                connected: (leg == Leg::Subscribe).then(|| connected.clone()),
                announce,
            })
        };
        let handlers = [events(Leg::Subscribe), events(Leg::Publish)];
        let sub = self.connection(handlers[0].clone()).await?;
        // A publisher's microphone, camera and screen, in this order, on a
        // connection of their own.
        let mut inbound = Vec::new();
        let publ = if publish {
            Some(self.connection(handlers[1].clone()).await?)
        } else {
            None
        };
        if let Some(pc) = &publ {
            for kind in [
                RtpCodecKind::Audio,
                RtpCodecKind::Video,
                RtpCodecKind::Video,
            ] {
                let t = pc
                    .add_transceiver_from_kind(
                        kind,
                        Some(RTCRtpTransceiverInit {
                            direction: RTCRtpTransceiverDirection::Recvonly,
                            ..Default::default()
                        }),
                    )
                    .await
                    .map_err(webrtc)?;
                inbound.push(t);
            }
        }
        let screen = inbound.pop();
        let conn = |leg, pc| Conn {
            leg,
            pc,
            negotiation: Mutex::new(Negotiation::default()),
        };
        let peer = Arc::new(Peer {
            id: participant.to_owned(),
            audience: seat == Seat::Audience,
            seat: std::sync::Mutex::new(audience_seat),
            sub: conn(Leg::Subscribe, sub),
            publ: publ.map(|pc| conn(Leg::Publish, pc)),
            signals,
            connected,
            announce,
            camera: inbound.pop().filter(|_| self.config.simulcast),
            screen,
            budget: Arc::new(Budget::default()),
            bandwidth: self.config.bandwidth,
            shared: Mutex::new(None),
            subscriptions: Mutex::new(Vec::new()),
        });
        // The room, unless its last participant is closing it right now
        // (then a fresh one).
        let room = loop {
            let room = self.room(name);
            let mut state = room.state.lock().await;
            if state.closed {
                continue;
            }
            if state.peers.contains_key(participant) {
                drop(state);
                room.leave(participant, None).await;
                continue;
            }
            for track in state.tracks.iter() {
                if receives(&peer, &track.owner, &state.on_air) {
                    subscribe(&peer, track).await?;
                }
            }
            state.peers.insert(participant.to_owned(), peer.clone());
            let speaker = state
                .speaker
                .clone()
                .filter(|s| !peer.audience || state.on_air.contains(s));
            if speaker.is_some() {
                let _ = peer.signals.send(Signal::Speaker(speaker));
            }
            drop(state);
            break room;
        };
        for h in &handlers {
            let _ = h.room.set(Arc::downgrade(&room));
            let _ = h.me.set(Arc::downgrade(&peer));
        }
        negotiate(&peer, Leg::Publish).await?;
        negotiate(&peer, Leg::Subscribe).await?;
        tracing::info!(room = %room.name, participant, ?seat, "joined");
        Ok((Participant { room, peer }, rx))
    }
}

/// Someone in a room, as the signalling side holds them.
pub struct Participant {
    room: Arc<Room>,
    peer: Arc<Peer>,
}

impl Participant {
    /// Their id in the room.
    pub fn id(&self) -> &str {
        &self.peer.id
    }

    /// Applies their browser's answer to the offer sent last on `leg`;
    /// offers what changed meanwhile.
    pub async fn answer(&self, leg: Leg, sdp: String) -> Result<(), Error> {
        let conn = self.peer.conn(leg)?;
        let desc =
            RTCSessionDescription::answer(sdp).map_err(|e| Error::BadSignal(e.to_string()))?;
        let again = {
            let mut n = conn.negotiation.lock().await;
            if !n.awaiting_answer {
                return Err(Error::NoOfferPending);
            }
            conn.pc
                .set_remote_description(desc)
                .await
                .map_err(|e| Error::BadSignal(e.to_string()))?;
            n.awaiting_answer = false;
            std::mem::take(&mut n.again)
        };
        if again {
            negotiate(&self.peer, leg).await?;
        }
        Ok(())
    }

    /// Adds one of their browser's ICE candidates on `leg`.
    pub async fn candidate(&self, leg: Leg, candidate: RTCIceCandidateInit) -> Result<(), Error> {
        self.peer
            .conn(leg)?
            .pc
            .add_ice_candidate(candidate)
            .await
            .map_err(|e| Error::BadSignal(e.to_string()))
    }

    /// Takes them out of the room: their connection closes, their tracks
    /// leave everyone else's (who get a new offer). Leaving twice is harmless.
    pub async fn leave(&self) {
        self.room.leave(&self.peer.id, Some(&self.peer)).await;
    }

    /// Says how high (in device pixels) their page shows `publisher`'s
    /// camera: the layer sent is the smallest that fills it.
    pub async fn view(&self, publisher: &str, height: u16) {
        for s in self.peer.subscriptions.lock().await.iter() {
            if s.track.owner == publisher && s.track.kind == RtpCodecKind::Video && !s.track.screen
            {
                s.outlet.want.store(height, Ordering::Relaxed);
            }
        }
    }

    /// Says who the room's audience receives: these publishers (their
    /// cameras, microphones and screens), nobody else. The signalling side
    /// lets only a host say it. Audience members get the tracks of those
    /// who came on air and lose those of who left it, in one new offer each.
    ///
    /// With `record` (a label the finished recording is handed over with),
    /// what is on air is recorded from now, including tracks that come on
    /// air later; without it, a recording under way stops and is mixed. A
    /// second label while one records is ignored: one recording at a time.
    /// A recording's live mix lays them out as `layout` says (None: one).
    pub async fn set_on_air(
        &self,
        participants: Vec<String>,
        record: Option<String>,
        layout: Option<StageLayout>,
    ) {
        self.room
            .set_on_air(&self.peer, participants, record, layout)
            .await;
    }

    /// Starts (with the recording's id and a label the finished recording
    /// is handed over with) or stops recording everyone who publishes in
    /// the room, tracks published later included: each track on its own,
    /// and a live mix laid out around the active speaker
    /// ([`crate::live::speaker_places`]) that is the recording. A recording
    /// under way with another id ends first; the same id again changes
    /// nothing. Only a session records so; a backstage records who is on
    /// air ([`Participant::set_on_air`]).
    pub async fn record(&self, record: Option<(String, String)>) {
        self.room.set_recording(&self.peer, record).await;
    }

    /// Starts or stops sharing their screen. Their browser answered the
    /// publishing connection's offer with the third transceiver sending
    /// (without a track), so starting needs no negotiation: the track is
    /// published when its packets flow, or, when they shared before, the
    /// same track goes to the room again. Stopping takes it out of
    /// everyone's connection (their browser stops sending).
    pub async fn share_screen(&self, on: bool) -> Result<(), Error> {
        if self.peer.screen.is_none() {
            return Err(Error::NotPublishing);
        }
        let parked = {
            let mut shared = self.peer.shared.lock().await;
            match (on, shared.as_mut()) {
                (true, Some(s)) if !s.on => {
                    s.on = true;
                    Some(s.track.clone())
                }
                (false, Some(s)) if s.on => {
                    s.on = false;
                    let track = s.track.clone();
                    drop(shared);
                    self.room.unpublish(&track).await;
                    return Ok(());
                }
                (false, _) => return Ok(()),
                _ => None,
            }
        };
        if let Some(track) = parked {
            self.room.clone().add(track).await;
        }
        Ok(())
    }
}

struct Room {
    name: String,
    sfu: Weak<Sfu>,
    /// Set with `state.closed`, readable without the async lock.
    closing: std::sync::atomic::AtomicBool,
    state: Mutex<RoomState>,
    /// Held while the audience's subscriptions follow what is on air
    /// ([`Room::set_on_air`], and [`Room::add`] giving out a new track), so
    /// one's later subscriptions never undo the other's: taken before `state`.
    air: Mutex<()>,
}

#[derive(Default)]
struct RoomState {
    peers: HashMap<String, Arc<Peer>>,
    tracks: Vec<Arc<Published>>,
    /// Who speaks now (see [`next_speaker`]).
    speaker: Option<String>,
    /// Whom the audience receives ([`Seat::Audience`]).
    on_air: Vec<String>,
    /// The recording under way, its label and its part's id.
    recording: Option<(Arc<Recording>, String, u128)>,
    /// The recording takes every publisher (a session's), not only those
    /// on air (a backstage's).
    record_all: bool,
    /// The session's recording under way, as its hosts named it.
    recording_id: Option<String>,
    /// The last participant left: nobody joins this room any more (a joiner
    /// gets a fresh one under the same name).
    closed: bool,
}

impl RoomState {
    /// Whether a recording under way takes `owner`'s tracks.
    fn records(&self, owner: &str) -> bool {
        self.record_all || self.on_air.iter().any(|o| o == owner)
    }
}

impl Room {
    /// Adds a track a participant started sending, and gives it to everyone else.
    async fn publish(self: Arc<Self>, owner: Arc<Peer>, remote: Arc<dyn TrackRemote>) {
        let Some(ssrc) = remote.ssrcs().await.first().copied() else {
            return;
        };
        let Some(codec) = remote.codec(ssrc).await else {
            return;
        };
        if payload_type(&codec).is_none() {
            tracing::warn!(room = %self.name, owner = %owner.id, mime = %codec.mime_type, "codec not forwarded");
            return;
        }
        let (is_screen, level_id) = owner.inbound(&remote).await;
        let kind = remote.kind().await;
        let h264 = payload_type(&codec) == Some(engine::H264_PT);
        let track = Arc::new(Published {
            owner: owner.id.clone(),
            kind,
            screen: is_screen,
            codec,
            outlets: std::sync::RwLock::new(Arc::new(Vec::new())),
            remote: remote.clone(),
            layers: Layers::default(),
            level_id,
            loudness: Loudness::default(),
            last_keyframe_request: std::sync::Mutex::new(HashMap::new()),
            tap: std::sync::Mutex::new(None),
            tapped: std::sync::atomic::AtomicBool::new(false),
        });
        track.layers.open(ssrc, remote.rid(ssrc).await.as_deref());
        // A recording takes it from its first packet (a keyframe, which a
        // camera that ignores requests does not send again for a while),
        // not from when the room has it ([`Room::add`] records it too).
        {
            let state = self.state.lock().await;
            if let Some((rec, _, _)) = &state.recording {
                if state.records(&track.owner) {
                    track.record(rec);
                }
            }
        }
        let reader = {
            let (room, track) = (Arc::downgrade(&self), track.clone());
            tokio::spawn(async move {
                while let Some(event) = remote.poll().await {
                    match event {
                        TrackRemoteEvent::OnOpen(init) => {
                            tracing::debug!(owner = %track.owner, rid = ?init.rid, ssrc = init.ssrc, "layer");
                            track.layers.open(init.ssrc, init.rid.as_deref());
                        }
                        TrackRemoteEvent::OnRtpPacket(packet) => {
                            // Read once here, written on each subscriber's leg under its id.
                            let level = track.level_id.and_then(|id| {
                                track.loudness.add(engine::loudness(&packet, id));
                                packet.header.get_extension(id)
                            });
                            let key = match kind {
                                RtpCodecKind::Video if h264 => {
                                    let key = simulcast::h264_keyframe(&packet.payload);
                                    track.layers.saw(
                                        packet.header.ssrc,
                                        None,
                                        packet.payload.len(),
                                    );
                                    key
                                }
                                RtpCodecKind::Video => {
                                    let size = simulcast::vp8_keyframe(&packet.payload);
                                    let height = size.map(|(_, h)| h);
                                    track.layers.saw(
                                        packet.header.ssrc,
                                        height,
                                        packet.payload.len(),
                                    );
                                    size.is_some()
                                }
                                _ => true,
                            };
                            let outlets = track
                                .outlets
                                .read()
                                .unwrap_or_else(|e| e.into_inner())
                                .clone();
                            for outlet in outlets.iter() {
                                outlet.send(&track, &packet, key, level.as_ref());
                            }
                            if track.tapped.load(Ordering::Relaxed) {
                                if let Some(tap) =
                                    track.tap.lock().unwrap_or_else(|e| e.into_inner()).as_ref()
                                {
                                    // A recorder that falls behind loses packets (and asks for a keyframe).
                                    let _ = tap.try_send(packet.clone());
                                }
                            }
                        }
                        _ => {}
                    }
                }
                if let Some(room) = room.upgrade() {
                    room.unpublish(&track).await;
                }
            })
        };
        if is_screen {
            *owner.shared.lock().await = Some(Shared {
                track: track.clone(),
                on: true,
            });
        }
        if !self.clone().add(track).await {
            reader.abort();
        }
    }

    /// Gives a published track to everyone else in the room (false: its
    /// owner is not in the room any more).
    async fn add(self: Arc<Self>, track: Arc<Published>) -> bool {
        let _air = self.air.lock().await;
        let owner = &track.owner;
        let others: Vec<Arc<Peer>> = {
            let mut state = self.state.lock().await;
            if !state.peers.contains_key(owner) {
                return false;
            }
            if state.tracks.iter().any(|t| Arc::ptr_eq(t, &track)) {
                return true;
            }
            state.tracks.push(track.clone());
            if let Some((rec, _, _)) = &state.recording {
                if state.records(owner) {
                    track.record(rec);
                }
            }
            state
                .peers
                .values()
                .filter(|p| receives(p, owner, &state.on_air))
                .cloned()
                .collect()
        };
        tracing::info!(room = %self.name, %owner, kind = %track.kind, screen = track.screen, "published");
        for peer in others {
            match subscribe(&peer, &track).await {
                Ok(()) => {
                    if let Err(e) = negotiate(&peer, Leg::Subscribe).await {
                        tracing::warn!(peer = %peer.id, error = %e, "renegotiation failed");
                    }
                }
                Err(e) => tracing::warn!(peer = %peer.id, error = %e, "subscription failed"),
            }
        }
        true
    }

    /// Tells everyone who speaks now, when that changed.
    async fn decide_speaker(&self) {
        let levels: Vec<(String, f32)> = {
            let state = self.state.lock().await;
            state
                .tracks
                .iter()
                .filter(|t| t.level_id.is_some())
                .map(|t| (t.owner.clone(), t.loudness.take()))
                .collect()
        };
        let mut state = self.state.lock().await;
        let next = next_speaker(state.speaker.as_deref(), &levels);
        if next == state.speaker {
            return;
        }
        state.speaker = next.clone();
        // A session's recording follows the speaker.
        if let (Some((rec, _, _)), true) = (&state.recording, state.record_all) {
            if let Some(live) = rec.live() {
                live.speaker(next.as_deref());
            }
        }
        for peer in state.peers.values() {
            // The audience hears of speakers on air only.
            let said = next
                .clone()
                .filter(|s| !peer.audience || state.on_air.contains(s));
            let _ = peer.signals.send(Signal::Speaker(said));
        }
    }

    /// Takes a track out of the room and out of everyone's connection.
    async fn unpublish(&self, track: &Arc<Published>) {
        let peers: Vec<Arc<Peer>> = {
            let mut state = self.state.lock().await;
            let before = state.tracks.len();
            state.tracks.retain(|t| !Arc::ptr_eq(t, track));
            if state.tracks.len() == before {
                return;
            }
            track.unrecord();
            state.peers.values().cloned().collect()
        };
        for peer in peers {
            unsubscribe(&peer, |t| Arc::ptr_eq(t, track)).await;
        }
    }

    /// Makes `next` the publishers on air: the audience receives their
    /// tracks and no one else's. A track published meanwhile is given out
    /// by [`Room::add`] or here, never both: each reads the tracks and the
    /// list on air in one critical section.
    async fn set_on_air(
        &self,
        by: &Arc<Peer>,
        next: Vec<String>,
        record: Option<String>,
        layout: Option<StageLayout>,
    ) {
        let _air = self.air.lock().await;
        let (came, audience) = {
            let mut state = self.state.lock().await;
            // A connection that was replaced, or a room that closed, has no say.
            let current = state.peers.get(&by.id).is_some_and(|p| Arc::ptr_eq(p, by));
            if state.closed || !current {
                return;
            }
            self.follow_recording(&mut state, &next, record, layout);
            let before = std::mem::replace(&mut state.on_air, next.clone());
            if before == next {
                return;
            }
            let came: Vec<Arc<Published>> = state
                .tracks
                .iter()
                .filter(|t| next.contains(&t.owner) && !before.contains(&t.owner))
                .cloned()
                .collect();
            let audience: Vec<Arc<Peer>> = state
                .peers
                .values()
                .filter(|p| p.audience)
                .cloned()
                .collect();
            (came, audience)
        };
        tracing::info!(room = %self.name, on_air = ?next, "on air");
        for peer in audience {
            let left = unsubscribe_quietly(&peer, |t| !next.contains(&t.owner)).await;
            let mut added = false;
            for track in &came {
                match subscribe(&peer, track).await {
                    Ok(()) => added = true,
                    Err(e) => tracing::warn!(peer = %peer.id, error = %e, "subscription failed"),
                }
            }
            if left || added {
                if let Err(e) = negotiate(&peer, Leg::Subscribe).await {
                    tracing::debug!(peer = %peer.id, error = %e, "renegotiation for the air");
                }
            }
        }
    }

    /// Starts or stops recording everyone who publishes (a session), as a
    /// host's word says. A backstage's recording under way (of those on
    /// air) is left alone.
    async fn set_recording(&self, by: &Arc<Peer>, record: Option<(String, String)>) {
        let mut state = self.state.lock().await;
        let current = state.peers.get(&by.id).is_some_and(|p| Arc::ptr_eq(p, by));
        if state.closed || !current {
            return;
        }
        if state.recording.is_some() && !state.record_all {
            tracing::warn!(room = %self.name, "asked to record everyone while recording who is on air");
            return;
        }
        // Another recording than the one under way (stopped and started
        // again meanwhile): that one ends first.
        if let (Some((id, _)), Some(under_way)) = (&record, &state.recording_id) {
            if id != under_way {
                self.stop_recording(&mut state);
            }
        }
        let label = record.map(|(id, token)| {
            state.recording_id = Some(id);
            state.record_all = true;
            token
        });
        let on_air = state.on_air.clone();
        self.follow_recording(&mut state, &on_air, label, None);
        if state.recording.is_none() {
            state.record_all = false;
            state.recording_id = None;
        }
    }

    /// Starts, follows or stops the room's recording as a host's word says:
    /// the tracks of `on_air` (of everyone, when the room records all) are
    /// recorded while `record` is given.
    fn follow_recording(
        &self,
        state: &mut RoomState,
        on_air: &[String],
        record: Option<String>,
        layout: Option<StageLayout>,
    ) {
        match (record, state.recording.is_some()) {
            (Some(label), false) => {
                let Some(sink) = self.sfu.upgrade().and_then(|s| s.config.recordings.clone())
                else {
                    tracing::warn!(room = %self.name, "asked to record, but this node does not record");
                    return;
                };
                let dir = sink.dir.join(format!(
                    "{}-{:016x}",
                    self.name.replace(|c: char| !c.is_ascii_alphanumeric(), "_"),
                    rand::random::<u64>()
                ));
                // The live mix streams what is recorded, when the node
                // publishes one, and is then the recording. A session's is
                // not streamed, only recorded.
                let live = match (&sink.live, state.record_all) {
                    (Some(_), _) | (None, true) => {
                        let out = sink.live.clone().filter(|_| !state.record_all);
                        match crate::live::LiveMix::start(
                            dir.join("live"),
                            dir.join("live-mix.mp4"),
                            label.clone(),
                            out,
                        ) {
                            Ok(m) => Some(m),
                            Err(e) => {
                                tracing::warn!(room = %self.name, error = %e, "no live mix");
                                None
                            }
                        }
                    }
                    (None, false) => None,
                };
                match Recording::start(dir, live) {
                    Ok(rec) => {
                        tracing::info!(room = %self.name, dir = %rec.dir().display(), "recording");
                        state.recording = Some((rec, label, rand::random()));
                    }
                    Err(e) => {
                        tracing::warn!(room = %self.name, error = %e, "cannot record");
                        return;
                    }
                }
            }
            (Some(_), true) => {}
            (None, true) => {
                self.stop_recording(state);
                return;
            }
            (None, false) => return,
        }
        if let Some((rec, _, _)) = &state.recording {
            if let Some(live) = rec.live() {
                if state.record_all {
                    live.follow_speaker(state.speaker.as_deref());
                } else {
                    live.arrange(on_air, layout);
                }
            }
            for t in &state.tracks {
                if state.record_all || on_air.contains(&t.owner) {
                    t.record(rec);
                } else {
                    t.unrecord();
                }
            }
        }
    }

    /// Ends the room's recording, if any: mixed, then handed over.
    fn stop_recording(&self, state: &mut RoomState) {
        let Some((rec, label, part)) = state.recording.take() else {
            return;
        };
        for t in &state.tracks {
            t.unrecord();
        }
        let sink = self.sfu.upgrade().and_then(|s| s.config.recordings.clone());
        let room = self.name.clone();
        tokio::spawn(async move {
            let result = rec.finish().await.map_err(|e| e.to_string());
            match &result {
                Ok(f) => {
                    tracing::info!(%room, file = %f.file.display(), segments = f.segments.len(), "recording mixed")
                }
                Err(e) => tracing::warn!(%room, error = %e, "recording failed"),
            }
            if let Some(sink) = sink {
                let _ = sink.done.send(Recorded {
                    room,
                    label,
                    part,
                    result,
                });
            }
        });
    }

    /// Takes a participant out: their connection, subscriptions and tracks;
    /// with `only`, only if that connection is still theirs (not one that
    /// replaced it).
    async fn leave(&self, id: &str, only: Option<&Arc<Peer>>) {
        let (peer, theirs) = {
            let mut state = self.state.lock().await;
            if let (Some(current), Some(only)) = (state.peers.get(id), only) {
                if !Arc::ptr_eq(current, only) {
                    return;
                }
            }
            let Some(peer) = state.peers.remove(id) else {
                return;
            };
            peer.seat.lock().unwrap_or_else(|e| e.into_inner()).take();
            let theirs: Vec<Arc<Published>> = state
                .tracks
                .iter()
                .filter(|t| t.owner == id)
                .cloned()
                .collect();
            (peer, theirs)
        };
        for s in std::mem::take(&mut *peer.subscriptions.lock().await) {
            s.stop();
        }
        let _ = peer.sub.pc.close().await;
        if let Some(publ) = &peer.publ {
            let _ = publ.pc.close().await;
        }
        for track in theirs {
            self.unpublish(&track).await;
        }
        tracing::info!(room = %self.name, participant = id, "left");
        let empty = {
            let mut state = self.state.lock().await;
            state.closed = state.peers.is_empty();
            if state.closed {
                // Nobody left to record: what there is is kept.
                self.stop_recording(&mut state);
            }
            state.closed
        };
        if empty {
            self.closing
                .store(true, std::sync::atomic::Ordering::Release);
            if let Some(sfu) = self.sfu.upgrade() {
                let mut rooms = sfu.lock_rooms();
                if rooms
                    .get(&self.name)
                    .is_some_and(|r| std::ptr::eq(Arc::as_ptr(r), self))
                {
                    rooms.remove(&self.name);
                }
            }
        }
    }

    /// Asks for keyframes of everything `peer` receives (it just connected).
    async fn keyframes_for(&self, peer: &str) {
        let peer = self.state.lock().await.peers.get(peer).cloned();
        if let Some(peer) = peer {
            let tracks: Vec<(Arc<Published>, Option<u32>)> = peer
                .subscriptions
                .lock()
                .await
                .iter()
                .map(|s| (s.track.clone(), s.layer()))
                .collect();
            for (t, layer) in tracks {
                t.request_keyframe(layer).await;
            }
        }
    }
}

/// Whether `peer` receives what `owner` publishes, with `on_air` on air.
fn receives(peer: &Peer, owner: &str, on_air: &[String]) -> bool {
    peer.id != owner && (!peer.audience || on_air.iter().any(|o| o == owner))
}

/// Takes the tracks `which` picks out of `peer`'s receiving connection and,
/// if any were there, offers it again.
async fn unsubscribe(peer: &Arc<Peer>, which: impl Fn(&Arc<Published>) -> bool) {
    if unsubscribe_quietly(peer, which).await {
        if let Err(e) = negotiate(peer, Leg::Subscribe).await {
            tracing::debug!(peer = %peer.id, error = %e, "renegotiation after a track left");
        }
    }
}

/// [`unsubscribe`] without the new offer (the caller makes it).
async fn unsubscribe_quietly(peer: &Arc<Peer>, which: impl Fn(&Arc<Published>) -> bool) -> bool {
    let gone: Vec<Subscription> = {
        let mut subs = peer.subscriptions.lock().await;
        let (gone, kept) = std::mem::take(&mut *subs)
            .into_iter()
            .partition(|s| which(&s.track));
        *subs = kept;
        gone
    };
    for s in &gone {
        s.stop();
        if let Err(e) = peer.sub.pc.remove_track(&s.sender).await {
            tracing::debug!(peer = %peer.id, error = %e, "remove_track");
        }
    }
    !gone.is_empty()
}

/// A participant's connections.
struct Peer {
    id: String,
    /// A stage's audience member ([`Seat::Audience`]).
    audience: bool,
    /// Their audience seat, given back when they leave.
    seat: std::sync::Mutex<Option<AudienceSeat>>,
    /// What they receive.
    sub: Conn,
    /// What they send (None: a viewer).
    publ: Option<Conn>,
    signals: mpsc::UnboundedSender<Signal>,
    /// Whether their receiving connection is up (nothing is forwarded before).
    connected: Arc<watch::Sender<bool>>,
    /// The bound and the public address, when they differ.
    announce: Option<(IpAddr, IpAddr)>,
    /// The transceiver their camera arrives on, when it is asked for in
    /// simulcast layers (None: a viewer, or simulcast is off).
    camera: Option<Arc<dyn RtpTransceiver>>,
    /// The transceiver their screen arrives on (None: a viewer).
    screen: Option<Arc<dyn RtpTransceiver>>,
    /// What their receiving connection takes.
    budget: Arc<Budget>,
    /// Whether that caps their layers ([`Config::bandwidth`]).
    bandwidth: bool,
    /// Their screen track once it flowed, and whether it is shared now.
    shared: Mutex<Option<Shared>>,
    subscriptions: Mutex<Vec<Subscription>>,
}

/// An audience seat taken ([`Sfu::take_seat`]); dropping it gives it back.
struct AudienceSeat(Arc<AtomicUsize>);

impl Drop for AudienceSeat {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// What a receiving connection takes, as its browser estimates it (REMB,
/// bits/s; 0 until it says), and how many videos share it.
#[derive(Default)]
struct Budget {
    estimate: watch::Sender<u64>,
    videos: AtomicUsize,
}

impl Budget {
    /// One video's share of the estimate (None: no estimate yet).
    fn per_video(&self, estimate: u64) -> Option<u64> {
        let videos = self.videos.load(Ordering::Relaxed).max(1) as u64;
        (estimate > 0).then(|| estimate / videos)
    }
}

/// One of a participant's two connections ([`Leg`]).
struct Conn {
    leg: Leg,
    pc: Arc<dyn PeerConnection>,
    negotiation: Mutex<Negotiation>,
}

/// A screen track, kept while its sharing is paused (the browser sends
/// nothing; sharing again needs no new negotiation).
struct Shared {
    track: Arc<Published>,
    on: bool,
}

impl Peer {
    /// Their connection on `leg` (a viewer has no publishing one).
    fn conn(&self, leg: Leg) -> Result<&Conn, Error> {
        match leg {
            Leg::Subscribe => Ok(&self.sub),
            Leg::Publish => self.publ.as_ref().ok_or(Error::NoSendingLeg),
        }
    }

    /// Whether `remote` arrived on their screen transceiver, and the id of
    /// the audio-level extension on their leg (None: not negotiated).
    async fn inbound(&self, remote: &Arc<dyn TrackRemote>) -> (bool, Option<u8>) {
        let same = |r: &Arc<dyn webrtc::rtp_transceiver::RtpReceiver>| {
            std::ptr::addr_eq(Arc::as_ptr(r.track()), Arc::as_ptr(remote))
        };
        let mut screen = false;
        if let Some(t) = &self.screen {
            if let Ok(Some(r)) = t.receiver().await {
                screen = same(&r);
            }
        }
        let mut level = None;
        let Some(publ) = &self.publ else {
            return (screen, level);
        };
        for t in publ.pc.get_transceivers().await {
            let Ok(Some(r)) = t.receiver().await else {
                continue;
            };
            if !same(&r) {
                continue;
            }
            if let Ok(params) = r.get_parameters().await {
                level = extension_id(&params.rtp_parameters, engine::AUDIO_LEVEL_URI);
            }
        }
        (screen, level)
    }
}

/// Where the offer/answer exchange of a connection stands.
#[derive(Default)]
struct Negotiation {
    /// An offer went out and its answer has not come back.
    awaiting_answer: bool,
    /// Something changed meanwhile: offer again after the answer.
    again: bool,
}

/// Offers `peer` its connection on `leg` as it now is, or (while an offer
/// waits for its answer) notes that it must be offered again.
async fn negotiate(peer: &Arc<Peer>, leg: Leg) -> Result<(), Error> {
    let Ok(conn) = peer.conn(leg) else {
        return Ok(());
    };
    let mut n = conn.negotiation.lock().await;
    if n.awaiting_answer {
        n.again = true;
        return Ok(());
    }
    // Nothing to receive yet (an empty room): no offer until a track comes.
    if conn.pc.get_transceivers().await.is_empty() {
        return Ok(());
    }
    let offer = conn.pc.create_offer(None).await.map_err(webrtc)?;
    let mut sdp = match peer.announce {
        Some((bound, public)) => announce(&offer.sdp, bound, public),
        None => offer.sdp.clone(),
    };
    if let (Leg::Publish, Some(camera)) = (conn.leg, &peer.camera) {
        if let Ok(Some(mid)) = camera.mid().await {
            sdp = simulcast::ask(&sdp, &mid);
        }
    }
    conn.pc.set_local_description(offer).await.map_err(webrtc)?;
    n.awaiting_answer = true;
    // A closed receiver means the participant is going: nothing to tell.
    let _ = peer.signals.send(Signal::Offer(leg, sdp));
    Ok(())
}

/// A track someone publishes, fanned out to the room.
struct Published {
    owner: String,
    kind: RtpCodecKind,
    /// A screen share (not their camera).
    screen: bool,
    codec: RTCRtpCodec,
    /// Where its reader sends each packet: one outlet per subscriber
    /// (replaced whole when one comes or goes; read per packet).
    outlets: std::sync::RwLock<Arc<Vec<Arc<Outlet>>>>,
    remote: Arc<dyn TrackRemote>,
    /// Its simulcast layers (one when it has none).
    layers: Layers,
    /// The audio-level extension's id on the publisher's leg.
    level_id: Option<u8>,
    loudness: Loudness,
    /// When a keyframe was last asked for, per layer.
    last_keyframe_request: std::sync::Mutex<HashMap<u32, Instant>>,
    /// Where a recording takes its packets (None: not recorded).
    tap: std::sync::Mutex<Option<mpsc::Sender<rtp::Packet>>>,
    /// `tap` is set (read per packet without the lock).
    tapped: std::sync::atomic::AtomicBool,
}

/// Decides the room's active speaker every [`SPEAKER_INTERVAL`] until the room closes.
async fn follow_speakers(room: Weak<Room>) {
    let mut tick = tokio::time::interval(SPEAKER_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tick.tick().await;
        let Some(room) = room.upgrade() else { return };
        if room.closing.load(std::sync::atomic::Ordering::Acquire) {
            return;
        }
        room.decide_speaker().await;
    }
}

impl Published {
    /// Its stream's name in a recording: the owner, or their screen.
    fn stream(&self) -> String {
        if self.screen {
            screen_stream(&self.owner)
        } else {
            self.owner.clone()
        }
    }

    /// Takes it into `rec` (a segment from now), unless it is recorded.
    /// The recorder writes VP8 and Opus; another codec (an H.264 camera) is
    /// left out, said in the log.
    fn record(self: &Arc<Self>, rec: &Arc<Recording>) {
        let mut tap = self.tap.lock().unwrap_or_else(|e| e.into_inner());
        if tap.is_some() {
            return;
        }
        let mime = self.codec.mime_type.to_ascii_lowercase();
        if !(mime.ends_with("/vp8") || mime.ends_with("/opus")) {
            tracing::warn!(owner = %self.owner, %mime, "not recorded: the recorder takes VP8 and Opus");
            return;
        }
        let track = Arc::downgrade(self);
        let keyframe = move || {
            if let Some(t) = track.upgrade() {
                tokio::spawn(async move { t.request_keyframe(None).await });
            }
        };
        *tap = Some(rec.take(&self.stream(), self.kind != RtpCodecKind::Video, keyframe));
        self.tapped.store(true, Ordering::Relaxed);
    }

    /// Stops recording it (its segment ends).
    fn unrecord(&self) {
        self.tapped.store(false, Ordering::Relaxed);
        self.tap.lock().unwrap_or_else(|e| e.into_inner()).take();
    }

    /// Asks the publisher for a keyframe of layer `ssrc` (None: every
    /// layer), at most once per layer per [`KEYFRAME_INTERVAL`].
    async fn request_keyframe(&self, ssrc: Option<u32>) {
        if self.kind != RtpCodecKind::Video {
            return;
        }
        let Some(ssrc) = ssrc else {
            for ssrc in self.layers.ssrcs() {
                Box::pin(self.request_keyframe(Some(ssrc))).await;
            }
            return;
        };
        if self.keyframe_due(ssrc) {
            self.send_pli(ssrc).await;
        }
    }

    /// Whether a keyframe of layer `ssrc` may be asked for now (noted as
    /// asked if so).
    fn keyframe_due(&self, ssrc: u32) -> bool {
        let now = Instant::now();
        let mut last = self
            .last_keyframe_request
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if last
            .get(&ssrc)
            .is_some_and(|t| now.duration_since(*t) < KEYFRAME_INTERVAL)
        {
            return false;
        }
        last.insert(ssrc, now);
        true
    }

    /// Asks for a keyframe from the packet path (which never waits): when
    /// due, the request goes out on a task of its own.
    fn request_keyframe_soon(self: &Arc<Self>, ssrc: u32) {
        if self.kind == RtpCodecKind::Video && self.keyframe_due(ssrc) {
            let track = self.clone();
            tokio::spawn(async move { track.send_pli(ssrc).await });
        }
    }

    async fn send_pli(&self, ssrc: u32) {
        let pli = PictureLossIndication {
            sender_ssrc: 0,
            media_ssrc: ssrc,
        };
        if let Err(e) = self.remote.write_rtcp(vec![Box::new(pli)]).await {
            tracing::debug!(owner = %self.owner, error = %e, "keyframe request");
        }
    }
}

/// One published track in one peer's connection: its outlet on the track,
/// and the task that reads the subscriber's feedback.
struct Subscription {
    track: Arc<Published>,
    outlet: Arc<Outlet>,
    /// Its connection's budget (it counts among the videos sharing it).
    budget: Arc<Budget>,
    sender: Arc<dyn RtpSender>,
    relay: JoinHandle<()>,
}

impl Subscription {
    /// Takes its outlet off the track and stops its task; called once, when
    /// it leaves its connection.
    fn stop(&self) {
        {
            let mut outlets = self
                .track
                .outlets
                .write()
                .unwrap_or_else(|e| e.into_inner());
            let kept: Vec<Arc<Outlet>> = outlets
                .iter()
                .filter(|o| !Arc::ptr_eq(o, &self.outlet))
                .cloned()
                .collect();
            *outlets = Arc::new(kept);
        }
        self.relay.abort();
        if self.track.kind == RtpCodecKind::Video {
            self.budget.videos.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// The layer being sent, if any.
    fn layer(&self) -> Option<u32> {
        layer_of(&self.outlet.current)
    }
}

/// One subscriber's end of a published track: what the track's reader
/// needs to send them a packet. The reader never waits on a subscriber: a
/// packet their connection cannot take at once (its driver is 256 events
/// behind) is dropped for them alone, and a keyframe asked for.
struct Outlet {
    local: Arc<TrackLocalStaticRTP>,
    /// The SSRC and payload type on their leg.
    ssrc: u32,
    payload_type: u8,
    /// Their receiving connection is up (nothing can be sent before).
    connected: Arc<watch::Sender<bool>>,
    /// The tile height they show it at (picks the layer).
    want: AtomicU16,
    /// The layer being sent (0: none yet).
    current: AtomicU32,
    /// The highest layer rank their bandwidth allows (usize::MAX: any).
    cap: AtomicUsize,
    /// The audio-level extension's id on their leg (0: none, or not known yet).
    level_id: AtomicU8,
    /// The abs-send-time extension's id on their leg (0: none, or not known yet).
    send_time_id: AtomicU8,
    flow: std::sync::Mutex<Flow>,
}

/// What the reader keeps per subscriber between packets.
struct Flow {
    rewriter: Rewriter,
    /// A layer switched to lately is kept until then while it sends.
    hold_until: Instant,
    /// The last packet could not be handed over.
    dropping: bool,
}

impl Outlet {
    /// Sends `packet` of `track` (`key`: it starts a keyframe; `level`:
    /// its audio-level extension) on, unless it is of a layer this
    /// subscriber is not sent.
    fn send(
        &self,
        track: &Arc<Published>,
        packet: &rtp::Packet,
        key: bool,
        level: Option<&bytes::Bytes>,
    ) {
        if !*self.connected.borrow() {
            return;
        }
        let mut flow = self.flow.lock().unwrap_or_else(|e| e.into_inner());
        let layered = track.layers.len() > 1;
        let target = if !layered {
            packet.header.ssrc
        } else {
            // A fresh choice unless the layer switched to lately still sends.
            let held = flow
                .rewriter
                .current()
                .filter(|c| Instant::now() < flow.hold_until && track.layers.is_live(*c));
            let cap = Some(self.cap.load(Ordering::Relaxed)).filter(|c| *c != usize::MAX);
            held.or_else(|| track.layers.choose(self.want.load(Ordering::Relaxed), cap))
                .unwrap_or(packet.header.ssrc)
        };
        let mut header = unextended(&packet.header);
        if !flow.rewriter.admit(&mut header, target, key) {
            // The layer it should get: a keyframe switches to it.
            if packet.header.ssrc == target {
                track.request_keyframe_soon(target);
            }
            return;
        }
        if flow.rewriter.switched() {
            flow.hold_until = Instant::now() + simulcast::HOLD;
        }
        let mut out = rtp::Packet {
            header,
            payload: packet.payload.clone(),
        };
        if layered && self.payload_type == engine::VP8_PT {
            flow.rewriter.vp8(&mut out.payload);
        }
        self.current.store(packet.header.ssrc, Ordering::Relaxed);
        out.header.ssrc = self.ssrc;
        out.header.payload_type = self.payload_type;
        let leg_level = self.level_id.load(Ordering::Relaxed);
        if let (Some(level), true) = (level, leg_level != 0) {
            let _ = out.header.set_extension(leg_level, level.clone());
        }
        let send_time = self.send_time_id.load(Ordering::Relaxed);
        if send_time != 0 {
            let now = engine::abs_send_time(epoch().elapsed());
            let _ = out
                .header
                .set_extension(send_time, bytes::Bytes::copy_from_slice(&now));
        }
        match self.local.write_rtp(out).now_or_never() {
            Some(_) => flow.dropping = false,
            None => {
                if !flow.dropping {
                    tracing::debug!(owner = %track.owner, "a subscriber's connection fell behind");
                    track.request_keyframe_soon(packet.header.ssrc);
                }
                flow.dropping = true;
            }
        }
    }
}

/// The layer a subscription's `current` holds (0: none yet).
fn layer_of(current: &AtomicU32) -> Option<u32> {
    Some(current.load(Ordering::Relaxed)).filter(|s| *s != 0)
}

/// A copy of `header` to send on a subscriber's leg: the same numbers,
/// without the publisher's header extensions (their ids are negotiated per
/// leg; forwarded as they are, one leg's id can mean another extension on
/// the next). Allocates nothing (no CSRCs: the browsers send none).
pub fn unextended(header: &rtp::header::Header) -> rtp::header::Header {
    rtp::header::Header {
        version: 2,
        padding: header.padding,
        marker: header.marker,
        payload_type: header.payload_type,
        sequence_number: header.sequence_number,
        timestamp: header.timestamp,
        ssrc: header.ssrc,
        csrc: header.csrc.clone(),
        ..Default::default()
    }
}

/// The steady clock forwarded packets' send times count from.
fn epoch() -> Instant {
    static EPOCH: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// The stream id under which `owner`'s screen reaches the others.
pub fn screen_stream(owner: &str) -> String {
    format!("{owner}~screen")
}

/// The id negotiated for header extension `uri` (None: not negotiated).
fn extension_id(params: &RTCRtpParameters, uri: &str) -> Option<u8> {
    params
        .header_extensions
        .iter()
        .find(|e| e.uri == uri)
        .and_then(|e| u8::try_from(e.id).ok())
}

/// The id of extension `uri` as negotiated on a subscriber's leg.
async fn leg_extension(sender: &Arc<dyn RtpSender>, uri: &str) -> Option<u8> {
    extension_id(&sender.get_parameters().await.ok()?.rtp_parameters, uri)
}

/// Adds `track` to `peer`'s connection (the caller offers it) and starts
/// forwarding and relaying keyframe requests.
async fn subscribe(peer: &Arc<Peer>, track: &Arc<Published>) -> Result<(), Error> {
    let ssrc: u32 = rand::random();
    // One stream per publisher (their audio and video play in sync), and
    // one for their screen: the browser shows it as a tile of its own.
    let (stream, id) = if track.screen {
        (
            screen_stream(&track.owner),
            format!("{}-screen", track.owner),
        )
    } else {
        (
            track.owner.clone(),
            format!("{}-{}", track.owner, track.kind),
        )
    };
    let local = Arc::new(TrackLocalStaticRTP::new(MediaStreamTrack::new(
        stream,
        id.clone(),
        id,
        track.kind,
        vec![RTCRtpEncodingParameters {
            rtp_coding_parameters: RTCRtpCodingParameters {
                ssrc: Some(ssrc),
                ..Default::default()
            },
            codec: track.codec.clone(),
            ..Default::default()
        }],
    )));
    // A transceiver of its own: `add_track` would take the participant's
    // receive-only transceiver of the same kind (their camera's) and make it
    // send too.
    let transceiver = peer
        .sub
        .pc
        .add_transceiver_from_track(
            local.clone() as Arc<dyn TrackLocal>,
            Some(RTCRtpTransceiverInit {
                direction: RTCRtpTransceiverDirection::Sendonly,
                ..Default::default()
            }),
        )
        .await
        .map_err(webrtc)?;
    let sender = transceiver
        .sender()
        .await
        .map_err(webrtc)?
        .ok_or_else(|| Error::WebRtc("a send-only transceiver without a sender".into()))?;
    let outlet = Arc::new(Outlet {
        local: local.clone(),
        ssrc,
        payload_type: payload_type(&track.codec).unwrap_or_default(),
        connected: peer.connected.clone(),
        want: AtomicU16::new(DEFAULT_VIEW_HEIGHT),
        current: AtomicU32::new(0),
        cap: AtomicUsize::new(usize::MAX),
        level_id: AtomicU8::new(0),
        send_time_id: AtomicU8::new(0),
        flow: std::sync::Mutex::new(Flow {
            rewriter: Rewriter::default(),
            hold_until: Instant::now(),
            dropping: false,
        }),
    });
    let video = track.kind == RtpCodecKind::Video;
    if video {
        peer.budget.videos.fetch_add(1, Ordering::Relaxed);
    }
    let relay = {
        let (track, outlet, budget) = (track.clone(), outlet.clone(), peer.budget.clone());
        let bandwidth = peer.bandwidth;
        let mut estimates = budget.estimate.subscribe();
        let (peer, sender) = (peer.id.clone(), sender.clone());
        tokio::spawn(async move {
            // The ids of the extensions it writes on this leg, once it is up.
            let mut up = outlet.connected.subscribe();
            if up.wait_for(|c| *c).await.is_ok() {
                if track.level_id.is_some() {
                    let id = leg_extension(&sender, engine::AUDIO_LEVEL_URI).await;
                    outlet.level_id.store(id.unwrap_or(0), Ordering::Relaxed);
                }
                if video {
                    let id = leg_extension(&sender, engine::ABS_SEND_TIME_URI).await;
                    outlet
                        .send_time_id
                        .store(id.unwrap_or(0), Ordering::Relaxed);
                }
            }
            let mut fit = Fit::default();
            loop {
                tokio::select! {
                    event = local.poll() => {
                        let Some(event) = event else { break };
                        let TrackLocalEvent::OnRtcpPacket(packets) = event else { continue };
                        if packets.iter().any(|p| is_keyframe_request(p.as_ref())) {
                            track.request_keyframe(layer_of(&outlet.current)).await;
                        }
                        // The estimate is the connection's: every subscription hears it.
                        if let Some(bps) = packets.iter().find_map(|p| engine::remb(p.as_ref())) {
                            tracing::debug!(%peer, bps, "bandwidth estimate");
                            budget.estimate.send_replace(bps);
                        }
                    }
                    Ok(()) = estimates.changed(), if video && bandwidth => {
                        let estimate = *estimates.borrow_and_update();
                        let (Some(share), Some(layer)) = (budget.per_video(estimate), layer_of(&outlet.current)) else {
                            continue;
                        };
                        if track.layers.len() < 2 {
                            continue;
                        }
                        let Some((rank, bps)) = track.layers.rank_and_bps(layer) else { continue };
                        let before = fit.cap();
                        fit.estimate(Instant::now(), share, rank, bps, track.layers.top());
                        if fit.cap() != before {
                            tracing::debug!(%peer, owner = %track.owner, share, rank, bps, cap = ?fit.cap(), "layer cap");
                            outlet.cap.store(fit.cap().unwrap_or(usize::MAX), Ordering::Relaxed);
                        }
                    }
                }
            }
        })
    };
    {
        let mut outlets = track.outlets.write().unwrap_or_else(|e| e.into_inner());
        let mut more = outlets.as_ref().clone();
        more.push(outlet.clone());
        *outlets = Arc::new(more);
    }
    peer.subscriptions.lock().await.push(Subscription {
        track: track.clone(),
        outlet,
        budget: peer.budget.clone(),
        sender,
        relay,
    });
    Ok(())
}

/// A peer connection's events. Handlers run on the connection's driver:
/// anything slow is spawned.
struct Events {
    /// The connection these are the events of.
    leg: Leg,
    /// Set once the participant is in the room.
    room: std::sync::OnceLock<Weak<Room>>,
    /// Their connection, once in the room.
    me: std::sync::OnceLock<Weak<Peer>>,
    peer: String,
    signals: mpsc::UnboundedSender<Signal>,
    /// The peer's `connected` (receiving connection only).
    connected: Option<Arc<watch::Sender<bool>>>,
    /// The bound and the public address, when they differ.
    announce: Option<(IpAddr, IpAddr)>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Events {
    async fn on_ice_candidate(&self, event: RTCPeerConnectionIceEvent) {
        if let Ok(mut candidate) = event.candidate.to_json() {
            if let Some((bound, public)) = self.announce {
                candidate.candidate = announce(&candidate.candidate, bound, public);
            }
            let _ = self.signals.send(Signal::Candidate(self.leg, candidate));
        }
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        if let Some(connected) = &self.connected {
            connected.send_replace(state == RTCPeerConnectionState::Connected);
        }
        let Some(room) = self.room.get().and_then(Weak::upgrade) else {
            return;
        };
        let peer = self.peer.clone();
        match state {
            // A new subscriber needs a keyframe to show anything.
            RTCPeerConnectionState::Connected if self.leg == Leg::Subscribe => {
                tokio::spawn(async move { room.keyframes_for(&peer).await });
            }
            RTCPeerConnectionState::Failed => {
                let me = self.me.get().and_then(Weak::upgrade);
                tokio::spawn(async move { room.leave(&peer, me.as_ref()).await });
            }
            _ => {}
        }
    }

    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        let room = self.room.get().and_then(Weak::upgrade);
        let me = self.me.get().and_then(Weak::upgrade);
        if let (Some(room), Some(me)) = (room, me) {
            tokio::spawn(room.publish(me, track));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_forwarded_header_keeps_its_numbers_but_no_extensions() {
        let mut p = rtp::Packet::default();
        p.header.ssrc = 1;
        p.header.payload_type = 100;
        p.header.sequence_number = 7;
        p.header.timestamp = 9000;
        p.header.marker = true;
        p.header.extension = true;
        p.header.extension_profile = 0xBEDE;
        p.header.extensions.push(rtp::header::Extension {
            id: 3,
            payload: vec![1, 2].into(),
        });
        let out = unextended(&p.header);
        assert_eq!(
            (
                out.ssrc,
                out.payload_type,
                out.sequence_number,
                out.timestamp
            ),
            (1, 100, 7, 9000)
        );
        assert!(out.marker && out.version == 2);
        assert!(!out.extension && out.extensions.is_empty());
        assert_eq!(out.extension_profile, 0);
    }
}
