//! The attendee webapp: Reception for now; Stage, Sessions, Networking, Expo and Replay follow.

pub mod reception;
