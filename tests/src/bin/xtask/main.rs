//! Project tasks that need more than one cargo invocation, run as `cargo xtask <task>`:
//!
//! - `demo`  starts the checkout service with a tenant per example brand, set up through the
//!   HTTP API, quotes one cart for each and keeps serving (`--once`: stop after the quotes).
//! - `test`  runs every test: the host workspace, schemathesis against `mandi serve`, and the
//!   plugins' own (native) tests.
//! - `bench` runs the hook latency benchmark (release build).
//! - `load` runs the quote load benchmark: quotes/s, p50 and p99 with and without plugins, over
//!   HTTP against a release `mandi serve`, driven by wrk.
//! - `density` runs the tenant density benchmark: resident memory and first-quote latency of a
//!   node holding N tenants (default 5,000), each with its own component on its hooks.
//! - `noisy` runs the noisy-neighbour benchmark: one tenant's quote latency alone and beside
//!   misbehaving neighbours, over HTTP against a release `mandi serve`.
//!
//! Each adds the wasm32-wasip2 target first when it is missing.

mod demo;
mod density;
mod load;
mod noisy;
mod server;

use std::path::PathBuf;
use std::process::{Command, ExitCode};

use anyhow::{Context, bail};
use mandi_tests::database;
use mandi_tests::toolchain::{self, cargo};

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let task = args.next().unwrap_or_default();
    let result = match task.as_str() {
        "demo" => demo::DemoArgs::parse(args).and_then(demo::demo),
        "test" => test(),
        "bench" => bench(),
        "density" => density::DensityArgs::parse(args).and_then(density::density),
        "load" => load::LoadArgs::parse(args).and_then(load::load),
        "noisy" => noisy::NoisyArgs::parse(args).and_then(noisy::noisy),
        _ => {
            eprintln!(
                "usage: cargo xtask <demo [--once] [--listen ADDR]|test|bench|density [--tenants N]|load [--seconds N] [--connections 2,8,16] [--rollouts] [--rounds N]|noisy [--seconds N] [--scenario spin,flood,loop]>"
            );
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
    step("host workspace: unit, integration and end-to-end tests (service suite on SQLite)");
    run(Command::new(cargo())
        .args(["test", "--workspace", "--", "--skip", ISOLATION_TESTS])
        .env_remove(database::POSTGRES_ENV)
        .current_dir(root()))?;
    step("tenant isolation under load (latency measured, so alone on the machine)");
    run(Command::new(cargo())
        .args(["test", "--workspace", "--test", "e2e", "--"])
        .args([ISOLATION_TESTS, "--test-threads=1", "--nocapture"])
        .env_remove(database::POSTGRES_ENV)
        .current_dir(root()))?;
    let mut skipped = Vec::new();
    match postgres_for_tests()? {
        Some(admin) => {
            step("service suite again on PostgreSQL, with the row-level security checks");
            run(Command::new(cargo())
                .args(["test", "--workspace", "--test", "e2e", "--"])
                .args(["--include-ignored", "service::", "--skip", ISOLATION_TESTS])
                .env(database::POSTGRES_ENV, &admin)
                .current_dir(root()))?;
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?
                .block_on(database::drop_test_databases(&admin))?;
        }
        None => skipped.push(format!(
            "the service suite on PostgreSQL (no server at {DEFAULT_POSTGRES}; start one, or set \
             {}=postgres://ADMIN@HOST:PORT/postgres, and rerun `cargo xtask test`)",
            database::POSTGRES_ENV
        )),
    }
    match nats_for_tests() {
        Some(url) => {
            step("events to NATS JetStream (a relay that dies mid-batch resumes exactly once)");
            run(Command::new(cargo())
                .args(["test", "--workspace", "--test", "e2e", "--"])
                .args(["--include-ignored", NATS_TESTS])
                .env(NATS_ENV, &url)
                .current_dir(root()))?;
        }
        None => skipped.push(format!(
            "the NATS JetStream relay test (no server at {DEFAULT_NATS}; start `nats-server -js`, \
             or set {NATS_ENV}=nats://HOST:PORT, and rerun `cargo xtask test`)"
        )),
    }
    step("the console in headless Chromium over WebDriver: log in, live figures, a rollback");
    let (chromium, chromedriver) = ensure_browser()?;
    run(Command::new(cargo())
        .args(["test", "--workspace", "--test", "e2e", "--"])
        .args(["--include-ignored", BROWSER_TESTS])
        .env(CHROMIUM_ENV, chromium)
        .env(CHROMEDRIVER_ENV, chromedriver)
        .env_remove(database::POSTGRES_ENV)
        .current_dir(root()))?;
    step(
        "schemathesis: every operation of /openapi.json against mandi serve (admin token, tenant key)",
    );
    schemathesis()?;
    step("plugins workspace: the example plugins' native tests");
    run(Command::new(cargo())
        .arg("test")
        // Its own workspace, in its own target directory: sharing the host's would mix two
        // builds of the SDK for the plugin crates both workspaces compile.
        .env_remove("CARGO_TARGET_DIR")
        .current_dir(root().join("plugins-examples")))?;
    if skipped.is_empty() {
        step("all tests passed");
    } else {
        step("all tests that ran passed; SKIPPED:");
        for suite in &skipped {
            eprintln!("  - {suite}");
        }
    }
    Ok(())
}

const BROWSER_TESTS: &str = "console_browser::";
const CHROMIUM_ENV: &str = "MANDI_TEST_CHROMIUM";
const CHROMEDRIVER_ENV: &str = "MANDI_TEST_CHROMEDRIVER";

/// Chromium and ChromeDriver for the console's browser test: those in the environment, else
/// Debian's (`chromium`, `chromium-driver`), installed with apt when missing.
fn ensure_browser() -> anyhow::Result<(PathBuf, PathBuf)> {
    let given = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if let (Some(chromium), Some(driver)) = (given(CHROMIUM_ENV), given(CHROMEDRIVER_ENV)) {
        return Ok((chromium, driver));
    }
    let (chromium, driver) = (
        PathBuf::from("/usr/bin/chromium"),
        PathBuf::from("/usr/bin/chromedriver"),
    );
    apt_install(&["chromium", "chromium-driver"], || {
        chromium.exists() && driver.exists()
    })?;
    Ok((chromium, driver))
}

/// Installs Debian packages with apt unless `present` says they already are.
pub fn apt_install(packages: &[&str], present: impl Fn() -> bool) -> anyhow::Result<()> {
    if present() {
        return Ok(());
    }
    step(&format!("installing {} (apt)", packages.join(", ")));
    let install = || {
        Command::new("apt-get")
            .args(["install", "-y", "-q"])
            .args(packages)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .context("running apt-get")
    };
    let mut status = install()?;
    if !status.success() {
        // A fresh machine may have no package lists yet.
        run(Command::new("apt-get").args(["update", "-q"]))?;
        status = install()?;
    }
    anyhow::ensure!(
        status.success() && present(),
        "could not install {}; install them (`apt-get install {}`) and re-run",
        packages.join(", "),
        packages.join(" ")
    );
    Ok(())
}

const NATS_ENV: &str = "MANDI_TEST_NATS_URL";
const NATS_TESTS: &str = "nats::";
const DEFAULT_NATS: &str = "nats://127.0.0.1:4222";

/// The NATS server for the relay test: the one in the environment, else the local one if it
/// accepts connections.
fn nats_for_tests() -> Option<String> {
    if let Ok(url) = std::env::var(NATS_ENV)
        && !url.is_empty()
    {
        return Some(url);
    }
    let address = DEFAULT_NATS.trim_start_matches("nats://");
    let reachable = address.parse().is_ok_and(|a| {
        std::net::TcpStream::connect_timeout(&a, std::time::Duration::from_secs(2)).is_ok()
    });
    reachable.then(|| DEFAULT_NATS.to_owned())
}

/// Where the PostgreSQL suite may run when no URL is given: the local server, as its
/// administrator (trust authentication, as on a development or CI machine).
const DEFAULT_POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// The administrator URL for the PostgreSQL suite, with its roles provisioned: the one in the
/// environment (which must work), else the local server if one answers, else none.
fn postgres_for_tests() -> anyhow::Result<Option<String>> {
    let (admin, explicit) = match std::env::var(database::POSTGRES_ENV) {
        Ok(url) if !url.is_empty() => (url, true),
        _ => (DEFAULT_POSTGRES.to_owned(), false),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    match runtime.block_on(database::provision(&admin)) {
        Ok(()) => Ok(Some(admin)),
        Err(err) if !explicit => {
            eprintln!("PostgreSQL suite not run: {err:#}");
            Ok(None)
        }
        Err(err) => Err(err.context(format!("{} is set but unusable", database::POSTGRES_ENV))),
    }
}

/// The schemathesis release the API is tested with (PyPI), in a virtualenv under target/.
const SCHEMATHESIS: &str = "schemathesis==4.32.5";

/// Runs tests/schemathesis/run against a debug `mandi serve`, installing schemathesis first
/// when the virtualenv lacks it.
fn schemathesis() -> anyhow::Result<()> {
    let venv = target_dir().join("schemathesis-venv");
    let st = venv.join("bin").join("st");
    let installed = Command::new(&st).arg("--version").output().is_ok_and(|o| {
        String::from_utf8_lossy(&o.stdout)
            .contains(SCHEMATHESIS.trim_start_matches("schemathesis=="))
    });
    if !installed {
        run(Command::new("python3").args(["-m", "venv"]).arg(&venv))?;
        run(Command::new(venv.join("bin").join("pip")).args(["install", "--quiet", SCHEMATHESIS]))?;
    }
    let mandi = server::build_mandi(server::Profile::Dev)?;
    let plugin = toolchain::build_plugins()?.join("jiomart.wasm");
    run(Command::new(root().join("tests/schemathesis/run"))
        .arg(&mandi)
        .arg(&plugin)
        .arg(&st))
}

/// Where cargo puts build output: `CARGO_TARGET_DIR`, else target/ in the repository.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"))
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
