//! The SFU with bot peers (the `webrtc` crate as the client, on loopback):
//! forwarding, a late subscriber's keyframe, keyframe relay, renegotiation as
//! tracks come and go, and refusals.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use media::engine::{self, OPUS_PT, VP8_PT};
use media::{Config, Error, Participant, Sfu, Signal};
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
    PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler, RTCConfigurationBuilder,
    RTCIceCandidateInit, RTCPeerConnectionIceEvent, RTCPeerConnectionState, RTCSessionDescription,
};

/// What a bot saw.
#[derive(Default)]
struct Seen {
    video: AtomicUsize,
    audio: AtomicUsize,
    /// Keyframe requests that reached the bot's own camera track.
    keyframe_requests: AtomicUsize,
    offers: AtomicUsize,
    connected: AtomicBool,
    /// The video track the bot receives (to send PLIs on).
    remote_video: Mutex<Option<Arc<dyn TrackRemote>>>,
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
            if kind == RtpCodecKind::Video {
                *seen.remote_video.lock().await = Some(track.clone());
            }
            while let Some(event) = track.poll().await {
                if let TrackRemoteEvent::OnRtpPacket(_) = event {
                    match kind {
                        RtpCodecKind::Video => seen.video.fetch_add(1, Ordering::SeqCst),
                        _ => seen.audio.fetch_add(1, Ordering::SeqCst),
                    };
                }
            }
        });
    }
}

/// A participant played by the `webrtc` crate: answers the SFU's offers and,
/// when publishing, sends synthetic VP8 and Opus packets at a realistic rate.
struct Bot {
    seen: Arc<Seen>,
    participant: Arc<Participant>,
    pc: Arc<dyn PeerConnection>,
}

fn local_track(kind: RtpCodecKind) -> Arc<TrackLocalStaticRTP> {
    let codec = match kind {
        RtpCodecKind::Video => engine::vp8(),
        _ => engine::opus(),
    };
    Arc::new(TrackLocalStaticRTP::new(MediaStreamTrack::new(
        "bot".into(),
        format!("bot-{kind}"),
        format!("bot-{kind}"),
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
    async fn join(sfu: &Arc<Sfu>, room: &str, id: &str, publish: bool) -> Bot {
        let (participant, mut signals) = sfu.join(room, id, publish).await.expect("join");
        let participant = Arc::new(participant);
        let seen = Arc::new(Seen::default());
        let (candidates, mut outbound) = tokio::sync::mpsc::unbounded_channel();
        let (media, registry) = engine::media().unwrap();
        let pc: Arc<dyn PeerConnection> = Arc::new(
            PeerConnectionBuilder::new()
                .with_configuration(RTCConfigurationBuilder::new().build())
                .with_media_engine(media)
                .with_interceptor_registry(registry)
                .with_setting_engine(engine::settings())
                .with_handler(Arc::new(BotEvents {
                    seen: seen.clone(),
                    candidates,
                }) as Arc<dyn PeerConnectionEventHandler>)
                .with_udp_addrs(vec!["127.0.0.1:0".to_string()])
                .build()
                .await
                .unwrap(),
        );
        // The bot's candidates go to the SFU.
        {
            let participant = participant.clone();
            tokio::spawn(async move {
                while let Some(c) = outbound.recv().await {
                    let _ = participant.candidate(c).await;
                }
            });
        }
        // The SFU's offers and candidates, in order; candidates that come
        // before the first offer wait for it.
        {
            let (pc, participant, seen) = (pc.clone(), participant.clone(), seen.clone());
            tokio::spawn(async move {
                let mut waiting: Vec<RTCIceCandidateInit> = Vec::new();
                let mut described = false;
                while let Some(signal) = signals.recv().await {
                    match signal {
                        Signal::Offer(sdp) => {
                            pc.set_remote_description(RTCSessionDescription::offer(sdp).unwrap())
                                .await
                                .unwrap();
                            if publish && !described {
                                for kind in [RtpCodecKind::Audio, RtpCodecKind::Video] {
                                    let track = local_track(kind);
                                    pc.add_track(track.clone() as Arc<dyn TrackLocal>)
                                        .await
                                        .unwrap();
                                    send(track, kind, seen.clone());
                                }
                            }
                            let answer = pc.create_answer(None).await.unwrap();
                            let sdp = answer.sdp.clone();
                            pc.set_local_description(answer).await.unwrap();
                            participant.answer(sdp).await.expect("answer");
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
                    }
                }
            });
        }
        Bot {
            seen,
            participant,
            pc,
        }
    }

    fn count(&self, what: fn(&Seen) -> &AtomicUsize) -> usize {
        what(&self.seen).load(Ordering::SeqCst)
    }

    async fn leave(&self) {
        self.participant.leave().await;
        let _ = self.pc.close().await;
    }
}

/// Sends synthetic packets on `track` once connected (VP8 at 100 packets/s,
/// Opus at 50), and counts the keyframe requests that reach it.
fn send(track: Arc<TrackLocalStaticRTP>, kind: RtpCodecKind, seen: Arc<Seen>) {
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
        let ssrc = track.ssrcs().await[0];
        let (pt, step, every) = match kind {
            RtpCodecKind::Video => (VP8_PT, 900u32, Duration::from_millis(10)),
            _ => (OPUS_PT, 960u32, Duration::from_millis(20)),
        };
        let mut tick = tokio::time::interval(every);
        let (mut seq, mut ts) = (0u16, 0u32);
        loop {
            tick.tick().await;
            if !seen.connected.load(Ordering::SeqCst) {
                continue;
            }
            let mut p = rtp::Packet::default();
            p.header.version = 2;
            p.header.payload_type = pt;
            p.header.ssrc = ssrc;
            p.header.sequence_number = seq;
            p.header.timestamp = ts;
            p.header.marker = true;
            p.payload = vec![0x10, 0x00, 0x9d, 0x01, 0x2a, 0, 0, 0, 0].into();
            (seq, ts) = (seq.wrapping_add(1), ts.wrapping_add(step));
            if track.write_rtp(p).await.is_err() && !seen.connected.load(Ordering::SeqCst) {
                break;
            }
        }
        requests.abort();
    });
}

/// Waits until `cond` holds (fails after 15 s).
async fn eventually(what: &str, cond: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while !cond() {
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn sfu() -> Arc<Sfu> {
    Sfu::new(Config {
        ip: "127.0.0.1".parse().unwrap(),
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_viewer_gets_audio_video_and_a_keyframe_and_its_requests_are_relayed() {
    let sfu = sfu();
    let ada = Bot::join(&sfu, "session", "ada", true).await;
    eventually("ada connected", || {
        ada.seen.connected.load(Ordering::SeqCst)
    })
    .await;
    let bo = Bot::join(&sfu, "session", "bo", false).await;
    eventually("bo receives video and audio", || {
        bo.count(|s| &s.video) > 50 && bo.count(|s| &s.audio) > 20
    })
    .await;
    assert_eq!(sfu.tracks_in("session").await, 2);
    // Bo connecting asked Ada's camera for a keyframe.
    eventually("a keyframe for the new viewer", || {
        ada.count(|s| &s.keyframe_requests) >= 1
    })
    .await;
    // Bo's own request reaches Ada (after the throttle interval).
    let before = ada.count(|s| &s.keyframe_requests);
    tokio::time::sleep(media::sfu::KEYFRAME_INTERVAL).await;
    let video = bo
        .seen
        .remote_video
        .lock()
        .await
        .clone()
        .expect("a video track");
    let media_ssrc = video.ssrcs().await[0];
    video
        .write_rtcp(vec![Box::new(PictureLossIndication {
            sender_ssrc: 0,
            media_ssrc,
        })])
        .await
        .unwrap();
    eventually("bo's keyframe request relayed", || {
        ada.count(|s| &s.keyframe_requests) > before
    })
    .await;
    bo.leave().await;
    ada.leave().await;
    assert_eq!(sfu.rooms(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tracks_come_and_go_with_their_publisher() {
    let sfu = sfu();
    // A viewer alone gets no offer: there is nothing to receive yet.
    let bo = Bot::join(&sfu, "room", "bo", false).await;
    let ada = Bot::join(&sfu, "room", "ada", true).await;
    eventually("bo offered ada's tracks", || bo.count(|s| &s.offers) >= 1).await;
    eventually("bo receives ada", || bo.count(|s| &s.video) > 20).await;
    // A second publisher arrives: offered again, both forwarded.
    let offers = bo.count(|s| &s.offers);
    let cy = Bot::join(&sfu, "room", "cy", true).await;
    eventually("cy receives ada", || cy.count(|s| &s.video) > 20).await;
    eventually("ada receives cy", || ada.count(|s| &s.video) > 20).await;
    eventually("bo offered cy's tracks", || {
        bo.count(|s| &s.offers) > offers
    })
    .await;
    assert_eq!(sfu.tracks_in("room").await, 4);
    // Ada leaves: her tracks leave the room and the others are offered again.
    let offers = bo.count(|s| &s.offers);
    ada.leave().await;
    assert_eq!(sfu.tracks_in("room").await, 2);
    eventually("bo offered without ada", || {
        bo.count(|s| &s.offers) > offers
    })
    .await;
    let video = bo.count(|s| &s.video);
    eventually("bo still receives cy", || {
        bo.count(|s| &s.video) > video + 20
    })
    .await;
    cy.leave().await;
    bo.leave().await;
    assert_eq!(sfu.rooms(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_signalling_is_refused_and_disturbs_nobody() {
    let sfu = sfu();
    let ada = Bot::join(&sfu, "room", "ada", true).await;
    eventually("ada connected", || {
        ada.seen.connected.load(Ordering::SeqCst)
    })
    .await;
    // The same participant twice.
    assert!(matches!(
        sfu.join("room", "ada", true).await,
        Err(Error::AlreadyJoined)
    ));
    // An answer nobody asked for, and one that is not SDP.
    let (eve, _signals) = sfu.join("room", "eve", false).await.unwrap();
    let err = eve.answer("v=0".into()).await.expect_err("refused");
    assert!(
        matches!(err, Error::NoOfferPending | Error::BadSignal(_)),
        "{err}"
    );
    let err = ada
        .participant
        .answer("not sdp".into())
        .await
        .expect_err("refused");
    assert!(
        matches!(err, Error::NoOfferPending | Error::BadSignal(_)),
        "{err}"
    );
    // Ada's media still flows to a viewer.
    let bo = Bot::join(&sfu, "room", "bo", false).await;
    eventually("bo receives ada", || bo.count(|s| &s.video) > 20).await;
    eve.leave().await;
    bo.leave().await;
    ada.leave().await;
}
