//! `mandi serve`: assembles the service (store, runtime, checkout, event relay, run history,
//! retention), serves HTTP until SIGINT/SIGTERM, then shuts down without losing work: stop
//! taking requests, finish those in flight, relay pending events, flush run history.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::api::{self, AppState};
use crate::config::ServeConfig;
use crate::events::{EventBus, JetStreamSink, NatsConfig};
use crate::pipeline::{ArtifactKey, Checkout, Deployments, RecordRuns, RunWriter, TenantScheduler};
use crate::runtime::{Runtime, RuntimeConfig};
use crate::store::{DatabaseUrls, Store};

/// How often old run history is pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(600);
/// How often every node judges the canary deployments.
const CANARY_EVERY: Duration = Duration::from_secs(1);

/// The assembled service, before or while it serves.
#[derive(Debug)]
pub struct Service {
    state: AppState,
    stop: watch::Sender<bool>,
    relay: JoinHandle<()>,
    tail: JoinHandle<()>,
    pruner: JoinHandle<()>,
    upkeep: JoinHandle<()>,
    canaries: JoinHandle<()>,
    follower: Option<JoinHandle<()>>,
    writer: RunWriter,
}

impl Service {
    /// Opens (creating and migrating) the database and starts the background tasks.
    pub async fn start(config: &ServeConfig) -> anyhow::Result<Self> {
        config.validate()?;
        let metrics = crate::telemetry::prometheus();
        let store = Store::connect(&DatabaseUrls {
            url: config.database_url.clone(),
            migration_url: config.migration_database_url.clone(),
            system_url: config.system_database_url.clone(),
        })
        .await
        .with_context(|| format!("cannot open database {}", redacted(&config.database_url)))?;
        let runtime = Runtime::new(RuntimeConfig {
            cache_dir: config.cache_dir.clone(),
            max_loaded_code_bytes: config.max_loaded_code_bytes,
            ..RuntimeConfig::default()
        })?;
        // Nodes of one deployment share the admin token, so they share the signing key too.
        let deployments = Arc::new(
            Deployments::new(store.clone(), runtime, config.breaker)
                .share_artifacts(ArtifactKey::derive(&config.admin_token)),
        );
        let (stop, _) = watch::channel(false);
        // Several nodes over one PostgreSQL: follow the deployments the others make.
        let follower = match store.watch_deployments().await? {
            Some(changes) => {
                let (deployments, stop) = (deployments.clone(), stopped(&stop));
                Some(tokio::spawn(async move {
                    deployments.follow(changes, stop).await;
                }))
            }
            None => None,
        };
        let (runs, writer) = RecordRuns::start(store.clone());
        let checkout = Checkout::new(
            store.clone(),
            deployments.clone(),
            TenantScheduler::new(config.scheduler),
            runs,
        );
        let events = match &config.nats_url {
            Some(url) => {
                let sink = JetStreamSink::connect(NatsConfig::new(url.clone()))
                    .await
                    .with_context(|| format!("cannot publish events to NATS at {url}"))?;
                EventBus::with_sink(sink)
            }
            None => EventBus::default(),
        };
        let relay = events.start_relay(store.clone(), stopped(&stop));
        let tail = events
            .start_tail(store.clone(), stopped(&stop))
            .await
            .context("reading the outbox")?;
        let retention = config.run_retention;
        let pruner = {
            let (store, stop) = (store.clone(), stopped(&stop));
            tokio::spawn(async move {
                tokio::pin!(stop);
                let mut every = tokio::time::interval(PRUNE_EVERY);
                loop {
                    tokio::select! {
                        () = &mut stop => break,
                        _ = every.tick() => {}
                    }
                    let cutoff = crate::store::now_ms() - retention.as_millis() as i64;
                    match store.prune_runs(cutoff).await {
                        Ok(0) => {}
                        Ok(n) => tracing::info!(pruned = n, "pruned old plugin runs"),
                        Err(err) => tracing::error!(error = %err, "pruning plugin runs failed"),
                    }
                }
            })
        };
        let upkeep = {
            let stop = stopped(&stop);
            tokio::spawn(async move {
                tokio::pin!(stop);
                loop {
                    tokio::select! {
                        () = &mut stop => break,
                        () = tokio::time::sleep(Duration::from_secs(5)) => metrics.run_upkeep(),
                    }
                }
            })
        };
        let canaries = {
            let (store, events, stop) = (store.clone(), events.clone(), stopped(&stop));
            tokio::spawn(async move {
                let changed = |_: &str| events.wake();
                crate::pipeline::watch_canaries(store, deployments, CANARY_EVERY, changed, stop)
                    .await;
            })
        };
        let state = AppState::new(
            store,
            checkout,
            events,
            config.admin_token.clone(),
            config.max_body_bytes,
        );
        Ok(Self {
            state,
            stop,
            relay,
            tail,
            pruner,
            upkeep,
            canaries,
            follower,
            writer,
        })
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    pub fn router(&self) -> Router {
        api::router(self.state.clone())
    }

    /// Serves on `listener` until `shutdown` resolves, then drains and stops.
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let state = self.state.clone();
        let drain = async move {
            shutdown.await;
            tracing::info!("shutting down: finishing requests in flight");
            state.set_draining();
        };
        axum::serve(listener, self.router())
            .with_graceful_shutdown(drain)
            .await
            .context("serving HTTP")?;
        self.stop().await;
        Ok(())
    }

    /// Stops the background tasks after their last round: pending events are relayed and
    /// queued run records written before the database closes.
    pub async fn stop(self) {
        self.state.set_draining();
        self.stop.send_replace(true);
        let _ = self.relay.await;
        let _ = self.tail.await;
        let _ = self.pruner.await;
        let _ = self.upkeep.await;
        let _ = self.canaries.await;
        if let Some(follower) = self.follower {
            let _ = follower.await;
        }
        self.writer.finish().await;
        self.state.store().close().await;
    }
}

fn stopped(stop: &watch::Sender<bool>) -> impl Future<Output = ()> + Send + 'static {
    let mut rx = stop.subscribe();
    async move {
        let _ = rx.wait_for(|stopped| *stopped).await;
    }
}

/// Runs `mandi serve` until SIGINT or SIGTERM.
pub async fn serve(config: ServeConfig) -> anyhow::Result<()> {
    let service = Service::start(&config).await?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let address = listener.local_addr()?;
    let database = redacted(&config.database_url);
    tracing::info!(%address, %database, "mandi is serving");
    eprintln!("mandi serving on http://{address} (database {})", database);
    service.serve(listener, shutdown_signal()).await
}

/// A database URL fit for logs: any password replaced by `***`.
fn redacted(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    match rest.split_once('@') {
        Some((user_info, host)) if user_info.contains(':') => {
            let user = user_info.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:***@{host}")
        }
        _ => url.to_owned(),
    }
}

async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}

#[cfg(test)]
mod tests {
    use super::redacted;

    #[test]
    fn logged_database_urls_hide_passwords() {
        assert_eq!(
            redacted("postgres://mandi_app:s3cret@db:5432/mandi"),
            "postgres://mandi_app:***@db:5432/mandi"
        );
        assert_eq!(
            redacted("postgres://mandi_app@db/mandi"),
            "postgres://mandi_app@db/mandi"
        );
        assert_eq!(redacted("sqlite://mandi.db"), "sqlite://mandi.db");
    }
}
