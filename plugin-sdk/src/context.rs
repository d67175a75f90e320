//! What the host tells a plugin about the call, and the deployment's configuration.

use serde::{Deserialize, Serialize};

const MS_PER_DAY: i64 = 86_400_000;

/// Host-supplied facts about this call. Plugins have no clock of their own: use `now_unix_ms`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Context {
    pub tenant_id: String,
    pub request_id: String,
    pub now_unix_ms: i64,
    pub time_zone: String,
    pub utc_offset_minutes: i32,
}

#[cfg(feature = "guest")]
impl Context {
    /// The deployment's whole JSON configuration, deserialized into your own type.
    ///
    /// A config that does not match `T` is a [`PluginError`](crate::PluginError) with code `invalid-config`, which the
    /// host reports against the deployment rather than as a crash.
    pub fn config<T: serde::de::DeserializeOwned>(&self) -> crate::Result<T> {
        serde_json::from_str(&crate::__private::host::config()).map_err(invalid_config)
    }

    /// One top-level key of the configuration; `Ok(None)` when the key is absent.
    pub fn config_value<T: serde::de::DeserializeOwned>(
        &self,
        key: &str,
    ) -> crate::Result<Option<T>> {
        crate::__private::host::config_value(key)
            .map(|json| serde_json::from_str(&json).map_err(invalid_config))
            .transpose()
    }
}

impl Context {
    /// Milliseconds since the epoch shifted into the tenant's local time.
    pub fn local_unix_ms(&self) -> i64 {
        self.now_unix_ms + i64::from(self.utc_offset_minutes) * 60_000
    }

    /// Minutes since local midnight (0..1440), for time-of-day rules.
    pub fn local_minute_of_day(&self) -> u32 {
        // rem_euclid keeps this in range for instants before 1970 as well.
        (self.local_unix_ms().rem_euclid(MS_PER_DAY) / 60_000) as u32
    }
}

#[cfg(feature = "guest")]
fn invalid_config(err: serde_json::Error) -> crate::PluginError {
    crate::PluginError::new(
        "invalid-config",
        format!("configuration does not match: {err}"),
    )
}
