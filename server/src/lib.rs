//! The `convene` server: configuration, startup wiring, HTTP edge, roles and CLI.

pub mod cli;
pub mod configuration;
pub mod demo;
pub mod http;
pub mod media_node;
pub mod media_tools;
pub mod startup;
