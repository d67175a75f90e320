//! Event delivery: the relay moves outbox rows, in order, to the in-process bus that the
//! tenant-scoped event streams subscribe to. A write that adds an event wakes the relay; a
//! short poll covers anything a wake-up missed (or written by another process).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, broadcast};
use tokio::task::JoinHandle;

use crate::store::{EventRecord, Store};

/// Events a slow stream may fall behind by before it is told it lagged.
const BUS_CAPACITY: usize = 4_096;
const RELAY_BATCH: u32 = 500;
const RELAY_POLL: Duration = Duration::from_millis(500);

#[derive(Debug, Clone)]
pub struct EventBus {
    sender: broadcast::Sender<Arc<EventRecord>>,
    wake: Arc<Notify>,
}

impl Default for EventBus {
    fn default() -> Self {
        Self {
            sender: broadcast::channel(BUS_CAPACITY).0,
            wake: Arc::new(Notify::new()),
        }
    }
}

impl EventBus {
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<EventRecord>> {
        self.sender.subscribe()
    }

    /// Tells the relay that the outbox has new events.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Starts the relay; it stops when `stop` resolves, after relaying what is pending.
    pub fn start_relay(
        &self,
        store: Store,
        stop: impl Future<Output = ()> + Send + 'static,
    ) -> JoinHandle<()> {
        let bus = self.clone();
        tokio::spawn(async move {
            tokio::pin!(stop);
            loop {
                if let Err(err) = bus.relay_pending(&store).await {
                    tracing::error!(error = %err, "event relay failed; retrying");
                }
                tokio::select! {
                    () = &mut stop => break,
                    () = bus.wake.notified() => {}
                    () = tokio::time::sleep(RELAY_POLL) => {}
                }
            }
            if let Err(err) = bus.relay_pending(&store).await {
                tracing::error!(error = %err, "event relay failed at shutdown");
            }
        })
    }

    /// Publishes every pending event in outbox order, marking each batch relayed after it is
    /// published (a crash in between re-publishes it: delivery is at least once, ids dedupe).
    pub async fn relay_pending(&self, store: &Store) -> crate::store::Result<usize> {
        let mut relayed = 0;
        loop {
            let batch = store.pending_events(RELAY_BATCH).await?;
            let Some(last) = batch.last().map(|e| e.seq) else {
                return Ok(relayed);
            };
            relayed += batch.len();
            for event in batch {
                // No subscribers is fine: the stream replays from the outbox on connect.
                let _ = self.sender.send(Arc::new(event));
            }
            store.mark_relayed(last).await?;
        }
    }
}
