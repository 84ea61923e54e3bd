//! A participant played by the `webrtc` crate itself, for the SFU's tests and
//! the `media-load` tool: it answers the SFU's offers in order (holding
//! candidates that arrive before an offer), and when it publishes, sends
//! synthetic VP8 (100 packets/s) and Opus (50 packets/s) once connected, in
//! one layer (it leaves out the offer's request for simulcast). Each
//! packet carries the time it was sent, so a receiver measures forwarding
//! delay; a bot counts what it receives and the keyframe requests that reach
//! its camera.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex as StdMutex};
use std::time::{Duration, Instant};

use rtc::media_stream::MediaStreamTrack;
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtp;
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodingParameters, RTCRtpEncodingParameters, RtpCodecKind,
};
use tokio::sync::Mutex;
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_local::{TrackLocal, TrackLocalEvent};
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};
use webrtc::media_stream::Track;
use webrtc::peer_connection::{
    PeerConnection, PeerConnectionEventHandler, RTCIceCandidateInit, RTCPeerConnectionIceEvent,
    RTCPeerConnectionState, RTCSessionDescription,
};

use crate::engine::{self, H264_PT, OPUS_PT, VP8_PT};
use crate::{Error, Participant, Sfu, Signal};
use rtc::rtp::extension::audio_level_extension::AudioLevelExtension;
use rtc::rtp::extension::HeaderExtension;

/// What a bot sends.
#[derive(Debug, Clone, Copy)]
pub struct Load {
    /// Bytes of each video packet (a 500 kbit/s camera sends about 600).
    pub video_bytes: usize,
    /// Bytes of each audio packet.
    pub audio_bytes: usize,
    /// Its camera sends H.264 (else VP8).
    pub h264: bool,
    /// How loud its microphone says it is (0 silence ..127), in each audio
    /// packet's audio-level extension (None: no extension).
    pub loudness: Option<u8>,
}

impl Default for Load {
    fn default() -> Self {
        Load {
            video_bytes: 600,
            audio_bytes: 80,
            h264: false,
            loudness: None,
        }
    }
}

/// What a bot saw.
#[derive(Default)]
pub struct Seen {
    /// Video packets received.
    pub video: AtomicUsize,
    /// Audio packets received.
    pub audio: AtomicUsize,
    /// Packets this bot sent.
    pub sent: AtomicUsize,
    /// Keyframe requests that reached this bot's camera track.
    pub keyframe_requests: AtomicUsize,
    /// Offers answered.
    pub offers: AtomicUsize,
    /// The connection is up.
    pub connected: AtomicBool,
    /// Forwarding delays of received packets, in microseconds (up to 100 000 kept).
    pub delays_us: StdMutex<Vec<u32>>,
    /// Sum of the delays, in microseconds.
    pub delay_sum_us: AtomicU64,
    /// The first video track received (to send keyframe requests on).
    pub remote_video: Mutex<Option<Arc<dyn TrackRemote>>>,
    /// The codec (MIME type) of each video track received.
    pub video_codecs: StdMutex<Vec<String>>,
    /// The stream of each track received (a publisher, or their screen).
    pub streams: StdMutex<Vec<String>>,
    /// Every active-speaker change the SFU announced.
    pub speakers: StdMutex<Vec<Option<String>>>,
    /// Audio packets received with an audio-level extension.
    pub audio_levels: AtomicUsize,
}

impl Seen {
    /// A count (`|s| &s.video`, ...).
    pub fn count(&self, what: fn(&Seen) -> &AtomicUsize) -> usize {
        what(self).load(Ordering::SeqCst)
    }
}

/// The process-wide clock packets carry (nanoseconds since it started).
fn clock() -> u64 {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

struct BotEvents {
    seen: Arc<Seen>,
    candidates: tokio::sync::mpsc::UnboundedSender<RTCIceCandidateInit>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for BotEvents {
    async fn on_ice_candidate(&self, event: RTCPeerConnectionIceEvent) {
        if let Ok(c) = event.candidate.to_json() {
            let _ = self.candidates.send(c);
        }
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        self.seen
            .connected
            .store(state == RTCPeerConnectionState::Connected, Ordering::SeqCst);
    }

    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        let seen = self.seen.clone();
        tokio::spawn(async move {
            let kind = track.kind().await;
            let stream = track.stream_id().await;
            lock(&seen.streams).push(stream);
            if kind == RtpCodecKind::Video {
                seen.remote_video.lock().await.get_or_insert(track.clone());
                if let Some(ssrc) = track.ssrcs().await.first() {
                    if let Some(codec) = track.codec(*ssrc).await {
                        lock(&seen.video_codecs).push(codec.mime_type);
                    }
                }
            }
            while let Some(event) = track.poll().await {
                if let TrackRemoteEvent::OnRtpPacket(p) = event {
                    match kind {
                        RtpCodecKind::Video => seen.video.fetch_add(1, Ordering::Relaxed),
                        _ => seen.audio.fetch_add(1, Ordering::Relaxed),
                    };
                    if kind == RtpCodecKind::Audio && p.header.extension {
                        seen.audio_levels.fetch_add(1, Ordering::Relaxed);
                    }
                    if let Some(stamp) = p.payload.get(..8) {
                        let sent = u64::from_be_bytes(stamp.try_into().unwrap_or_default());
                        let us = (clock().saturating_sub(sent) / 1_000) as u32;
                        seen.delay_sum_us
                            .fetch_add(u64::from(us), Ordering::Relaxed);
                        let mut d = seen.delays_us.lock().unwrap_or_else(|e| e.into_inner());
                        if d.len() < 100_000 {
                            d.push(us);
                        }
                    }
                }
            }
        });
    }
}

fn lock<T>(m: &StdMutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A bot in a room.
pub struct Bot {
    /// What it saw.
    pub seen: Arc<Seen>,
    /// Its side of the SFU (for refusals and leaving).
    pub participant: Arc<Participant>,
    pc: Arc<dyn PeerConnection>,
    /// Set to share a screen at the next offer.
    screen: Arc<AtomicBool>,
}

fn local_track(kind: RtpCodecKind, h264: bool, name: &str) -> Arc<TrackLocalStaticRTP> {
    let codec = match kind {
        RtpCodecKind::Video if h264 => engine::h264(),
        RtpCodecKind::Video => engine::vp8(),
        _ => engine::opus(),
    };
    Arc::new(TrackLocalStaticRTP::new(MediaStreamTrack::new(
        "bot".into(),
        format!("bot-{name}"),
        format!("bot-{name}"),
        kind,
        vec![RTCRtpEncodingParameters {
            rtp_coding_parameters: RTCRtpCodingParameters {
                ssrc: Some(rand::random()),
                ..Default::default()
            },
            codec,
            ..Default::default()
        }],
    )))
}

impl Bot {
    /// Joins `room` of `sfu` as `id`; with `load`, publishes a camera and a
    /// microphone sending it.
    pub async fn join(
        sfu: &Arc<Sfu>,
        room: &str,
        id: &str,
        load: Option<Load>,
    ) -> Result<Bot, Error> {
        let (participant, mut signals) = sfu.join(room, id, load.is_some()).await?;
        let participant = Arc::new(participant);
        let seen = Arc::new(Seen::default());
        let (candidates, mut outbound) = tokio::sync::mpsc::unbounded_channel();
        let events = Arc::new(BotEvents {
            seen: seen.clone(),
            candidates,
        });
        let pc = engine::peer_connection(([127, 0, 0, 1], 0).into(), events)
            .await
            .map_err(Error::WebRtc)?;
        let screen = Arc::new(AtomicBool::new(false));
        {
            let participant = participant.clone();
            tokio::spawn(async move {
                while let Some(c) = outbound.recv().await {
                    let _ = participant.candidate(c).await;
                }
            });
        }
        {
            let (pc, participant, seen) = (pc.clone(), participant.clone(), seen.clone());
            let screen = screen.clone();
            tokio::spawn(async move {
                let mut waiting: Vec<RTCIceCandidateInit> = Vec::new();
                let mut described = false;
                let mut sharing = false;
                while let Some(signal) = signals.recv().await {
                    match signal {
                        Signal::Offer(sdp) => {
                            // A publisher without simulcast: the offer's
                            // request for layers is left out.
                            let sdp: String = sdp
                                .split_inclusive('\n')
                                .filter(|l| {
                                    !l.starts_with("a=rid:") && !l.starts_with("a=simulcast:")
                                })
                                .collect();
                            let Ok(offer) = RTCSessionDescription::offer(sdp) else {
                                break;
                            };
                            if pc.set_remote_description(offer).await.is_err() {
                                break;
                            }
                            if let (Some(load), false) = (load, described) {
                                for kind in [RtpCodecKind::Audio, RtpCodecKind::Video] {
                                    let track = local_track(kind, load.h264, &kind.to_string());
                                    if pc
                                        .add_track(track.clone() as Arc<dyn TrackLocal>)
                                        .await
                                        .is_ok()
                                    {
                                        send(track, kind, load, seen.clone());
                                    }
                                }
                            }
                            if let (Some(load), false, true) =
                                (load, sharing, screen.load(Ordering::SeqCst))
                            {
                                // The second video track goes on the third
                                // transceiver: the screen's.
                                let track = local_track(RtpCodecKind::Video, load.h264, "screen");
                                if pc
                                    .add_track(track.clone() as Arc<dyn TrackLocal>)
                                    .await
                                    .is_ok()
                                {
                                    send(track, RtpCodecKind::Video, load, seen.clone());
                                    sharing = true;
                                }
                            }
                            let Ok(answer) = pc.create_answer(None).await else {
                                break;
                            };
                            let sdp = answer.sdp.clone();
                            if pc.set_local_description(answer).await.is_err()
                                || participant.answer(sdp).await.is_err()
                            {
                                break;
                            }
                            seen.offers.fetch_add(1, Ordering::SeqCst);
                            described = true;
                            for c in waiting.drain(..) {
                                let _ = pc.add_ice_candidate(c).await;
                            }
                        }
                        Signal::Candidate(c) if described => {
                            let _ = pc.add_ice_candidate(c).await;
                        }
                        Signal::Candidate(c) => waiting.push(c),
                        Signal::Speaker(who) => lock(&seen.speakers).push(who),
                    }
                }
            });
        }
        Ok(Bot {
            seen,
            participant,
            pc,
            screen,
        })
    }

    /// Shares a screen (a second synthetic video track), or pauses sharing it.
    pub async fn share_screen(&self, on: bool) -> Result<(), Error> {
        self.screen.store(on, Ordering::SeqCst);
        self.participant.share_screen(on).await
    }

    /// A count of what it saw (`|s| &s.video`, ...).
    pub fn count(&self, what: fn(&Seen) -> &AtomicUsize) -> usize {
        self.seen.count(what)
    }

    /// Asks for a keyframe of the video it receives, as a browser that cannot
    /// decode would. False while it receives no video.
    pub async fn request_keyframe(&self) -> bool {
        let Some(video) = self.seen.remote_video.lock().await.clone() else {
            return false;
        };
        let Some(media_ssrc) = video.ssrcs().await.first().copied() else {
            return false;
        };
        let pli = PictureLossIndication {
            sender_ssrc: 0,
            media_ssrc,
        };
        video.write_rtcp(vec![Box::new(pli)]).await.is_ok()
    }

    /// Leaves the room and closes its connection.
    pub async fn leave(&self) {
        self.participant.leave().await;
        let _ = self.pc.close().await;
    }
}

/// Sends packets on `track` once connected, each stamped with the time it
/// left, and counts the keyframe requests that reach it.
fn send(track: Arc<TrackLocalStaticRTP>, kind: RtpCodecKind, load: Load, seen: Arc<Seen>) {
    let requests = {
        let (track, seen) = (track.clone(), seen.clone());
        tokio::spawn(async move {
            while let Some(event) = track.poll().await {
                if let TrackLocalEvent::OnRtcpPacket(packets) = event {
                    let n = packets
                        .iter()
                        .filter(|p| engine::is_keyframe_request(p.as_ref()))
                        .count();
                    seen.keyframe_requests.fetch_add(n, Ordering::SeqCst);
                }
            }
        })
    };
    tokio::spawn(async move {
        let Some(ssrc) = track.ssrcs().await.first().copied() else {
            return;
        };
        let video_pt = if load.h264 { H264_PT } else { VP8_PT };
        let (pt, step, every, bytes) = match kind {
            RtpCodecKind::Video => (
                video_pt,
                900u32,
                Duration::from_millis(10),
                load.video_bytes,
            ),
            _ => (OPUS_PT, 960u32, Duration::from_millis(20), load.audio_bytes),
        };
        let level = match (kind, load.loudness) {
            (RtpCodecKind::Audio, Some(l)) => {
                vec![HeaderExtension::AudioLevel(AudioLevelExtension {
                    level: 127 - l.min(127),
                    voice: l > 0,
                })]
            }
            _ => Vec::new(),
        };
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let (mut seq, mut ts) = (0u16, 0u32);
        loop {
            tick.tick().await;
            if !seen.connected.load(Ordering::SeqCst) {
                continue;
            }
            let mut payload = vec![0u8; bytes.max(8)];
            payload[..8].copy_from_slice(&clock().to_be_bytes());
            let mut p = rtp::Packet::default();
            p.header.version = 2;
            p.header.payload_type = pt;
            p.header.ssrc = ssrc;
            p.header.sequence_number = seq;
            p.header.timestamp = ts;
            p.header.marker = true;
            p.payload = payload.into();
            (seq, ts) = (seq.wrapping_add(1), ts.wrapping_add(step));
            let written = if level.is_empty() {
                track.write_rtp(p).await
            } else {
                track.write_rtp_with_extensions(p, &level).await
            };
            match written {
                Ok(()) => {
                    seen.sent.fetch_add(1, Ordering::Relaxed);
                }
                Err(_) if !seen.connected.load(Ordering::SeqCst) => break,
                Err(_) => {}
            }
        }
        requests.abort();
    });
}
