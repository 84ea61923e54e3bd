//! The live event (Live, Stage and the App store of the seed): who is here
//! ([`presence`]), the live log every node fans out ([`log`]), and what
//! attendees do live: chat, direct messages, moderation, polls, Q&A, captions,
//! stages, video sessions, the agenda and installed apps. [`actions`] runs a request from the
//! live socket and publishes what changed.

pub mod actions;
pub mod agenda;
pub mod apps;
pub mod captions;
pub mod chat;
pub mod checks;
pub mod dm;
pub mod fanout;
pub mod hls;
pub mod log;
pub mod media_nodes;
pub mod moderation;
pub mod participants;
pub mod polls;
pub mod presence;
pub mod qa;
pub mod recordings;
pub mod seen;
pub mod sessions;
pub mod stages;
pub mod turn;
