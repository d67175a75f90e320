//! Event delivery: the relay moves outbox rows, in order, to NATS JetStream when one is
//! configured and to the in-process bus that the tenant-scoped event streams subscribe to. A
//! write that adds an event wakes the relay; a short poll covers anything a wake-up missed (or
//! written by another process).

mod nats;

pub use nats::{JetStreamSink, NatsConfig, NatsError};

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
    /// The external broker, when configured.
    sink: Option<JetStreamSink>,
}

impl Default for EventBus {
    fn default() -> Self {
        Self {
            sender: broadcast::channel(BUS_CAPACITY).0,
            wake: Arc::new(Notify::new()),
            sink: None,
        }
    }
}

/// Why a relay round stopped early; the next round starts again from the first event not
/// marked relayed.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Nats(#[from] NatsError),
}

impl EventBus {
    /// A bus whose relay also publishes every event to JetStream.
    pub fn with_sink(sink: JetStreamSink) -> Self {
        Self {
            sink: Some(sink),
            ..Self::default()
        }
    }

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

    /// Publishes every pending event in outbox order. With JetStream configured, each event is
    /// published and acknowledged, one after another so a tenant's events keep their order,
    /// before its batch is marked relayed: dying in between republishes them, and the stream
    /// drops the repeats by event id. The in-process bus gets a batch *after* it is marked: a
    /// stream replays relayed events from the outbox and subscribes to the bus first, so
    /// whenever it connects it gets an event from one or the other (both: it drops the repeat
    /// by sequence number), and a reconnecting stream replays what a dead process never sent.
    pub async fn relay_pending(&self, store: &Store) -> Result<usize, RelayError> {
        let mut relayed = 0;
        loop {
            let batch = store.pending_events(RELAY_BATCH).await?;
            let Some(last) = batch.last().map(|e| e.seq) else {
                return Ok(relayed);
            };
            if let Some(sink) = &self.sink {
                for event in &batch {
                    sink.publish(event).await?;
                }
            }
            store.mark_relayed(last).await?;
            relayed += batch.len();
            for event in batch {
                // No subscribers is fine: the stream replays from the outbox on connect.
                let _ = self.sender.send(Arc::new(event));
            }
        }
    }
}
