//! Convene's media plane: a selective forwarding unit (SFU) on the `webrtc`
//! crate (0.21, the async layer over the sans-IO `rtc`). It depends on the
//! WebRTC stack only: never on the database or Redis.
//!
//! The model. An [`Sfu`] holds rooms by name (a session, a backstage); a room
//! holds participants. Each participant has a connection for what they
//! receive, and one who may publish a second for what they send ([`Leg`]);
//! the server always makes the offer, so the two sides never offer at once
//! (no glare). The publishing connection is offered once, with receive-only
//! transceivers for microphone, camera and screen, and never renegotiated:
//! `webrtc` 0.21 forgets the SSRCs of simulcast layers (learned from the
//! first packets' rid extension) whenever a remote description is applied
//! again. Every track someone else publishes is added to the receiving
//! connection as a send-only track and offered again; a track whose
//! publisher leaves is removed and offered again. One offer is outstanding
//! per connection at a time: changes that arrive meanwhile go out together
//! once the answer is in ([`Participant::answer`]).
//!
//! Forwarding. One task reads each published track and hands each packet
//! to every subscriber's outlet in turn, with that leg's SSRC and payload
//! type and without the publisher's header extensions ([`sfu::unextended`]):
//! the audio level goes on under the leg's own id, and each video packet
//! gets the time it left (abs-send-time, what the browser's bandwidth
//! estimate reads). It never waits
//! on a subscriber (a connection that cannot take a packet at once loses
//! it, and a keyframe is asked for). Keyframes
//! are not automatic: a subscriber's PLI/FIR reaches the application through
//! an interceptor ([`engine::Feedback`]) and is relayed to the
//! publisher, at most once per track per [`sfu::KEYFRAME_INTERVAL`]; one is
//! also requested when a subscriber connects, and when one falls behind.
//! NACKs are answered from the server's send buffer (default interceptors).
//!
//! Join tokens are verified by [`token::verify`] with the public keys of the
//! JWK set alone.
//!
//! The `convene` binary runs this as the media role behind a signalling
//! endpoint (`server/src/media_node.rs`); web nodes relay the browsers'
//! signalling to it.
//!
//! A stage's backstage is a room like any other, except for its audience
//! ([`Seat::Audience`]): they receive only the publishers a host put on air.
//! While a host says to record, the tracks on air are also written to disk
//! and mixed when the recording stops ([`recorder`]); the finished file goes
//! to [`Config::recordings`]. While it records, the live mix ([`live`])
//! streams the same tracks as HLS for the viewers past the node's WebRTC
//! limit ([`Config::max_audience`]).
//!
//! Also here: H.264 beside VP8, a screen-share track per publisher,
//! active-speaker detection from the audio-level extension, a UDP port
//! range and an announced address, and simulcast layer selection behind
//! `Config::simulcast` (off by default; see [`simulcast`] for why).

pub mod assets;
pub mod bot;
pub mod engine;
pub mod ivf;
pub mod live;
pub mod network;
pub mod recorder;
pub mod sfu;
pub mod simulcast;
pub mod speaker;
pub mod token;
pub mod wire;

pub use sfu::{Config, Error, Leg, Participant, Recorded, Recordings, Seat, Sfu, Signal};
