//! Convene's media plane: a selective forwarding unit (SFU) on the `webrtc`
//! crate (0.21, the async layer over the sans-IO `rtc`). It depends on the
//! WebRTC stack only: never on the database or Redis.
//!
//! The model. An [`Sfu`] holds rooms by name (a session, a backstage); a room
//! holds participants. Each participant has one peer connection, and the
//! server always makes the offer, so the two sides never offer at once (no
//! glare). A participant who may publish gets receive-only transceivers for
//! their microphone and camera in the first offer; every track someone else
//! publishes is added to their connection as a send-only track and offered
//! again; a track whose publisher leaves is removed and offered again. One
//! offer is outstanding per connection at a time: changes that arrive
//! meanwhile go out together once the answer is in ([`Participant::answer`]).
//!
//! Forwarding. One task reads each published track into a broadcast channel;
//! one task per subscription writes each packet on, with that leg's SSRC and
//! payload type and without header extensions ([`sfu::for_leg`]). Keyframes
//! are not automatic: a subscriber's PLI/FIR reaches the application through
//! an interceptor ([`engine::KeyframeRequests`]) and is relayed to the
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
//! Also here: H.264 beside VP8, a screen-share track per publisher,
//! active-speaker detection from the audio-level extension, a UDP port
//! range and an announced address, and simulcast layer selection behind
//! `Config::simulcast` (off by default; see [`simulcast`] for why).

pub mod bot;
pub mod engine;
pub mod network;
pub mod sfu;
pub mod simulcast;
pub mod speaker;
pub mod token;
pub mod wire;

pub use sfu::{Config, Error, Participant, Sfu, Signal};
