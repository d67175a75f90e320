//! Events to NATS JetStream, against a real server: a relay that dies in the middle of a batch
//! and is started again leaves every event in the stream exactly once, each tenant's in order.

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

use mandi_host::events::{EventBus, JetStreamSink, NatsConfig};
use mandi_host::store::{ApiKeyRecord, NewOrder, Store, Tenant};

/// The environment variable naming the NATS server (`cargo xtask test` sets it).
const NATS_ENV: &str = "MANDI_TEST_NATS_URL";

async fn seed(store: &Store, tenants: &[&str], orders_each: usize) {
    for tenant in tenants {
        let record = Tenant {
            id: (*tenant).to_owned(),
            name: (*tenant).to_owned(),
            currency: "INR".into(),
            time_zone: "Asia/Kolkata".into(),
            utc_offset_minutes: 330,
            created_at: 0,
        };
        let key = ApiKeyRecord {
            key_id: format!("key-{tenant}"),
            tenant_id: (*tenant).to_owned(),
            secret_hash: vec![0; 32],
        };
        store.create_tenant(&record, &key).await.expect("tenant");
    }
    // Interleaved, so the outbox mixes tenants as real traffic does.
    for i in 0..orders_each {
        for tenant in tenants {
            let order = NewOrder {
                id: format!("ord-{tenant}-{i}"),
                idempotency_key: format!("k{i}"),
                request_hash: String::new(),
                currency: "INR".into(),
                total_minor: 100,
                body: serde_json::json!({ "n": i }),
                reservations: Vec::new(),
            };
            store.place_order(tenant, &order).await.expect("order");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs NATS with JetStream: `cargo xtask test` runs it with MANDI_TEST_NATS_URL"]
async fn a_relay_that_dies_mid_batch_resumes_without_losing_duplicating_or_reordering() {
    let url = std::env::var(NATS_ENV).expect("set MANDI_TEST_NATS_URL (cargo xtask test does)");
    let run = format!("{}_{}", std::process::id(), mandi_host::store::now_ms());
    let config = NatsConfig {
        url: url.clone(),
        stream: format!("MANDI_TEST_{run}"),
        subject_prefix: format!("mandi_test_{run}.events"),
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&format!(
        "sqlite://{}",
        dir.path().join("mandi.db").display()
    ))
    .await
    .expect("store");
    let tenants = ["jiomart", "netmeds", "tira"];
    seed(&store, &tenants, 150).await;
    let total = tenants.len() * 150;
    let expected = store.pending_events(10_000).await.expect("outbox");
    assert_eq!(expected.len(), total);

    let client = async_nats::connect(&url).await.expect("nats");
    let jetstream = async_nats::jetstream::new(client);
    let stored = |jetstream: async_nats::jetstream::Context, name: String| async move {
        let mut stream = jetstream.get_stream(&name).await.expect("stream");
        stream.info().await.expect("info").state.messages
    };

    // The first relay publishes part of its batch, then dies before marking anything relayed.
    let first = EventBus::with_sink(JetStreamSink::connect(config.clone()).await.expect("sink"));
    let relay = {
        let store = store.clone();
        tokio::spawn(async move { first.relay_pending(&store).await })
    };
    let started = Instant::now();
    let mut at_death = 0;
    while at_death < 20 {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the relay published nothing"
        );
        at_death = stored(jetstream.clone(), config.stream.clone()).await;
    }
    relay.abort();
    let _ = relay.await;
    let at_death = stored(jetstream.clone(), config.stream.clone()).await;
    assert!(
        at_death < total as u64,
        "the relay finished before it could be stopped ({at_death} of {total})"
    );
    assert_eq!(
        store.pending_events(10_000).await.expect("outbox").len(),
        total,
        "nothing was marked relayed"
    );

    // A new relay (a restarted process) publishes everything again; the stream keeps one copy.
    let second = EventBus::with_sink(JetStreamSink::connect(config.clone()).await.expect("sink"));
    assert_eq!(second.relay_pending(&store).await.expect("relays"), total);
    assert!(store.pending_events(10).await.expect("outbox").is_empty());

    let stream = jetstream.get_stream(&config.stream).await.expect("stream");
    let mut seen = HashSet::new();
    let mut per_tenant: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    let mut in_stream = Vec::new();
    for sequence in 1..=(total as u64) {
        let message = stream.get_raw_message(sequence).await.expect("message");
        let event: serde_json::Value = serde_json::from_slice(&message.payload).expect("json");
        let tenant = event["tenant_id"].as_str().expect("tenant").to_owned();
        assert_eq!(
            message.subject.as_str(),
            format!("{}.{tenant}.order.placed", config.subject_prefix)
        );
        assert!(
            seen.insert(event["id"].as_str().expect("id").to_owned()),
            "duplicate {event}"
        );
        per_tenant
            .entry(tenant)
            .or_default()
            .push(event["seq"].as_i64().expect("seq"));
        in_stream.push(event["id"].as_str().expect("id").to_owned());
    }
    let mut info = jetstream.get_stream(&config.stream).await.expect("stream");
    assert_eq!(
        info.info().await.expect("info").state.messages,
        total as u64
    );
    let outbox_order: Vec<String> = expected.iter().map(|e| e.id.clone()).collect();
    assert_eq!(
        in_stream, outbox_order,
        "the stream holds the outbox, in order"
    );
    for (tenant, seqs) in &per_tenant {
        assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{tenant} reordered");
    }
    println!(
        "relay died after {at_death} of {total} events; after resuming the stream holds {total}, once each, in order"
    );
    jetstream
        .delete_stream(&config.stream)
        .await
        .expect("clean up");
}
