//! The shape of a component's config, when it declares one: the optional `config` export of
//! contract 0.2.0 (`schema: func() -> string`). Read when a component is uploaded and checked to
//! be a JSON Schema; deployments' configs are checked against it (`mandi_sdk::check_config`).

use std::sync::Arc;

use wasmtime::component::InstancePre;

use super::bindings::v0_2::exports::mandi::commerce::config;
use super::inspect::{Inspection, LoadError};
use super::state::CallState;
use super::{Limits, Plugin, PluginConfig};

/// The interface name a component exports its schema under (0.2.0 and later).
pub(crate) const INTERFACE: &str = "config";

/// Largest schema accepted: the size a deployment's config may have (a schema that needs more
/// than its config is not describing one).
const MAX_SCHEMA_BYTES: usize = 64 << 10;

/// A component's `config` export, found when it is linked.
pub(super) struct ConfigExport(config::GuestIndices);

impl ConfigExport {
    pub(super) fn find(
        inspection: &Inspection,
        pre: &InstancePre<CallState>,
    ) -> Result<Option<Self>, LoadError> {
        if !inspection.declares_config {
            return Ok(None);
        }
        config::GuestIndices::new(pre)
            .map(|ix| Some(Self(ix)))
            .map_err(|e| LoadError::ConfigSchema(format!("{e:#}")))
    }

    /// Type-checks the export on a live instance, with the hooks' exports.
    pub(super) fn check(
        &self,
        store: &mut wasmtime::Store<CallState>,
        instance: &wasmtime::component::Instance,
    ) -> Result<(), LoadError> {
        (self.0.load(store, instance))
            .map(drop)
            .map_err(|e| LoadError::ConfigSchema(format!("{e:#}")))
    }
}

impl Plugin {
    /// The JSON Schema the component declares for its config, or `None` when it declares none.
    /// Runs the export in a fresh sandbox under the default limits; a schema that is not JSON,
    /// is over 64 KiB or is not a usable JSON Schema is [`LoadError::ConfigSchema`].
    pub fn config_schema(&self) -> Result<Option<serde_json::Value>, LoadError> {
        let Some(ConfigExport(ix)) = &self.inner.config_export else {
            return Ok(None);
        };
        let invalid = |message: String| LoadError::ConfigSchema(message);
        let limits = Limits {
            max_output_bytes: MAX_SCHEMA_BYTES,
            ..Limits::default()
        };
        let mut store = self.inner.store(&limits, |limits| {
            CallState::new(limits, Arc::new(PluginConfig::empty()), 0, "config-schema")
        });
        let instance = (self.inner.pre.instantiate(&mut store))
            .map_err(|e| LoadError::Instantiation(format!("{e:#}")))?;
        let text = (ix.load(&mut store, &instance))
            .and_then(|guest| guest.call_schema(&mut store))
            .map_err(|e| invalid(format!("the schema export failed: {e:#}")))?;
        if text.len() > MAX_SCHEMA_BYTES {
            return Err(invalid(format!(
                "the schema is {} bytes, over {MAX_SCHEMA_BYTES}",
                text.len()
            )));
        }
        let schema: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| invalid(format!("not JSON: {e}")))?;
        mandi_sdk::check_schema(&schema).map_err(|e| invalid(e.to_string()))?;
        Ok(Some(schema))
    }
}
