//! # mandi-host
//!
//! The Mandi platform: a commerce checkout shared by many brands, each customising its cart
//! transforms, pricing, validation, fulfillment and payment methods with sandboxed WebAssembly
//! components.
//!
//! Dependencies point one way: [`api`] -> [`pipeline`] -> {[`runtime`], [`store`]}.
//!
//! - [`runtime`]: loads components and runs one hook call in a fresh, limited sandbox.
//! - [`pipeline`]: one checkout: catalog prices, transform, price, apply adjustments with
//!   guardrails, validate, fulfill, payment methods, with each deployment's failure policy,
//!   circuit breaker and run history.
//! - [`store`]: tenants, catalog, plugins and deployments, orders, outbox, run history, compiled
//!   artifacts shared by the nodes (SQLite or PostgreSQL).
//! - [`api`]: the HTTP API (axum); [`server`] assembles and runs it (`mandi serve`).
//! - [`events`]: relays the outbox to event streams; [`telemetry`]: metrics.
//! - [`tenants`]: API keys; [`config`]: `mandi serve` settings; [`cli`]: the `mandi` command;
//!   [`plugin_build`]: reproducible component builds (`mandi plugin build`).

pub mod admin_cli;
pub mod api;
pub mod cli;
pub mod client;
pub mod config;
pub mod events;
pub mod pipeline;
pub mod plugin_build;
pub mod runtime;
pub mod server;
pub mod store;
pub mod telemetry;
pub mod tenants;
