//! The `mandi` command line: inspect a component, run one hook, or quote a cart through the
//! whole pipeline, locally, with exactly the production sandbox and limits.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use mandi_sdk::Context;
use serde::Serialize;

use crate::pipeline::{
    self, Deployed, FailurePolicy, HookDeployment, Outcome, PluginInvoker, QuoteError, QuoteInput,
    RecordedRuns, ReplayReport, Source, TenantHooks,
};
use crate::runtime::{CallSettings, Hook, Limits, Plugin, PluginConfig, Runtime, RuntimeConfig};

#[derive(Debug, Parser)]
#[command(
    name = "mandi",
    version,
    about = "Mandi: one checkout, every brand's rules as WebAssembly plugins"
)]
pub struct Cli {
    /// How the admin commands reach the service (ignored by `serve` and `plugin`).
    #[command(flatten)]
    connection: crate::admin_cli::Connection,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the checkout service (HTTP API) until SIGINT/SIGTERM.
    Serve(crate::config::ServeArgs),
    /// Work with plugin components locally.
    #[command(subcommand)]
    Plugin(PluginCommand),
    #[command(flatten)]
    Admin(crate::admin_cli::AdminCommand),
}

#[derive(Debug, Subcommand)]
enum PluginCommand {
    /// Build a plugin crate (or workspace) as components, reproducibly: the same sources give
    /// the same bytes, so the same digest, in any directory on any machine. Prints each
    /// component's file, size and digest as JSON.
    Build {
        /// The crate's or workspace's Cargo.toml [default: the current directory's].
        #[arg(long)]
        manifest_path: Option<PathBuf>,
        /// Further `cargo build` arguments, after `--` (e.g. `-- -p mybrand`).
        #[arg(last = true)]
        cargo_args: Vec<String>,
    },
    /// Print a component's contract version and hooks as JSON.
    Inspect {
        /// The component (.wasm) to inspect.
        file: PathBuf,
        #[command(flatten)]
        cache: CacheArgs,
    },
    /// Quote a cart through the checkout pipeline with this component deployed to every hook it
    /// exports (platform defaults for the others) and print the quote as JSON.
    Quote {
        /// Run input, as for `run`; an optional "catalog" list of cart lines prices free items.
        #[arg(long)]
        input: PathBuf,
        /// The deployment config (a JSON object) the plugin sees; `{}` when omitted.
        #[arg(long)]
        config: Option<PathBuf>,
        /// The component (.wasm).
        file: PathBuf,
        #[command(flatten)]
        cache: CacheArgs,
    },
    /// Replay recorded checkouts (a file from `GET /admin/tenants/{t}/recorded-runs`) with a
    /// candidate component on their hook beside a baseline one, and print, per checkout,
    /// identical / different (what changed, the totals' delta) / failed, with a summary. Only
    /// the recorded hook is plugged in; the other hooks run the platform defaults. Exits 0 when
    /// every replayed checkout is identical, 4 when some differ or fail.
    Replay {
        /// The recorded checkouts (JSON: {"hook", "runs": [...]}).
        #[arg(long)]
        runs: PathBuf,
        /// The version to compare against: usually the live one's component.
        #[arg(long)]
        baseline: PathBuf,
        /// The baseline's config (a JSON object); `{}` when omitted.
        #[arg(long)]
        baseline_config: Option<PathBuf>,
        /// The candidate's config (a JSON object); `{}` when omitted.
        #[arg(long)]
        config: Option<PathBuf>,
        /// The candidate component (.wasm).
        file: PathBuf,
        #[command(flatten)]
        cache: CacheArgs,
    },
    /// Run one hook on an input, in the production sandbox, and print the result as JSON.
    Run {
        /// Which hook to call.
        #[arg(long, value_parser = parse_hook)]
        hook: Hook,
        /// Run input: {"context"?, "cart", "priced_cart"?, "nodes"?, "defaults"?}.
        #[arg(long)]
        input: PathBuf,
        /// The deployment config (a JSON object) the plugin sees; `{}` when omitted.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Per-call limits as JSON (any subset of the fields); production defaults when omitted.
        #[arg(long)]
        limits: Option<PathBuf>,
        /// The component (.wasm) to run.
        file: PathBuf,
        #[command(flatten)]
        cache: CacheArgs,
    },
}

#[derive(Debug, clap::Args)]
struct CacheArgs {
    /// Where compiled artifacts are kept between runs.
    #[arg(long, env = "MANDI_CACHE_DIR")]
    cache_dir: Option<PathBuf>,
    /// Compile in memory only.
    #[arg(long)]
    no_cache: bool,
}

impl CacheArgs {
    fn runtime(&self) -> anyhow::Result<Runtime> {
        let cache_dir = if self.no_cache {
            None
        } else {
            self.cache_dir
                .clone()
                .or_else(crate::config::default_cache_dir)
        };
        Runtime::new(RuntimeConfig {
            cache_dir,
            ..RuntimeConfig::default()
        })
    }
}

fn parse_hook(s: &str) -> Result<Hook, String> {
    s.parse()
}

/// The input file of `mandi plugin run`, defined by the SDK so brand teams read sample files
/// exactly as the CLI does.
pub use mandi_sdk::RunInput;

#[derive(Serialize)]
struct RunReport<T: Serialize> {
    hook: Hook,
    plugin: String,
    #[serde(flatten)]
    run: crate::runtime::HookRun<T>,
}

/// Exit status when the hook ran but failed (timeout, trap, plugin error...).
const EXIT_HOOK_FAILED: u8 = 3;
/// Exit status of a replay in which some checkout differs or fails.
const EXIT_REPLAY_CHANGED: u8 = 4;

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Admin(command) => crate::admin_cli::run(cli.connection, command),
        Command::Serve(args) => {
            let config = crate::config::ServeConfig::resolve(args)?;
            tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?
                .block_on(crate::server::serve(config))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Plugin(PluginCommand::Build {
            manifest_path,
            cargo_args,
        }) => build_components(manifest_path.as_deref(), &cargo_args),
        Command::Plugin(PluginCommand::Inspect { file, cache }) => {
            let runtime = cache.runtime()?;
            let plugin = load(&runtime, &file)?;
            let size_bytes = std::fs::metadata(&file)
                .with_context(|| format!("cannot read {}", file.display()))?
                .len();
            #[derive(Serialize)]
            struct Report<'a> {
                digest: String,
                size_bytes: u64,
                #[serde(flatten)]
                inspection: &'a crate::runtime::Inspection,
                /// What a deployment's config must look like; `null` when not declared.
                config_schema: Option<serde_json::Value>,
            }
            print_json(&Report {
                digest: plugin.digest().to_string(),
                size_bytes,
                inspection: plugin.inspection(),
                config_schema: plugin.config_schema()?,
            })?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Plugin(PluginCommand::Quote {
            input,
            config,
            file,
            cache,
        }) => {
            let input: RunInput = read_json(&input, "run input")?;
            let config = read_config(config.as_deref())?;
            let runtime = cache.runtime()?;
            let plugin = load(&runtime, &file)?;
            check_declared_config(&plugin, &config)?;
            quote_with(plugin, input, config)
        }
        Command::Plugin(PluginCommand::Replay {
            runs,
            baseline,
            baseline_config,
            config,
            file,
            cache,
        }) => {
            let recorded: RecordedRuns = read_json(&runs, "recorded runs")?;
            let runtime = cache.runtime()?;
            let mut sides = Vec::new();
            for (path, config) in [(&baseline, baseline_config), (&file, config)] {
                let config = read_config(config.as_deref())?;
                let plugin = load(&runtime, path)?;
                check_declared_config(&plugin, &config)?;
                if !plugin.has_hook(recorded.hook) {
                    anyhow::bail!(
                        "{} does not export the {} hook the runs are of (it exports: {})",
                        path.display(),
                        recorded.hook,
                        join_hooks(&plugin.inspection().hooks)
                    );
                }
                sides.push(local_hooks(&plugin, config, &[recorded.hook]));
            }
            let report = replay_offline(&recorded, &sides[0], &sides[1]);
            print_json(&report)?;
            let summary = &report.summary;
            Ok(if summary.different + summary.failed == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(EXIT_REPLAY_CHANGED)
            })
        }
        Command::Plugin(PluginCommand::Run {
            hook,
            input,
            config,
            limits,
            file,
            cache,
        }) => {
            let input: RunInput = read_json(&input, "run input")?;
            let config = read_config(config.as_deref())?;
            let limits: Limits = match limits {
                Some(path) => read_json(&path, "limits")?,
                None => Limits::default(),
            };
            let runtime = cache.runtime()?;
            limits
                .check_within(&runtime.config().ceilings)
                .context("invalid limits")?;
            let plugin = load(&runtime, &file)?;
            check_declared_config(&plugin, &config)?;
            if !plugin.has_hook(hook) {
                anyhow::bail!(
                    "{} does not export the {hook} hook (it exports: {})",
                    file.display(),
                    join_hooks(&plugin.inspection().hooks)
                );
            }
            run_hook(&plugin, hook, input, &Arc::new(config), &limits)
        }
    }
}

fn build_components(
    manifest_path: Option<&Path>,
    cargo_args: &[String],
) -> anyhow::Result<ExitCode> {
    let build = crate::plugin_build::ComponentBuild::new(manifest_path)?;
    let status = (build.command(cargo_args).status()).context("running cargo build")?;
    if !status.success() {
        anyhow::bail!("cargo build failed (its messages are above)");
    }
    #[derive(Serialize)]
    struct Built {
        file: PathBuf,
        size_bytes: usize,
        digest: String,
    }
    let mut built = Vec::new();
    for file in build.components() {
        // A member not built this time (e.g. `-- -p other`) may have no component yet.
        let Ok(wasm) = std::fs::read(&file) else {
            continue;
        };
        built.push(Built {
            digest: crate::runtime::PluginDigest::of(&wasm).to_string(),
            size_bytes: wasm.len(),
            file,
        });
    }
    print_json(&built)?;
    Ok(ExitCode::SUCCESS)
}

fn run_hook(
    plugin: &Plugin,
    hook: Hook,
    input: RunInput,
    config: &Arc<PluginConfig>,
    limits: &Limits,
) -> anyhow::Result<ExitCode> {
    let call = CallSettings::new(config, limits);
    let ctx = input.context.clone().unwrap_or_else(local_context);
    let run = plugin.run_input(hook, call, &ctx, &input);
    let failed = report(hook, plugin.digest().to_string(), run)?;
    Ok(if failed {
        ExitCode::from(EXIT_HOOK_FAILED)
    } else {
        ExitCode::SUCCESS
    })
}

/// Prints the run and says whether the hook failed.
fn report<T: Serialize>(
    hook: Hook,
    plugin: String,
    run: crate::runtime::HookRun<T>,
) -> anyhow::Result<bool> {
    let failed = run.output().is_err();
    print_json(&RunReport { hook, plugin, run })?;
    Ok(failed)
}

fn read_config(path: Option<&Path>) -> anyhow::Result<PluginConfig> {
    let Some(path) = path else {
        return Ok(PluginConfig::empty());
    };
    let text = read_text(path, "config")?;
    PluginConfig::from_json(&text).with_context(|| format!("in {}", path.display()))
}

/// A config the component's declared schema refuses is refused here too, as a deploy would.
fn check_declared_config(plugin: &Plugin, config: &PluginConfig) -> anyhow::Result<()> {
    let Some(schema) = plugin.config_schema()? else {
        return Ok(());
    };
    let config: serde_json::Value =
        serde_json::from_str(config.as_json()).context("the config is not JSON")?;
    match mandi_sdk::check_config(&schema, &config) {
        Ok(()) => Ok(()),
        Err(mismatches) => {
            let lines: Vec<String> = mismatches.iter().map(ToString::to_string).collect();
            anyhow::bail!(
                "the config does not fit the plugin's config schema:\n  {}",
                lines.join("\n  ")
            )
        }
    }
}

/// `plugin` deployed locally to `hooks`, fail-closed, with the production default limits.
fn local_hooks(plugin: &Plugin, config: PluginConfig, hooks: &[Hook]) -> TenantHooks {
    let source = Source {
        deployment_id: "local".into(),
        plugin: plugin.digest().to_string(),
        version: 1,
    };
    let invoker: Arc<dyn PluginInvoker> = Arc::new(Deployed {
        plugin: plugin.clone(),
        config: Arc::new(config),
        limits: Limits::default(),
    });
    let mut deployed = TenantHooks::default();
    for &hook in hooks {
        let deployment = HookDeployment {
            source: source.clone(),
            policy: FailurePolicy::FailClosed,
            invoker: invoker.clone(),
            breaker: Arc::default(),
        };
        deployed.set(hook, deployment);
    }
    deployed
}

/// Quotes `input` through the pipeline with `hooks`, pricing free items from its catalog.
fn local_quote(input: &RunInput, hooks: &TenantHooks) -> Result<pipeline::Quote, QuoteError> {
    let ctx = input.context.clone().unwrap_or_else(local_context);
    let extra = QuoteInput {
        nodes: input.nodes.clone(),
        payment_methods: input.payment_methods.clone(),
    };
    let catalog = |skus: &[&str]| {
        (input.catalog.iter())
            .filter(|line| skus.contains(&line.sku.as_str()))
            .cloned()
            .collect()
    };
    pipeline::quote(&ctx, &input.cart, &extra, hooks, &catalog)
}

/// Each recorded checkout quoted with `baseline` and with `candidate`, compared.
fn replay_offline(
    recorded: &RecordedRuns,
    baseline: &TenantHooks,
    candidate: &TenantHooks,
) -> ReplayReport {
    let runs = (recorded.runs.iter())
        .map(|checkout| {
            let Some(input) = &checkout.input else {
                return pipeline::not_kept(checkout);
            };
            let [live, trial] = [baseline, candidate]
                .map(|hooks| Outcome::of(&checkout.request_id, local_quote(input, hooks)));
            pipeline::compare(checkout, recorded.hook, &live, &trial)
        })
        .collect();
    ReplayReport::new(runs)
}

/// Deploys `plugin` to every hook it exports, fail-closed, and quotes the input's cart.
fn quote_with(plugin: Plugin, input: RunInput, config: PluginConfig) -> anyhow::Result<ExitCode> {
    let hooks = local_hooks(&plugin, config, &plugin.inspection().hooks);
    match local_quote(&input, &hooks) {
        Ok(quote) => {
            print_json(&quote)?;
            Ok(ExitCode::SUCCESS)
        }
        Err(QuoteError::Cart(err)) => Err(anyhow::Error::new(err).context("the input's cart")),
        Err(QuoteError::HookFailed(failed)) => {
            #[derive(Serialize)]
            struct Failed<'a> {
                status: &'static str,
                hook: Hook,
                error: &'a crate::runtime::HookFailure,
                trace: &'a [pipeline::HookTrace],
            }
            print_json(&Failed {
                status: "failed",
                hook: failed.hook,
                error: &failed.failure,
                trace: &failed.trace,
            })?;
            Ok(ExitCode::from(EXIT_HOOK_FAILED))
        }
    }
}

fn local_context() -> Context {
    let now_unix_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default();
    Context {
        tenant_id: "local".into(),
        request_id: format!("local-{now_unix_ms}"),
        now_unix_ms,
        time_zone: "UTC".into(),
        utc_offset_minutes: 0,
    }
}

fn load(runtime: &Runtime, file: &Path) -> anyhow::Result<Plugin> {
    let wasm =
        std::fs::read(file).with_context(|| format!("cannot read component {}", file.display()))?;
    runtime
        .load(&wasm)
        .with_context(|| format!("cannot load {}", file.display()))
}

fn read_text(path: &Path, what: &str) -> anyhow::Result<String> {
    std::fs::read_to_string(path)
        .with_context(|| format!("cannot read {what} file {}", path.display()))
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path, what: &str) -> anyhow::Result<T> {
    let text = read_text(path, what)?;
    serde_json::from_str(&text).with_context(|| format!("invalid {what} in {}", path.display()))
}

fn print_json(value: &impl Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

fn join_hooks(hooks: &[Hook]) -> String {
    hooks
        .iter()
        .map(|h| h.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}
