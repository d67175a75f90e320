//! `mandi plugin build`: a plugin crate (or workspace) built as components, reproducibly. The
//! same sources give the same bytes, and so the same digest, whichever directory and machine
//! they are built on — so a digest in a deployment's history names the source it came from, and
//! a platform team can rebuild a brand's component and compare.
//!
//! What would differ is paths: panic locations embed the absolute paths of registry and git
//! dependencies (under `~/.cargo`, different on every machine) and of path dependencies outside
//! the workspace. Cargo's own fix (`trim-paths`) is not stable on this toolchain, so the build
//! passes rustc `--remap-path-prefix` for each of those roots, to fixed names. (Rust flags do
//! not enter cargo's symbol hashes, so the remapping itself changes nothing else.)
//!
//! One thing no flag fixes: cargo hashes the absolute path of a path dependency outside the
//! workspace into its symbol names, so an SDK checkout moved elsewhere builds other bytes. An
//! SDK from a registry or git, as brand teams get it, is the same wherever it is unpacked.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, bail};
use serde::Deserialize;

/// The target every component is built for.
pub const WASM_TARGET: &str = "wasm32-wasip2";

/// What `cargo metadata` says about the workspace (the fields used here).
#[derive(Debug, Deserialize)]
struct Metadata {
    workspace_root: PathBuf,
    target_directory: PathBuf,
    packages: Vec<Package>,
    workspace_members: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct Package {
    id: String,
    name: String,
    manifest_path: PathBuf,
    /// `None` for a package on disk (a workspace member or a path dependency).
    source: Option<String>,
    targets: Vec<Target>,
}

#[derive(Debug, Deserialize)]
struct Target {
    name: String,
    crate_types: Vec<String>,
}

/// A build of the components of one workspace.
#[derive(Debug)]
pub struct ComponentBuild {
    metadata: Metadata,
    manifest_path: Option<PathBuf>,
    /// Environment variables cargo must not see (a caller's own cargo settings).
    hidden_env: Vec<String>,
}

impl ComponentBuild {
    /// Reads the workspace of `manifest_path` (the current directory's when `None`).
    pub fn new(manifest_path: Option<&Path>) -> anyhow::Result<Self> {
        Self::without_env(manifest_path, &[])
    }

    /// Like [`new`](Self::new), with cargo run without the environment variables `hidden`
    /// (e.g. an outer build's `CARGO_TARGET_DIR`, which is not the plugins').
    pub fn without_env(manifest_path: Option<&Path>, hidden: &[&str]) -> anyhow::Result<Self> {
        let mut metadata = Command::new(cargo());
        for var in hidden {
            metadata.env_remove(var);
        }
        metadata.args(["metadata", "--format-version", "1"]);
        if let Some(path) = manifest_path {
            metadata.arg("--manifest-path").arg(path);
        }
        let out = metadata.output().context("running cargo metadata")?;
        if !out.status.success() {
            bail!(
                "cargo metadata failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        let metadata: Metadata =
            serde_json::from_slice(&out.stdout).context("reading cargo metadata's output")?;
        Ok(Self {
            metadata,
            manifest_path: manifest_path.map(Path::to_owned),
            hidden_env: hidden.iter().map(|v| (*v).to_owned()).collect(),
        })
    }

    /// The rustc flags that make the build independent of where things are on disk: each root
    /// that appears in embedded paths mapped to a fixed name. (Cargo hands rustc the
    /// workspace's own files by relative path already; its root is mapped for anything that
    /// names it in full. rustc applies the last matching prefix, so it comes last.)
    pub fn remap_flags(&self) -> Vec<String> {
        let root = &self.metadata.workspace_root;
        let mut flags = Vec::new();
        let mut remap = |from: &Path, to: &str| {
            flags.push(format!("--remap-path-prefix={}={to}", from.display()));
        };
        if let Some(home) = cargo_home() {
            remap(&home, "/cargo");
        }
        let mut outside: Vec<(&str, &Path)> = (self.metadata.packages.iter())
            .filter(|p| p.source.is_none())
            .filter_map(|p| Some((p.name.as_str(), p.manifest_path.parent()?)))
            .filter(|(_, dir)| !dir.starts_with(root))
            .collect();
        outside.sort();
        for (name, dir) in outside {
            remap(dir, &format!("/deps/{name}"));
        }
        remap(root, "/src");
        flags
    }

    /// `cargo build --release --target wasm32-wasip2` for this workspace with the remapping,
    /// plus `extra` arguments (e.g. `-p mybrand`). The flags go to the target's `rustflags`
    /// through `--config`, which adds to what the project's own cargo config sets; a
    /// `RUSTFLAGS` in the environment takes precedence over any config, so then they are
    /// added to it instead.
    pub fn command(&self, extra: &[String]) -> Command {
        let flags = self.remap_flags();
        let mut build = Command::new(cargo());
        for var in &self.hidden_env {
            build.env_remove(var);
        }
        build.args(["build", "--release", "--target", WASM_TARGET]);
        if let Some(path) = &self.manifest_path {
            build.arg("--manifest-path").arg(path);
        }
        let outer = std::env::var("RUSTFLAGS").ok();
        let outer = outer.filter(|_| !self.hidden_env.iter().any(|v| v == "RUSTFLAGS"));
        match outer {
            Some(existing) if !existing.trim().is_empty() => {
                build.env("RUSTFLAGS", format!("{existing} {}", flags.join(" ")));
            }
            _ => {
                let quoted: Vec<String> = flags.iter().map(|f| format!("{f:?}")).collect();
                build.arg("--config").arg(format!(
                    "target.{WASM_TARGET}.rustflags=[{}]",
                    quoted.join(", ")
                ));
            }
        }
        build.args(extra);
        build
    }

    /// The component each workspace member with a `cdylib` target builds (whether or not it
    /// has been built yet).
    pub fn components(&self) -> Vec<PathBuf> {
        let dir = (self.metadata.target_directory.join(WASM_TARGET)).join("release");
        (self.metadata.packages.iter())
            .filter(|p| self.metadata.workspace_members.contains(&p.id))
            .flat_map(|p| &p.targets)
            .filter(|t| t.crate_types.iter().any(|c| c == "cdylib"))
            .map(|t| dir.join(format!("{}.wasm", t.name.replace('-', "_"))))
            .collect()
    }
}

/// The cargo that runs this (`$CARGO` under cargo), else the one on the path.
fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// `$CARGO_HOME`, else `~/.cargo`: where registry and git dependencies are unpacked.
fn cargo_home() -> Option<PathBuf> {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")))
}
