//! A real S3 API for the tests: moto's server (PyPI `moto[server]`, installed by `.ci/run`
//! into its own venv, `.tools/moto`, as its pins clash with schemathesis's) in a child process
//! on a loopback port it picks itself, with the buckets a test asks for. moto answers as S3
//! does but accepts any keys.

use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// Every wait on the S3 peer is bounded by this.
pub const WAIT: Duration = Duration::from_secs(60);

const SERVER_SCRIPT: &str = r#"
import sys
import boto3
from moto.server import ThreadedMotoServer

server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
server.start()
host, port = server.get_host_and_port()
endpoint = "http://127.0.0.1:%d" % port
s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                  aws_access_key_id="opsward-test", aws_secret_access_key="opsward-test")
for bucket in sys.argv[1:]:
    s3.create_bucket(Bucket=bucket)
print("READY", port, flush=True)
sys.stdin.read()
server.stop()
"#;

/// The Python that has moto: `OPSWARD_TEST_MOTO_PYTHON`, else `.tools/moto/bin/python`.
pub fn python() -> std::path::PathBuf {
    match std::env::var_os("OPSWARD_TEST_MOTO_PYTHON") {
        Some(path) => std::path::PathBuf::from(path),
        None => std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../.tools/moto/bin/python"),
    }
}

/// A running moto S3 server; stopped when dropped.
pub struct S3Server {
    /// `http://127.0.0.1:<port>`
    pub endpoint: String,
    _child: Child,
}

/// An AWS shared-credentials file with keys moto accepts.
pub const CREDENTIALS: &str =
    "[default]\naws_access_key_id = opsward-test\naws_secret_access_key = opsward-test\n";

impl S3Server {
    /// moto with `buckets` created, ready to answer.
    pub async fn start(buckets: &[&str]) -> S3Server {
        let python = python();
        let mut child = Command::new(&python)
            .arg("-c")
            .arg(SERVER_SCRIPT)
            .args(buckets)
            .env("AWS_ACCESS_KEY_ID", "opsward-test")
            .env("AWS_SECRET_ACCESS_KEY", "opsward-test")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run {} (moto[server], see .ci/run): {e}",
                    python.display()
                )
            });
        let mut lines = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
        let ready = tokio::time::timeout(WAIT, lines.next_line())
            .await
            .expect("moto did not start in time")
            .expect("moto's output")
            .unwrap_or_else(|| {
                panic!(
                    "moto exited before it was ready (is moto[server] installed for {}?)",
                    python.display()
                )
            });
        let port: u16 = ready
            .strip_prefix("READY ")
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("unexpected moto output: {ready}"));
        S3Server {
            endpoint: format!("http://127.0.0.1:{port}"),
            _child: child,
        }
    }
}
