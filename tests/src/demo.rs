//! The demo's tenants, set up the way the platform team would: over the HTTP API, a tenant per
//! example brand with the sample catalog, its component uploaded and deployed to every hook it
//! exports with the brand's config. Shared by `cargo xtask demo` and the test that checks the
//! demo's quotes.

use anyhow::{Context as _, bail, ensure};
use serde_json::{Value, json};

use crate::http::Api;
use crate::samples::{example_config, example_hooks, sample_catalog};

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

/// Creates the brand's tenant, imports the sample catalog, uploads `wasm` and deploys it
/// (fail-closed) to the brand's hooks with its example config.
pub fn set_up_brand(
    api: &Api,
    admin: &str,
    brand: &str,
    wasm: &[u8],
) -> anyhow::Result<DemoTenant> {
    let created = expect(
        201,
        api.post(
            "/admin/tenants",
            admin,
            &json!({ "id": brand, "name": brand, "currency": "INR" }),
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
    let (status, uploaded) = api.upload(&format!("/admin/tenants/{brand}/plugins"), admin, wasm)?;
    ensure!(
        status == 200 || status == 201,
        "uploading the component: HTTP {status}: {uploaded}"
    );
    let plugin = uploaded["digest"]
        .as_str()
        .context("the upload returned no digest")?
        .to_owned();
    for hook in example_hooks(brand) {
        let body = json!({ "hook": hook, "plugin": plugin, "config": example_config(brand) });
        expect(
            201,
            api.post(
                &format!("/admin/tenants/{brand}/deployments"),
                admin,
                &body,
                &[],
            )?,
            &format!("deploying to {hook}"),
        )?;
    }
    Ok(DemoTenant {
        id: brand.to_owned(),
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
