//! Integration tests of the `convene` server against real PostgreSQL, Redis and
//! a Kafka-protocol broker. Each test gets a fresh database.

mod auth;
mod billing;
mod email;
mod events;
mod health;
mod helpers;
mod jobs;
mod live;
mod payments;
mod pipeline;
mod registration;
mod stage;
mod team;
mod ticketing;
mod widget;
