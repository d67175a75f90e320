//! The `mandi serve` child process the demo and the benchmarks drive over HTTP.

use std::io::{BufRead as _, BufReader};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use mandi_tests::http::Api;
use mandi_tests::toolchain::{self, cargo};

use super::{root, run};

/// Which build of `mandi` to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    Dev,
    Release,
}

/// Builds the `mandi` binary; returns its path.
pub fn build_mandi(profile: Profile) -> anyhow::Result<PathBuf> {
    let mut build = Command::new(cargo());
    build.args(["build", "--package", "mandi-host", "--bin", "mandi"]);
    if profile == Profile::Release {
        build.arg("--release");
    }
    run(build.current_dir(root()))?;
    let dir = match profile {
        Profile::Dev => "debug",
        Profile::Release => "release",
    };
    Ok(super::target_dir()
        .join(dir)
        .join(format!("mandi{}", std::env::consts::EXE_SUFFIX)))
}

/// The `mandi serve` child process.
pub struct Server {
    child: Child,
    pub base: String,
}

impl Server {
    pub fn start(
        mandi: &Path,
        dir: &Path,
        listen: SocketAddr,
        admin: &str,
    ) -> anyhow::Result<Self> {
        let mut child = Command::new(mandi)
            .arg("serve")
            .arg("--listen")
            .arg(listen.to_string())
            .arg("--database-url")
            .arg(format!("sqlite://{}", dir.join("mandi.db").display()))
            .arg("--cache-dir")
            .arg(dir.join("cache"))
            .env("MANDI_ADMIN_TOKEN", admin)
            .stderr(Stdio::piped())
            .spawn()
            .context("starting mandi serve")?;
        let stderr = child.stderr.take().expect("piped");
        let mut lines = BufReader::new(stderr).lines();
        // The service announces its address once it listens; anything before is an error.
        let mut said = Vec::new();
        let base = loop {
            match lines.next() {
                Some(Ok(line)) => match line.split_once("serving on ") {
                    Some((_, rest)) => {
                        break rest
                            .split_whitespace()
                            .next()
                            .unwrap_or_default()
                            .to_owned();
                    }
                    None => said.push(line),
                },
                _ => {
                    let status = child.wait()?;
                    bail!("mandi serve exited ({status}):\n{}", said.join("\n"));
                }
            }
        };
        // From here on the service's own log goes to our stderr.
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                eprintln!("[mandi] {line}");
            }
        });
        Ok(Self { child, base })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Asks the service to shut down gracefully (SIGTERM), as an orchestrator would.
    pub fn stop(mut self) {
        self.terminate();
    }

    fn terminate(&mut self) {
        let terminated = Command::new("kill")
            .arg(self.child.id().to_string())
            .status()
            .is_ok_and(|s| s.success());
        if !terminated {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }

    pub fn wait(mut self) -> anyhow::Result<()> {
        let status = self.child.wait()?;
        if !status.success() {
            bail!("mandi serve exited ({status})");
        }
        Ok(())
    }
}

impl Drop for Server {
    /// A task that fails midway must not leave the service running (`stop` and `wait` have
    /// already reaped it; then this does nothing).
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// What a benchmark runs against: a release `mandi serve` on a fresh scratch directory.
pub struct Bench {
    pub server: Server,
    pub api: Api,
    pub admin: &'static str,
    /// The built plugins' directory.
    pub plugins: PathBuf,
    pub mandi: PathBuf,
    pub dir: PathBuf,
}

impl Bench {
    /// Builds the plugins and a release `mandi`, then starts it on `target/<name>` (emptied
    /// first) on a free local port.
    pub fn start(name: &str) -> anyhow::Result<Self> {
        let plugins = toolchain::build_plugins()?;
        super::step("building the mandi binary (release)");
        let mandi = build_mandi(Profile::Release)?;
        let dir = root().join("target").join(name);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        let admin = "benchmark-admin-token";
        let listen = free_address(SocketAddr::from(([127, 0, 0, 1], 0)))?;
        let server = Server::start(&mandi, &dir, listen, admin)?;
        let api = Api::new(server.base.clone());
        wait_ready(&api)?;
        Ok(Self {
            server,
            api,
            admin,
            plugins,
            mandi,
            dir,
        })
    }

    /// A built plugin's component bytes.
    pub fn component(&self, name: &str) -> anyhow::Result<Vec<u8>> {
        std::fs::read(self.plugins.join(format!("{name}.wasm")))
            .with_context(|| format!("reading the built {name} component"))
    }

    /// Stops the service and starts it again on the same database and cache directory.
    pub fn restart(&mut self) -> anyhow::Result<()> {
        let listen: SocketAddr = self
            .server
            .base
            .trim_start_matches("http://")
            .parse()
            .context("the service's address")?;
        self.server.terminate();
        self.server = Server::start(&self.mandi, &self.dir, free_address(listen)?, self.admin)?;
        self.api = Api::new(self.server.base.clone());
        wait_ready(&self.api)
    }

    pub fn stop(self) {
        self.server.stop();
    }
}

/// `wanted` if it is free, else any free port on the same interface (8080 may be taken).
pub fn free_address(wanted: SocketAddr) -> anyhow::Result<SocketAddr> {
    if TcpListener::bind(wanted).is_ok() {
        return Ok(wanted);
    }
    let any = TcpListener::bind(SocketAddr::new(wanted.ip(), 0))
        .with_context(|| format!("no free port on {}", wanted.ip()))?;
    let address = any.local_addr()?;
    eprintln!("{wanted} is taken; using {address}");
    Ok(address)
}

pub fn wait_ready(api: &Api) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if matches!(api.get("/readyz", ""), Ok((200, _))) {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!(
                "mandi serve did not become ready at {} within 30 s",
                api.base()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
