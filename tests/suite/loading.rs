//! Anything that is not a Mandi plugin is refused at load time with a precise reason.

use mandi_host::runtime::{ArtifactSource, Hook, LoadError, Runtime, RuntimeConfig};

use crate::runtime;

fn load_wat(wat: &str) -> Result<mandi_host::runtime::Plugin, LoadError> {
    runtime().load(&wat::parse_str(wat).expect("valid text format"))
}

#[test]
fn example_plugins_report_contract_and_hooks() {
    let jiomart = runtime()
        .load(&mandi_tests::plugin_bytes("jiomart"))
        .expect("loads");
    assert_eq!(jiomart.inspection().contract, "mandi:commerce@0.2.0");
    assert_eq!(
        jiomart.inspection().hooks,
        [
            Hook::CartTransform,
            Hook::Pricing,
            Hook::Validation,
            Hook::Fulfillment
        ]
    );
    let tira = runtime()
        .load(&mandi_tests::plugin_bytes("tira"))
        .expect("loads");
    assert_eq!(
        tira.inspection().hooks,
        [Hook::CartTransform, Hook::Pricing, Hook::Payment]
    );
    let netmeds = runtime()
        .load(&mandi_tests::plugin_bytes("netmeds"))
        .expect("loads");
    assert_eq!(
        netmeds.inspection().hooks,
        [Hook::Validation, Hook::Fulfillment, Hook::Payment]
    );
}

#[test]
fn random_bytes_are_not_wasm() {
    assert!(matches!(
        runtime().load(b"definitely not wasm"),
        Err(LoadError::NotWasm)
    ));
}

#[test]
fn core_module_is_refused_with_a_build_hint() {
    let err = load_wat("(module)").unwrap_err();
    assert!(matches!(err, LoadError::CoreModule));
    assert!(err.to_string().contains("wasm32-wasip2"));
}

#[test]
fn component_without_hooks_is_refused() {
    assert!(matches!(
        load_wat("(component)").unwrap_err(),
        LoadError::NoHooks
    ));
}

/// A component exporting a `price` function (of the wrong type) under the given interface name.
fn pricing_export(interface: &str) -> String {
    format!(
        r#"(component
            (core module $m (func (export "f")))
            (core instance $i (instantiate $m))
            (func $f (canon lift (core func $i "f")))
            (instance $pricing (export "price" (func $f)))
            (export "{interface}" (instance $pricing)))"#
    )
}

#[test]
fn unknown_contract_version_is_refused() {
    let err = load_wat(&pricing_export("mandi:commerce/pricing@9.0.0")).unwrap_err();
    let LoadError::UnsupportedContract { found } = &err else {
        panic!("expected an unsupported contract, got {err}");
    };
    assert_eq!(found, "9.0.0");
    assert!(
        err.to_string().contains("(supported: 0.1.0, 0.2.0)"),
        "{err}"
    );
}

#[test]
fn a_hook_newer_than_the_components_contract_is_not_one_of_its_hooks() {
    // `payment` came with 0.2.0: a 0.1.0 component cannot export it, so this one exports none.
    let err = load_wat(&pricing_export("mandi:commerce/payment@0.1.0")).unwrap_err();
    assert!(matches!(err, LoadError::NoHooks), "{err}");
}

#[test]
fn hook_with_the_wrong_signature_is_refused() {
    let err = load_wat(&pricing_export("mandi:commerce/pricing@0.1.0")).unwrap_err();
    assert!(
        matches!(
            err,
            LoadError::HookSignature {
                hook: Hook::Pricing,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn imports_outside_the_sandbox_are_refused() {
    let err = load_wat(
        r#"(component
            (import "wasi:http/outgoing-handler@0.2.0" (instance (export "handle" (func))))
            (core module $m (func (export "f")))
            (core instance $i (instantiate $m))
            (func $f (canon lift (core func $i "f")))
            (instance $pricing (export "price" (func $f)))
            (export "mandi:commerce/pricing@0.1.0" (instance $pricing)))"#,
    )
    .unwrap_err();
    assert!(matches!(err, LoadError::UnsatisfiedImport(_)), "{err}");
}

#[test]
fn a_start_function_that_never_returns_cannot_hang_loading() {
    let started = std::time::Instant::now();
    let err = load_wat(
        r#"(component
            (core module $m
                (func $spin (loop $forever (br $forever)))
                (start $spin)
                (func (export "f")))
            (core instance $i (instantiate $m))
            (func $f (canon lift (core func $i "f")))
            (instance $pricing (export "price" (func $f)))
            (export "mandi:commerce/pricing@0.1.0" (instance $pricing)))"#,
    )
    .unwrap_err();
    assert!(matches!(err, LoadError::Instantiation(_)), "{err}");
    // Generous bound: this checks "does not hang", not speed.
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}

#[test]
fn oversize_component_is_refused_before_compiling() {
    let small = Runtime::new(RuntimeConfig {
        max_component_bytes: 1_000,
        max_concurrent_instances: 4,
        ..RuntimeConfig::default()
    })
    .expect("runtime");
    let err = small.load(&mandi_tests::plugin_bytes("tira")).unwrap_err();
    assert!(
        matches!(err, LoadError::TooLarge { limit: 1_000, .. }),
        "{err}"
    );
}

/// A small runtime keeping compiled artifacts in `dir`, as a node does in its cache directory.
fn runtime_caching_in(dir: &std::path::Path) -> Runtime {
    Runtime::new(RuntimeConfig {
        cache_dir: Some(dir.to_path_buf()),
        max_concurrent_instances: 4,
        ..RuntimeConfig::default()
    })
    .expect("runtime")
}

#[test]
fn compiled_artifacts_are_reused_across_runtimes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let make = || runtime_caching_in(dir.path());
    let wasm = mandi_tests::plugin_bytes("tira");
    assert!(
        !make()
            .load(&wasm)
            .expect("first load compiles")
            .loaded_from_cache()
    );
    let artifacts: Vec<_> = std::fs::read_dir(dir.path()).expect("cache dir").collect();
    assert_eq!(artifacts.len(), 1, "one artifact per component and engine");
    let name = artifacts[0].as_ref().expect("entry").file_name();
    let name = name.to_string_lossy();
    let digest = mandi_host::runtime::PluginDigest::of(&wasm).hex();
    assert!(
        name.starts_with(&digest) && name.ends_with(".cwasm"),
        "{name}"
    );
    // A second runtime (another process, another node) loads the artifact instead of compiling.
    let plugin = make().load(&wasm).expect("second load deserializes");
    assert!(plugin.loaded_from_cache());
    assert_eq!(
        plugin.inspection().hooks,
        [Hook::CartTransform, Hook::Pricing, Hook::Payment]
    );
}

/// A node's memory for compiled code is bounded: components beyond the budget are dropped,
/// least recently used first, and come back from the cache directory alone (no bytes, no
/// compile) behaving exactly as before.
#[test]
fn components_beyond_the_memory_budget_come_back_from_the_cache_directory() {
    let dir = tempfile::tempdir().expect("temp dir");
    let wasm = [
        mandi_tests::plugin_bytes("tira"),
        mandi_tests::plugin_bytes("netmeds"),
        mandi_tests::plugin_bytes("jiomart"),
    ];
    let sizes: Vec<usize> = wasm
        .iter()
        .map(|w| runtime().load(w).expect("loads").code_bytes())
        .collect();
    // Room for the largest one, not for all three.
    let budget = *sizes.iter().max().expect("three") as u64;
    let small = Runtime::new(RuntimeConfig {
        cache_dir: Some(dir.path().to_path_buf()),
        max_concurrent_instances: 4,
        max_loaded_code_bytes: budget,
        ..RuntimeConfig::default()
    })
    .expect("runtime");
    let plugins: Vec<_> = wasm.iter().map(|w| small.load(w).expect("loads")).collect();
    assert!(small.loaded_code_bytes() <= budget);
    let dropped: Vec<_> = plugins
        .iter()
        .filter(|p| small.loaded(p.digest()).is_none())
        .collect();
    assert!(!dropped.is_empty(), "three components fit a budget for one");
    for plugin in dropped {
        let back = small
            .load_compiled(plugin.digest())
            .expect("its artifact is in the cache directory");
        assert_eq!(back.artifact_source(), ArtifactSource::CacheDir);
        assert_eq!(back.inspection(), plugin.inspection());
        assert_eq!(back.code_bytes(), plugin.code_bytes());
    }
    // Never compiled here: nothing to bring back.
    let other = Runtime::new(RuntimeConfig {
        max_concurrent_instances: 4,
        ..RuntimeConfig::default()
    })
    .expect("runtime");
    assert!(other.load_compiled(plugins[0].digest()).is_none());
}

/// A damaged artifact is not loaded: it is removed, and the component compiles again.
#[test]
fn a_damaged_artifact_is_not_brought_back() {
    let dir = tempfile::tempdir().expect("temp dir");
    let make = || runtime_caching_in(dir.path());
    let wasm = mandi_tests::plugin_bytes("tira");
    let digest = make().load(&wasm).expect("compiles").digest().clone();
    let artifact = std::fs::read_dir(dir.path())
        .expect("cache dir")
        .next()
        .expect("one artifact")
        .expect("entry")
        .path();
    std::fs::write(&artifact, b"not an artifact").expect("overwrite");
    assert!(make().load_compiled(&digest).is_none());
    assert!(!artifact.exists(), "the damaged artifact is removed");
    let plugin = make().load(&wasm).expect("compiles again");
    assert_eq!(plugin.artifact_source(), ArtifactSource::Compiled);
}
