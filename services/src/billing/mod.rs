//! Checkout: self-serve plans, the limits they set (events per organisation,
//! registrations per event, team seats), and their purchase through the
//! payment provider.

pub mod plans;
pub mod purchases;

pub use plans::Plan;
