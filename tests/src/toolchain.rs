//! Building plugins: makes sure the wasm32-wasip2 target is installed, then builds the plugins
//! workspace (examples and hostile plugins) for it.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, bail};
use mandi_host::plugin_build::ComponentBuild;

pub use mandi_host::plugin_build::WASM_TARGET;

/// The cargo that is running us, so nested builds use the same toolchain.
pub fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// Adds the wasm target through rustup when it is missing (a fresh machine).
pub fn ensure_wasm_target() -> anyhow::Result<()> {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .context("running `rustup target list` (is rustup installed?)")?;
    if String::from_utf8_lossy(&installed.stdout)
        .lines()
        .any(|l| l.trim() == WASM_TARGET)
    {
        return Ok(());
    }
    eprintln!("installing the {WASM_TARGET} target with rustup...");
    let status = Command::new("rustup")
        .args(["target", "add", WASM_TARGET])
        .status()
        .context("running `rustup target add`")?;
    if !status.success() {
        bail!("`rustup target add {WASM_TARGET}` failed");
    }
    Ok(())
}

/// Builds every plugin in release mode, as `mandi plugin build` does (reproducibly), and returns
/// the directory holding the `.wasm` files.
pub fn build_plugins() -> anyhow::Result<PathBuf> {
    ensure_wasm_target()?;
    let workspace = super::repo_root().join("plugins-examples");
    // The outer cargo's settings (e.g. a test profile's flags, the host's target directory)
    // must not leak into the plugins' own build.
    let hidden = ["RUSTFLAGS", "CARGO_TARGET_DIR", "CARGO_BUILD_TARGET"];
    let build = ComponentBuild::without_env(Some(&workspace.join("Cargo.toml")), &hidden)?;
    let status = (build.command(&["--workspace".to_owned()]).status())
        .context("running cargo build for the plugins")?;
    if !status.success() {
        bail!("building the plugins failed (see the cargo output above)");
    }
    Ok(workspace.join("target").join(WASM_TARGET).join("release"))
}
