//! Tenants set up the way the platform team would: over the HTTP API. The demo's tenants are
//! one per example brand with the sample catalog, its component uploaded and deployed to every
//! hook it exports with the brand's config. Shared by `cargo xtask demo` and the tests that
//! drive a real server.

use anyhow::{Context as _, bail, ensure};
use serde_json::{Value, json};

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

/// Creates tenant `id` (INR) with the sample catalog and nodes; returns its API key.
pub fn create_tenant(api: &Api, admin: &str, id: &str) -> anyhow::Result<String> {
    let created = expect(
        201,
        api.post(
            "/admin/tenants",
            admin,
            &json!({ "id": id, "name": id, "currency": "INR" }),
            &[],
        )?,
        "creating the tenant",
    )?;
    let api_key = created["api_key"]
        .as_str()
        .context("the new tenant has no api_key")?
        .to_owned();
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
    let (status, uploaded) =
        api.upload(&format!("/admin/tenants/{tenant}/plugins"), admin, wasm)?;
    ensure!(
        status == 200 || status == 201,
        "uploading the component: HTTP {status}: {uploaded}"
    );
    Ok(uploaded["digest"]
        .as_str()
        .context("the upload returned no digest")?
        .to_owned())
}

/// Deploys to `tenant` with `body` (hook, plugin, config, ...); returns the deployment.
pub fn deploy(api: &Api, admin: &str, tenant: &str, body: &Value) -> anyhow::Result<Value> {
    let path = format!("/admin/tenants/{tenant}/deployments");
    expect(201, api.post(&path, admin, body, &[])?, "deploying")
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
