//! Payments through a pluggable [`provider::PaymentProvider`]: the provider
//! trait, the built-in test provider and the "none" provider, the record of every charge attempt
//! and refund, and the platform fee. Which orders or plans a payment pays is
//! the business of the callers (`registrations::payment`, `billing`).

pub mod charges;
pub mod fees;
pub mod provider;
pub mod refunds;
pub mod test_provider;

pub use fees::FeePolicy;
pub use provider::{NoProvider, PaymentProvider};
pub use test_provider::TestProvider;
