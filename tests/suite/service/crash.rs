//! `kill -9` of `mandi serve` in the middle of an order load: after a restart on the same
//! database, every order the service acknowledged is there, no idempotency key placed two
//! orders (also when every key is sent again), and the stock is exactly what the orders took.
//! On the backend the suite runs on (SQLite, or PostgreSQL).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mandi_tests::database::TestDatabase;

use super::process::{self, Serve};

#[tokio::test]
async fn acknowledged_orders_survive_a_kill_9_once_each() {
    let database = TestDatabase::fresh().await;
    let cache = tempfile::tempdir().expect("cache");
    let backend = if database.is_postgres() {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    tokio::task::spawn_blocking(move || {
        let first = Serve::start(&database, cache.path());
        let key = process::set_up_shop(&first.base);
        let base = Arc::new(Mutex::new(first.base.clone()));
        let stop = Arc::new(AtomicBool::new(false));
        let load = process::order_load(base.clone(), key.clone(), 4, stop.clone());
        // Let orders flow, then kill the process with requests in flight.
        std::thread::sleep(Duration::from_millis(2_500));
        first.kill();
        std::thread::sleep(Duration::from_millis(200));
        stop.store(true, Ordering::SeqCst);
        let mut load = process::join(load);
        let acked = load.acked.len();
        assert!(acked > 0, "no order was placed before the kill");

        let mut second = Serve::start(&database, cache.path());
        *base.lock().expect("base") = second.base.clone();
        let found = process::check_orders(&second.base, &key, &load);
        // Every key again, as clients retrying after the crash would: no second order.
        let agent = process::client();
        for idempotency_key in &load.attempted {
            let again = process::call(
                &agent,
                "POST",
                &format!("{}/v1/orders", second.base),
                &key,
                Some(&process::order_body()),
                Some(idempotency_key),
            )
            .expect("answers");
            assert!(again.status == 200 || again.status == 201, "{again:?}");
        }
        load.acked.clear();
        let after_retries = process::check_orders(&second.base, &key, &load);
        assert_eq!(
            after_retries,
            load.attempted.len(),
            "one order per key, no more"
        );
        assert!(
            second.alive() && second.panics().is_empty(),
            "{:?}",
            second.panics()
        );
        println!(
            "{backend}: kill -9 under load: {acked} acknowledged, {found} found after restart, \
             0 duplicates; all {} keys sent again -> {after_retries} orders",
            load.attempted.len(),
        );
    })
    .await
    .expect("the crash check");
}
