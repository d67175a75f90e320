//! Compiled-component artifacts on disk, keyed by the component's content hash and the engine's
//! compatibility fingerprint, so a component is compiled once per engine configuration — also
//! across restarts and across nodes that share the directory. A caller may also supply an
//! artifact it kept elsewhere (the service keeps them in the database its nodes share); it is
//! tried first.

use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

use super::{ArtifactSource, PluginDigest};

#[derive(Debug, Clone)]
pub(crate) struct ArtifactCache {
    dir: Option<PathBuf>,
    fingerprint: String,
}

impl ArtifactCache {
    pub(crate) fn new(engine: &Engine, dir: Option<PathBuf>) -> Self {
        Self {
            dir,
            fingerprint: engine_fingerprint(engine),
        }
    }

    /// The engine's compatibility fingerprint: artifacts are only valid for an engine with it.
    pub(crate) fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// Whether the cache directory holds an artifact for this component (not yet checked).
    pub(crate) fn has(&self, digest: &PluginDigest) -> bool {
        self.path_for(digest).is_some_and(|path| path.exists())
    }

    fn path_for(&self, digest: &PluginDigest) -> Option<PathBuf> {
        let dir = self.dir.as_ref()?;
        Some(dir.join(format!("{}-{}.cwasm", digest.hex(), self.fingerprint)))
    }

    /// The artifact in the cache directory, when there is a usable one (a damaged or stale one
    /// is removed, to be compiled again from the component's bytes).
    pub(crate) fn load(&self, engine: &Engine, digest: &PluginDigest) -> Option<Component> {
        let path = self.path_for(digest)?;
        if !path.exists() {
            return None;
        }
        match load_artifact(engine, &path) {
            Ok(component) => Some(component),
            Err(err) => {
                tracing::warn!(path = %path.display(), error = %err, "discarding cached artifact");
                let _ = std::fs::remove_file(&path);
                None
            }
        }
    }

    /// Loads the supplied artifact, else the one on disk, when present and valid; otherwise
    /// compiles (and stores the artifact on disk). Returns the component and where it came from.
    pub(crate) fn compile(
        &self,
        engine: &Engine,
        digest: &PluginDigest,
        wasm: &[u8],
        supplied: Option<&[u8]>,
    ) -> wasmtime::Result<(Component, ArtifactSource)> {
        if let Some(bytes) = supplied {
            match deserialize(engine, bytes) {
                Ok(component) => return Ok((component, ArtifactSource::Supplied)),
                // Damaged, or from an incompatible engine: not fatal, the component compiles.
                Err(err) => {
                    tracing::warn!(%digest, error = %err, "discarding supplied artifact");
                }
            }
        }
        // A stale or damaged artifact is not fatal: the component compiles and replaces it.
        if let Some(component) = self.load(engine, digest) {
            return Ok((component, ArtifactSource::CacheDir));
        }
        let component = Component::new(engine, wasm)?;
        if let Some(path) = &self.path_for(digest)
            && let Err(err) = store_artifact(&component, path)
        {
            tracing::warn!(path = %path.display(), error = %err, "could not cache compiled artifact");
        }
        Ok((component, ArtifactSource::Compiled))
    }
}

#[allow(unsafe_code)]
fn load_artifact(engine: &Engine, path: &Path) -> wasmtime::Result<Component> {
    // SAFETY: wasmtime requires the file to be an artifact it produced itself. Only this cache
    // writes into the directory, names files by content hash and engine fingerprint, and writes
    // them atomically (temp file + rename); wasmtime still checks its version and configuration
    // header and refuses an incompatible artifact.
    unsafe { Component::deserialize_file(engine, path) }
}

#[allow(unsafe_code)]
fn deserialize(engine: &Engine, bytes: &[u8]) -> wasmtime::Result<Component> {
    // SAFETY: wasmtime requires the bytes to be an artifact it produced itself. Callers supply
    // only what `Runtime::load_with_artifact` returned in some node, kept in the service's
    // shared database under its content hash and engine fingerprint and signed with an HMAC key
    // only the nodes hold; the pipeline checks that signature before handing the bytes here, so
    // write access to the database alone cannot make a node run forged code. wasmtime still
    // checks its version and configuration header and refuses an incompatible artifact.
    unsafe { Component::deserialize(engine, bytes) }
}

fn store_artifact(component: &Component, path: &Path) -> anyhow::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let bytes = component.serialize()?;
    // Written beside the target and renamed into place, so a reader never sees half a file.
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(&bytes)?;
    tmp.persist(path)?;
    Ok(())
}

/// A stable hex digest of everything in the engine's configuration that affects compiled code.
fn engine_fingerprint(engine: &Engine) -> String {
    struct ShaHasher(Sha256);
    impl Hasher for ShaHasher {
        fn finish(&self) -> u64 {
            0 // unused: the full digest is read below
        }
        fn write(&mut self, bytes: &[u8]) {
            self.0.update(bytes);
        }
    }
    let mut hasher = ShaHasher(Sha256::new());
    engine.precompile_compatibility_hash().hash(&mut hasher);
    hex::encode(&hasher.0.finalize()[..8])
}
