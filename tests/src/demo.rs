//! Tenants set up the way the platform team would: over the HTTP API. The demo's tenants are
//! one per example brand with the sample catalog, its component uploaded and deployed to every
//! hook it exports with the brand's config. Shared by `cargo xtask demo` and the tests that
//! drive a real server.

use anyhow::{Context as _, bail};
use serde_json::{Value, json};

use mandi_host::api::{CreateTenant, Deploy};
use mandi_host::client::AdminClient;

use crate::http::Api;
use crate::samples::{example_config, example_hooks, sample_catalog, sample_payment_methods};

/// The example brands, in the order the demo shows them.
pub const BRANDS: [&str; 3] = ["jiomart", "netmeds", "tira"];

/// A tenant the demo created.
#[derive(Debug, Clone)]
pub struct DemoTenant {
    pub id: String,
    pub api_key: String,
    /// The deployed component's digest.
    pub plugin: String,
}

/// The typed admin client the `mandi` admin commands use, for the service `api` talks to.
pub fn admin_client(api: &Api, admin: &str) -> AdminClient {
    AdminClient::new(api.base(), admin)
}

/// Creates tenant `id` (INR) with the sample catalog and nodes; returns its API key.
pub fn create_tenant(api: &Api, admin: &str, id: &str) -> anyhow::Result<String> {
    let created = (admin_client(api, admin))
        .create_tenant(&CreateTenant {
            id: id.to_owned(),
            name: id.to_owned(),
            currency: "INR".to_owned(),
            time_zone: None,
            utc_offset_minutes: None,
        })
        .context("creating the tenant")?;
    let api_key = created.api_key;
    let (products, nodes) = sample_catalog();
    expect(
        200,
        api.post(
            "/v1/products",
            &api_key,
            &json!({ "products": products }),
            &[],
        )?,
        "importing products",
    )?;
    expect(
        200,
        api.post("/v1/nodes", &api_key, &json!({ "nodes": nodes }), &[])?,
        "importing nodes",
    )?;
    Ok(api_key)
}

/// Uploads a component for `tenant`; returns its digest.
pub fn upload(api: &Api, admin: &str, tenant: &str, wasm: &[u8]) -> anyhow::Result<String> {
    let uploaded = (admin_client(api, admin))
        .upload(tenant, wasm, |_| {})
        .context("uploading the component")?;
    Ok(uploaded.digest)
}

/// Deploys to `tenant` with `body` (hook, plugin, config, ...); returns the deployment.
pub fn deploy(api: &Api, admin: &str, tenant: &str, body: &Value) -> anyhow::Result<Value> {
    let deploy: Deploy = serde_json::from_value(body.clone()).context("a deploy body")?;
    let deployed = (admin_client(api, admin))
        .deploy(tenant, &deploy)
        .context("deploying")?;
    Ok(serde_json::to_value(deployed)?)
}

/// Creates the brand's tenant with the sample catalog and payment methods, uploads `wasm` and
/// deploys it
/// (fail-closed) to the brand's hooks with its example config.
pub fn set_up_brand(
    api: &Api,
    admin: &str,
    brand: &str,
    wasm: &[u8],
) -> anyhow::Result<DemoTenant> {
    set_up_brand_as(api, admin, brand, brand, wasm)
}

/// [`set_up_brand`] under another tenant id: a second tenant running the brand's plugins.
pub fn set_up_brand_as(
    api: &Api,
    admin: &str,
    tenant: &str,
    brand: &str,
    wasm: &[u8],
) -> anyhow::Result<DemoTenant> {
    let api_key = create_tenant(api, admin, tenant)?;
    let methods = json!({ "payment_methods": sample_payment_methods() });
    expect(
        200,
        api.put("/v1/payment-methods", &api_key, &methods)?,
        "setting the payment methods",
    )?;
    let plugin = upload(api, admin, tenant, wasm)?;
    for hook in example_hooks(brand) {
        let body = json!({ "hook": hook, "plugin": plugin, "config": example_config(brand) });
        deploy(api, admin, tenant, &body).with_context(|| format!("deploying to {hook}"))?;
    }
    Ok(DemoTenant {
        id: tenant.to_owned(),
        api_key,
        plugin,
    })
}

fn expect(want: u16, (status, body): (u16, Value), doing: &str) -> anyhow::Result<Value> {
    if status != want {
        bail!("{doing}: HTTP {status} (expected {want}): {body}");
    }
    Ok(body)
}
