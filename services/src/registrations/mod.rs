//! Registrations: what an event sells (ticket types drawing on quotas, promo
//! codes, custom questions), the purchase that turns a buyer into an attendee
//! with an order and tickets, the order's life (approval, payment,
//! cancellation, refund, expiry), waiting lists, and attendees' sign-in.

pub mod attendees;
pub mod avatars;
pub mod lifecycle;
pub mod list;
pub mod orders;
pub mod payment;
pub mod promo;
pub mod purchase;
pub mod questions;
pub mod quotas;
pub mod ticket_types;
pub mod waitlist;
