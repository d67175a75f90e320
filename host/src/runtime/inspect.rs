//! What a component is: which contract version it was built against and which hooks it
//! exports. Anything that is not a Mandi plugin is refused here with a reason.

use std::fmt;

use serde::Serialize;

use super::hooks::Hook;
use wasmtime::Engine;
use wasmtime::component::Component;

/// The contract package every hook interface belongs to.
const CONTRACT_PACKAGE: &str = "mandi:commerce";

/// Contract versions this host can load, oldest first. A new version adds to the list and
/// keeps the old ones: components built against any of them run side by side.
pub const SUPPORTED_CONTRACTS: &[&str] = &["0.1.0", "0.2.0"];

/// A contract version this host can load.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Contract {
    V0_1,
    V0_2,
}

impl Contract {
    /// The newest version, the one the SDK builds against.
    pub const CURRENT: Contract = Contract::V0_2;

    /// The version number, e.g. `0.2.0`.
    pub fn version(self) -> &'static str {
        match self {
            Contract::V0_1 => "0.1.0",
            Contract::V0_2 => "0.2.0",
        }
    }

    fn parse(version: &str) -> Option<Self> {
        [Contract::V0_1, Contract::V0_2]
            .into_iter()
            .find(|c| c.version() == version)
    }
}

impl fmt::Display for Contract {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{CONTRACT_PACKAGE}@{}", self.version())
    }
}

impl Serialize for Contract {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl PartialEq<&str> for Contract {
    fn eq(&self, other: &&str) -> bool {
        (other.strip_prefix(CONTRACT_PACKAGE)).and_then(|rest| rest.strip_prefix('@'))
            == Some(self.version())
    }
}

/// Why a blob of bytes is not a loadable plugin. Each variant is a caller error (4xx).
#[derive(Debug, Clone, thiserror::Error)]
pub enum LoadError {
    #[error("component is {size} bytes, over the {limit} byte limit")]
    TooLarge { size: usize, limit: usize },
    /// More code than the runtime compiles: compile time grows with it, and a node compiles
    /// one component at a time.
    #[error(
        "component has {functions} functions with {code_bytes} bytes of code; the limit is \
         {max_functions} functions and {max_code_bytes} bytes"
    )]
    TooComplex {
        functions: u64,
        code_bytes: u64,
        max_functions: u64,
        max_code_bytes: u64,
    },
    #[error("not a WebAssembly binary (missing the \\0asm header)")]
    NotWasm,
    #[error(
        "this is a core WebAssembly module, not a component: build the plugin with \
         `cargo build --target wasm32-wasip2`"
    )]
    CoreModule,
    #[error("invalid component: {0}")]
    Invalid(String),
    #[error(
        "exports no Mandi hook (expected {CONTRACT_PACKAGE}/{})",
        Hook::names()
    )]
    NoHooks,
    #[error(
        "built against contract {CONTRACT_PACKAGE}@{found}, which this host does not support \
         (supported: {supported})",
        supported = SUPPORTED_CONTRACTS.join(", ")
    )]
    UnsupportedContract { found: String },
    #[error("exports hooks from more than one contract version: {0}")]
    MixedContracts(String),
    #[error("imports something the sandbox does not provide: {0}")]
    UnsatisfiedImport(String),
    #[error("hook `{hook}` does not match the contract: {message}")]
    HookSignature { hook: Hook, message: String },
    #[error("failed to start: {0}")]
    Instantiation(String),
    #[error("config schema: {0}")]
    ConfigSchema(String),
}

/// The component's contract version and hooks, as `mandi plugin inspect` prints them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Inspection {
    pub contract: Contract,
    pub hooks: Vec<Hook>,
    /// The component exports the shape of its config (`Plugin::config_schema` reads it).
    #[serde(skip)]
    pub declares_config: bool,
}

/// Checks the binary header before handing bytes to the compiler, for a precise error.
pub(crate) fn check_header(wasm: &[u8]) -> Result<(), LoadError> {
    const MAGIC: &[u8] = b"\0asm";
    if wasm.len() < 8 || &wasm[..4] != MAGIC {
        return Err(LoadError::NotWasm);
    }
    // Bytes 6..8 are the "layer": 0 for core modules, 1 for components.
    match wasm[6..8] {
        [0, 0] => Err(LoadError::CoreModule),
        _ => Ok(()),
    }
}

/// How much code the component's core modules hold: functions and bytes of function bodies,
/// counted from the section headers without compiling anything. Malformed binaries are left
/// for the compiler to report.
pub(crate) fn code_size(wasm: &[u8]) -> (u64, u64) {
    let (mut functions, mut bytes) = (0u64, 0u64);
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        match payload {
            Ok(wasmparser::Payload::CodeSectionStart { count, size, .. }) => {
                functions += u64::from(count);
                bytes += u64::from(size);
            }
            Ok(_) => {}
            Err(_) => break,
        }
    }
    (functions, bytes)
}

/// Reads the hooks and contract version from the component's exported interface names.
pub(crate) fn inspect(engine: &Engine, component: &Component) -> Result<Inspection, LoadError> {
    let mut hooks = Vec::new();
    let mut versions: Vec<String> = Vec::new();
    let mut config_versions: Vec<String> = Vec::new();
    for (name, _) in component.component_type().exports(engine) {
        let Some((interface, version)) = parse_export(name) else {
            continue;
        };
        if interface == super::config_schema::INTERFACE {
            config_versions.push(version.to_owned());
            continue;
        }
        let Ok(hook) = interface.parse::<Hook>() else {
            continue;
        };
        hooks.push(hook);
        if !versions.contains(&version.to_owned()) {
            versions.push(version.to_owned());
        }
    }
    let version = match versions.as_slice() {
        [] => return Err(LoadError::NoHooks),
        [one] => one.clone(),
        many => return Err(LoadError::MixedContracts(many.join(", "))),
    };
    let contract =
        Contract::parse(&version).ok_or(LoadError::UnsupportedContract { found: version })?;
    // A hook newer than the component's contract is not part of it (say, `payment@0.1.0`):
    // an export like any other the host does not call.
    hooks.retain(|hook| hook.since() <= contract);
    if hooks.is_empty() {
        return Err(LoadError::NoHooks);
    }
    hooks.sort();
    // The config interface came with 0.2.0; one of another version than the hooks' is not
    // this contract's.
    let declares_config =
        contract >= Contract::V0_2 && config_versions.iter().any(|v| *v == contract.version());
    Ok(Inspection {
        contract,
        hooks,
        declares_config,
    })
}

/// `mandi:commerce/pricing@0.1.0` -> `("pricing", "0.1.0")`; other packages -> `None`.
fn parse_export(name: &str) -> Option<(&str, &str)> {
    let rest = name.strip_prefix(CONTRACT_PACKAGE)?.strip_prefix('/')?;
    rest.split_once('@')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_contract_exports_only() {
        assert_eq!(
            parse_export("mandi:commerce/pricing@0.1.0"),
            Some(("pricing", "0.1.0"))
        );
        assert_eq!(parse_export("wasi:cli/run@0.2.0"), None);
        assert_eq!(parse_export("mandi:commercex/pricing@0.1.0"), None);
    }

    #[test]
    fn header_check_tells_modules_from_components() {
        assert!(matches!(
            check_header(b"hello world"),
            Err(LoadError::NotWasm)
        ));
        assert!(matches!(
            check_header(b"\0asm\x01\0\0\0"),
            Err(LoadError::CoreModule)
        ));
        assert!(check_header(b"\0asm\x0d\0\x01\0").is_ok());
    }
}
