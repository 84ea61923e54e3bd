//! Rooms, their participants and the forwarding between them (the model is
//! in the crate docs).
//!
//! Locks, always taken in this order: a room's state, then a peer's
//! negotiation or subscriptions. A track published while someone joins is
//! never missed: `join` subscribes to the room's tracks and adds the peer in
//! one critical section, and `publish` adds the track and lists the peers in
//! another, so each sees the other.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use rtc::media_stream::MediaStreamTrack;
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtp;
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodec, RTCRtpCodingParameters, RTCRtpEncodingParameters, RtpCodecKind,
};
use rtc::rtp_transceiver::{RTCRtpTransceiverDirection, RTCRtpTransceiverInit};
use tokio::sync::{broadcast, mpsc, watch, Mutex};
use tokio::task::JoinHandle;
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_local::{TrackLocal, TrackLocalEvent};
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};
use webrtc::peer_connection::{
    PeerConnection, PeerConnectionEventHandler, RTCIceCandidateInit, RTCPeerConnectionIceEvent,
    RTCPeerConnectionState, RTCSessionDescription,
};
use webrtc::rtp_transceiver::RtpSender;

use crate::engine::{self, is_keyframe_request, payload_type};

/// At most one keyframe request per published track in this interval
/// (Chromium asks often while it cannot decode; one keyframe serves all).
pub const KEYFRAME_INTERVAL: Duration = Duration::from_millis(500);

/// Packets a slow subscriber may fall behind before it skips ahead (and asks
/// for a keyframe to recover).
const FORWARD_BUFFER: usize = 1024;

/// What the server tells a participant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signal {
    /// An offer to answer: the server always offers.
    Offer(String),
    /// One of the server's ICE candidates, trickled after its first offer
    /// (it may arrive before the offer: hold it until the offer is applied).
    Candidate(RTCIceCandidateInit),
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
    /// The runtime the SFU's connections and forwarding run on (None: the
    /// caller's). A load tool gives it one of its own, to tell its CPU apart.
    pub runtime: Option<tokio::runtime::Handle>,
}

/// The SFU: rooms by name.
pub struct Sfu {
    config: Config,
    rooms: std::sync::Mutex<HashMap<String, Arc<Room>>>,
}

impl Sfu {
    /// An SFU with no rooms.
    pub fn new(config: Config) -> Arc<Sfu> {
        Arc::new(Sfu {
            config,
            rooms: std::sync::Mutex::new(HashMap::new()),
        })
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
        });
        rooms.insert(name.to_owned(), room.clone());
        room
    }

    fn lock_rooms(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Room>>> {
        // A panic elsewhere never leaves the map half-changed: every change is one call.
        self.rooms.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Puts `participant` in `room` (made on first use). With `publish`, the
    /// first offer has room for their microphone and camera. The receiver
    /// carries the offers and candidates to pass to their browser. Someone
    /// who is in the room already (another tab, a rejoin to go on screen) is
    /// replaced: their earlier connection closes.
    pub async fn join(
        self: &Arc<Self>,
        room: &str,
        participant: &str,
        publish: bool,
    ) -> Result<(Participant, mpsc::UnboundedReceiver<Signal>), Error> {
        let (sfu, room, participant) = (self.clone(), room.to_owned(), participant.to_owned());
        match self.config.runtime.clone() {
            Some(runtime) => runtime
                .spawn(async move { sfu.join_here(&room, &participant, publish).await })
                .await
                .map_err(webrtc)?,
            None => sfu.join_here(&room, &participant, publish).await,
        }
    }

    async fn join_here(
        self: &Arc<Self>,
        room: &str,
        participant: &str,
        publish: bool,
    ) -> Result<(Participant, mpsc::UnboundedReceiver<Signal>), Error> {
        let name = room;
        let (signals, rx) = mpsc::unbounded_channel();
        let (connected, _) = watch::channel(false);
        let connected = Arc::new(connected);
        let handler = Arc::new(Events {
            room: std::sync::OnceLock::new(),
            me: std::sync::OnceLock::new(),
            peer: participant.to_owned(),
            signals: signals.clone(),
            connected: connected.clone(),
        });
        let events = handler.clone();
        let me = handler.clone();
        let pc = engine::peer_connection(self.config.ip, handler)
            .await
            .map_err(Error::WebRtc)?;
        if publish {
            for kind in [RtpCodecKind::Audio, RtpCodecKind::Video] {
                pc.add_transceiver_from_kind(
                    kind,
                    Some(RTCRtpTransceiverInit {
                        direction: RTCRtpTransceiverDirection::Recvonly,
                        ..Default::default()
                    }),
                )
                .await
                .map_err(webrtc)?;
            }
        }
        let peer = Arc::new(Peer {
            id: participant.to_owned(),
            pc,
            signals,
            connected,
            negotiation: Mutex::new(Negotiation::default()),
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
            for track in state.tracks.iter().filter(|t| t.owner != participant) {
                subscribe(&peer, track).await?;
            }
            state.peers.insert(participant.to_owned(), peer.clone());
            drop(state);
            break room;
        };
        let _ = events.room.set(Arc::downgrade(&room));
        let _ = me.me.set(Arc::downgrade(&peer));
        negotiate(&peer).await?;
        tracing::info!(room = %room.name, participant, publish, "joined");
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

    /// Applies their browser's answer to the offer sent last; offers what
    /// changed meanwhile.
    pub async fn answer(&self, sdp: String) -> Result<(), Error> {
        let desc =
            RTCSessionDescription::answer(sdp).map_err(|e| Error::BadSignal(e.to_string()))?;
        let again = {
            let mut n = self.peer.negotiation.lock().await;
            if !n.awaiting_answer {
                return Err(Error::NoOfferPending);
            }
            self.peer
                .pc
                .set_remote_description(desc)
                .await
                .map_err(|e| Error::BadSignal(e.to_string()))?;
            n.awaiting_answer = false;
            std::mem::take(&mut n.again)
        };
        if again {
            negotiate(&self.peer).await?;
        }
        Ok(())
    }

    /// Adds one of their browser's ICE candidates.
    pub async fn candidate(&self, candidate: RTCIceCandidateInit) -> Result<(), Error> {
        self.peer
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
}

struct Room {
    name: String,
    sfu: Weak<Sfu>,
    /// Set with `state.closed`, readable without the async lock.
    closing: std::sync::atomic::AtomicBool,
    state: Mutex<RoomState>,
}

#[derive(Default)]
struct RoomState {
    peers: HashMap<String, Arc<Peer>>,
    tracks: Vec<Arc<Published>>,
    /// The last participant left: nobody joins this room any more (a joiner
    /// gets a fresh one under the same name).
    closed: bool,
}

impl Room {
    /// Adds a track a participant started sending, and gives it to everyone else.
    async fn publish(self: Arc<Self>, owner: String, remote: Arc<dyn TrackRemote>) {
        let Some(ssrc) = remote.ssrcs().await.first().copied() else {
            return;
        };
        let Some(codec) = remote.codec(ssrc).await else {
            return;
        };
        if payload_type(&codec).is_none() {
            tracing::warn!(room = %self.name, %owner, mime = %codec.mime_type, "codec not forwarded");
            return;
        }
        let (packets, _) = broadcast::channel(FORWARD_BUFFER);
        let track = Arc::new(Published {
            owner: owner.clone(),
            kind: remote.kind().await,
            codec,
            packets: packets.clone(),
            remote: remote.clone(),
            media_ssrc: ssrc,
            last_keyframe_request: std::sync::Mutex::new(None),
        });
        let reader = {
            let (room, track) = (Arc::downgrade(&self), track.clone());
            tokio::spawn(async move {
                while let Some(event) = remote.poll().await {
                    if let TrackRemoteEvent::OnRtpPacket(packet) = event {
                        // No subscriber yet is not an error.
                        let _ = packets.send(packet);
                    }
                }
                if let Some(room) = room.upgrade() {
                    room.unpublish(&track).await;
                }
            })
        };
        let others: Vec<Arc<Peer>> = {
            let mut state = self.state.lock().await;
            if !state.peers.contains_key(&owner) {
                reader.abort();
                return;
            }
            state.tracks.push(track.clone());
            state
                .peers
                .values()
                .filter(|p| p.id != owner)
                .cloned()
                .collect()
        };
        tracing::info!(room = %self.name, %owner, kind = %track.kind, "published");
        for peer in others {
            match subscribe(&peer, &track).await {
                Ok(()) => {
                    if let Err(e) = negotiate(&peer).await {
                        tracing::warn!(peer = %peer.id, error = %e, "renegotiation failed");
                    }
                }
                Err(e) => tracing::warn!(peer = %peer.id, error = %e, "subscription failed"),
            }
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
            state.peers.values().cloned().collect()
        };
        for peer in peers {
            let gone: Vec<Subscription> = {
                let mut subs = peer.subscriptions.lock().await;
                let (gone, kept) = std::mem::take(&mut *subs)
                    .into_iter()
                    .partition(|s| Arc::ptr_eq(&s.track, track));
                *subs = kept;
                gone
            };
            if gone.is_empty() {
                continue;
            }
            for s in gone {
                s.stop();
                if let Err(e) = peer.pc.remove_track(&s.sender).await {
                    tracing::debug!(peer = %peer.id, error = %e, "remove_track");
                }
            }
            if let Err(e) = negotiate(&peer).await {
                tracing::debug!(peer = %peer.id, error = %e, "renegotiation after a track left");
            }
        }
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
        let _ = peer.pc.close().await;
        for track in theirs {
            self.unpublish(&track).await;
        }
        tracing::info!(room = %self.name, participant = id, "left");
        let empty = {
            let mut state = self.state.lock().await;
            state.closed = state.peers.is_empty();
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
            let tracks: Vec<Arc<Published>> = peer
                .subscriptions
                .lock()
                .await
                .iter()
                .map(|s| s.track.clone())
                .collect();
            for t in tracks {
                t.request_keyframe().await;
            }
        }
    }
}

/// A participant's connection.
struct Peer {
    id: String,
    pc: Arc<dyn PeerConnection>,
    signals: mpsc::UnboundedSender<Signal>,
    connected: Arc<watch::Sender<bool>>,
    negotiation: Mutex<Negotiation>,
    subscriptions: Mutex<Vec<Subscription>>,
}

/// Where the offer/answer exchange of a connection stands.
#[derive(Default)]
struct Negotiation {
    /// An offer went out and its answer has not come back.
    awaiting_answer: bool,
    /// Something changed meanwhile: offer again after the answer.
    again: bool,
}

/// Offers `peer` its connection as it now is, or (while an offer waits for
/// its answer) notes that it must be offered again.
async fn negotiate(peer: &Arc<Peer>) -> Result<(), Error> {
    let mut n = peer.negotiation.lock().await;
    if n.awaiting_answer {
        n.again = true;
        return Ok(());
    }
    // A viewer in an empty room: nothing to offer until a track comes.
    if peer.pc.get_transceivers().await.is_empty() {
        return Ok(());
    }
    let offer = peer.pc.create_offer(None).await.map_err(webrtc)?;
    let sdp = offer.sdp.clone();
    peer.pc.set_local_description(offer).await.map_err(webrtc)?;
    n.awaiting_answer = true;
    // A closed receiver means the participant is going: nothing to tell.
    let _ = peer.signals.send(Signal::Offer(sdp));
    Ok(())
}

/// A track someone publishes, fanned out to the room.
struct Published {
    owner: String,
    kind: RtpCodecKind,
    codec: RTCRtpCodec,
    packets: broadcast::Sender<rtp::Packet>,
    remote: Arc<dyn TrackRemote>,
    media_ssrc: u32,
    last_keyframe_request: std::sync::Mutex<Option<Instant>>,
}

impl Published {
    /// Asks the publisher for a keyframe, at most once per [`KEYFRAME_INTERVAL`].
    async fn request_keyframe(&self) {
        if self.kind != RtpCodecKind::Video {
            return;
        }
        let now = Instant::now();
        {
            let mut last = self
                .last_keyframe_request
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            if last.is_some_and(|t| now.duration_since(t) < KEYFRAME_INTERVAL) {
                return;
            }
            *last = Some(now);
        }
        let pli = PictureLossIndication {
            sender_ssrc: 0,
            media_ssrc: self.media_ssrc,
        };
        if let Err(e) = self.remote.write_rtcp(vec![Box::new(pli)]).await {
            tracing::debug!(owner = %self.owner, error = %e, "keyframe request");
        }
    }
}

/// One published track in one peer's connection, and its two tasks.
struct Subscription {
    track: Arc<Published>,
    sender: Arc<dyn RtpSender>,
    forward: JoinHandle<()>,
    relay: JoinHandle<()>,
}

impl Subscription {
    fn stop(&self) {
        self.forward.abort();
        self.relay.abort();
    }
}

/// Prepares `packet` for a subscriber's leg: its SSRC and payload type, and
/// no header extensions (their ids are negotiated per leg; forwarded as they
/// are, one leg's id can mean another extension on the next).
pub fn for_leg(packet: &mut rtp::Packet, ssrc: u32, payload_type: u8) {
    packet.header.ssrc = ssrc;
    packet.header.payload_type = payload_type;
    packet.header.extension = false;
    packet.header.extensions.clear();
    packet.header.extension_profile = 0;
}

/// Adds `track` to `peer`'s connection (the caller offers it) and starts
/// forwarding and relaying keyframe requests.
async fn subscribe(peer: &Arc<Peer>, track: &Arc<Published>) -> Result<(), Error> {
    let ssrc: u32 = rand::random();
    let id = format!("{}-{}", track.owner, track.kind);
    let local = Arc::new(TrackLocalStaticRTP::new(MediaStreamTrack::new(
        // One stream per publisher: their audio and video play in sync.
        track.owner.clone(),
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
    let pt = payload_type(&track.codec).unwrap_or_default();
    let forward = {
        let (mut rx, connected) = (track.packets.subscribe(), peer.connected.subscribe());
        let (local, track) = (local.clone(), track.clone());
        tokio::spawn(async move {
            loop {
                match rx.recv().await {
                    Ok(mut packet) => {
                        // Before DTLS is up nothing can be sent.
                        if !*connected.borrow() {
                            continue;
                        }
                        for_leg(&mut packet, ssrc, pt);
                        if local.write_rtp(packet).await.is_err() && !*connected.borrow() {
                            break;
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        tracing::debug!(skipped = n, "subscriber fell behind");
                        track.request_keyframe().await;
                    }
                    Err(broadcast::error::RecvError::Closed) => break,
                }
            }
        })
    };
    let relay = {
        let track = track.clone();
        tokio::spawn(async move {
            while let Some(event) = local.poll().await {
                if let TrackLocalEvent::OnRtcpPacket(packets) = event {
                    if packets.iter().any(|p| is_keyframe_request(p.as_ref())) {
                        track.request_keyframe().await;
                    }
                }
            }
        })
    };
    peer.subscriptions.lock().await.push(Subscription {
        track: track.clone(),
        sender,
        forward,
        relay,
    });
    Ok(())
}

/// A peer connection's events. Handlers run on the connection's driver:
/// anything slow is spawned.
struct Events {
    /// Set once the participant is in the room.
    room: std::sync::OnceLock<Weak<Room>>,
    /// Their connection, once in the room.
    me: std::sync::OnceLock<Weak<Peer>>,
    peer: String,
    signals: mpsc::UnboundedSender<Signal>,
    connected: Arc<watch::Sender<bool>>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Events {
    async fn on_ice_candidate(&self, event: RTCPeerConnectionIceEvent) {
        if let Ok(candidate) = event.candidate.to_json() {
            let _ = self.signals.send(Signal::Candidate(candidate));
        }
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        let up = state == RTCPeerConnectionState::Connected;
        self.connected.send_replace(up);
        let Some(room) = self.room.get().and_then(Weak::upgrade) else {
            return;
        };
        let peer = self.peer.clone();
        match state {
            // A new subscriber needs a keyframe to show anything.
            RTCPeerConnectionState::Connected => {
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
        if let Some(room) = self.room.get().and_then(Weak::upgrade) {
            tokio::spawn(room.publish(self.peer.clone(), track));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_forwarded_packet_carries_the_leg_s_ssrc_and_type_and_no_extensions() {
        let mut p = rtp::Packet::default();
        p.header.ssrc = 1;
        p.header.payload_type = 100;
        p.header.extension = true;
        p.header.extension_profile = 0xBEDE;
        p.header.extensions.push(rtp::header::Extension {
            id: 3,
            payload: vec![1, 2].into(),
        });
        for_leg(&mut p, 42, 96);
        assert_eq!((p.header.ssrc, p.header.payload_type), (42, 96));
        assert!(!p.header.extension && p.header.extensions.is_empty());
        assert_eq!(p.header.extension_profile, 0);
    }
}
