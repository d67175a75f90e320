//! Events to NATS JetStream. Each outbox event is published on `<prefix>.<tenant>.<kind>` with
//! its event id as the JetStream message id, and the relay waits for the stream's
//! acknowledgement before it marks the event relayed. A relay that dies after publishing but
//! before marking publishes the same events again when it resumes; the stream drops repeats of
//! an id within its duplicate window, so each event is stored exactly once, in outbox order.

use std::time::Duration;

use async_nats::jetstream::{self, message::PublishMessage};

use crate::store::EventRecord;

/// How long JetStream remembers message ids: a relay that resumes within this time after dying
/// mid-batch adds no duplicates.
const DUPLICATE_WINDOW: Duration = Duration::from_secs(3600);

/// Where to publish.
#[derive(Debug, Clone)]
pub struct NatsConfig {
    pub url: String,
    /// The JetStream stream, created if missing.
    pub stream: String,
    /// Subjects are `<prefix>.<tenant>.<kind>`, e.g. `mandi.events.jiomart.order.placed`.
    pub subject_prefix: String,
}

impl NatsConfig {
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            stream: "MANDI_EVENTS".into(),
            subject_prefix: "mandi.events".into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("NATS: {0}")]
pub struct NatsError(String);

fn nats_error(err: impl std::fmt::Display) -> NatsError {
    NatsError(err.to_string())
}

/// A JetStream stream that takes the outbox's events.
#[derive(Debug, Clone)]
pub struct JetStreamSink {
    jetstream: jetstream::Context,
    config: NatsConfig,
}

impl JetStreamSink {
    /// Connects and makes sure the stream exists and captures `<prefix>.>`.
    pub async fn connect(config: NatsConfig) -> Result<Self, NatsError> {
        let client = async_nats::connect(&config.url).await.map_err(nats_error)?;
        let jetstream = jetstream::new(client);
        jetstream
            .get_or_create_stream(jetstream::stream::Config {
                name: config.stream.clone(),
                subjects: vec![format!("{}.>", config.subject_prefix)],
                duplicate_window: DUPLICATE_WINDOW,
                ..Default::default()
            })
            .await
            .map_err(nats_error)?;
        Ok(Self { jetstream, config })
    }

    /// The subject an event is published on: one tenant's events share a prefix, so a
    /// subscriber can take one tenant (`mandi.events.jiomart.>`) or one kind
    /// (`mandi.events.*.order.placed`).
    pub fn subject(&self, event: &EventRecord) -> String {
        format!(
            "{}.{}.{}",
            self.config.subject_prefix, event.tenant_id, event.kind
        )
    }

    /// Publishes one event and waits until the stream has stored it (or recognised its id).
    pub async fn publish(&self, event: &EventRecord) -> Result<(), NatsError> {
        let payload = serde_json::to_vec(event).map_err(nats_error)?;
        let message = PublishMessage::build()
            .payload(payload.into())
            .message_id(&event.id);
        self.jetstream
            .send_publish(self.subject(event), message)
            .await
            .map_err(nats_error)?
            .await
            .map_err(nats_error)?;
        Ok(())
    }
}
