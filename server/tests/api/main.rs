//! Integration tests of the `convene` server against real PostgreSQL, Redis and
//! a Kafka-protocol broker. Each test gets a fresh database.

mod access;
mod agenda;
mod attendees;
mod auth;
mod billing;
mod chat;
mod degraded;
mod edge;
mod editing;
mod email;
mod events;
mod exports;
mod health;
mod helpers;
mod identity;
mod jobs;
mod limits;
mod live;
mod media;
mod orders;
mod payments;
mod pipeline;
mod profile;
mod promo;
mod questions;
mod registration;
mod resets;
mod roles;
mod sessions;
mod socket_limits;
mod stage;
mod standing;
mod team;
mod ticketing;
mod widget;
