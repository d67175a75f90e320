//! Shared harness for the end-to-end tests: builds the example and hostile plugins once per test
//! process (cargo makes repeat builds no-ops), and locates the sample inputs and the `mandi`
//! binary.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

pub mod database;
pub mod demo;
pub mod http;
pub mod samples;
pub mod toolchain;

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the repository root")
        .to_path_buf()
}

pub fn samples_dir() -> PathBuf {
    repo_root().join("plugins-examples").join("samples")
}

/// Paths of the built plugin components, by crate name (`jiomart`, `hostile`, ...).
pub fn plugin_path(name: &str) -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    let dir = BUILT.get_or_init(|| {
        toolchain::build_plugins().unwrap_or_else(|e| panic!("building the plugins failed: {e:#}"))
    });
    let path = dir.join(format!("{name}.wasm"));
    assert!(path.exists(), "{} was not built", path.display());
    path
}

pub fn plugin_bytes(name: &str) -> Vec<u8> {
    std::fs::read(plugin_path(name)).expect("reading a built plugin")
}

/// The `mandi` binary built alongside this test (same profile). `cargo test --workspace` (and so
/// `cargo xtask test`) builds it fresh, because mandi-host has integration tests; run alone, this
/// suite builds it once if it is missing.
pub fn mandi_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        // Test executables live in target/<profile>/deps; the binary one level up.
        let exe = std::env::current_exe().expect("test executable path");
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .expect("target/<profile>/deps layout");
        let bin = profile_dir.join(format!("mandi{}", std::env::consts::EXE_SUFFIX));
        if !bin.exists() {
            let status = Command::new(toolchain::cargo())
                .args(["build", "-p", "mandi-host", "--bin", "mandi"])
                .current_dir(repo_root())
                .status()
                .expect("running cargo build for the mandi binary");
            assert!(status.success(), "building the mandi binary failed");
        }
        bin
    })
    .clone()
}
