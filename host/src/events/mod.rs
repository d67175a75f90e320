//! Event delivery. Two loops run on every node:
//!
//! - the **tail** follows the outbox by position, whichever node wrote the events, and
//!   feeds the in-process bus that this node's tenant event streams subscribe to;
//! - the **relay** marks events relayed, first publishing them to NATS JetStream when one is
//!   configured (any node's relay may do it: the stream deduplicates by event id).
//!
//! A write that adds an event wakes both; a short poll covers the rest (events another node
//! wrote, a missed wake-up).

mod nats;

pub use nats::{JetStreamSink, NatsConfig, NatsError};

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use tokio::sync::{Notify, broadcast};
use tokio::task::JoinHandle;

use crate::store::{EventRecord, Store};

/// Events a slow stream may fall behind by before it is told it lagged.
const BUS_CAPACITY: usize = 4_096;
const RELAY_BATCH: u32 = 500;
const RELAY_POLL: Duration = Duration::from_millis(500);
/// How soon an event written on another node reaches this node's streams, at most.
const TAIL_POLL: Duration = Duration::from_millis(200);

#[derive(Debug, Clone)]
pub struct EventBus {
    sender: broadcast::Sender<Arc<EventRecord>>,
    wake_relay: Arc<Notify>,
    wake_tail: Arc<Notify>,
    /// The highest outbox position the tail has put on the bus: streams replay up to it from
    /// the outbox and take what is above it live.
    tailed: Arc<AtomicI64>,
    /// The external broker, when configured.
    sink: Option<JetStreamSink>,
}

impl Default for EventBus {
    fn default() -> Self {
        Self {
            sender: broadcast::channel(BUS_CAPACITY).0,
            wake_relay: Arc::new(Notify::new()),
            wake_tail: Arc::new(Notify::new()),
            tailed: Arc::new(AtomicI64::new(0)),
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

    /// Tells the tail and the relay that the outbox has new events.
    pub fn wake(&self) {
        self.wake_tail.notify_one();
        self.wake_relay.notify_one();
    }

    /// The highest outbox position on the bus so far.
    pub fn tailed(&self) -> i64 {
        self.tailed.load(Ordering::SeqCst)
    }

    /// Starts the tail from the outbox's current end (streams replay older events from the
    /// outbox itself); it stops when `stop` resolves.
    pub async fn start_tail(
        &self,
        store: Store,
        stop: impl Future<Output = ()> + Send + 'static,
    ) -> crate::store::Result<JoinHandle<()>> {
        self.tailed
            .store(store.last_event_seq().await?, Ordering::SeqCst);
        let bus = self.clone();
        Ok(tokio::spawn(async move {
            tokio::pin!(stop);
            loop {
                if let Err(err) = bus.tail_once(&store).await {
                    tracing::error!(error = %err, "reading the outbox failed; retrying");
                }
                tokio::select! {
                    () = &mut stop => break,
                    () = bus.wake_tail.notified() => {}
                    () = tokio::time::sleep(TAIL_POLL) => {}
                }
            }
        }))
    }

    /// Puts every event above the cursor on the bus. The cursor moves *before* the events are
    /// sent: a stream subscribes to the bus first and then replays up to the cursor from the
    /// outbox, so it gets each event from one or the other (both: it drops the repeat by position).
    async fn tail_once(&self, store: &Store) -> crate::store::Result<()> {
        loop {
            let batch = store.events_since(self.tailed(), RELAY_BATCH).await?;
            let Some(last) = batch.last().map(|e| e.position) else {
                return Ok(());
            };
            self.tailed.store(last, Ordering::SeqCst);
            for event in batch {
                // No subscribers is fine: streams replay from the outbox on connect.
                let _ = self.sender.send(Arc::new(event));
            }
        }
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
                    () = bus.wake_relay.notified() => {}
                    () = tokio::time::sleep(RELAY_POLL) => {}
                }
            }
            if let Err(err) = bus.relay_pending(&store).await {
                tracing::error!(error = %err, "event relay failed at shutdown");
            }
        })
    }

    /// Marks every pending event relayed, in outbox order. With JetStream configured, each
    /// event is published and acknowledged first, one after another so a tenant's events keep
    /// their order: dying before the mark republishes them, and the stream drops the repeats
    /// by event id.
    pub async fn relay_pending(&self, store: &Store) -> Result<usize, RelayError> {
        let mut relayed = 0;
        loop {
            let batch = store.pending_events(RELAY_BATCH).await?;
            let Some(last) = batch.last().map(|e| e.position) else {
                return Ok(relayed);
            };
            if let Some(sink) = &self.sink {
                for event in &batch {
                    sink.publish(event).await?;
                }
            }
            store.mark_relayed(last).await?;
            relayed += batch.len();
        }
    }
}
