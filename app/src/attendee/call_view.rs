//! A video call's state as pages show it (signals the browser's call
//! updates; see `call.rs`).

use leptos::prelude::*;

/// Where the page's media connection stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallStatus {
    /// Not started.
    Idle,
    /// Joining.
    Connecting,
    /// Media flows.
    Connected,
    /// Dropped; joining again shortly.
    Rejoin(String),
    /// Ended for good (refused, removed, ended).
    Lost(String),
}

/// The call's state as the page shows it.
#[derive(Clone, Copy)]
pub struct CallView {
    /// Publishers this page receives (attendee ids).
    pub tiles: RwSignal<Vec<String>>,
    /// Connection state.
    pub status: RwSignal<CallStatus>,
}
