//! Accounts (Monolith): organisations, the organisers who sign in to the
//! dashboard, their passwords (and resetting a forgotten one), and the
//! server-side sessions of organisers and attendees.

pub mod organisers;
pub mod orgs;
pub mod passwords;
pub mod resets;
pub mod sessions;

pub use organisers::{log_in, sign_up, Organiser, SignUp};
pub use sessions::{SignedIn, SESSION_TTL};
