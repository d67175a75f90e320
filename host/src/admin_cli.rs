//! The platform team's commands against a running service: `mandi tenants|plugins|deploy|
//! rollback|deployments|rollouts|test-carts|replay|recorded-runs|runs|run|events`. Each is one
//! or two calls of the admin API through [`AdminClient`]; the output is a table (or a few
//! lines) by default and the API's own JSON with `--json`. A refused request prints the
//! service's error code and message (and its details) and exits 1.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use comfy_table::{Table, presets};
use serde::Serialize;
use serde_json::Value;

use crate::api::{CreateTenant, Deploy, DeployMode, RollbackWhen};
use crate::client::{AdminClient, ClientError};
use crate::pipeline::HealthReport;
use crate::store::{DeploymentRecord, EventRecord, PluginRecord, RunFilter, RunRecord, Tenant};

/// Where the service is and how to talk to it; every admin command takes these.
#[derive(Debug, Args)]
pub struct Connection {
    /// The service's base URL.
    #[arg(
        long,
        env = "MANDI_SERVER",
        default_value = "http://127.0.0.1:8080",
        global = true
    )]
    server: String,
    /// The platform admin token (as `mandi serve --admin-token`).
    #[arg(long, env = "MANDI_ADMIN_TOKEN", hide_env_values = true, global = true)]
    token: Option<String>,
    /// Print the API's JSON instead of tables.
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Debug, Subcommand)]
pub enum TenantsCommand {
    /// Create a tenant; prints its API key (shown only once).
    Create {
        /// Lowercase letters, digits and dashes, e.g. `jiomart`.
        id: String,
        #[arg(long)]
        name: String,
        /// ISO 4217, e.g. INR.
        #[arg(long)]
        currency: String,
        /// IANA time zone given to plugins [default: Asia/Kolkata].
        #[arg(long)]
        time_zone: Option<String>,
        /// The zone's offset from UTC in minutes [default: 330].
        #[arg(long, allow_negative_numbers = true)]
        utc_offset_minutes: Option<i32>,
    },
    /// List tenants.
    List,
    /// Issue another API key for a tenant.
    Key { tenant: String },
}

#[derive(Debug, Subcommand)]
pub enum PluginsCommand {
    /// Upload a component (.wasm); it is compiled before the service answers.
    Upload { tenant: String, file: PathBuf },
    /// List a tenant's uploaded components.
    List { tenant: String },
    /// One uploaded component: contract, hooks, size and config schema.
    Inspect {
        tenant: String,
        /// Its digest, `sha256:...` (a unique prefix of the hex is enough).
        digest: String,
    },
}

/// A version of a tenant's hook, named as a deploy and a replay name it.
#[derive(Debug, Args)]
pub struct CandidateArgs {
    tenant: String,
    /// The hook, e.g. pricing.
    #[arg(long)]
    hook: String,
    /// An uploaded component's digest, or a .wasm file to upload first.
    #[arg(long)]
    plugin: String,
    /// The config the plugin reads (a JSON file).
    #[arg(long)]
    config: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct DeployArgs {
    #[command(flatten)]
    candidate: CandidateArgs,
    /// `fail-closed` or `fail-open` [default: fail-closed].
    #[arg(long)]
    failure_policy: Option<String>,
    /// Per-call limits (a JSON file, any subset of the limit fields).
    #[arg(long)]
    limits: Option<PathBuf>,
    /// Deploy even if the tenant's test carts do not all pass (recorded as forced).
    #[arg(long)]
    force: bool,
    /// `live`, `shadow` or `canary` [default: live].
    #[arg(long, value_parser = parse_mode, default_value = "live")]
    mode: DeployMode,
    /// Shadow: percent of live checkouts it runs on; canary: percent it serves [default: 10].
    #[arg(long)]
    sample_percent: Option<u8>,
    /// Canary: roll back when its failure rate exceeds the live one's by more than this.
    #[arg(long)]
    rollback_failure_rate_above: Option<f64>,
    /// Canary: roll back when its p99 exceeds the live one's by more than this factor.
    #[arg(long)]
    rollback_p99_ratio_above: Option<f64>,
    /// Canary: calls it makes before it is judged.
    #[arg(long)]
    rollback_min_calls: Option<u32>,
}

#[derive(Debug, Subcommand)]
pub enum RolloutsCommand {
    /// A shadow or canary deployment and what a shadow found so far.
    Show { tenant: String, id: String },
    /// Make a shadow or canary deployment live.
    Promote { tenant: String, id: String },
}

#[derive(Debug, Subcommand)]
pub enum TestCartsCommand {
    /// List a tenant's test carts.
    List { tenant: String },
    /// Save a test cart from a JSON file: {"cart": <quote body>, "expect": {...}}.
    Put {
        tenant: String,
        name: String,
        #[arg(long)]
        file: PathBuf,
    },
    /// Delete a test cart.
    Delete { tenant: String, name: String },
}

#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// The candidate.
    #[command(flatten)]
    candidate: CandidateArgs,
    /// The newest this many recorded checkouts [default: 100].
    #[arg(long)]
    last: Option<u32>,
    /// Only checkouts recorded at or after this time, Unix ms.
    #[arg(long)]
    since: Option<i64>,
    /// Only checkouts recorded before this time, Unix ms.
    #[arg(long)]
    until: Option<i64>,
}

#[derive(Debug, Args)]
pub struct RunsArgs {
    tenant: String,
    #[arg(long)]
    hook: Option<String>,
    /// ok, skipped or failed.
    #[arg(long)]
    outcome: Option<String>,
    #[arg(long)]
    deployment: Option<String>,
    #[arg(long)]
    request: Option<String>,
    /// At most this many [default: 20].
    #[arg(long, default_value_t = 20)]
    limit: u32,
    /// Keep printing new runs as they are recorded (every second) until interrupted.
    #[arg(long)]
    follow: bool,
}

/// The commands that run against a service, through its admin API.
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Every tenant at a glance: quotes a minute, p50/p99, failures, each hook's live version
    /// and breaker, over the last minutes.
    Health {
        /// The window [default: 60].
        #[arg(long, default_value_t = 60)]
        minutes: u32,
    },
    /// Tenants on the service: create, list, another API key.
    #[command(subcommand)]
    Tenants(TenantsCommand),
    /// Components uploaded to the service: upload (with progress), list, inspect.
    #[command(subcommand)]
    Plugins(PluginsCommand),
    /// Deploy a component to a tenant's hook (live, shadow or canary).
    Deploy(DeployArgs),
    /// Bring a hook's previous version back.
    Rollback { tenant: String, hook: String },
    /// A tenant's deployments with history, newest first per hook.
    Deployments {
        tenant: String,
        #[arg(long)]
        hook: Option<String>,
    },
    /// Shadow and canary deployments: show, promote.
    #[command(subcommand)]
    Rollouts(RolloutsCommand),
    /// Carts every deploy of a tenant is tried on first: list, put, delete.
    #[command(subcommand)]
    TestCarts(TestCartsCommand),
    /// Replay a candidate on a tenant's recorded checkouts beside the live version.
    Replay(ReplayArgs),
    /// Export a tenant's recorded checkouts of a hook (JSON), for `mandi plugin replay --runs`.
    RecordedRuns {
        tenant: String,
        #[arg(long)]
        hook: String,
        /// The newest this many [default: 100].
        #[arg(long)]
        last: Option<u32>,
    },
    /// A tenant's plugin runs, oldest of the page first; --follow for new ones as they come.
    Runs(RunsArgs),
    /// One run with its logs.
    Run { tenant: String, id: i64 },
    /// Follow a tenant's events (orders, uploads, deployments, rollbacks) as they happen.
    Events {
        tenant: String,
        /// Replay the events after this one first.
        #[arg(long)]
        after: Option<i64>,
    },
}

/// Exit status of a command the service refused.
const EXIT_REFUSED: u8 = 1;

pub fn run(connection: Connection, command: AdminCommand) -> anyhow::Result<ExitCode> {
    let token = connection.token.clone().context(
        "the admin token is needed: --token or MANDI_ADMIN_TOKEN (as given to mandi serve)",
    )?;
    let client = AdminClient::new(&connection.server, token);
    let out = Output {
        json: connection.json,
    };
    match execute(&client, &out, command) {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(err) => match err.downcast::<ClientError>() {
            Ok(ClientError::Api(failure)) => {
                eprintln!(
                    "error: {} ({}): {}",
                    failure.code, failure.status, failure.message
                );
                if let Some(details) = failure.details {
                    eprintln!("{}", serde_json::to_string_pretty(&details)?);
                }
                Ok(ExitCode::from(EXIT_REFUSED))
            }
            Ok(other) => Err(other.into()),
            Err(other) => Err(other),
        },
    }
}

fn execute(client: &AdminClient, out: &Output, command: AdminCommand) -> anyhow::Result<()> {
    match command {
        AdminCommand::Tenants(TenantsCommand::Create {
            id,
            name,
            currency,
            time_zone,
            utc_offset_minutes,
        }) => {
            let created = client.create_tenant(&CreateTenant {
                id,
                name,
                currency,
                time_zone,
                utc_offset_minutes,
            })?;
            out.show(&created, || {
                format!(
                    "created tenant {} ({})\napi key (shown only now): {}",
                    created.tenant.id, created.tenant.name, created.api_key
                )
            })
        }
        AdminCommand::Health { minutes } => {
            let report = client.health(minutes)?;
            out.show(&report, || health_table(&report))
        }
        AdminCommand::Tenants(TenantsCommand::List) => {
            let tenants = client.tenants()?;
            out.show(&tenants, || tenants_table(&tenants))
        }
        AdminCommand::Tenants(TenantsCommand::Key { tenant }) => {
            let key = client.create_api_key(&tenant)?;
            out.show(&key, || {
                format!(
                    "api key for {} (shown only now): {}",
                    key.tenant_id, key.api_key
                )
            })
        }
        AdminCommand::Plugins(PluginsCommand::Upload { tenant, file }) => {
            let plugin = upload(client, out, &tenant, &file)?;
            out.show(&plugin, || plugins_table(std::slice::from_ref(&plugin)))
        }
        AdminCommand::Plugins(PluginsCommand::List { tenant }) => {
            let plugins = client.plugins(&tenant)?;
            out.show(&plugins, || plugins_table(&plugins))
        }
        AdminCommand::Plugins(PluginsCommand::Inspect { tenant, digest }) => {
            let plugin = find_plugin(client, &tenant, &digest)?;
            out.show(&plugin, || {
                let schema = match &plugin.config_schema {
                    Some(schema) => serde_json::to_string_pretty(schema).unwrap_or_default(),
                    None => "none declared (any object)".to_owned(),
                };
                format!(
                    "{}\ncontract     {}\nhooks        {}\nsize         {} bytes\nuploaded     {}\nconfig schema {schema}",
                    plugin.digest,
                    plugin.contract,
                    plugin.hooks.join(", "),
                    plugin.size_bytes,
                    when(plugin.uploaded_at),
                )
            })
        }
        AdminCommand::Deploy(args) => {
            let CandidateArgs {
                tenant,
                hook,
                plugin,
                config,
            } = args.candidate;
            let plugin = plugin_digest(client, out, &tenant, &plugin)?;
            let rollback_when = (args.rollback_failure_rate_above.is_some()
                || args.rollback_p99_ratio_above.is_some()
                || args.rollback_min_calls.is_some())
            .then_some(RollbackWhen {
                failure_rate_increase_above: args.rollback_failure_rate_above,
                p99_ratio_above: args.rollback_p99_ratio_above,
                min_calls: args.rollback_min_calls,
            });
            let deployed = client.deploy(
                &tenant,
                &Deploy {
                    hook,
                    plugin,
                    config: config.as_deref().map(read_json_file).transpose()?,
                    failure_policy: args.failure_policy,
                    limits: args.limits.as_deref().map(read_json_file).transpose()?,
                    force: args.force,
                    mode: args.mode,
                    sample_percent: args.sample_percent,
                    rollback_when,
                },
            )?;
            out.show(&deployed, || {
                let mut text = deployments_table(std::slice::from_ref(&deployed));
                if let Some(check) = deployed.test_carts.as_ref().filter(|c| c.run > 0) {
                    text.push_str(&format!(
                        "\ntest carts: {} of {} passed{}",
                        check.passed,
                        check.run,
                        if check.forced { " (forced)" } else { "" }
                    ));
                }
                text
            })
        }
        AdminCommand::Rollback { tenant, hook } => {
            let active = client.rollback(&tenant, &hook)?;
            out.show(&active, || {
                format!(
                    "rolled back {hook}; active again:\n{}",
                    deployments_table(std::slice::from_ref(&active))
                )
            })
        }
        AdminCommand::Deployments { tenant, hook } => {
            let deployments = client.deployments(&tenant, hook.as_deref())?;
            out.show(&deployments, || deployments_table(&deployments))
        }
        AdminCommand::Rollouts(RolloutsCommand::Show { tenant, id }) => {
            let report = client.rollout(&tenant, &id)?;
            out.show(&report, || rollout_text(&report))
        }
        AdminCommand::Rollouts(RolloutsCommand::Promote { tenant, id }) => {
            let active = client.promote(&tenant, &id)?;
            out.show(&active, || {
                format!(
                    "promoted; now serving {}:\n{}",
                    active.hook,
                    deployments_table(std::slice::from_ref(&active))
                )
            })
        }
        AdminCommand::TestCarts(TestCartsCommand::List { tenant }) => {
            let carts = client.test_carts(&tenant)?;
            out.show(&carts, || {
                let mut table = table(&["name", "lines", "expect", "updated"]);
                for cart in carts.as_array().into_iter().flatten() {
                    table.add_row(vec![
                        text(&cart["name"]),
                        cart["cart"]["lines"]
                            .as_array()
                            .map_or(0, Vec::len)
                            .to_string(),
                        cart["expect"].to_string(),
                        cart["updated_at"].as_i64().map(when).unwrap_or_default(),
                    ]);
                }
                table.to_string()
            })
        }
        AdminCommand::TestCarts(TestCartsCommand::Put { tenant, name, file }) => {
            let cart = read_json_file(&file)?;
            let saved = client.put_test_cart(&tenant, &name, &cart)?;
            out.show(&saved, || format!("saved test cart {name}"))
        }
        AdminCommand::TestCarts(TestCartsCommand::Delete { tenant, name }) => {
            client.delete_test_cart(&tenant, &name)?;
            out.show(&Value::Null, || format!("deleted test cart {name}"))
        }
        AdminCommand::Replay(args) => {
            let candidate = &args.candidate;
            let plugin = plugin_digest(client, out, &candidate.tenant, &candidate.plugin)?;
            let mut request = serde_json::json!({ "hook": candidate.hook, "plugin": plugin });
            if let Some(config) = &candidate.config {
                request["config"] = read_json_file(config)?;
            }
            for (name, value) in [("last", args.last.map(i64::from)), ("since", args.since)]
                .into_iter()
                .chain([("until", args.until)])
            {
                if let Some(value) = value {
                    request[name] = value.into();
                }
            }
            let report = client.replay(&candidate.tenant, &request)?;
            out.show(&report, || replay_text(&report))
        }
        AdminCommand::RecordedRuns { tenant, hook, last } => {
            // A file for `mandi plugin replay --runs`: always JSON.
            let runs = client.recorded_runs(&tenant, &hook, last)?;
            println!("{}", serde_json::to_string_pretty(&runs)?);
            Ok(())
        }
        AdminCommand::Runs(args) => runs(client, out, args),
        AdminCommand::Run { tenant, id } => {
            let run = client.run(&tenant, id)?;
            out.show(&run, || run_text(&run))
        }
        AdminCommand::Events { tenant, after } => {
            if !out.json {
                eprintln!("following {tenant}'s events (Ctrl-C to stop)");
            }
            client.follow_events(&tenant, after, |event| {
                if out.json {
                    println!("{}", serde_json::to_string(&event).unwrap_or_default());
                } else {
                    println!("{}", event_line(&event));
                }
                true
            })?;
            Ok(())
        }
    }
}

/// Tables, or the API's JSON.
struct Output {
    json: bool,
}

impl Output {
    fn show(&self, body: &impl Serialize, text: impl FnOnce() -> String) -> anyhow::Result<()> {
        if self.json {
            println!("{}", serde_json::to_string_pretty(body)?);
        } else {
            println!("{}", text());
        }
        Ok(())
    }
}

fn upload(
    client: &AdminClient,
    out: &Output,
    tenant: &str,
    file: &Path,
) -> anyhow::Result<PluginRecord> {
    let wasm = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    // Progress on stderr, and only for a person watching: scripts get the answer alone.
    let bar = if out.json {
        indicatif::ProgressBar::hidden()
    } else {
        indicatif::ProgressBar::with_draw_target(
            Some(wasm.len() as u64),
            indicatif::ProgressDrawTarget::stderr(),
        )
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg} {bar:30} {bytes}/{total_bytes}")
            .expect("a valid template"),
    );
    bar.set_message(format!("uploading {}", file.display()));
    let uploaded = client.upload(tenant, &wasm, |sent| {
        bar.set_position(sent);
        if sent == wasm.len() as u64 {
            // Sent: the service compiles it before it answers.
            bar.set_message("compiling on the service");
            bar.enable_steady_tick(Duration::from_millis(200));
        }
    });
    bar.finish_and_clear();
    Ok(uploaded?)
}

/// A digest as given, or the digest of a .wasm file uploaded first.
fn plugin_digest(
    client: &AdminClient,
    out: &Output,
    tenant: &str,
    plugin: &str,
) -> anyhow::Result<String> {
    if plugin.starts_with("sha256:") {
        return Ok(plugin.to_owned());
    }
    let path = Path::new(plugin);
    anyhow::ensure!(
        path.extension().is_some_and(|e| e == "wasm") && path.exists(),
        "--plugin is a digest (sha256:...) or a .wasm file; {plugin} is neither"
    );
    Ok(upload(client, out, tenant, path)?.digest)
}

fn find_plugin(client: &AdminClient, tenant: &str, digest: &str) -> anyhow::Result<PluginRecord> {
    let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
    let mut found: Vec<PluginRecord> = (client.plugins(tenant)?.into_iter())
        .filter(|p| p.digest.trim_start_matches("sha256:").starts_with(hex))
        .collect();
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => anyhow::bail!("tenant {tenant} has no component {digest}"),
        n => anyhow::bail!("{digest} names {n} of tenant {tenant}'s components: give more of it"),
    }
}

fn runs(client: &AdminClient, out: &Output, args: RunsArgs) -> anyhow::Result<()> {
    let filter = RunFilter {
        hook: args.hook,
        outcome: args.outcome,
        deployment_id: args.deployment,
        request_id: args.request,
        before: None,
        limit: Some(args.limit),
    };
    let mut runs = client.runs(&args.tenant, &filter)?;
    runs.reverse(); // oldest first, so followed runs continue the list
    if out.json {
        for run in &runs {
            println!("{}", serde_json::to_string(run)?);
        }
    } else {
        println!("{}", runs_table(&runs));
    }
    if !args.follow {
        return Ok(());
    }
    let mut last = runs.last().map_or(0, |r| r.id);
    loop {
        std::thread::sleep(Duration::from_secs(1));
        let newer: Vec<RunRecord> = (client.runs(&args.tenant, &filter)?.into_iter())
            .filter(|r| r.id > last)
            .collect();
        for run in newer.iter().rev() {
            if out.json {
                println!("{}", serde_json::to_string(run)?);
            } else {
                println!("{}", run_line(run));
            }
            last = last.max(run.id);
        }
    }
}

fn table(header: &[&str]) -> Table {
    let mut table = Table::new();
    table
        .load_preset(presets::NOTHING)
        .set_header(header.to_vec());
    table
}

fn health_table(report: &HealthReport) -> String {
    let ms = |value: Option<f64>| value.map_or("-".to_owned(), |ms| format!("{ms:.2} ms"));
    let mut table = table(&[
        "tenant",
        "quotes/min",
        "p50",
        "p99",
        "failed",
        "hooks (version, breaker, failed, p99)",
    ]);
    for tenant in &report.tenants {
        let hooks = (tenant.hooks.iter())
            .map(|h| {
                let version = h
                    .live
                    .as_ref()
                    .map_or("default".to_owned(), |l| format!("v{}", l.version));
                let rollouts = (h.rollouts.iter())
                    .map(|r| format!(" +{:?}", r.status).to_lowercase())
                    .collect::<String>();
                format!(
                    "{} {version}{rollouts} {} failed {:.1}% rejected {:.1}% p99 {}",
                    h.hook,
                    h.breaker.as_deref().unwrap_or("-"),
                    h.figures.failure_rate * 100.0,
                    h.figures.rejection_rate * 100.0,
                    ms(h.figures.p99_ms),
                )
            })
            .collect::<Vec<_>>()
            .join("; ");
        table.add_row(vec![
            tenant.id.clone(),
            format!("{:.1}", tenant.quotes_per_minute),
            ms(tenant.quotes.p50_ms),
            ms(tenant.quotes.p99_ms),
            format!("{:.1}%", tenant.quotes.failure_rate * 100.0),
            format!("{:.1}%", tenant.quotes.rejection_rate * 100.0),
            hooks,
        ]);
    }
    format!("last {} minutes\n{table}", report.minutes)
}

fn tenants_table(tenants: &[Tenant]) -> String {
    let mut table = table(&["id", "name", "currency", "time zone", "created"]);
    for t in tenants {
        table.add_row(vec![
            t.id.clone(),
            t.name.clone(),
            t.currency.clone(),
            t.time_zone.clone(),
            when(t.created_at),
        ]);
    }
    table.to_string()
}

fn plugins_table(plugins: &[PluginRecord]) -> String {
    let mut table = table(&[
        "digest",
        "contract",
        "hooks",
        "size",
        "config schema",
        "uploaded",
    ]);
    for p in plugins {
        table.add_row(vec![
            p.digest.clone(),
            p.contract.clone(),
            p.hooks.join(", "),
            format!("{} B", p.size_bytes),
            if p.config_schema.is_some() {
                "yes"
            } else {
                "no"
            }
            .to_owned(),
            when(p.uploaded_at),
        ]);
    }
    table.to_string()
}

fn deployments_table(deployments: &[DeploymentRecord]) -> String {
    let mut table = table(&[
        "id", "hook", "version", "status", "plugin", "policy", "created",
    ]);
    for d in deployments {
        let status = serde_json::to_value(d.status)
            .ok()
            .and_then(|s| s.as_str().map(str::to_owned))
            .unwrap_or_default();
        let status = match d.sample_percent {
            Some(percent) => format!("{status} {percent}%"),
            None => status,
        };
        table.add_row(vec![
            d.id.clone(),
            d.hook.clone(),
            d.version.to_string(),
            status,
            short_digest(&d.plugin_digest),
            d.failure_policy.clone(),
            when(d.created_at),
        ]);
    }
    table.to_string()
}

fn runs_table(runs: &[RunRecord]) -> Table {
    let mut table = table(&[
        "run", "time", "hook", "outcome", "took", "fuel", "memory", "request", "error",
    ]);
    for run in runs {
        table.add_row(run_cells(run));
    }
    table
}

fn run_cells(run: &RunRecord) -> Vec<String> {
    let fuel = match run.fuel_budget {
        Some(budget) if budget > 0 => format!(
            "{} ({:.1}%)",
            run.fuel_used,
            run.fuel_used as f64 * 100.0 / budget as f64
        ),
        _ => run.fuel_used.to_string(),
    };
    vec![
        run.id.to_string(),
        when(run.created_at),
        run.hook.clone(),
        run.outcome.clone(),
        format!("{:.2} ms", run.duration_us as f64 / 1000.0),
        fuel,
        format!("{} KiB", run.peak_memory_bytes / 1024),
        run.request_id.clone(),
        match (&run.error_kind, &run.error) {
            (Some(kind), Some(error)) => format!("{kind}: {}", first_line(error, 60)),
            (Some(kind), None) => kind.clone(),
            _ => String::new(),
        },
    ]
}

fn run_line(run: &RunRecord) -> String {
    run_cells(run)
        .into_iter()
        .filter(|cell| !cell.is_empty())
        .collect::<Vec<_>>()
        .join("  ")
}

fn run_text(run: &RunRecord) -> String {
    let mut text = runs_table(std::slice::from_ref(run)).to_string();
    text.push_str(&format!(
        "\ndeployment {}  plugin {}  input {}",
        run.deployment_id,
        short_digest(&run.plugin_digest),
        run.input_digest
    ));
    if let Some(error) = &run.error {
        text.push_str(&format!("\nerror: {error}"));
    }
    let logs = run.logs.as_array().cloned().unwrap_or_default();
    text.push_str(&format!(
        "\nlogs ({}{}):",
        logs.len(),
        if run.logs_truncated { ", cut" } else { "" }
    ));
    for log in logs {
        let fields = (log["fields"].as_array().into_iter().flatten())
            .filter_map(|pair| Some(format!("{}={}", pair[0].as_str()?, pair[1].as_str()?)))
            .collect::<Vec<_>>()
            .join(" ");
        text.push_str(&format!(
            "\n  {:5} {} {fields}",
            log["level"].as_str().unwrap_or_default(),
            log["message"].as_str().unwrap_or_default()
        ));
    }
    text
}

fn rollout_text(report: &Value) -> String {
    let deployment = &report["deployment"];
    let mut out = format!(
        "{} on {}: {} ({}% of checkouts), plugin {}\n",
        text(&deployment["id"]),
        text(&deployment["hook"]),
        text(&deployment["status"]),
        deployment["sample_percent"],
        short_digest(deployment["plugin_digest"].as_str().unwrap_or_default()),
    );
    out.push_str(&format!(
        "compared {}: identical {}, different {}, failed {}; total delta {}",
        report["runs"],
        report["identical"],
        report["different"],
        report["failed"],
        report["total_delta"]
    ));
    let mut examples = table(&["request", "status", "delta", "what"]);
    for example in report["examples"].as_array().into_iter().flatten() {
        let what = match example["failure"].as_str() {
            Some(failure) => first_line(failure, 60),
            None => (example["changes"].as_array().into_iter().flatten())
                .filter_map(|c| c["path"].as_str())
                .collect::<Vec<_>>()
                .join(", "),
        };
        examples.add_row(vec![
            text(&example["request_id"]),
            text(&example["status"]),
            example["delta"].to_string(),
            what,
        ]);
    }
    if !examples.is_empty() {
        out.push_str(&format!("\n{examples}"));
    }
    out
}

fn replay_text(report: &Value) -> String {
    let summary = &report["summary"];
    let mut table = table(&["run", "request", "status", "delta", "what"]);
    for run in report["runs"].as_array().into_iter().flatten() {
        let what = match run["failure"].as_str() {
            Some(failure) => first_line(failure, 60),
            None => (run["changes"].as_array().into_iter().flatten())
                .filter_map(|c| c["path"].as_str())
                .collect::<Vec<_>>()
                .join(", "),
        };
        table.add_row(vec![
            run["run"].to_string(),
            text(&run["request_id"]),
            text(&run["status"]),
            run["totals"]["delta"].to_string(),
            what,
        ]);
    }
    format!("{table}\nsummary: {summary}")
}

fn event_line(event: &EventRecord) -> String {
    let payload = &event.payload;
    let about = match event.kind.as_str() {
        "order.placed" => format!("order {} total {}", text(&payload["id"]), payload["total"]),
        "plugin.uploaded" => text(&payload["digest"]),
        _ => match payload.get("deployment").unwrap_or(payload) {
            d if d.get("hook").is_some() => format!(
                "{} v{} {} {}",
                text(&d["hook"]),
                d["version"],
                text(&d["id"]),
                payload["reason"].as_str().unwrap_or_default()
            ),
            _ => payload.to_string(),
        },
    };
    format!(
        "{:>5}  {}  {:<26} {about}",
        event.seq,
        when(event.created_at),
        event.kind
    )
}

fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn first_line(text: &str, max: usize) -> String {
    let line = text.lines().next().unwrap_or_default();
    if line.chars().count() > max {
        format!("{}…", line.chars().take(max).collect::<String>())
    } else {
        line.to_owned()
    }
}

fn short_digest(digest: &str) -> String {
    digest.chars().take("sha256:".len() + 12).collect()
}

/// Unix milliseconds as a UTC time, to the second.
fn when(unix_ms: i64) -> String {
    jiff::Timestamp::from_millisecond(unix_ms)
        .map(|t| t.strftime("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_else(|_| unix_ms.to_string())
}

fn read_json_file(path: &Path) -> anyhow::Result<Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))
}

fn parse_mode(text: &str) -> Result<DeployMode, String> {
    serde_json::from_value(Value::String(text.to_owned()))
        .map_err(|_| format!("`{text}` is not a mode: live, shadow or canary"))
}
