//! The shape of a plugin's config. A plugin that declares it (`export_plugin!(... ; config =
//! Config)`) has every deployment's config checked against it before the deployment is made:
//! a wrong field is a 422 that names it, not a failing checkout later.
//!
//! The schema is derived from the plugin's own `Config` type with
//! [schemars](https://docs.rs/schemars) (`#[derive(schemars::JsonSchema)]` beside `Deserialize`),
//! so it follows the type's serde attributes (`deny_unknown_fields`, `default`, renames). The
//! host and [`testing::check_config`](crate::testing::check_config) check configs with the same
//! function, [`check_config`], so `cargo test` and a deploy agree.

use serde_json::Value;

/// The JSON Schema (draft 2020-12) of config type `C`, as a component declares it.
pub fn config_schema<C: schemars::JsonSchema>() -> Value {
    serde_json::to_value(schemars::schema_for!(C)).expect("a schema is plain JSON")
}

/// Why a config does not fit its plugin's schema: the field, and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigMismatch {
    /// JSON Pointer to the field, e.g. `/coupons/GLOW15/percent_off_bps`; empty for the object
    /// itself (a missing or unknown key).
    pub path: String,
    /// What the schema says is wrong, e.g. `"ten" is not of type "integer"`.
    pub message: String,
}

impl std::fmt::Display for ConfigMismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let at = if self.path.is_empty() {
            "the config"
        } else {
            &self.path
        };
        write!(f, "{at}: {}", self.message)
    }
}

impl std::error::Error for ConfigMismatch {}

/// A schema that is not one: the JSON Schema validator refused it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidSchema(pub String);

impl std::fmt::Display for InvalidSchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "not a usable JSON Schema: {}", self.0)
    }
}

impl std::error::Error for InvalidSchema {}

/// Checks that `schema` is a JSON Schema the platform can check configs against (the host does
/// this when a component is uploaded).
#[cfg(not(target_arch = "wasm32"))]
pub fn check_schema(schema: &Value) -> Result<(), InvalidSchema> {
    // Only local references: a schema never makes the host fetch anything.
    jsonschema::validator_for(schema)
        .map(drop)
        .map_err(|e| InvalidSchema(e.to_string()))
}

/// Checks `config` against `schema` as the platform does at deploy. Every field that does not
/// fit is reported, first one first; `schema` must pass [`check_schema`].
#[cfg(not(target_arch = "wasm32"))]
pub fn check_config(schema: &Value, config: &Value) -> Result<(), Vec<ConfigMismatch>> {
    let validator = jsonschema::validator_for(schema).map_err(|e| {
        vec![ConfigMismatch {
            path: String::new(),
            message: InvalidSchema(e.to_string()).to_string(),
        }]
    })?;
    let mismatches: Vec<ConfigMismatch> = validator
        .iter_errors(config)
        .map(|e| ConfigMismatch {
            path: e.instance_path().to_string(),
            message: e.to_string(),
        })
        .collect();
    if mismatches.is_empty() {
        Ok(())
    } else {
        Err(mismatches)
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_schema_that_is_not_one_or_reaches_out_is_refused() {
        assert!(check_schema(&json!({ "type": "object" })).is_ok());
        assert!(check_schema(&json!({ "type": 12 })).is_err());
        // Remote references would make the host fetch: never resolved.
        assert!(check_schema(&json!({ "$ref": "https://example.com/config.json" })).is_err());
    }

    #[test]
    fn every_field_that_does_not_fit_is_named_by_its_pointer() {
        let schema = json!({
            "type": "object",
            "additionalProperties": false,
            "properties": {
                "limit": { "type": "integer", "minimum": 0 },
                "tiers": { "type": "object", "additionalProperties": { "type": "integer" } },
            },
        });
        assert_eq!(check_config(&schema, &json!({ "limit": 5 })), Ok(()));
        let wrong =
            check_config(&schema, &json!({ "limit": -1, "tiers": { "gold": "x" } })).unwrap_err();
        let paths: Vec<&str> = wrong.iter().map(|m| m.path.as_str()).collect();
        assert_eq!(paths, ["/limit", "/tiers/gold"]);
        assert!(wrong[0].to_string().starts_with("/limit: "), "{}", wrong[0]);
        let unknown = check_config(&schema, &json!({ "limits": 5 })).unwrap_err();
        assert_eq!(unknown[0].path, "");
        assert!(
            unknown[0].to_string().starts_with("the config: "),
            "{}",
            unknown[0]
        );
    }
}
