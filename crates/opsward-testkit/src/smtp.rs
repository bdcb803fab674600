//! A real SMTP server for the tests: aiosmtpd (PyPI) in a child process, started on a
//! port it picks itself, recording every accepted message as JSON in a temp dir.

use std::process::Stdio;
use std::time::Duration;

use serde::Deserialize;
use tempfile::TempDir;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// Every wait on the SMTP peer is bounded by this.
pub const WAIT: Duration = Duration::from_secs(20);

pub const SMTP_USER: &str = "opsward";
pub const SMTP_PASSWORD: &str = "correct horse battery";

const SERVER_SCRIPT: &str = r#"
import asyncio, json, os, ssl, sys
from aiosmtpd.smtp import SMTP, AuthResult

mode, out_dir = sys.argv[1], sys.argv[2]
cert, key = (sys.argv[3], sys.argv[4]) if len(sys.argv) > 4 else (None, None)

class Recorder:
    count = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("busy@"):
            return "451 4.3.0 Mailbox busy, try again later"
        if address.startswith("nobody@"):
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        Recorder.count += 1
        login = None
        if session.authenticated and session.auth_data is not None:
            login = session.auth_data.login.decode()
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "content": envelope.original_content.decode("utf-8", "replace"),
            "tls": server.transport.get_extra_info("ssl_object") is not None,
            "login": login,
        }
        path = os.path.join(out_dir, "message-%d.json" % Recorder.count)
        with open(path + ".tmp", "w") as f:
            json.dump(record, f)
        os.replace(path + ".tmp", path)
        return "250 2.0.0 Message accepted for delivery"

def authenticator(server, session, envelope, mechanism, auth_data):
    ok = (getattr(auth_data, "login", None) == os.environ["SMTP_USER"].encode()
          and auth_data.password == os.environ["SMTP_PASSWORD"].encode())
    return AuthResult(success=ok, handled=False, auth_data=auth_data)

async def main():
    ctx = None
    if cert:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(cert, key)
    kwargs = {"hostname": "localhost"}
    server_ssl = None
    if mode == "starttls":
        kwargs.update(tls_context=ctx, require_starttls=True)
    elif mode == "tls":
        server_ssl = ctx
    elif mode == "auth":
        kwargs.update(authenticator=authenticator, auth_required=True, auth_require_tls=False)
    handler = Recorder()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(handler, **kwargs), host="127.0.0.1", port=0, ssl=server_ssl)
    print("READY", server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()

asyncio.run(main())
"#;

/// What the server should demand of its clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// No TLS, no AUTH.
    Plain,
    /// STARTTLS offered and required before MAIL FROM.
    Starttls,
    /// TLS from the first byte.
    ImplicitTls,
    /// AUTH LOGIN/PLAIN required (over plain text, as a test peer may).
    Auth,
}

/// A CA and a server certificate for localhost / 127.0.0.1, generated per test.
pub struct TlsFixture {
    pub ca_pem: String,
    pub(crate) cert_pem: String,
    pub(crate) key_pem: String,
}

impl TlsFixture {
    pub fn generate() -> Self {
        use rcgen::{
            BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
        };
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "opsward test CA");
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_key = KeyPair::generate().unwrap();
        let ca_cert = ca_params.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(ca_params, ca_key);

        let mut params =
            CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &issuer).unwrap();
        Self {
            ca_pem: ca_cert.pem(),
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        }
    }
}

/// One message as the server received it.
#[derive(Debug, Deserialize)]
pub struct ReceivedMail {
    pub mail_from: String,
    pub rcpt_tos: Vec<String>,
    pub content: String,
    pub tls: bool,
    pub login: Option<String>,
}

impl ReceivedMail {
    /// The value of the first header called `name`, unfolded.
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.content.split("\r\n\r\n").next().unwrap_or("");
        let mut value: Option<String> = None;
        for line in head.split("\r\n") {
            if line.starts_with([' ', '\t']) {
                if let Some(v) = value.as_mut() {
                    v.push(' ');
                    v.push_str(line.trim());
                }
                continue;
            }
            if value.is_some() {
                break;
            }
            if let Some((key, rest)) = line.split_once(':') {
                if key.eq_ignore_ascii_case(name) {
                    value = Some(rest.trim().to_owned());
                }
            }
        }
        value
    }
}

pub struct SmtpPeer {
    pub port: u16,
    child: Child,
    dir: TempDir,
}

impl SmtpPeer {
    pub async fn start(mode: Mode, tls: Option<&TlsFixture>) -> Self {
        let python = crate::python();
        let probe = Command::new(&python)
            .args(["-c", "import aiosmtpd"])
            .output()
            .await;
        match probe {
            Ok(out) if out.status.success() => {}
            other => panic!(
                "the SMTP tests need aiosmtpd (PyPI) in {}: run `.venv/bin/pip install aiosmtpd==1.4.6` \
                 in the workspace root (as .ci/run does) or point OPSWARD_TEST_PYTHON at an interpreter \
                 that has it; probe result: {other:?}",
                python.display()
            ),
        }

        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("smtp_server.py");
        std::fs::write(&script, SERVER_SCRIPT).unwrap();
        let mode_arg = match mode {
            Mode::Plain => "plain",
            Mode::Starttls => "starttls",
            Mode::ImplicitTls => "tls",
            Mode::Auth => "auth",
        };
        let mut command = Command::new(&python);
        command
            .arg(&script)
            .arg(mode_arg)
            .arg(dir.path())
            .env("SMTP_USER", SMTP_USER)
            .env("SMTP_PASSWORD", SMTP_PASSWORD)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        if let Some(tls) = tls {
            let cert = dir.path().join("server.pem");
            let key = dir.path().join("server.key");
            std::fs::write(&cert, &tls.cert_pem).unwrap();
            std::fs::write(&key, &tls.key_pem).unwrap();
            command.arg(cert).arg(key);
        }
        let mut child = command.spawn().expect("start the aiosmtpd server");
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let ready = tokio::time::timeout(WAIT, lines.next_line())
            .await
            .expect("aiosmtpd did not start in time")
            .unwrap()
            .expect("aiosmtpd exited before listening (see its stderr above)");
        let port = ready
            .strip_prefix("READY ")
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("unexpected aiosmtpd output: {ready}"));
        Self { port, child, dir }
    }

    /// The `n`-th (1-based) accepted message, waiting for it up to [`WAIT`].
    pub async fn message(&self, n: usize) -> ReceivedMail {
        let path = self.dir.path().join(format!("message-{n}.json"));
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            if let Ok(text) = std::fs::read_to_string(&path) {
                return serde_json::from_str(&text).unwrap();
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "message {n} never arrived"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// How many messages the server accepted so far.
    pub fn accepted(&self) -> usize {
        std::fs::read_dir(self.dir.path())
            .unwrap()
            .filter_map(Result::ok)
            .filter(|e| {
                let name = e.file_name();
                let name = name.to_string_lossy();
                name.starts_with("message-") && name.ends_with(".json")
            })
            .count()
    }
}

impl Drop for SmtpPeer {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}
