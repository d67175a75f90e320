//! The database going away under load: a private PostgreSQL server (never the shared one) is
//! restarted while orders flow. Requests fail fast with 503 and `Retry-After`, nothing panics,
//! the service recovers by itself once the server is back, and no acknowledged order is lost.

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mandi_tests::database::TestDatabase;

use super::process::{self, Serve};

/// A PostgreSQL server of the test's own, in a temporary directory on a free port.
struct PrivatePostgres {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
}

impl PrivatePostgres {
    fn start() -> Self {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .expect("PostgreSQL is installed under /usr/lib/postgresql")
            .filter_map(Result::ok)
            .map(|e| e.path().join("bin"))
            .filter(|b| b.join("initdb").exists())
            .max()
            .expect("a PostgreSQL with initdb");
        let dir = tempfile::tempdir().expect("tempdir");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let server = Self { dir, bin, port };
        if is_root() {
            // PostgreSQL refuses to run as root: the server's files are the postgres user's.
            run(Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(server.dir.path()));
        }
        run(&mut server.tool(
            "initdb",
            &["-A", "trust", "-U", "postgres", "--no-sync", "-D"],
        ));
        server.up();
        server
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn tool(&self, name: &str, args: &[&str]) -> Command {
        let program = self.bin.join(name);
        let mut command = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(program);
            c
        } else {
            Command::new(program)
        };
        command.args(args);
        if args.last() == Some(&"-D") {
            command.arg(self.data());
        }
        command
    }

    fn admin_url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    fn up(&self) {
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -k {}",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("server.log");
        run(self
            .tool("pg_ctl", &["-w", "-o", &options, "-l"])
            .arg(&log)
            .arg("-D")
            .arg(self.data())
            .arg("start"));
    }

    fn down(&self) {
        run(self.tool("pg_ctl", &["-w", "-m", "fast", "-D"]).arg("stop"));
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let _ = self
            .tool("pg_ctl", &["-w", "-m", "immediate", "-D"])
            .arg("stop")
            .output();
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

fn run(command: &mut Command) {
    let output = command.output().expect("runs");
    assert!(
        output.status.success(),
        "{command:?}: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[tokio::test]
#[ignore = "starts a PostgreSQL server of its own: `cargo xtask test` runs it with the PostgreSQL suite"]
async fn a_database_restart_under_load_fails_fast_and_recovers_by_itself() {
    let server = PrivatePostgres::start();
    let database = TestDatabase::on_postgres(&server.admin_url()).await;
    let cache = tempfile::tempdir().expect("cache");
    tokio::task::spawn_blocking(move || {
        let mut serve = Serve::start(&database, cache.path());
        let key = process::set_up_shop(&serve.base);
        let base = Arc::new(Mutex::new(serve.base.clone()));
        let stop = Arc::new(AtomicBool::new(false));
        let load = process::order_load(base, key.clone(), 4, stop.clone());

        std::thread::sleep(Duration::from_millis(1_500));
        server.down();
        let went_down = Instant::now();
        std::thread::sleep(Duration::from_secs(3));
        server.up();
        let came_up = Instant::now();
        // Recovery: how long after the server is back the service answers from it again.
        let agent = process::client();
        let recovered = loop {
            let probe = process::call(
                &agent,
                "GET",
                &format!("{}/v1/orders?limit=1", serve.base),
                &key,
                None,
                None,
            );
            if probe.is_ok_and(|a| a.status == 200) {
                break came_up.elapsed();
            }
            assert!(
                came_up.elapsed() < Duration::from_secs(60),
                "the service did not recover within 60 s of the database coming back"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        std::thread::sleep(Duration::from_millis(1_500));
        stop.store(true, Ordering::SeqCst);
        let load = process::join(load);
        let outage = went_down.elapsed();

        // During the outage: 503 with Retry-After, answered fast; nothing else went wrong.
        for answer in &load.refused {
            assert_eq!(answer.status, 503, "{answer:?}");
            assert_eq!(
                answer.body["error"]["code"], "database-unavailable",
                "{answer:?}"
            );
            assert!(
                answer.retry_after.is_some(),
                "503 without Retry-After: {answer:?}"
            );
        }
        assert!(!load.refused.is_empty(), "the outage was not noticed");
        let mut waits: Vec<Duration> = load.refused.iter().map(|a| a.took).collect();
        waits.sort();
        let slowest = *waits.last().expect("some");
        // Generous: the pool gives up on a connection after 2 s.
        assert!(slowest < Duration::from_secs(10), "a 503 took {slowest:?}");
        assert_eq!(load.unanswered, 0, "every request got an answer");
        assert!(serve.alive(), "the service kept running");
        assert!(serve.panics().is_empty(), "{:?}", serve.panics());
        let found = process::check_orders(&serve.base, &key, &load);
        println!(
            "database down 3 s under load: {} answered 503 (p50 {:?}, slowest {:?}), recovered \
             {recovered:?} after the server was back; {} orders acknowledged, {found} found \
             ({outage:?} of load around the outage)",
            load.refused.len(),
            percentile(&waits, 0.5),
            slowest,
            load.acked.len(),
        );
    })
    .await
    .expect("the outage check");
}
