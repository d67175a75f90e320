//! Where quotes run: off the async executor, with a bound on how much plugin work each tenant
//! may have in flight, and CPU shared fairly between tenants.
//!
//! - **Bounded**: a quote holds one of its tenant's permits; a tenant's excess requests wait
//!   briefly, then get a clear "busy" answer instead of queueing without bound.
//! - **Fair**: the scheduler keeps each tenant's recent CPU (the time its quotes kept a thread
//!   busy, decaying with a one-second time constant). A tenant using far more than the others
//!   (over a quarter of a core, and over twice the others' average) runs its quotes on threads
//!   at the lowest OS priority, so the kernel gives the CPU to everyone else's quotes first and
//!   to it only what they leave: it waits behind those that used less instead of beside them.
//!   The work beside its plugin calls (copying logs and outputs, checks) runs on those threads
//!   too, so it is counted and deprioritised with them. Alone on a node, a tenant is never
//!   deprioritised: the scheduler is work-conserving.
//!
//! Priorities, not a queue of our own: plugin calls cannot be paused midway, so a queue would
//! make a light tenant wait for a heavy call to finish; the kernel preempts a low-priority
//! thread within a scheduler tick.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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
    usage: Arc<CpuUsage>,
}

/// Tenants whose permit pools are kept; an evicted idle tenant simply gets a fresh pool.
const TRACKED_TENANTS: u64 = 100_000;

impl TenantScheduler {
    pub fn new(config: SchedulerConfig) -> Self {
        Self {
            config,
            permits: moka::sync::Cache::new(TRACKED_TENANTS),
            usage: Arc::default(),
        }
    }

    /// Runs `work` (a quote: synchronous plugin calls) off the async executor under one of the
    /// tenant's permits, at low priority when the tenant is using far more CPU than the others.
    /// A panic in `work` is resumed on the caller.
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
        let usage = self.usage.clone();
        let owner = tenant.to_owned();
        let measured = move || {
            let _permit = permit;
            let started = Instant::now();
            let value = work();
            usage.charge(&owner, started.elapsed(), Instant::now());
            value
        };
        let joined = if self.usage.is_heavy(tenant, Instant::now()) {
            run_at_low_priority(measured).await
        } else {
            tokio::task::spawn_blocking(measured)
                .await
                .map_err(|err| match err.try_into_panic() {
                    Ok(panic) => panic,
                    Err(err) => panic!("quote task cancelled: {err}"),
                })
        };
        match joined {
            Ok(value) => Ok(value),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }

    /// The tenant's recent CPU in cores (decayed busy seconds per second of its quotes).
    pub fn recent_cpu(&self, tenant: &str) -> f64 {
        self.usage.of(tenant, Instant::now())
    }
}

type Panic = Box<dyn std::any::Any + Send>;
type Job = Box<dyn FnOnce() + Send>;

/// Runs `work` on the low-priority pool: threads that lowered their own priority once when
/// they started. A pool of its own, because a thread may lower its priority but (unprivileged)
/// not raise it again, so tokio's blocking threads cannot be borrowed for this.
pub(crate) async fn run_at_low_priority<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, Panic> {
    static POOL: std::sync::OnceLock<ThreadPool> = std::sync::OnceLock::new();
    let pool = POOL.get_or_init(|| {
        let threads = std::thread::available_parallelism().map_or(2, usize::from);
        ThreadPool::start("mandi-heavy", threads, lower_this_threads_priority)
    });
    pool.run(work).await
}

/// Runs `work` in the background: on one thread of the kernel's idle scheduling class
/// (`SCHED_IDLE`), which runs only when a core has nothing else to do and is preempted at once
/// when a request's thread wakes. Work no response waits for (a shadow deployment's runs) goes
/// here: at nice 19 a background thread still holds a core for the rest of its time slice when a
/// request's thread wakes, which measurably moved live p50s.
pub(crate) async fn run_in_background<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, Panic> {
    static POOL: std::sync::OnceLock<ThreadPool> = std::sync::OnceLock::new();
    POOL.get_or_init(|| ThreadPool::start("mandi-background", 1, idle_this_thread))
        .run(work)
        .await
}

/// Threads that set their own priority once when they start, then run jobs from one queue,
/// for the life of the process.
struct ThreadPool {
    jobs: std::sync::mpsc::Sender<Job>,
}

impl ThreadPool {
    fn start(name: &str, threads: usize, set_priority: fn()) -> Self {
        let (jobs, queue) = std::sync::mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for i in 0..threads {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("{name}-{i}"))
                .spawn(move || {
                    set_priority();
                    loop {
                        // The lock is held only to take the next job, not while running it.
                        let next = queue.lock().unwrap_or_else(|e| e.into_inner()).recv();
                        match next {
                            Ok(job) => job(),
                            Err(_) => return, // the sender is static: never
                        }
                    }
                })
                .expect("cannot start the pool's threads");
        }
        Self { jobs }
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Panic> {
        let (done, result) = tokio::sync::oneshot::channel();
        self.jobs
            .send(Box::new(move || {
                let _ = done.send(std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)));
            }))
            .expect("the pool's threads live as long as the process");
        result.await.expect("the pool always answers")
    }
}

/// Nice 19: the kernel's weight for it is about 1.5% of a normal thread's.
const LOW_PRIORITY: i32 = 19;

fn lower_this_threads_priority() {
    // On Linux the nice value is per thread: this affects the calling thread only.
    let this_thread = rustix::thread::gettid();
    if let Err(err) = rustix::process::setpriority_process(Some(this_thread), LOW_PRIORITY) {
        tracing::warn!(error = %err, "could not lower a heavy tenant's thread priority");
    }
}

/// `SCHED_IDLE` for the calling thread (any thread may lower itself to it), else nice 19.
fn idle_this_thread() {
    use thread_priority::{
        NormalThreadSchedulePolicy, ThreadPriority, ThreadSchedulePolicy,
        set_thread_priority_and_policy, thread_native_id,
    };
    let idle = ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Idle);
    if let Err(err) = set_thread_priority_and_policy(thread_native_id(), ThreadPriority::Min, idle)
    {
        tracing::warn!(error = ?err, "no idle scheduling class for background work; nice 19");
        lower_this_threads_priority();
    }
}

/// Each tenant's recent CPU: busy time, decaying exponentially, so the figure approximates the
/// cores it used over the last second or so.
#[derive(Debug, Default)]
struct CpuUsage {
    inner: Mutex<UsageTable>,
}

#[derive(Debug, Default)]
struct UsageTable {
    tenants: HashMap<String, Decaying>,
    /// Forgotten tenants are dropped when the table grows past this (amortised pruning).
    prune_at: usize,
    /// Every tenant's usage summed: exact, since all decay alike.
    total: Decaying,
    /// How many tenants compete, as last counted: recounted at most every `RECOUNT` (or when
    /// a tenant starts competing), so a quote costs O(1) however many tenants are active.
    competing: Competing,
}

#[derive(Debug, Clone, Copy, Default)]
struct Competing {
    tenants: usize,
    at: Option<Instant>,
}

const RECOUNT: Duration = Duration::from_millis(20);

impl UsageTable {
    fn competing(&mut self, now: Instant) -> Competing {
        let fresh = self
            .competing
            .at
            .is_some_and(|at| now.saturating_duration_since(at) < RECOUNT);
        if !fresh {
            let tenants = (self.tenants.values())
                .filter(|usage| usage.at(now) > COMPETING)
                .count();
            self.competing = Competing {
                tenants,
                at: Some(now),
            };
        }
        self.competing
    }
}

/// How fast past CPU is forgotten.
const TIME_CONSTANT: Duration = Duration::from_secs(1);
/// Below this (cores), a tenant is never deprioritised.
const HEAVY_FLOOR: f64 = 0.25;
/// How many times the others' average a tenant must use to be deprioritised.
const HEAVY_FACTOR: f64 = 2.0;
/// Tenants whose usage decayed below this are forgotten.
const FORGOTTEN: f64 = 1e-3;
/// Others using less than this (cores) are not competing for the CPU: a tenant that just
/// stopped quoting decays through here within a few seconds and is no reason to slow anyone.
const COMPETING: f64 = 0.02;

#[derive(Debug, Clone, Copy, Default)]
struct Decaying {
    value: f64,
    at: Option<Instant>,
}

impl Decaying {
    fn at(self, now: Instant) -> f64 {
        match self.at {
            Some(at) => {
                let elapsed = now.saturating_duration_since(at).as_secs_f64();
                self.value * (-elapsed / TIME_CONSTANT.as_secs_f64()).exp()
            }
            None => 0.0,
        }
    }

    fn add(&mut self, seconds: f64, now: Instant) {
        self.value = self.at(now) + seconds / TIME_CONSTANT.as_secs_f64();
        self.at = Some(now);
    }
}

impl CpuUsage {
    fn charge(&self, tenant: &str, busy: Duration, now: Instant) {
        let mut table = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let seconds = busy.as_secs_f64();
        table.total.add(seconds, now);
        let usage = table.tenants.entry(tenant.to_owned()).or_default();
        let was_competing = usage.at(now) > COMPETING;
        usage.add(seconds, now);
        if !was_competing && usage.at(now) > COMPETING {
            table.competing.at = None; // one more competitor: recount
        }
        // Keep the table to the tenants that are using CPU now, pruning in amortised O(1).
        if table.tenants.len() > table.prune_at {
            table.tenants.retain(|_, usage| usage.at(now) > FORGOTTEN);
            table.prune_at = (table.tenants.len() * 2).max(64);
        }
    }

    fn of(&self, tenant: &str, now: Instant) -> f64 {
        let table = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        table.tenants.get(tenant).map_or(0.0, |u| u.at(now))
    }

    /// Whether `tenant` uses far more CPU than the other active tenants.
    fn is_heavy(&self, tenant: &str, now: Instant) -> bool {
        let mut table = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let mine = table.tenants.get(tenant).map_or(0.0, |u| u.at(now));
        if mine < HEAVY_FLOOR {
            return false;
        }
        // The others: the competing tenants but this one (which competes, being over the floor).
        let others = table.competing(now).tenants.saturating_sub(1);
        if others == 0 {
            return false; // alone: nobody to yield to
        }
        let others_total = (table.total.at(now) - mine).max(0.0);
        mine > HEAVY_FACTOR * (others_total / others as f64)
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

    #[test]
    fn a_tenant_using_far_more_cpu_than_the_others_is_heavy_and_only_then() {
        let usage = CpuUsage::default();
        let t0 = Instant::now();
        // Alone, any amount of CPU is fine.
        usage.charge("spin", Duration::from_millis(1_500), t0);
        assert!(!usage.is_heavy("spin", t0));
        // With a light neighbour, the spinner yields; the neighbour does not.
        usage.charge("good", Duration::from_millis(50), t0);
        assert!(usage.is_heavy("spin", t0));
        assert!(!usage.is_heavy("good", t0));
        // Two tenants using alike are both fine.
        usage.charge("good", Duration::from_millis(1_450), t0);
        assert!(!usage.is_heavy("spin", t0));
        assert!(!usage.is_heavy("good", t0));
    }

    #[test]
    fn past_cpu_is_forgotten() {
        let usage = CpuUsage::default();
        let t0 = Instant::now();
        usage.charge("spin", Duration::from_millis(1_000), t0);
        usage.charge("good", Duration::from_millis(30), t0);
        assert!(usage.is_heavy("spin", t0));
        let later = t0 + 5 * TIME_CONSTANT;
        assert!(usage.of("spin", later) < 0.01);
        assert!(!usage.is_heavy("spin", later));
    }

    #[test]
    fn a_tenant_that_stopped_quoting_slows_nobody() {
        let usage = CpuUsage::default();
        let t0 = Instant::now();
        usage.charge("earlier", Duration::from_millis(300), t0);
        let later = t0 + 3 * TIME_CONSTANT;
        usage.charge("now", Duration::from_millis(1_500), later);
        assert!(usage.of("earlier", later) > FORGOTTEN, "not yet forgotten");
        assert!(!usage.is_heavy("now", later));
    }

    #[tokio::test]
    async fn a_heavy_tenants_quote_runs_and_its_panic_reaches_the_caller() {
        let scheduler = TenantScheduler::new(SchedulerConfig::default());
        let now = Instant::now();
        scheduler
            .usage
            .charge("spin", Duration::from_millis(900), now);
        scheduler
            .usage
            .charge("good", Duration::from_millis(30), now);
        assert!(scheduler.usage.is_heavy("spin", Instant::now()));
        let name = scheduler
            .run("spin", || std::thread::current().name().map(str::to_owned))
            .await
            .expect("runs");
        assert!(
            name.as_deref()
                .is_some_and(|n| n.starts_with("mandi-heavy-")),
            "{name:?}"
        );
        let panicked = tokio::spawn(async move {
            scheduler
                .run("spin", || panic!("plugin pipeline bug"))
                .await
        })
        .await;
        assert!(panicked.is_err_and(|e| e.is_panic()));
    }
}
