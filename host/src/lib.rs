//! # mandi-host
//!
//! The Mandi platform: a commerce checkout shared by many brands, each customising pricing,
//! validation and fulfillment with sandboxed WebAssembly components.
//!
//! - [`runtime`]: loads components and runs one hook call in a fresh, limited sandbox.
//! - [`pipeline`]: one checkout quote: price, apply adjustments with guardrails, validate,
//!   fulfill, with each deployment's failure policy.
//! - [`cli`]: the `mandi` command line.

pub mod cli;
pub mod pipeline;
pub mod runtime;
