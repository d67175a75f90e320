//! Project tasks that need more than one cargo invocation, run as `cargo xtask <task>`:
//!
//! - `demo`  starts the checkout service with a tenant per example brand, set up through the
//!   HTTP API, quotes one cart for each and keeps serving (`--once`: stop after the quotes).
//! - `test`  runs every test: the host workspace and the plugins' own (native) tests.
//! - `bench` runs the hook latency benchmark (release build).
//!
//! Each adds the wasm32-wasip2 target first when it is missing.

mod demo;

use std::path::PathBuf;
use std::process::{Command, ExitCode};

use anyhow::{Context, bail};
use mandi_tests::toolchain::{self, cargo};

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let task = args.next().unwrap_or_default();
    let result = match task.as_str() {
        "demo" => demo::DemoArgs::parse(args).and_then(demo::demo),
        "test" => test(),
        "bench" => bench(),
        _ => {
            eprintln!("usage: cargo xtask <demo [--once] [--listen ADDR]|test|bench>");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("xtask {task}: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn root() -> PathBuf {
    mandi_tests::repo_root()
}

fn run(cmd: &mut Command) -> anyhow::Result<()> {
    let status = cmd.status().with_context(|| format!("running {cmd:?}"))?;
    if !status.success() {
        bail!("{cmd:?} failed ({status})");
    }
    Ok(())
}

/// Tests that measure one tenant's latency while another misbehaves: other tests running
/// beside them on two cores would measure the machine, not the isolation.
const ISOLATION_TESTS: &str = "isolation::";

fn test() -> anyhow::Result<()> {
    toolchain::build_plugins()?;
    step("host workspace: unit, integration and end-to-end tests");
    run(Command::new(cargo())
        .args(["test", "--workspace", "--", "--skip", ISOLATION_TESTS])
        .current_dir(root()))?;
    step("tenant isolation under load (latency measured, so alone on the machine)");
    run(Command::new(cargo())
        .args(["test", "--workspace", "--test", "e2e", "--"])
        .args([ISOLATION_TESTS, "--test-threads=1", "--nocapture"])
        .current_dir(root()))?;
    step("plugins workspace: the example plugins' native tests");
    run(Command::new(cargo())
        .arg("test")
        .current_dir(root().join("plugins-examples")))?;
    step("all tests passed");
    Ok(())
}

fn bench() -> anyhow::Result<()> {
    toolchain::build_plugins()?;
    run(Command::new(cargo())
        .args(["bench", "--package", "mandi-tests", "--bench", "hooks"])
        .current_dir(root()))
}

fn step(message: &str) {
    eprintln!("\n==> {message}");
}
