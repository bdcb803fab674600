use crate::{have, run};
use opsward_patches::inventory::{apk, dpkg, host, rpm};
use std::{collections::BTreeSet, path::Path, process::Command};

/// Other tests install and purge opsward-dummy-* packages at any time: leave those out.
fn not_a_test_package(row: &(String, String, String)) -> bool {
    !row.0.starts_with("opsward-dummy-")
}

#[test]
fn dpkg_status_of_this_machine_matches_dpkg_query() {
    if !have("dpkg-query") {
        return;
    }
    let ours: BTreeSet<(String, String, String)> = dpkg::read_status(Path::new(dpkg::STATUS_FILE))
        .unwrap()
        .into_iter()
        .map(|p| (p.name, p.version, p.arch))
        .filter(not_a_test_package)
        .collect();
    let listing = run(Command::new("dpkg-query").args([
        "-W",
        "-f",
        "${db:Status-Status}\\t${Package}\\t${Version}\\t${Architecture}\\n",
    ]));
    let theirs: BTreeSet<(String, String, String)> = listing
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            dpkg::is_installed_state(f[0])
                .then(|| (f[1].to_string(), f[2].to_string(), f[3].to_string()))
        })
        .filter(not_a_test_package)
        .collect();
    assert!(
        theirs.len() > 50,
        "a Debian machine has more packages: {}",
        theirs.len()
    );
    assert_eq!(ours, theirs);
}

#[test]
fn dpkg_source_packages_match_dpkg_query() {
    if !have("dpkg-query") {
        return;
    }
    let ours: BTreeSet<(String, String, String)> = dpkg::read_status(Path::new(dpkg::STATUS_FILE))
        .unwrap()
        .into_iter()
        .map(|p| (p.name, p.source, p.source_version))
        .filter(not_a_test_package)
        .collect();
    // dpkg-query's virtual fields: the source name and version, defaulted as dpkg does.
    let listing = run(Command::new("dpkg-query").args([
        "-W",
        "-f",
        "${db:Status-Status}\\t${Package}\\t${source:Package}\\t${source:Version}\\n",
    ]));
    let theirs: BTreeSet<(String, String, String)> = listing
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            dpkg::is_installed_state(f[0])
                .then(|| (f[1].to_string(), f[2].to_string(), f[3].to_string()))
        })
        .filter(not_a_test_package)
        .collect();
    assert_eq!(ours, theirs);
    // Binary packages rebuilt without source changes (binNMU) carry the version in parentheses.
    assert!(ours.iter().any(|(bin, src, _)| bin != src));
}

#[test]
fn dpkg_status_keeps_installed_states_and_source_versions() {
    let text = "\
Package: libssl3
Status: install ok installed
Architecture: amd64
Multi-Arch: same
Source: openssl (3.0.15-1~deb12u1)
Version: 3.0.15-1~deb12u1+b1
Description: Secure Sockets Layer toolkit
 shared libraries

Package: old-removed
Status: deinstall ok config-files
Architecture: amd64
Version: 1.0-1

Package: half
Status: install reinstreq half-configured
Architecture: all
Version: 2:1.2-3

Package: gone
Status: purge ok not-installed
Architecture: amd64
";
    let packages = dpkg::parse_status(text).unwrap();
    let names: Vec<&str> = packages.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["libssl3", "half"]);
    assert_eq!(packages[0].source, "openssl");
    assert_eq!(packages[0].source_version, "3.0.15-1~deb12u1");
    assert_eq!(packages[0].version, "3.0.15-1~deb12u1+b1");
    assert_eq!(packages[1].source, "half");
    assert_eq!(packages[1].source_version, "2:1.2-3");
    assert!(dpkg::parse_status("Package: x\nVersion: 1\n").is_err());
}

/// An `installed` database as apk 2 writes it (Alpine 3.x), with the file lists that follow
/// each package's header.
#[test]
fn apk_installed_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("installed");
    std::fs::write(
        &path,
        "\
C:Q1Xo7xTCVEl2pZ2A4M6Xo8Q1zFqXo=
P:musl
V:1.2.4_git20230717-r4
A:x86_64
S:407683
I:651264
T:the musl c library (libc) implementation
U:https://musl.libc.org/
L:MIT
o:musl
m:Timo Teräs <timo.teras@iki.fi>
t:1700006880
c:1c7ab5c7bdf6d0d8d4f2c6b8b1b54e8c3a1c3f0a
p:so:libc.musl-x86_64.so.1=1
F:lib
R:ld-musl-x86_64.so.1
a:0:0:755
Z:Q1aV6ZktM3+kEGXd4vkRpk8nn6J2o=
R:libc.musl-x86_64.so.1
a:0:0:777
Z:Q17yJ3JFNypA4mxhJJr0ou6CzsJVI=

C:Q1iZ+C2JJdBlm2KKtAOkSkM7zZegY=
P:libcrypto3
V:3.1.4-r5
A:x86_64
S:1756567
I:4526080
T:Crypto library from openssl
U:https://www.openssl.org/
L:Apache-2.0
o:openssl
m:Ariadne Conill <ariadne@dereferenced.org>
t:1705398730
c:ffc77b8de3d0f36aa37fff4e51b4cdf5bc0c4ba9
D:so:libc.musl-x86_64.so.1
p:so:libcrypto.so.3=3
F:lib
R:libcrypto.so.3
a:0:0:755
Z:Q1Ro6A9KmUDwX7o1XmZ2Ni+hfpjq4=

C:Q1aL4M6FxQQWLIuSXOV5ZV7SzRbN4=
P:alpine-baselayout-data
V:3.4.3-r2
A:x86_64
o:alpine-baselayout
F:etc
R:hosts
",
    )
    .unwrap();
    let packages = apk::read_installed(&path).unwrap();
    let rows: Vec<(&str, &str, &str, &str)> = packages
        .iter()
        .map(|p| {
            (
                p.name.as_str(),
                p.version.as_str(),
                p.arch.as_str(),
                p.source.as_str(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("musl", "1.2.4_git20230717-r4", "x86_64", "musl"),
            ("libcrypto3", "3.1.4-r5", "x86_64", "openssl"),
            (
                "alpine-baselayout-data",
                "3.4.3-r2",
                "x86_64",
                "alpine-baselayout"
            ),
        ]
    );
    assert!(apk::parse_installed("V:1.0-r0\n\n").is_err());
}

/// Output of `rpm -qa --queryformat` with opsward's format on a RHEL 9 host, including an epoch,
/// a noarch package and the signing keys rpm lists as packages.
#[test]
fn rpm_query_output() {
    assert_eq!(
        rpm::QUERY_FORMAT,
        r"%{NAME}\t%{EPOCH}\t%{VERSION}\t%{RELEASE}\t%{ARCH}\t%{SOURCERPM}\n"
    );
    let text = "\
openssl-libs\t1\t3.0.7\t27.el9\tx86_64\topenssl-3.0.7-27.el9.src.rpm
bash\t(none)\t5.1.8\t9.el9\tx86_64\tbash-5.1.8-9.el9.src.rpm
tzdata\t(none)\t2024a\t1.el9\tnoarch\ttzdata-2024a-1.el9.src.rpm
gpg-pubkey\t(none)\tfd431d51\t4ae0493b\t(none)\t(none)
python3-dnf-plugin-versionlock\t(none)\t4.3.0\t13.el9\tnoarch\tdnf-plugins-core-4.3.0-13.el9.src.rpm
";
    let packages = rpm::parse_query_output(text).unwrap();
    let rows: Vec<(&str, &str, &str, &str, &str)> = packages
        .iter()
        .map(|p| {
            (
                p.name.as_str(),
                p.version.as_str(),
                p.arch.as_str(),
                p.source.as_str(),
                p.source_version.as_str(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            (
                "openssl-libs",
                "1:3.0.7-27.el9",
                "x86_64",
                "openssl",
                "3.0.7-27.el9"
            ),
            ("bash", "5.1.8-9.el9", "x86_64", "bash", "5.1.8-9.el9"),
            ("tzdata", "2024a-1.el9", "noarch", "tzdata", "2024a-1.el9"),
            (
                "python3-dnf-plugin-versionlock",
                "4.3.0-13.el9",
                "noarch",
                "dnf-plugins-core",
                "4.3.0-13.el9"
            ),
        ]
    );
    assert!(rpm::parse_query_output("bash\t5.1.8\n").is_err());
}

#[test]
fn os_release_of_this_machine_matches_the_shell() {
    let os = host::os_release(Path::new("/")).unwrap();
    // The file is a shell fragment: let sh parse it and compare.
    let shell = run(Command::new("sh").args([
        "-c",
        ". /etc/os-release 2>/dev/null || . /usr/lib/os-release; printf '%s\\n%s\\n%s' \"$ID\" \"$VERSION_ID\" \"$PRETTY_NAME\"",
    ]));
    let lines: Vec<&str> = shell.split('\n').collect();
    assert_eq!(os.id, lines[0]);
    assert_eq!(os.version_id.as_deref().unwrap_or(""), lines[1]);
    assert_eq!(os.pretty_name, lines[2]);

    let parsed = host::parse_os_release(
        "# comment\nNAME='Alpine Linux'\nID=alpine\nID_LIKE=\"rhel fedora\"\nPRETTY_NAME=\"A \\\"quoted\\\" name\"\nVERSION_CODENAME=\n",
    );
    assert_eq!(parsed.id, "alpine");
    assert_eq!(parsed.id_like, ["rhel", "fedora"]);
    assert_eq!(parsed.pretty_name, "A \"quoted\" name");
    assert_eq!(parsed.version_codename.as_deref(), Some(""));
}

#[test]
fn kernel_matches_uname() {
    let kernel = host::kernel().unwrap();
    assert_eq!(kernel.name, run(Command::new("uname").arg("-s")).trim());
    assert_eq!(kernel.release, run(Command::new("uname").arg("-r")).trim());
    assert_eq!(kernel.version, run(Command::new("uname").arg("-v")).trim());
    assert_eq!(kernel.machine, run(Command::new("uname").arg("-m")).trim());
}

#[test]
fn reboot_required_flag_and_packages() {
    let root = tempfile::tempdir().unwrap();
    assert!(!host::reboot_required(root.path()).required);
    std::fs::create_dir_all(root.path().join("var/run")).unwrap();
    std::fs::write(
        root.path().join("var/run/reboot-required"),
        "*** System restart required ***\n",
    )
    .unwrap();
    std::fs::write(
        root.path().join("var/run/reboot-required.pkgs"),
        "linux-image-6.1.0-18-amd64\nlibc6\nlinux-image-6.1.0-18-amd64\n",
    )
    .unwrap();
    let flag = host::reboot_required(root.path());
    assert!(flag.required);
    assert_eq!(flag.packages, ["libc6", "linux-image-6.1.0-18-amd64"]);
}

#[test]
fn uptime_from_proc() {
    let seconds = host::uptime_seconds(Path::new("/proc/uptime")).unwrap();
    let shell: f64 = run(Command::new("cut").args(["-d", " ", "-f1", "/proc/uptime"]))
        .trim()
        .parse()
        .unwrap();
    assert!((seconds as f64 - shell).abs() < 5.0, "{seconds} vs {shell}");
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("uptime");
    std::fs::write(&bad, "soon").unwrap();
    assert!(host::uptime_seconds(&bad).is_err());
}

#[test]
fn unattended_upgrades_follow_the_last_setting() {
    use opsward_patches::inventory::posture;
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(
        posture::unattended_upgrades(&dir.path().join("missing")),
        None
    );
    assert_eq!(posture::unattended_upgrades(dir.path()), Some(false));
    std::fs::write(
        dir.path().join("20auto-upgrades"),
        "APT::Periodic::Update-Package-Lists \"1\";\nAPT::Periodic::Unattended-Upgrade \"1\";\n",
    )
    .unwrap();
    assert_eq!(posture::unattended_upgrades(dir.path()), Some(true));
    std::fs::write(
        dir.path().join("99off"),
        "// switched off by ops\nAPT::Periodic::Unattended-Upgrade \"0\";\n",
    )
    .unwrap();
    assert_eq!(posture::unattended_upgrades(dir.path()), Some(false));
    // This machine's processes are readable, so AV/EDR presence is a known fact.
    let p = posture::posture(Path::new("/"));
    assert!(p.av_edr_running.is_some());
    assert!(posture::running_processes(Path::new("/proc"))
        .iter()
        .any(|c| !c.is_empty()));
}
