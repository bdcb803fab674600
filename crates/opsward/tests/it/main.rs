//! Tests of the `opsward` binary as users run it: the CLI, `serve`, and a real browser.

mod architecture;
mod backlog;
mod backlog_inbound_cli;
mod backup;
mod browser;
mod browser_backlog;
mod browser_crawl;
mod browser_forms;
mod browser_picture;
mod browser_schedule;
mod browser_sso;
mod browser_suppliers;
mod browser_survey;
mod cert_targets;
mod certs;
mod cli;
#[path = "../../../opsward-patches/tests/it/dummy_repo.rs"]
mod dummy_repo;
mod faultproxy;
mod host_vulns_cli;
mod patch_rings_cli;
mod patches;
mod patches_cli;
mod patches_language;
mod prometheus;
mod resilience;
mod security;
mod serve;
mod suppliers;
mod upgrade;
mod vuln_exposure;
mod vuln_scan_upload;
mod vulns;

use std::{
    io::{BufRead, BufReader},
    net::SocketAddr,
    path::PathBuf,
    process::{Child, Command, Output, Stdio},
    sync::mpsc,
    time::Duration,
};

/// Run a command and return its stdout; panics with its stderr when it fails.
pub fn run(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

pub const BIN: &str = env!("CARGO_BIN_EXE_opsward");

/// The audit actor the CLI records: the account running the tests, by its real user id
/// (never `$USER`, which [`Env::command`] sets to `tester` to prove it is not believed).
pub fn cli_actor() -> String {
    let name = run(Command::new("id").arg("-un"));
    format!("cli:{}", name.trim())
}

/// One database for the CLI and servers of a test, on either backend.
pub struct Env {
    pub dir: tempfile::TempDir,
    pub database_url: Option<String>,
}

impl Env {
    pub async fn new(postgres: bool) -> Env {
        let dir = tempfile::tempdir().unwrap();
        let database_url = if postgres {
            Some(opsward_testkit::fresh_postgres_schema().await)
        } else {
            None
        };
        Env { dir, database_url }
    }

    pub fn command(&self) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.arg("--data-dir").arg(self.dir.path().join("data"));
        if let Some(url) = &self.database_url {
            cmd.arg("--database-url").arg(url);
        }
        // Isolate from the developer's environment.
        for (key, _) in std::env::vars() {
            if key.starts_with("OPSWARD_") {
                cmd.env_remove(key);
            }
        }
        cmd.env("USER", "tester");
        cmd
    }

    /// Run `opsward <args>` with `stdin`, and return its output.
    pub fn run(&self, args: &[&str], stdin: &str) -> Output {
        let mut child = self
            .command()
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }

    /// Run and require success; return stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args, "");
        assert!(
            out.status.success(),
            "opsward {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    /// Start `opsward serve` on a free port and wait until it listens. Its log goes to
    /// `serve.log` in the test directory (a pipe nobody reads would block the server).
    #[allow(clippy::zombie_processes)] // `Server` kills and waits for the child on drop.
    pub fn serve(&self) -> Server {
        self.serve_on("127.0.0.1:0")
    }

    /// `serve` on a given address (to restart a server where its clients expect it).
    #[allow(clippy::zombie_processes)] // `Server` kills and waits for the child on drop.
    pub fn serve_on(&self, listen: &str) -> Server {
        self.serve_args(&["serve", "--listen", listen])
    }

    /// `serve` with a configuration file holding `toml`.
    pub fn serve_with_config(&self, toml: &str) -> Server {
        let config = self.write("opsward.toml", toml);
        let config = config.to_str().unwrap();
        self.serve_args(&["--config", config, "serve", "--listen", "127.0.0.1:0"])
    }

    /// `serve` on `listen` with a configuration file holding `toml` (for peers that must
    /// know the server's address before it starts).
    pub fn serve_with_config_on(&self, toml: &str, listen: &str) -> Server {
        let config = self.write("opsward.toml", toml);
        let config = config.to_str().unwrap();
        self.serve_args(&["--config", config, "serve", "--listen", listen])
    }

    #[allow(clippy::zombie_processes)] // `Server` kills and waits for the child on drop.
    fn serve_args(&self, args: &[&str]) -> Server {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("serve.log"))
            .unwrap();
        let mut child = self
            .command()
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let mut printed = Vec::new();
        loop {
            let line = rx
                .recv_timeout(Duration::from_secs(60))
                .expect("opsward serve printed its address within 60 s");
            if let Some(rest) = line.strip_prefix("opsward is listening on http://") {
                let addr: SocketAddr = rest.trim_end_matches('/').parse().unwrap();
                return Server {
                    child,
                    addr,
                    printed,
                };
            }
            printed.push(line);
        }
    }
}

pub struct Server {
    pub child: Child,
    pub addr: SocketAddr,
    /// What the server printed before it listened (the first-run notice).
    pub printed: Vec<String>,
}

impl Server {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn signal(&self, signal: i32) {
        // SAFETY: kill(2) on our own child's pid.
        unsafe { libc_kill(self.child.id() as i32, signal) };
    }

    pub fn wait(&mut self, within: Duration) -> std::process::ExitStatus {
        let deadline = std::time::Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "opsward did not exit within {within:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub const SIGKILL: i32 = 9;
pub const SIGTERM: i32 = 15;

extern "C" {
    #[link_name = "kill"]
    fn libc_kill(pid: i32, sig: i32) -> i32;
}

/// Run a test body on SQLite and on PostgreSQL.
#[macro_export]
macro_rules! both_backends {
    ($name:ident, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                ($body)($crate::Env::new(false).await).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                ($body)($crate::Env::new(true).await).await;
            }
        }
    };
}
