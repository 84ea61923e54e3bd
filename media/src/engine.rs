//! What every peer connection of the SFU is built with: the codecs it
//! forwards (Opus, VP8 and H.264 at fixed payload types, so both legs of a
//! forward agree), the audio-level header extension (active speaker) and
//! abs-send-time (what receivers estimate bandwidth from), the
//! default interceptors (NACK, RTCP reports, TWCC) plus one that hands
//! keyframe requests and bandwidth estimates to the application, and
//! settings for a server (no
//! mDNS, an optional port range and announced address).

use rtc::interceptor::{Attribute, Interceptor, Packet, Slot, StreamInfo, TaggedPacket};
use rtc::peer_connection::configuration::interceptor_registry::{
    register_default_interceptors, Registry,
};
use rtc::peer_connection::configuration::media_engine::{
    MediaEngine, MIME_TYPE_H264, MIME_TYPE_OPUS, MIME_TYPE_VP8,
};
use rtc::peer_connection::configuration::setting_engine::{SettingEngine, SettingEngineBuilder};
use rtc::rtcp::payload_feedbacks::full_intra_request::FullIntraRequest;
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtcp::payload_feedbacks::receiver_estimated_maximum_bitrate::ReceiverEstimatedMaximumBitrate;
use rtc::rtp_transceiver::rtp_sender::{
    RTCPFeedback, RTCRtpCodec, RTCRtpCodecParameters, RTCRtpHeaderExtensionCapability, RtpCodecKind,
};
use rtc::sansio::Protocol;
use std::collections::VecDeque;
use std::time::Instant;

/// Payload type of VP8 on every leg.
pub const VP8_PT: u8 = 96;
/// Payload type of Opus on every leg.
pub const OPUS_PT: u8 = 111;
/// Payload type of H.264 on every leg.
pub const H264_PT: u8 = 102;

/// The audio-level header extension (RFC 6464): each audio packet says how
/// loud it is, which is all the SFU needs to tell who speaks.
pub const AUDIO_LEVEL_URI: &str = "urn:ietf:params:rtp-hdrext:ssrc-audio-level";

/// The absolute-send-time header extension: each video packet the SFU
/// forwards says when it left. A browser estimating its bandwidth on the
/// receiving side (REMB) needs it: without it, Chromium falls back to
/// reading RTP timestamps, which on a forwarded stream say when the
/// publisher captured a frame, not when the SFU sent it, and its estimate
/// sinks far below what flows.
pub const ABS_SEND_TIME_URI: &str = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time";

/// `elapsed` on any steady clock as the abs-send-time extension carries
/// it: 6.18 fixed-point seconds, wrapping every 64 s (receivers use only
/// differences).
pub fn abs_send_time(elapsed: std::time::Duration) -> [u8; 3] {
    let ticks = (elapsed.as_nanos() << 18) / 1_000_000_000;
    let t = (ticks & 0xFF_FFFF) as u32;
    [(t >> 16) as u8, (t >> 8) as u8, t as u8]
}

fn feedback(typ: &str, parameter: &str) -> RTCPFeedback {
    RTCPFeedback {
        typ: typ.to_owned(),
        parameter: parameter.to_owned(),
    }
}

/// The video feedback the SFU relies on: NACK (retransmission from the
/// sender's buffer), PLI and FIR (keyframes), REMB.
fn video_feedback() -> Vec<RTCPFeedback> {
    vec![
        feedback("goog-remb", ""),
        feedback("ccm", "fir"),
        feedback("nack", ""),
        feedback("nack", "pli"),
    ]
}

/// VP8, the codec every browser sends and decodes (offered first).
pub fn vp8() -> RTCRtpCodec {
    RTCRtpCodec {
        mime_type: MIME_TYPE_VP8.to_owned(),
        clock_rate: 90_000,
        channels: 0,
        sdp_fmtp_line: String::new(),
        rtcp_feedback: video_feedback(),
    }
}

/// H.264 constrained baseline, packetization mode 1: what Safari and
/// hardware encoders prefer, and every browser decodes.
pub fn h264() -> RTCRtpCodec {
    RTCRtpCodec {
        mime_type: MIME_TYPE_H264.to_owned(),
        clock_rate: 90_000,
        channels: 0,
        sdp_fmtp_line: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"
            .to_owned(),
        rtcp_feedback: video_feedback(),
    }
}

/// Opus, stereo-capable, with in-band FEC.
pub fn opus() -> RTCRtpCodec {
    RTCRtpCodec {
        mime_type: MIME_TYPE_OPUS.to_owned(),
        clock_rate: 48_000,
        channels: 2,
        sdp_fmtp_line: "minptime=10;useinbandfec=1".to_owned(),
        rtcp_feedback: vec![],
    }
}

/// The payload type the SFU uses for `codec` (None: a codec it does not forward).
pub fn payload_type(codec: &RTCRtpCodec) -> Option<u8> {
    if codec.mime_type.eq_ignore_ascii_case(MIME_TYPE_VP8) {
        Some(VP8_PT)
    } else if codec.mime_type.eq_ignore_ascii_case(MIME_TYPE_H264) {
        Some(H264_PT)
    } else if codec.mime_type.eq_ignore_ascii_case(MIME_TYPE_OPUS) {
        Some(OPUS_PT)
    } else {
        None
    }
}

/// A peer connection's codecs and interceptor chain.
pub fn media() -> Result<(MediaEngine, Registry), rtc::shared::error::Error> {
    let mut engine = MediaEngine::default();
    engine.register_codec(
        RTCRtpCodecParameters {
            rtp_codec: opus(),
            payload_type: OPUS_PT,
        },
        RtpCodecKind::Audio,
    )?;
    for (rtp_codec, payload_type) in [(vp8(), VP8_PT), (h264(), H264_PT)] {
        engine.register_codec(
            RTCRtpCodecParameters {
                rtp_codec,
                payload_type,
            },
            RtpCodecKind::Video,
        )?;
    }
    engine.register_header_extension(
        RTCRtpHeaderExtensionCapability {
            uri: AUDIO_LEVEL_URI.to_owned(),
        },
        RtpCodecKind::Audio,
        None,
    )?;
    engine.register_header_extension(
        RTCRtpHeaderExtensionCapability {
            uri: ABS_SEND_TIME_URI.to_owned(),
        },
        RtpCodecKind::Video,
        None,
    )?;
    let registry = register_default_interceptors(Registry::new(), &mut engine)?
        // After the default chain has acted on inbound RTCP (NACKs answered,
        // reports read): keyframe requests and estimates go on to the application.
        .with(Slot::from(14_000), Feedback::default());
    Ok((engine, registry))
}

/// A peer connection with the SFU's codecs, chain and settings, bound to
/// one UDP port at `addr` (port 0: any; servers and bots alike).
pub async fn peer_connection(
    addr: std::net::SocketAddr,
    handler: std::sync::Arc<dyn webrtc::peer_connection::PeerConnectionEventHandler>,
) -> Result<std::sync::Arc<dyn webrtc::peer_connection::PeerConnection>, String> {
    use webrtc::peer_connection::{PeerConnectionBuilder, RTCConfigurationBuilder};
    let (media, registry) = media().map_err(|e| e.to_string())?;
    let pc = PeerConnectionBuilder::new()
        .with_configuration(RTCConfigurationBuilder::new().build())
        .with_media_engine(media)
        .with_interceptor_registry(registry)
        .with_setting_engine(settings())
        .with_handler(handler)
        .with_udp_addrs(vec![addr.to_string()])
        .build()
        .await
        .map_err(|e| e.to_string())?;
    Ok(std::sync::Arc::new(pc))
}

/// Settings of a server's peer connection: it never needs mDNS.
pub fn settings() -> SettingEngine {
    SettingEngineBuilder::new()
        .with_multicast_dns_mode(rtc::ice::mdns::MulticastDnsMode::Disabled)
        .build()
}

/// Whether an RTCP packet asks for a keyframe (PLI or FIR).
pub fn is_keyframe_request(packet: &dyn rtc::rtcp::Packet) -> bool {
    let any = packet.as_any();
    any.is::<PictureLossIndication>() || any.is::<FullIntraRequest>()
}

/// The bandwidth a receiver's REMB says its connection takes (bits/s).
pub fn remb(packet: &dyn rtc::rtcp::Packet) -> Option<u64> {
    let remb = packet
        .as_any()
        .downcast_ref::<ReceiverEstimatedMaximumBitrate>()?;
    Some(remb.bitrate.max(0.0) as u64)
}

/// Delivers a subscriber's keyframe requests (which the application relays
/// to the publisher) and bandwidth estimates (which pick its simulcast
/// layers) to the application; inbound RTCP otherwise ends in the chain.
#[derive(Default)]
pub struct Feedback {
    read: VecDeque<TaggedPacket>,
    write: VecDeque<TaggedPacket>,
}

impl Protocol<TaggedPacket, TaggedPacket, ()> for Feedback {
    type Rout = TaggedPacket;
    type Wout = TaggedPacket;
    type Eout = ();
    type Error = rtc::shared::error::Error;
    type Time = Instant;

    fn handle_read(&mut self, mut msg: TaggedPacket) -> Result<(), Self::Error> {
        if let Packet::Rtcp(packets) = &msg.message.packet {
            let requests: Vec<Box<dyn rtc::rtcp::Packet>> = packets
                .iter()
                .filter(|p| is_keyframe_request(p.as_ref()) || remb(p.as_ref()).is_some())
                .cloned()
                .collect();
            if requests.is_empty() {
                return Ok(());
            }
            msg.message.packet = Packet::Rtcp(requests);
            msg.message.add(Attribute::DeliverToApplication);
        }
        self.read.push_back(msg);
        Ok(())
    }

    fn poll_read(&mut self) -> Option<Self::Rout> {
        self.read.pop_front()
    }

    fn handle_write(&mut self, msg: TaggedPacket) -> Result<(), Self::Error> {
        self.write.push_back(msg);
        Ok(())
    }

    fn poll_write(&mut self) -> Option<Self::Wout> {
        self.write.pop_front()
    }
}

impl Interceptor for Feedback {
    fn bind_local_stream(&mut self, _info: &StreamInfo) {}
    fn unbind_local_stream(&mut self, _info: &StreamInfo) {}
    fn bind_remote_stream(&mut self, _info: &StreamInfo) {}
    fn unbind_remote_stream(&mut self, _info: &StreamInfo) {}
}

/// How loud an audio packet is, from its audio-level extension (`id` on
/// this leg): 0 is silence, 127 as loud as it gets (the wire carries
/// -dBov, 0 loudest, 127 silent). None: the packet has no level.
pub fn loudness(packet: &rtc::rtp::Packet, id: u8) -> Option<u8> {
    let level = packet.header.get_extension(id)?;
    let byte = *level.first()?;
    Some(127 - (byte & 0x7f))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_codecs_have_fixed_payload_types() {
        assert_eq!(payload_type(&vp8()), Some(VP8_PT));
        assert_eq!(payload_type(&opus()), Some(OPUS_PT));
        assert_eq!(payload_type(&h264()), Some(H264_PT));
        let av1 = RTCRtpCodec {
            mime_type: "video/AV1".into(),
            ..vp8()
        };
        assert_eq!(payload_type(&av1), None);
    }

    #[test]
    fn only_pli_and_fir_are_keyframe_requests() {
        let pli = PictureLossIndication {
            sender_ssrc: 1,
            media_ssrc: 2,
        };
        assert!(is_keyframe_request(&pli));
        let rr = rtc::rtcp::receiver_report::ReceiverReport::default();
        assert!(!is_keyframe_request(&rr));
        assert_eq!(remb(&rr), None);
        let estimate = ReceiverEstimatedMaximumBitrate {
            sender_ssrc: 1,
            bitrate: 750_000.0,
            ssrcs: vec![2],
        };
        assert_eq!(remb(&estimate), Some(750_000));
        assert!(!is_keyframe_request(&estimate));
    }

    #[test]
    fn abs_send_time_is_six_eighteen_fixed_point_wrapping_at_64_seconds() {
        use std::time::Duration;
        assert_eq!(abs_send_time(Duration::ZERO), [0, 0, 0]);
        // One second is 1 << 18.
        assert_eq!(abs_send_time(Duration::from_secs(1)), [0x04, 0, 0]);
        // Half a second is 1 << 17.
        assert_eq!(abs_send_time(Duration::from_millis(500)), [0x02, 0, 0]);
        // 63 s and a fraction: the top six bits are the seconds.
        assert_eq!(abs_send_time(Duration::from_secs(63)), [0xFC, 0, 0]);
        assert_eq!(abs_send_time(Duration::from_secs(64)), [0, 0, 0], "wraps");
        assert_eq!(
            abs_send_time(Duration::from_secs(65)),
            abs_send_time(Duration::from_secs(1))
        );
        // A tick is 1/262144 s, about 3.8 µs.
        assert_eq!(abs_send_time(Duration::from_micros(4)), [0, 0, 1]);
    }

    #[test]
    fn loudness_reads_the_audio_level_extension() {
        let mut p = rtc::rtp::Packet::default();
        assert_eq!(loudness(&p, 1), None, "no extension, no level");
        // Voice flag set, 20 dB below the loudest.
        p.header.set_extension(1, vec![0x80 | 20].into()).unwrap();
        assert_eq!(loudness(&p, 1), Some(107));
        assert_eq!(loudness(&p, 2), None, "another id is another extension");
        p.header.set_extension(1, vec![127].into()).unwrap();
        assert_eq!(loudness(&p, 1), Some(0), "127 dB down is silence");
    }
}
