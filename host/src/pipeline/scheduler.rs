//! Where quotes run: off the async executor on the blocking pool, with a bound on how much
//! plugin work each tenant may have in flight. A tenant whose plugin spins until its deadline
//! then occupies at most its own permits' worth of threads and cores; other tenants' quotes keep
//! their latency, and the spinning tenant's excess requests wait briefly, then get a clear
//! "busy" answer instead of queueing without bound.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

#[derive(Debug, Clone, Copy)]
pub struct SchedulerConfig {
    /// Quotes of one tenant that may run at once.
    pub per_tenant: u32,
    /// How long a request waits for one of its tenant's permits before it is refused.
    pub queue_timeout: Duration,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        Self {
            per_tenant: 4,
            queue_timeout: Duration::from_secs(2),
        }
    }
}

/// The tenant already has `per_tenant` quotes running and none finished in time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("tenant {tenant} has too many checkouts in progress; retry shortly")]
pub struct Busy {
    pub tenant: String,
}

#[derive(Debug)]
pub struct TenantScheduler {
    config: SchedulerConfig,
    permits: moka::sync::Cache<String, Arc<Semaphore>>,
}

/// Tenants whose permit pools are kept; an evicted idle tenant simply gets a fresh pool.
const TRACKED_TENANTS: u64 = 100_000;

impl TenantScheduler {
    pub fn new(config: SchedulerConfig) -> Self {
        Self {
            config,
            permits: moka::sync::Cache::new(TRACKED_TENANTS),
        }
    }

    /// Runs `work` (a quote: synchronous plugin calls) on the blocking pool under one of the
    /// tenant's permits. A panic in `work` is resumed on the caller.
    pub async fn run<T: Send + 'static>(
        &self,
        tenant: &str,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Busy> {
        let permits = self.permits.get_with_by_ref(tenant, || {
            Arc::new(Semaphore::new(self.config.per_tenant as usize))
        });
        let busy = || Busy {
            tenant: tenant.to_owned(),
        };
        let permit = tokio::time::timeout(self.config.queue_timeout, permits.acquire_owned())
            .await
            .map_err(|_| busy())?
            .map_err(|_| busy())?; // closed: never, the semaphore is never closed
        let joined = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            work()
        })
        .await;
        match joined {
            Ok(value) => Ok(value),
            Err(err) if err.is_panic() => std::panic::resume_unwind(err.into_panic()),
            Err(err) => panic!("quote task cancelled: {err}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_tenant_beyond_its_permits_waits_then_is_refused() {
        let scheduler = Arc::new(TenantScheduler::new(SchedulerConfig {
            per_tenant: 1,
            queue_timeout: Duration::from_millis(50),
        }));
        let slow = {
            let s = scheduler.clone();
            tokio::spawn(async move {
                s.run("a", || std::thread::sleep(Duration::from_millis(300)))
                    .await
            })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(
            scheduler.run("a", || ()).await,
            Err(Busy { tenant: "a".into() })
        );
        // Another tenant is not affected by a's full pool.
        assert_eq!(scheduler.run("b", || 7).await, Ok(7));
        assert_eq!(slow.await.expect("joins"), Ok(()));
        assert_eq!(scheduler.run("a", || 8).await, Ok(8));
    }
}
