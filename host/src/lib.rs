//! # mandi-host
//!
//! The Mandi platform: a commerce checkout shared by many brands, each customising pricing,
//! validation and fulfillment with sandboxed WebAssembly components.
//!
//! - [`runtime`]: loads components and runs one hook call in a fresh, limited sandbox.
//! - [`cli`]: the `mandi` command line.

pub mod cli;
pub mod runtime;
