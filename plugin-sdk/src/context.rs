//! What the host tells a plugin about the call, and the deployment's configuration.

use serde::{Deserialize, Serialize};

const MS_PER_DAY: i64 = 86_400_000;

/// Host-supplied facts about this call. Plugins have no clock of their own: use `now_unix_ms`.
///
/// With no clock or randomness of its own, a plugin's run is a pure function of its inputs
/// (this one included) and can be replayed exactly. Time rules read local time from here:
///
/// ```
/// # use mandi_sdk::Context;
/// let ctx = Context {
///     tenant_id: "tira".into(),
///     request_id: "req-1".into(),
///     now_unix_ms: 1_767_249_000_000, // 2026-01-01T06:30:00Z
///     time_zone: "Asia/Kolkata".into(),
///     utc_offset_minutes: 330,
/// };
/// assert_eq!(ctx.local_minute_of_day(), 12 * 60); // noon in Kolkata
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Context {
    /// The tenant (brand) whose checkout this is.
    pub tenant_id: String,
    /// The checkout request; the run history records the plugin's runs under it.
    pub request_id: String,
    /// Milliseconds since the Unix epoch, UTC: the checkout's "now", fixed for the whole call.
    pub now_unix_ms: i64,
    /// IANA name of the tenant's time zone, e.g. `Asia/Kolkata`.
    pub time_zone: String,
    /// The zone's offset from UTC at `now_unix_ms` (330 for India), so plugins need no time
    /// zone database.
    pub utc_offset_minutes: i32,
}

#[cfg(feature = "guest")]
impl Context {
    /// The deployment's whole JSON configuration, deserialized into your own type.
    ///
    /// A config that does not match `T` is a [`PluginError`](crate::PluginError) with code
    /// `invalid-config`, which the host reports against the deployment rather than as a crash.
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
