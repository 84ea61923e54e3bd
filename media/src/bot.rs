//! A participant played by the `webrtc` crate itself, for the SFU's tests and
//! the `media-load` tool: it answers the SFU's offers in order on each of its
//! connections (holding candidates that arrive before an offer), and when it
//! publishes, sends synthetic VP8 (100 packets/s) and Opus (50 packets/s)
//! once its publishing connection is up, in one layer (it leaves out the
//! offer's request for simulcast, unless it plays a simulcast camera), and
//! a screen while it shares one. Each packet ends with the time it was
//! sent, so a receiver measures forwarding delay; a bot counts what it
//! receives and the keyframe requests that reach its camera.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex as StdMutex};
use std::time::{Duration, Instant};

use rtc::media_stream::MediaStreamTrack;
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtcp::payload_feedbacks::receiver_estimated_maximum_bitrate::ReceiverEstimatedMaximumBitrate;
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
use crate::{Error, Leg, Participant, Seat, Sfu, Signal};
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
    /// Its camera answers the SFU's request for simulcast and sends
    /// [`LAYERS`] (VP8 only), each with a keyframe every quarter second.
    pub simulcast: bool,
    /// Real pictures and sound to send, in a loop, instead of made-up
    /// bytes (for tests that decode what arrives).
    pub real: Option<&'static RealMedia>,
}

/// Real VP8 frames and Opus packets, made by `ffmpeg` from its test
/// pattern and a tone, which a bot sends at their rate.
pub struct RealMedia {
    /// The frames, the first a keyframe.
    pub frames: Vec<bytes::Bytes>,
    /// Frames per second.
    pub fps: u32,
    /// Opus packets of 20 ms.
    pub sounds: Vec<bytes::Bytes>,
}

impl std::fmt::Debug for RealMedia {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RealMedia")
            .field("frames", &self.frames.len())
            .field("fps", &self.fps)
            .field("sounds", &self.sounds.len())
            .finish()
    }
}

impl RealMedia {
    /// `seconds` of a 320x240 test pattern at 20 fps (a keyframe each
    /// second) and a 440 Hz tone, encoded in `dir`.
    pub async fn make(
        dir: &std::path::Path,
        seconds: u32,
    ) -> Result<RealMedia, crate::assets::Error> {
        Self::make_of(dir, seconds, "testsrc2").await
    }

    /// As [`RealMedia::make`], the picture made by `ffmpeg`'s lavfi source
    /// `picture` (`testsrc2`, `color=c=blue`…), which names its files in
    /// `dir`.
    pub async fn make_of(
        dir: &std::path::Path,
        seconds: u32,
        picture: &str,
    ) -> Result<RealMedia, crate::assets::Error> {
        std::fs::create_dir_all(dir)?;
        let name: String = picture
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        let (ivf, ogg) = (
            dir.join(format!("bot-{name}.ivf")),
            dir.join(format!("bot-{name}.ogg")),
        );
        let sep = if picture.contains('=') { ':' } else { '=' };
        // Options, then the output file (a path may hold spaces).
        let ffmpeg = |options: String, out: &std::path::Path| {
            let mut args: Vec<String> = options.split_whitespace().map(str::to_owned).collect();
            args.push(out.display().to_string());
            crate::assets::run("ffmpeg", args)
        };
        ffmpeg(
            format!(
                "-nostdin -v error -y -f lavfi -i {picture}{sep}s=320x240:r=20:d={seconds} -c:v libvpx \
                 -deadline realtime -cpu-used 8 -g 20 -keyint_min 20 -b:v 400k -auto-alt-ref 0 -f ivf"
            ),
            &ivf,
        )
        .await?;
        ffmpeg(
            format!(
                "-nostdin -v error -y -f lavfi -i sine=f=440:r=48000:d={seconds} -ac 2 -c:a libopus \
                 -b:a 48k -frame_duration 20 -page_duration 20000"
            ),
            &ogg,
        )
        .await?;
        let bad = |e: rtc::shared::error::Error| {
            crate::assets::Error::Io(std::io::Error::other(e.to_string()))
        };
        let (mut reader, header) = rtc::media::io::ivf_reader::IVFReader::new(
            std::io::BufReader::new(std::fs::File::open(&ivf)?),
        )
        .map_err(bad)?;
        let mut frames = Vec::new();
        while let Ok((frame, _)) = reader.parse_next_frame() {
            frames.push(frame.freeze());
        }
        let (mut reader, _) = rtc::media::io::ogg_reader::OggReader::new(
            std::io::BufReader::new(std::fs::File::open(&ogg)?),
            true,
        )
        .map_err(bad)?;
        let mut sounds = Vec::new();
        while let Ok((page, _)) = reader.parse_next_page() {
            if !page.starts_with(b"OpusTags") && !page.is_empty() {
                sounds.push(page.freeze());
            }
        }
        let fps = (header.timebase_denominator / header.timebase_numerator.max(1)).clamp(1, 60);
        Ok(RealMedia {
            frames,
            fps,
            sounds,
        })
    }
}

/// The layers of a simulcast bot camera: rid, frame width and height, and
/// bytes per packet (100 packets/s each: about 240 and 720 kbit/s).
pub const LAYERS: [(&str, u16, u16, usize); 2] = [("q", 320, 180, 300), ("h", 640, 360, 900)];

impl Default for Load {
    fn default() -> Self {
        Load {
            video_bytes: 600,
            audio_bytes: 80,
            h264: false,
            loudness: None,
            simulcast: false,
            real: None,
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
    /// Packets this bot sent; a simulcast camera's tick (a packet of each
    /// layer) counts once, as a subscriber receives one of its layers.
    pub sent: AtomicUsize,
    /// Keyframe requests that reached this bot's camera track.
    pub keyframe_requests: AtomicUsize,
    /// Offers answered on the receiving connection.
    pub offers: AtomicUsize,
    /// The connection it sends on is up (a viewer: the one it receives on).
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
    /// The frame height of the last VP8 keyframe received (0: none yet):
    /// which simulcast layer arrives.
    pub key_height: std::sync::atomic::AtomicU16,
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
    leg: Leg,
    /// Whether this connection's state is `seen.connected`.
    marks_connected: bool,
    candidates: tokio::sync::mpsc::UnboundedSender<(Leg, RTCIceCandidateInit)>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for BotEvents {
    async fn on_ice_candidate(&self, event: RTCPeerConnectionIceEvent) {
        if let Ok(c) = event.candidate.to_json() {
            let _ = self.candidates.send((self.leg, c));
        }
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        if self.marks_connected {
            self.seen
                .connected
                .store(state == RTCPeerConnectionState::Connected, Ordering::SeqCst);
        }
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
                    if let Some((_, height)) = crate::simulcast::vp8_keyframe(&p.payload) {
                        seen.key_height.store(height, Ordering::Relaxed);
                    }
                    if let Some(stamp) = p
                        .payload
                        .len()
                        .checked_sub(8)
                        .and_then(|at| p.payload.get(at..))
                    {
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
    /// Its receiving connection, and its publishing one.
    pcs: Vec<Arc<dyn PeerConnection>>,
    /// Whether its screen sends.
    screen: Arc<AtomicBool>,
}

/// A track of the bot's; with `rids`, one encoding per simulcast layer.
fn local_track(
    kind: RtpCodecKind,
    h264: bool,
    name: &str,
    rids: &[&str],
) -> Arc<TrackLocalStaticRTP> {
    let codec = match kind {
        RtpCodecKind::Video if h264 => engine::h264(),
        RtpCodecKind::Video => engine::vp8(),
        _ => engine::opus(),
    };
    let rids: Vec<&str> = if rids.is_empty() {
        vec![""]
    } else {
        rids.to_vec()
    };
    let encodings = rids
        .iter()
        .map(|rid| RTCRtpEncodingParameters {
            rtp_coding_parameters: RTCRtpCodingParameters {
                rid: (*rid).to_owned(),
                ssrc: Some(rand::random()),
                ..Default::default()
            },
            codec: codec.clone(),
            ..Default::default()
        })
        .collect();
    Arc::new(TrackLocalStaticRTP::new(MediaStreamTrack::new(
        "bot".into(),
        format!("bot-{name}"),
        format!("bot-{name}"),
        kind,
        encodings,
    )))
}

/// The mid of the section of `sdp` that asks for simulcast layers.
fn simulcast_mid(sdp: &str) -> Option<String> {
    sdp.split("\nm=")
        .find(|section| section.contains("a=simulcast:"))?
        .lines()
        .find_map(|l| l.trim_end().strip_prefix("a=mid:").map(str::to_owned))
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
        let seat = if load.is_some() {
            Seat::Publisher
        } else {
            Seat::Viewer
        };
        Bot::take_seat(sfu, room, id, seat, load).await
    }

    /// Joins `room` of `sfu` as `id` in a stage's audience: it receives
    /// only the publishers on air.
    pub async fn join_audience(sfu: &Arc<Sfu>, room: &str, id: &str) -> Result<Bot, Error> {
        Bot::take_seat(sfu, room, id, Seat::Audience, None).await
    }

    async fn take_seat(
        sfu: &Arc<Sfu>,
        room: &str,
        id: &str,
        seat: Seat,
        load: Option<Load>,
    ) -> Result<Bot, Error> {
        let (participant, mut signals) = sfu.join(room, id, seat).await?;
        let participant = Arc::new(participant);
        let seen = Arc::new(Seen::default());
        let (candidates, mut outbound) = tokio::sync::mpsc::unbounded_channel();
        let connection = |leg: Leg| {
            let events = Arc::new(BotEvents {
                seen: seen.clone(),
                leg,
                marks_connected: (leg == Leg::Publish) == load.is_some(),
                candidates: candidates.clone(),
            });
            engine::peer_connection(([127, 0, 0, 1], 0).into(), events)
        };
        let sub = connection(Leg::Subscribe).await.map_err(Error::WebRtc)?;
        let publ = match load {
            Some(_) => Some(connection(Leg::Publish).await.map_err(Error::WebRtc)?),
            None => None,
        };
        let screen = Arc::new(AtomicBool::new(false));
        {
            let participant = participant.clone();
            tokio::spawn(async move {
                while let Some((leg, c)) = outbound.recv().await {
                    let _ = participant.candidate(leg, c).await;
                }
            });
        }
        {
            let (sub, publ) = (sub.clone(), publ.clone());
            let (participant, seen, screen) = (participant.clone(), seen.clone(), screen.clone());
            tokio::spawn(async move {
                // Per leg (receiving, publishing): candidates held until its
                // first offer is applied, and whether it was.
                let mut waiting: [Vec<RTCIceCandidateInit>; 2] = Default::default();
                let mut described = [false; 2];
                let index = |leg: Leg| usize::from(leg == Leg::Publish);
                while let Some(signal) = signals.recv().await {
                    match signal {
                        Signal::Offer(leg, sdp) => {
                            let pc = match (leg, &publ) {
                                (Leg::Publish, Some(p)) => p.clone(),
                                (Leg::Publish, None) => break,
                                (Leg::Subscribe, _) => sub.clone(),
                            };
                            // A publisher without simulcast: the offer's
                            // request for layers is left out.
                            let layered = leg == Leg::Publish && load.is_some_and(|l| l.simulcast);
                            let mid = simulcast_mid(&sdp);
                            let sdp: String = sdp
                                .split_inclusive('\n')
                                .filter(|l| {
                                    layered
                                        || (!l.starts_with("a=rid:")
                                            && !l.starts_with("a=simulcast:"))
                                })
                                .collect();
                            let Ok(offer) = RTCSessionDescription::offer(sdp) else {
                                break;
                            };
                            if pc.set_remote_description(offer).await.is_err() {
                                break;
                            }
                            if let (Some(load), Leg::Publish) = (load, leg) {
                                // Microphone, camera and screen go on the
                                // offer's three transceivers in this order;
                                // the screen sends only while shared.
                                for (kind, name) in [
                                    (RtpCodecKind::Audio, "audio"),
                                    (RtpCodecKind::Video, "video"),
                                    (RtpCodecKind::Video, "screen"),
                                ] {
                                    let rids: Vec<&str> = match (name, layered) {
                                        ("video", true) => LAYERS.iter().map(|l| l.0).collect(),
                                        _ => Vec::new(),
                                    };
                                    let track = local_track(kind, load.h264, name, &rids);
                                    if pc
                                        .add_track(track.clone() as Arc<dyn TrackLocal>)
                                        .await
                                        .is_ok()
                                    {
                                        let gate = (name == "screen").then(|| screen.clone());
                                        let mid = (!rids.is_empty()).then(|| mid.clone()).flatten();
                                        send(track, kind, load, seen.clone(), gate, mid);
                                    }
                                }
                            }
                            let Ok(answer) = pc.create_answer(None).await else {
                                break;
                            };
                            let sdp = answer.sdp.clone();
                            if pc.set_local_description(answer).await.is_err()
                                || participant.answer(leg, sdp).await.is_err()
                            {
                                break;
                            }
                            if leg == Leg::Subscribe {
                                seen.offers.fetch_add(1, Ordering::SeqCst);
                            }
                            described[index(leg)] = true;
                            for c in waiting[index(leg)].drain(..) {
                                let _ = pc.add_ice_candidate(c).await;
                            }
                        }
                        Signal::Candidate(leg, c) if described[index(leg)] => {
                            let pc = match leg {
                                Leg::Publish => publ.clone(),
                                Leg::Subscribe => Some(sub.clone()),
                            };
                            if let Some(pc) = pc {
                                let _ = pc.add_ice_candidate(c).await;
                            }
                        }
                        Signal::Candidate(leg, c) => waiting[index(leg)].push(c),
                        Signal::Speaker(who) => lock(&seen.speakers).push(who),
                    }
                }
            });
        }
        Ok(Bot {
            seen,
            participant,
            pcs: std::iter::once(sub).chain(publ).collect(),
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

    /// Says what its connection takes (REMB, bits/s) about the video it
    /// receives, as a browser estimating on the receiving side does. False
    /// while it receives no video.
    pub async fn estimate(&self, bps: u64) -> bool {
        self.feedback(|media_ssrc| {
            Box::new(ReceiverEstimatedMaximumBitrate {
                sender_ssrc: 0,
                bitrate: bps as f32,
                ssrcs: vec![media_ssrc],
            })
        })
        .await
    }

    /// Asks for a keyframe of the video it receives, as a browser that cannot
    /// decode would. False while it receives no video.
    pub async fn request_keyframe(&self) -> bool {
        self.feedback(|media_ssrc| {
            Box::new(PictureLossIndication {
                sender_ssrc: 0,
                media_ssrc,
            })
        })
        .await
    }

    /// Sends the RTCP packet `make` gives for the SSRC of the video it
    /// receives. False while it receives no video.
    async fn feedback(&self, make: impl FnOnce(u32) -> Box<dyn rtc::rtcp::Packet>) -> bool {
        let Some(video) = self.seen.remote_video.lock().await.clone() else {
            return false;
        };
        let Some(media_ssrc) = video.ssrcs().await.first().copied() else {
            return false;
        };
        video.write_rtcp(vec![make(media_ssrc)]).await.is_ok()
    }

    /// Leaves the room and closes its connections.
    pub async fn leave(&self) {
        self.participant.leave().await;
        for pc in &self.pcs {
            let _ = pc.close().await;
        }
    }
}

/// What a bot's track sends each tick, per stream: its SSRC, the header
/// extensions it carries, its payload size, and its frame size (a
/// simulcast layer).
type Stream = (u32, Vec<HeaderExtension>, usize, Option<(u16, u16)>);

/// An SDES header extension's value (a mid or a rid), as the bot writes it.
struct Sdes(bytes::Bytes);

impl rtc::shared::marshal::MarshalSize for Sdes {
    fn marshal_size(&self) -> usize {
        self.0.len()
    }
}

impl rtc::shared::marshal::Marshal for Sdes {
    fn marshal_to(&self, buf: &mut [u8]) -> rtc::shared::error::Result<usize> {
        let n = self.0.len();
        buf.get_mut(..n)
            .ok_or(rtc::shared::error::Error::BufferTooShort)?
            .copy_from_slice(&self.0);
        Ok(n)
    }
}

/// The mid and rid extensions that tell the SFU which layer a packet is of.
fn layer_extensions(mid: &str, rid: &str) -> Vec<HeaderExtension> {
    [
        ("urn:ietf:params:rtp-hdrext:sdes:mid", mid),
        ("urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id", rid),
    ]
    .into_iter()
    .map(|(uri, value)| HeaderExtension::Custom {
        uri: uri.into(),
        extension: Box::new(Sdes(bytes::Bytes::copy_from_slice(value.as_bytes()))),
    })
    .collect()
}

/// Sends `real`'s frames (VP8, split into packets of at most 1100 bytes) or
/// sounds on `track` at their rate once connected, from the first (a
/// keyframe); each packet's RTP timestamp is the time since it started, so
/// a receiver times it as it was sent.
async fn send_real(
    track: Arc<TrackLocalStaticRTP>,
    kind: RtpCodecKind,
    real: &'static RealMedia,
    loudness: Option<u8>,
    seen: Arc<Seen>,
    gate: Option<Arc<AtomicBool>>,
) {
    let Some(ssrc) = track.ssrcs().await.first().copied() else {
        return;
    };
    // The sound's audio-level extension, when the load says how loud.
    let level = match (kind, loudness) {
        (RtpCodecKind::Audio, Some(l)) => vec![HeaderExtension::AudioLevel(AudioLevelExtension {
            level: 127 - l.min(127),
            voice: l > 0,
        })],
        _ => Vec::new(),
    };
    let video = kind == RtpCodecKind::Video;
    let (pt, rate, every) = if video {
        (
            VP8_PT,
            90_000u64,
            Duration::from_millis(1000 / u64::from(real.fps)),
        )
    } else {
        (OPUS_PT, 48_000u64, Duration::from_millis(20))
    };
    let items = if video { &real.frames } else { &real.sounds };
    if items.is_empty() {
        return;
    }
    let mut tick = tokio::time::interval(every);
    let (mut seq, mut i) = (0u16, 0usize);
    let mut began: Option<Instant> = None;
    loop {
        tick.tick().await;
        let open = gate.as_ref().is_none_or(|g| g.load(Ordering::SeqCst));
        if !seen.connected.load(Ordering::SeqCst) || !open {
            continue;
        }
        let began = *began.get_or_insert_with(Instant::now);
        let ts = (began.elapsed().as_micros() as u64 * rate / 1_000_000) as u32;
        let item = &items[i % items.len()];
        i += 1;
        let chunks: Vec<&[u8]> = if video {
            item.chunks(1100).collect()
        } else {
            vec![&item[..]]
        };
        let last = chunks.len() - 1;
        for (k, chunk) in chunks.into_iter().enumerate() {
            let mut payload = Vec::with_capacity(chunk.len() + 1);
            if video {
                // VP8 payload descriptor: the start bit on a frame's first packet.
                payload.push(if k == 0 { 0x10 } else { 0x00 });
            }
            payload.extend_from_slice(chunk);
            let mut p = rtp::Packet::default();
            p.header.version = 2;
            p.header.payload_type = pt;
            p.header.ssrc = ssrc;
            p.header.sequence_number = seq;
            p.header.timestamp = ts;
            p.header.marker = video && k == last;
            p.payload = payload.into();
            seq = seq.wrapping_add(1);
            let written = if level.is_empty() {
                track.write_rtp(p).await
            } else {
                track.write_rtp_with_extensions(p, &level).await
            };
            if written.is_err() {
                return;
            }
            seen.sent.fetch_add(1, Ordering::SeqCst);
        }
    }
}

/// A VP8 payload `bytes` long (descriptor with the start bit, then a frame
/// header): a keyframe of `width` x `height`, or an interframe.
fn vp8_payload(bytes: usize, key: Option<(u16, u16)>) -> Vec<u8> {
    let mut p = vec![0u8; bytes.max(20)];
    p[0] = 0x10;
    match key {
        Some((w, h)) => {
            p[4..7].copy_from_slice(&[0x9d, 0x01, 0x2a]);
            p[7..9].copy_from_slice(&w.to_le_bytes());
            p[9..11].copy_from_slice(&h.to_le_bytes());
        }
        None => p[1] = 0x01,
    }
    p
}

/// Sends packets on `track` once connected (and while `gate`, if any, is
/// set), each ending with the time it left, and counts the keyframe
/// requests that reach it. With `mid`, the track is a simulcast camera:
/// each tick sends a packet of every layer of [`LAYERS`], marked with the
/// mid and its rid.
fn send(
    track: Arc<TrackLocalStaticRTP>,
    kind: RtpCodecKind,
    load: Load,
    seen: Arc<Seen>,
    gate: Option<Arc<AtomicBool>>,
    mid: Option<String>,
) {
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
    if let Some(real) = load.real {
        tokio::spawn(send_real(track, kind, real, load.loudness, seen, gate));
        drop(requests);
        return;
    }
    tokio::spawn(async move {
        let ssrcs = track.ssrcs().await;
        let video_pt = if load.h264 { H264_PT } else { VP8_PT };
        let (pt, step, every) = match kind {
            RtpCodecKind::Video => (video_pt, 900u32, Duration::from_millis(10)),
            _ => (OPUS_PT, 960u32, Duration::from_millis(20)),
        };
        let streams: Vec<Stream> = match &mid {
            Some(mid) => LAYERS
                .iter()
                .zip(&ssrcs)
                .map(|((rid, w, h, bytes), ssrc)| {
                    (*ssrc, layer_extensions(mid, rid), *bytes, Some((*w, *h)))
                })
                .collect(),
            None => {
                let Some(ssrc) = ssrcs.first().copied() else {
                    return;
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
                let bytes = match kind {
                    RtpCodecKind::Video => load.video_bytes,
                    _ => load.audio_bytes,
                };
                vec![(ssrc, level, bytes, None)]
            }
        };
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let (mut seq, mut ts) = (0u16, 0u32);
        loop {
            tick.tick().await;
            let open = gate.as_ref().is_none_or(|g| g.load(Ordering::SeqCst));
            if !seen.connected.load(Ordering::SeqCst) || !open {
                continue;
            }
            for (layer, (ssrc, extensions, bytes, frame)) in streams.iter().enumerate() {
                let mut payload = match frame {
                    // A keyframe every quarter second.
                    Some(size) => vp8_payload(*bytes, (seq % 25 == 0).then_some(*size)),
                    None => vec![0u8; (*bytes).max(8)],
                };
                let at = payload.len() - 8;
                payload[at..].copy_from_slice(&clock().to_be_bytes());
                let mut p = rtp::Packet::default();
                p.header.version = 2;
                p.header.payload_type = pt;
                p.header.ssrc = *ssrc;
                p.header.sequence_number = seq;
                p.header.timestamp = ts;
                p.header.marker = true;
                p.payload = payload.into();
                let written = if extensions.is_empty() {
                    track.write_rtp(p).await
                } else {
                    track.write_rtp_with_extensions(p, extensions).await
                };
                match written {
                    Ok(()) if layer == 0 => {
                        seen.sent.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(()) => {}
                    Err(_) if !seen.connected.load(Ordering::SeqCst) => {
                        requests.abort();
                        return;
                    }
                    Err(_) => {}
                }
            }
            (seq, ts) = (seq.wrapping_add(1), ts.wrapping_add(step));
        }
    });
}
