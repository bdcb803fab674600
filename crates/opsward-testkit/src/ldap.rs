//! A real directory for LDAP sign-in tests: Debian's `slapd` (installed by `.ci/run`),
//! started per test on loopback with StartTLS under a CA generated for the test, loaded with
//! `data/directory.ldif` through `ldapadd` (so the memberof and ppolicy overlays see every
//! entry). A missing slapd fails the test: it is never skipped.

use crate::smtp::TlsFixture;
use std::{
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

pub const SUFFIX: &str = "dc=example,dc=org";
/// The directory manager (the tests' service account too).
pub const ROOT_DN: &str = "cn=admin,dc=example,dc=org";
pub const ROOT_PW: &str = "opsward-test-root";

pub struct Directory {
    pub port: u16,
    /// The test CA that signed the server certificate (PEM file).
    pub ca_file: PathBuf,
    child: Child,
    _dir: tempfile::TempDir,
}

impl Drop for Directory {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Directory {
    pub fn start() -> Directory {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path();
        let tls = TlsFixture::generate();
        std::fs::write(path.join("ca.pem"), &tls.ca_pem).unwrap();
        std::fs::write(path.join("cert.pem"), &tls.cert_pem).unwrap();
        std::fs::write(path.join("key.pem"), &tls.key_pem).unwrap();
        std::fs::create_dir(path.join("db")).unwrap();
        let p = path.display();
        let config = format!(
            "include /etc/ldap/schema/core.schema\n\
             include /etc/ldap/schema/cosine.schema\n\
             include /etc/ldap/schema/inetorgperson.schema\n\
             modulepath /usr/lib/ldap\n\
             moduleload back_mdb\n\
             moduleload memberof\n\
             moduleload ppolicy\n\
             pidfile {p}/slapd.pid\n\
             TLSCACertificateFile {p}/ca.pem\n\
             TLSCertificateFile {p}/cert.pem\n\
             TLSCertificateKeyFile {p}/key.pem\n\
             database mdb\n\
             maxsize 10485760\n\
             suffix \"{SUFFIX}\"\n\
             rootdn \"{ROOT_DN}\"\n\
             rootpw {ROOT_PW}\n\
             directory {p}/db\n\
             overlay memberof\n\
             overlay ppolicy\n\
             ppolicy_default \"cn=default,ou=policies,{SUFFIX}\"\n\
             access to attrs=userPassword by self write by anonymous auth by * none\n\
             access to * by * read\n"
        );
        std::fs::write(path.join("slapd.conf"), config).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let slapd = ["/usr/sbin/slapd", "slapd"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists())
            .unwrap_or("slapd");
        let child = Command::new(slapd)
            .arg("-f")
            .arg(path.join("slapd.conf"))
            .arg("-h")
            .arg(format!("ldap://127.0.0.1:{port}/"))
            .args(["-d", "0"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start slapd ({e}); install Debian's slapd and ldap-utils, or run .ci/run"));
        let mut directory = Directory {
            port,
            ca_file: path.join("ca.pem"),
            child,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = directory.child.try_wait() {
                panic!("slapd exited ({status}) before listening");
            }
            assert!(
                Instant::now() < deadline,
                "slapd did not listen within 20 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        directory.load(concat!(env!("CARGO_MANIFEST_DIR"), "/data/directory.ldif"));
        directory
    }

    fn load(&mut self, ldif: &str) {
        let out = Command::new("ldapadd")
            .args([
                "-x",
                "-c",
                "-H",
                &self.url(),
                "-D",
                ROOT_DN,
                "-w",
                ROOT_PW,
                "-f",
                ldif,
            ])
            .output()
            .expect("ldapadd runs (Debian's ldap-utils)");
        assert!(
            out.status.success(),
            "ldapadd failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Apply LDIF changes (`changetype: modify` ...) as the directory manager, as an
    /// administrator would with `ldapmodify`.
    pub fn modify(&self, ldif: &str) {
        use std::io::Write;
        let mut child = Command::new("ldapmodify")
            .args(["-x", "-H", &self.url(), "-D", ROOT_DN, "-w", ROOT_PW])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("ldapmodify runs (Debian's ldap-utils)");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(ldif.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "ldapmodify failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// `ldap://127.0.0.1:<port>` (StartTLS is offered on it).
    pub fn url(&self) -> String {
        format!("ldap://127.0.0.1:{}", self.port)
    }
}
