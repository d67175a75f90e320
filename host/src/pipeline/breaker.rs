//! Per-deployment circuit breaker: a deployment whose hook keeps failing stops being called for
//! a cool-down, so a broken plugin costs its tenant one fast refusal (or a skipped hook, per the
//! failure policy) instead of a deadline's worth of CPU on every checkout.
//!
//! Closed: calls go through; `failure_threshold` consecutive failures open it.
//! Open: calls are refused until `cool_down` has passed since it opened.
//! Half-open: one probe call goes through; success closes it, failure opens it again.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerConfig {
    pub failure_threshold: u32,
    pub cool_down: Duration,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        Self {
            failure_threshold: 5,
            cool_down: Duration::from_secs(30),
        }
    }
}

/// The breaker's state, as metrics and the API report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum BreakerState {
    Closed,
    Open,
    HalfOpen,
}

#[derive(Debug)]
pub struct CircuitBreaker {
    config: BreakerConfig,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    consecutive_failures: u32,
    opened_at: Option<Instant>,
    probe_in_flight: bool,
}

/// A refused call: how long until the breaker lets a probe through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    pub retry_after: Duration,
}

impl CircuitBreaker {
    pub fn new(config: BreakerConfig) -> Self {
        Self {
            config,
            inner: Mutex::new(Inner::default()),
        }
    }

    /// Whether a call may go through now. A granted half-open probe must be followed by
    /// [`record`](Self::record).
    pub fn allow(&self, now: Instant) -> Result<(), Refused> {
        let mut inner = self.lock();
        let Some(opened_at) = inner.opened_at else {
            return Ok(());
        };
        let reopens = opened_at + self.config.cool_down;
        if now < reopens {
            return Err(Refused {
                retry_after: reopens - now,
            });
        }
        if inner.probe_in_flight {
            // One probe at a time; others wait for its verdict.
            return Err(Refused {
                retry_after: Duration::ZERO,
            });
        }
        inner.probe_in_flight = true;
        Ok(())
    }

    /// The outcome of a call that [`allow`](Self::allow) let through.
    pub fn record(&self, now: Instant, success: bool) {
        let mut inner = self.lock();
        let was_probe = std::mem::take(&mut inner.probe_in_flight);
        if success {
            *inner = Inner::default();
            return;
        }
        inner.consecutive_failures = inner.consecutive_failures.saturating_add(1);
        if was_probe || inner.consecutive_failures >= self.config.failure_threshold {
            inner.opened_at = Some(now);
        }
    }

    pub fn state(&self, now: Instant) -> BreakerState {
        let inner = self.lock();
        match inner.opened_at {
            None => BreakerState::Closed,
            Some(at) if now < at + self.config.cool_down => BreakerState::Open,
            Some(_) => BreakerState::HalfOpen,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // The state is a few counters, consistent after every statement: a panic elsewhere
        // while holding the lock cannot leave it half-updated, so poisoning is ignored.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Default for CircuitBreaker {
    fn default() -> Self {
        Self::new(BreakerConfig::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn breaker() -> CircuitBreaker {
        CircuitBreaker::new(BreakerConfig {
            failure_threshold: 3,
            cool_down: Duration::from_secs(10),
        })
    }

    #[test]
    fn opens_after_consecutive_failures_only() {
        let b = breaker();
        let t = Instant::now();
        b.record(t, false);
        b.record(t, false);
        b.record(t, true); // a success resets the count
        b.record(t, false);
        b.record(t, false);
        assert_eq!(b.state(t), BreakerState::Closed);
        assert!(b.allow(t).is_ok());
        b.record(t, false);
        assert_eq!(b.state(t), BreakerState::Open);
        assert_eq!(
            b.allow(t + Duration::from_secs(4)),
            Err(Refused {
                retry_after: Duration::from_secs(6)
            })
        );
    }

    #[test]
    fn half_open_lets_one_probe_through_and_its_outcome_decides() {
        let b = breaker();
        let t = Instant::now();
        for _ in 0..3 {
            b.record(t, false);
        }
        let later = t + Duration::from_secs(10);
        assert_eq!(b.state(later), BreakerState::HalfOpen);
        assert!(b.allow(later).is_ok(), "the probe");
        assert!(b.allow(later).is_err(), "only one probe at a time");
        b.record(later, false);
        assert_eq!(
            b.state(later),
            BreakerState::Open,
            "a failed probe reopens it"
        );

        let again = later + Duration::from_secs(10);
        assert!(b.allow(again).is_ok());
        b.record(again, true);
        assert_eq!(b.state(again), BreakerState::Closed);
        assert!(b.allow(again).is_ok());
    }
}
