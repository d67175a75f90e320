//! Cranelift's incremental compilation cache, kept in memory and shared by every compile on
//! the node: a function whose code another component already had (the SDK's runtime, std,
//! serde — most of a brand plugin) is not compiled again.
//!
//! Entries are keyed by Cranelift's SHA-256 of the function's whole IR and the target flags,
//! and hold code this process compiled, so sharing them across tenants shares no tenant's
//! data: a hit is byte-for-byte what compiling the same function would give. Wasmtime asks only
//! for the `get`/`insert` store; the bounding (by bytes, least recently used out) is moka's.

use std::borrow::Cow;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use wasmtime::CacheStore;

#[derive(Debug)]
pub(crate) struct CompiledFunctions {
    entries: moka::sync::Cache<Vec<u8>, Arc<[u8]>>,
    hits: AtomicU64,
}

impl CompiledFunctions {
    /// A cache holding at most about `max_bytes` of compiled functions.
    pub(crate) fn new(max_bytes: u64) -> Self {
        Self {
            entries: moka::sync::Cache::builder()
                .max_capacity(max_bytes)
                .weigher(|key: &Vec<u8>, value: &Arc<[u8]>| {
                    u32::try_from(key.len() + value.len()).unwrap_or(u32::MAX)
                })
                .build(),
            hits: AtomicU64::new(0),
        }
    }

    /// How many functions were taken from the cache instead of compiled.
    pub(crate) fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }
}

impl CacheStore for CompiledFunctions {
    fn get(&self, key: &[u8]) -> Option<Cow<'_, [u8]>> {
        // Copied out: the entry may be evicted while the compiler still reads it.
        let value = self.entries.get(key)?;
        self.hits.fetch_add(1, Ordering::Relaxed);
        Some(Cow::Owned(value.to_vec()))
    }

    fn insert(&self, key: &[u8], value: Vec<u8>) -> bool {
        self.entries.insert(key.to_vec(), value.into());
        true
    }
}
