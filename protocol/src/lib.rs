//! Types every part of Convene speaks: the server, the browser (WASM), the
//! load tools and, later, media nodes and public APIs. serde only: no database,
//! no Redis, no async runtime, so this crate builds for `wasm32-unknown-unknown`.
//! The `sqlx` feature (server side) lets ids and states bind to queries.
//!
//! - [`live`]: the live WebSocket protocol (`ServerMsg`, `ClientMsg`, `LiveItem`).
//! - [`events`]: domain events, the facts one component tells another over the bus.
//! - [`states`]: every stored state and kind as an enum.
//! - [`ids`]: one id type per kind of thing.
//! - [`places`]: chat channels and presence areas.
//! - [`media`]: the claims of media join tokens.
//! - [`simulive`]: where a pre-recorded video played as live stands.
//! - [`error`]: the categories of refusal and their HTTP status.

pub mod error;
pub mod events;
pub mod ids;
pub mod live;
pub mod media;
pub mod places;
pub mod simulive;
pub mod states;

pub use error::ErrorKind;
pub use places::{Area, Channel};
