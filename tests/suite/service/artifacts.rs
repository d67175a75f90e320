//! Compiled components shared through the database: a node loads the artifact another node
//! compiled for the same engine instead of compiling the component again, and a damaged artifact
//! is discarded, never fatal. Each node here is a `Deployments` over its own runtime (its own
//! engine, no cache directory, like separate `mandi serve` processes) and one shared store.

use mandi_host::cli::RunInput;
use mandi_host::pipeline::{ArtifactKey, BreakerConfig, Deployments};
use mandi_host::runtime::{ArtifactSource, Hook, Plugin, PluginDigest, Runtime, RuntimeConfig};
use mandi_host::store::{ApiKeyRecord, NewDeployment, PluginRecord, Store, Tenant};
use mandi_sdk::PricingResult;
use mandi_tests::database::TestDatabase;
use serde_json::json;

const TENANT: &str = "tira";

/// The nodes' shared signing key.
fn key() -> ArtifactKey {
    ArtifactKey::derive("test-admin-token-0123456789")
}

/// A node: a fresh engine with no cache directory, so only the database can spare it a compile.
fn node(store: &Store) -> Deployments {
    let runtime = Runtime::new(RuntimeConfig {
        max_concurrent_instances: 4,
        ..RuntimeConfig::default()
    })
    .expect("runtime");
    assert_eq!(runtime.config().cache_dir, None);
    Deployments::new(store.clone(), runtime, BreakerConfig::default()).share_artifacts(key())
}

/// The tenant with tira's component uploaded and deployed to pricing, as the admin API records
/// them (without loading the component: no node has compiled it yet). Returns its digest.
async fn deployed_tira(database: &TestDatabase) -> (Store, PluginDigest) {
    let store = Store::connect(&super::urls(database))
        .await
        .expect("store opens");
    let tenant = Tenant {
        id: TENANT.into(),
        name: "Tira".into(),
        currency: "INR".into(),
        time_zone: "Asia/Kolkata".into(),
        utc_offset_minutes: 330,
        created_at: 0,
    };
    let key = ApiKeyRecord {
        key_id: "artifacts".into(),
        tenant_id: TENANT.into(),
        secret_hash: vec![0; 32],
    };
    store.create_tenant(&tenant, &key).await.expect("tenant");
    let wasm = mandi_tests::plugin_bytes("tira");
    let digest = PluginDigest::of(&wasm);
    let record = PluginRecord {
        digest: digest.to_string(),
        contract: "mandi:commerce@0.1.0".into(),
        hooks: vec!["pricing".into()],
        size_bytes: i64::try_from(wasm.len()).expect("size"),
        uploaded_at: 0,
        config_schema: None,
    };
    store
        .insert_plugin(TENANT, &record, &wasm)
        .await
        .expect("upload");
    let deployment = NewDeployment {
        hook: "pricing".into(),
        plugin_digest: digest.to_string(),
        config: mandi_tests::samples::example_config("tira"),
        failure_policy: "fail-closed".into(),
        limits: json!({}),
        test_carts: None,
        shadow_percent: None,
        canary: None,
    };
    store.deploy(TENANT, &deployment).await.expect("deploy");
    (store, digest)
}

/// Builds the tenant's hooks on `node` (reading its deployments, loading the component) and
/// prices the sample cart with them; the plugin as loaded and the pricing result.
async fn serve(node: &Deployments, digest: &PluginDigest) -> (Plugin, PricingResult) {
    let hooks = node.for_tenant(TENANT).await.expect("hooks build");
    let pricing = hooks.get(Hook::Pricing).expect("pricing deployed");
    let path = mandi_tests::samples_dir().join("cart.json");
    let input: RunInput =
        serde_json::from_str(&std::fs::read_to_string(path).expect("sample")).expect("parses");
    let ctx = input.context.expect("the sample has a context");
    let priced = pricing
        .invoker
        .price(
            &mandi_host::runtime::CheckoutSandbox::new(),
            &ctx,
            &input.cart,
        )
        .into_result();
    let plugin = node.runtime().loaded(digest).expect("loaded in memory");
    assert_eq!(
        plugin.inspection().hooks,
        [Hook::CartTransform, Hook::Pricing, Hook::Payment]
    );
    (plugin, priced.expect("prices the sample cart"))
}

#[tokio::test]
async fn a_second_node_loads_the_artifact_the_first_compiled() {
    let database = TestDatabase::fresh().await;
    let (store, digest) = deployed_tira(&database).await;
    let (a, b) = (node(&store), node(&store));
    let engine = a.runtime().engine_fingerprint().to_owned();
    assert_eq!(
        b.runtime().engine_fingerprint(),
        engine,
        "same configuration, same engine: one artifact fits both"
    );
    let key = digest.to_string();
    assert_eq!(store.artifact(&key, &engine).await.expect("reads"), None);

    // Node A finds nothing shared, compiles, and shares what it compiled.
    let (on_a, priced_a) = serve(&a, &digest).await;
    assert_eq!(on_a.artifact_source(), ArtifactSource::Compiled);
    let stored = store
        .artifact(&key, &engine)
        .await
        .expect("reads")
        .expect("node A stored its artifact");
    assert!(!stored.bytes.is_empty());
    assert!(self::key().verifies(&key, &engine, &stored), "signed");

    // Node B, with a cold engine of its own, loads that artifact and does not compile.
    let (on_b, priced_b) = serve(&b, &digest).await;
    assert_eq!(on_b.artifact_source(), ArtifactSource::Supplied);
    assert!(on_b.loaded_from_cache());
    assert_eq!(
        priced_b, priced_a,
        "the shared code computes what node A's did"
    );
    assert!(!priced_b.adjustments.is_empty(), "{priced_b:?}");

    // An upload on a third node (the admin API's path) finds the artifact too.
    let c = node(&store);
    let uploaded = c
        .load_component(mandi_tests::plugin_bytes("tira"))
        .await
        .expect("loads");
    assert_eq!(uploaded.artifact_source(), ArtifactSource::Supplied);
}

#[tokio::test]
async fn a_damaged_shared_artifact_is_discarded_and_the_component_compiled() {
    let database = TestDatabase::fresh().await;
    let (store, digest) = deployed_tira(&database).await;
    let a = node(&store);
    let engine = a.runtime().engine_fingerprint().to_owned();
    // Signed with the right key, so only the runtime's own check can refuse it.
    let junk = key().sign(
        &digest.to_string(),
        &engine,
        b"\x7fELF but not an artifact".to_vec(),
    );
    store
        .put_artifact(&digest.to_string(), &engine, &junk)
        .await
        .expect("stores");

    let (plugin, priced) = serve(&a, &digest).await;
    assert_eq!(plugin.artifact_source(), ArtifactSource::Compiled);
    assert!(!plugin.loaded_from_cache());
    assert!(!priced.adjustments.is_empty(), "{priced:?}");

    // The runtime hands the damaged artifact back unused and returns the one it compiled.
    let runtime = node(&store).runtime().clone();
    let (plugin, fresh) = runtime
        .load_with_artifact(&mandi_tests::plugin_bytes("tira"), Some(b"garbage"))
        .expect("loads");
    assert_eq!(plugin.artifact_source(), ArtifactSource::Compiled);
    let fresh = fresh.expect("a compiled artifact to share");
    // ... which another engine of the same configuration accepts.
    let (plugin, again) = node(&store)
        .runtime()
        .load_with_artifact(&mandi_tests::plugin_bytes("tira"), Some(&fresh))
        .expect("loads");
    assert_eq!(plugin.artifact_source(), ArtifactSource::Supplied);
    assert_eq!(again, None, "nothing new to share");
}

#[tokio::test]
async fn an_artifact_without_the_nodes_signature_is_never_loaded() {
    let database = TestDatabase::fresh().await;
    let (store, digest) = deployed_tira(&database).await;
    let a = node(&store);
    let engine = a.runtime().engine_fingerprint().to_owned();
    let key = digest.to_string();
    // A genuine artifact, signed with another key: what someone who can write the database
    // but does not hold the nodes' secret could store.
    let (_, genuine) = node(&store)
        .runtime()
        .load_with_artifact(&mandi_tests::plugin_bytes("tira"), None)
        .expect("compiles");
    let forged = ArtifactKey::derive("not the nodes' secret").sign(
        &key,
        &engine,
        genuine.expect("an artifact"),
    );
    store
        .put_artifact(&key, &engine, &forged)
        .await
        .expect("stores");

    let (plugin, priced) = serve(&a, &digest).await;
    assert_eq!(
        plugin.artifact_source(),
        ArtifactSource::Compiled,
        "not loaded"
    );
    assert!(!priced.adjustments.is_empty(), "{priced:?}");
    // The node replaced it with one it signed.
    let stored = store
        .artifact(&key, &engine)
        .await
        .expect("reads")
        .expect("stored");
    assert!(self::key().verifies(&key, &engine, &stored));
}
