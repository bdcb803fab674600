//! A real IMAP server for the tests: Debian's Dovecot (`dovecot-imapd`) in the foreground
//! with a generated configuration in a temp dir: one user from a passwd file with a plain
//! password, a maildir under the temp dir, a plain listener on 127.0.0.1 (which offers
//! STARTTLS when a certificate is given) and, with a certificate, an implicit-TLS one.
//!
//! Messages are delivered by writing maildir files, and their flags read back from the
//! file names, so the tests check the mailbox independently of the IMAP client under test.
//! Works as root (the mail user is then `nobody`, as Dovecot refuses mail access as root)
//! and as a normal user (everything runs as that user).

use crate::smtp::TlsFixture;
use std::{
    os::unix::fs::{MetadataExt, PermissionsExt},
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};
use tempfile::TempDir;
use tokio::{
    io::AsyncReadExt,
    process::{Child, Command},
};

pub const IMAP_USER: &str = "backlog";
pub const IMAP_PASSWORD: &str = "correct horse imap";

/// Every wait on the IMAP peer is bounded by this.
pub const WAIT: Duration = Duration::from_secs(20);

pub struct DovecotPeer {
    /// Plain IMAP (STARTTLS offered when started with a certificate).
    pub port: u16,
    /// Implicit TLS, when started with a certificate.
    pub tls_port: Option<u16>,
    /// The CA that signed the server certificate, as a PEM file.
    pub ca_file: Option<PathBuf>,
    child: Child,
    dir: TempDir,
    delivered: usize,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The name with this numeric id in /etc/passwd or /etc/group.
fn name_of(file: &str, id: u32) -> Option<String> {
    let table = std::fs::read_to_string(file).ok()?;
    table.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.len() > 2 && f[2] == id.to_string()).then(|| f[0].to_string())
    })
}

fn open_up(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

impl DovecotPeer {
    /// Start Dovecot; panics with how to install it when it is missing.
    pub async fn start(tls: Option<&TlsFixture>) -> Self {
        let binary = ["/usr/sbin/dovecot", "/usr/local/sbin/dovecot"]
            .into_iter()
            .find(|p| Path::new(p).is_file())
            .unwrap_or_else(|| {
                panic!(
                    "the inbound-email tests need Dovecot as their IMAP server: install it with \
                     `apt-get install -y dovecot-imapd` (as .ci/run does)"
                )
            });
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        // Dovecot's mail processes run as the mail user, who must reach the maildir.
        open_up(root, 0o755);
        let home = root.join("home");
        for sub in ["", "Maildir", "Maildir/new", "Maildir/cur", "Maildir/tmp"] {
            std::fs::create_dir_all(home.join(sub)).unwrap();
            open_up(&home.join(sub), 0o777);
        }
        let owner = std::fs::metadata(root).unwrap();
        let (mail_uid, mail_gid, internal) = if owner.uid() == 0 {
            (
                65534,
                65534,
                "default_internal_user = dovecot\ndefault_login_user = dovenull\n".to_string(),
            )
        } else {
            // Unprivileged, Dovecot can switch to nobody else: every service runs as us.
            let user =
                name_of("/etc/passwd", owner.uid()).expect("the current user in /etc/passwd");
            let group =
                name_of("/etc/group", owner.gid()).expect("the current group in /etc/group");
            (
                owner.uid(),
                owner.gid(),
                format!("default_internal_user = {user}\ndefault_internal_group = {group}\ndefault_login_user = {user}\n"),
            )
        };
        std::fs::write(
            root.join("users"),
            format!(
                "{IMAP_USER}:{{PLAIN}}{IMAP_PASSWORD}:{mail_uid}:{mail_gid}::{}\n",
                home.display()
            ),
        )
        .unwrap();

        let port = free_port();
        let mut ca_file = None;
        let mut tls_port = None;
        let mut ssl = "ssl = no\n".to_string();
        let mut imaps = String::new();
        if let Some(tls) = tls {
            let (cert, key, ca) = (
                root.join("server.pem"),
                root.join("server.key"),
                root.join("ca.pem"),
            );
            std::fs::write(&cert, &tls.cert_pem).unwrap();
            std::fs::write(&key, &tls.key_pem).unwrap();
            std::fs::write(&ca, &tls.ca_pem).unwrap();
            ssl = format!(
                "ssl = yes\nssl_cert = <{}\nssl_key = <{}\n",
                cert.display(),
                key.display()
            );
            if Path::new("/usr/share/dovecot/dh.pem").is_file() {
                ssl.push_str("ssl_dh = </usr/share/dovecot/dh.pem\n");
            }
            let p = free_port();
            imaps = format!("  inet_listener imaps {{\n    port = {p}\n    ssl = yes\n  }}\n");
            tls_port = Some(p);
            ca_file = Some(ca);
        }
        let config = format!(
            "protocols = imap\nlisten = 127.0.0.1\nbase_dir = {root}/run\nstate_dir = {root}/state\n\
             log_path = {root}/dovecot.log\ninstance_name = opsward-test-{port}\n{ssl}\
             disable_plaintext_auth = no\nauth_mechanisms = plain login\n\
             mail_location = maildir:~/Maildir\nfirst_valid_uid = 1\n{internal}\
             passdb {{\n  driver = passwd-file\n  args = scheme=PLAIN username_format=%u {root}/users\n}}\n\
             userdb {{\n  driver = passwd-file\n  args = username_format=%u {root}/users\n}}\n\
             service imap-login {{\n  inet_listener imap {{\n    port = {port}\n  }}\n{imaps}  chroot =\n}}\n\
             service anvil {{\n  chroot =\n}}\nservice stats {{\n  chroot =\n}}\n",
            root = root.display(),
        );
        for sub in ["run", "state"] {
            std::fs::create_dir_all(root.join(sub)).unwrap();
        }
        let conf = root.join("dovecot.conf");
        std::fs::write(&conf, config).unwrap();
        let child = Command::new(binary)
            .arg("-F")
            .arg("-c")
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start dovecot");
        let mut peer = DovecotPeer {
            port,
            tls_port,
            ca_file,
            child,
            dir,
            delivered: 0,
        };
        peer.wait_for_greeting().await;
        peer
    }

    async fn wait_for_greeting(&mut self) {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            if let Ok(Ok(mut s)) = tokio::time::timeout(
                Duration::from_secs(2),
                tokio::net::TcpStream::connect(("127.0.0.1", self.port)),
            )
            .await
            {
                let mut buf = [0u8; 64];
                if let Ok(Ok(n)) =
                    tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf)).await
                {
                    if buf[..n].starts_with(b"* OK") {
                        return;
                    }
                }
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                let mut err = String::new();
                if let Some(mut e) = self.child.stderr.take() {
                    let _ = e.read_to_string(&mut err).await;
                }
                let log = std::fs::read_to_string(self.dir.path().join("dovecot.log"))
                    .unwrap_or_default();
                panic!("dovecot exited ({status}) before listening: {err}\n{log}");
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "dovecot did not greet on port {} in time: {}",
                self.port,
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Dovecot's log, for assertion messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("dovecot.log")).unwrap_or_default()
    }

    fn maildir(&self) -> PathBuf {
        self.dir.path().join("home/Maildir")
    }

    /// Deliver a raw message as a new, unseen mail; returns its maildir base name.
    pub fn deliver(&mut self, raw: &[u8]) -> String {
        self.delivered += 1;
        let name = format!("1700000000.opsward{}.test", self.delivered);
        let tmp = self.maildir().join("tmp").join(&name);
        std::fs::write(&tmp, raw).unwrap();
        open_up(&tmp, 0o666);
        std::fs::rename(&tmp, self.maildir().join("new").join(&name)).unwrap();
        name
    }

    /// The maildir flags of a delivered message (`S` = seen), `None` when it is gone from
    /// the inbox (moved or expunged).
    pub fn flags(&self, name: &str) -> Option<String> {
        for sub in ["new", "cur"] {
            for entry in std::fs::read_dir(self.maildir().join(sub))
                .unwrap()
                .flatten()
            {
                let file = entry.file_name().to_string_lossy().to_string();
                if file == name
                    || file.starts_with(&format!("{name}:"))
                    || file.starts_with(&format!("{name},"))
                {
                    return Some(
                        file.split_once(":2,")
                            .map(|(_, f)| f.to_string())
                            .unwrap_or_default(),
                    );
                }
            }
        }
        None
    }

    /// Clear the seen flag of a delivered message behind the server's back (maildir flags
    /// live in the file name, and Dovecot rereads them): the state a crash leaves between
    /// filing a message and flagging it.
    pub fn mark_unseen(&self, name: &str) {
        let cur = self.maildir().join("cur");
        for entry in std::fs::read_dir(&cur).unwrap().flatten() {
            let file = entry.file_name().to_string_lossy().to_string();
            if let Some((base, flags)) = file.split_once(":2,") {
                if base.starts_with(name) {
                    let kept: String = flags.chars().filter(|f| *f != 'S').collect();
                    std::fs::rename(entry.path(), cur.join(format!("{base}:2,{kept}"))).unwrap();
                    return;
                }
            }
        }
        panic!("{name} is not in cur/");
    }

    pub fn is_seen(&self, name: &str) -> bool {
        self.flags(name).is_some_and(|f| f.contains('S'))
    }

    /// Names of the messages in a Maildir++ folder such as `.Done`.
    pub fn folder(&self, folder: &str) -> Vec<String> {
        let mut out = Vec::new();
        for sub in ["new", "cur"] {
            if let Ok(entries) =
                std::fs::read_dir(self.maildir().join(format!(".{folder}")).join(sub))
            {
                out.extend(
                    entries
                        .flatten()
                        .map(|e| e.file_name().to_string_lossy().to_string()),
                );
            }
        }
        out
    }
}
