use crate::{have, run};
use opsward_patches::{
    apt::{self, AptListed, AptLists, Release},
    inventory::dpkg,
    InstalledPackage,
};
use std::{path::Path, process::Command};

fn installed(name: &str, version: &str) -> InstalledPackage {
    InstalledPackage {
        name: name.into(),
        version: version.into(),
        arch: "amd64".into(),
        source: name.into(),
        source_version: version.into(),
    }
}

fn release(dir: &Path, stem: &str, fields: &str) {
    std::fs::write(
        dir.join(format!("{stem}_InRelease")),
        format!(
            "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\n{fields}Architectures: amd64\nComponents: main\n-----BEGIN PGP SIGNATURE-----\n\niQIzBAEBCgAdFiEE\n-----END PGP SIGNATURE-----\n"
        ),
    )
    .unwrap();
}

fn packages(dir: &Path, stem: &str, entries: &[(&str, &str)]) {
    let text: String = entries
        .iter()
        .map(|(name, version)| {
            format!(
                "Package: {name}\nVersion: {version}\nArchitecture: amd64\nSource: {name}-src\n\n"
            )
        })
        .collect();
    std::fs::write(dir.join(format!("{stem}_main_binary-amd64_Packages")), text).unwrap();
}

/// The priority rules on lists written here: NotAutomatic suites never win over the installed
/// version, ButAutomaticUpgrades ones do when newer, security is decided by the candidate's
/// suite, a higher priority beats a higher version, and nothing is ever downgraded.
#[test]
fn candidates_follow_apt_default_priorities() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    release(d, "m_dists_stable", "Suite: stable\nCodename: bookworm\n");
    release(
        d,
        "m_dists_stable-security",
        "Suite: stable-security\nCodename: bookworm-security\n",
    );
    release(
        d,
        "m_dists_experimental",
        "Suite: experimental\nCodename: rc-buggy\nNotAutomatic: yes\n",
    );
    release(
        d,
        "m_dists_backports",
        "Suite: stable-backports\nCodename: bookworm-backports\nNotAutomatic: yes\nButAutomaticUpgrades: yes\n",
    );
    packages(
        d,
        "m_dists_stable",
        &[
            ("a", "1.0-2"),
            ("b", "1.0-1"),
            ("c", "2.0-1"),
            ("d", "1.0-1"),
        ],
    );
    packages(
        d,
        "m_dists_stable-security",
        &[("a", "1.0-3"), ("e", "1:0.9-1")],
    );
    packages(d, "m_dists_experimental", &[("b", "9.0-1"), ("a", "5.0-1")]);
    packages(d, "m_dists_backports", &[("d", "1.5-1~bpo12+1")]);
    let lists = AptLists::read(d, "amd64").unwrap();
    assert_eq!(lists.releases.len(), 4);
    let host = [
        installed("a", "1.0-1"),
        installed("b", "1.0-1"),
        installed("c", "3.0-1"),
        installed("d", "1.2-1~bpo12+1"),
        installed("e", "2.0-1"),
        installed("z", "1.0"),
    ];
    let pending = lists.pending_updates(&host).unwrap();
    let rows: Vec<(&str, &str, bool, Vec<&str>)> = pending
        .iter()
        .map(|u| {
            (
                u.name.as_str(),
                u.candidate_version.as_str(),
                u.security,
                u.suites.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            // 1.0-3 (500) beats 5.0-1 (1, experimental); it comes from the security suite.
            ("a", "1.0-3", true, vec!["stable-security"]),
            // Installed from backports and no longer published: the newer backport (100) is
            // met before the installed version (100) and a tie keeps the first.
            ("d", "1.5-1~bpo12+1", false, vec!["stable-backports"]),
            // The epoch makes 1:0.9-1 newer than 2.0-1.
            ("e", "1:0.9-1", true, vec!["stable-security"]),
        ]
    );
    assert_eq!(pending[0].source, "a-src");
    // b: only experimental (priority 1) is newer; c: the installed 3.0 is newer than stable's
    // 2.0 and is never downgraded; z: no list publishes it.
    assert!(pending
        .iter()
        .all(|u| !["b", "c", "z"].contains(&u.name.as_str())));
}

#[test]
fn release_priorities_and_security_suites() {
    let plain = Release::parse("Suite: stable\nCodename: bookworm\n").unwrap();
    assert_eq!(plain.priority(), 500);
    assert!(!plain.is_security());
    let ubuntu = Release::parse("Suite: jammy-security\nCodename: jammy\n").unwrap();
    assert!(ubuntu.is_security());
    assert_eq!(
        Release::parse("Suite: experimental\nNotAutomatic: yes\n")
            .unwrap()
            .priority(),
        1
    );
    assert_eq!(
        Release::parse("Suite: bookworm-backports\nNotAutomatic: yes\nButAutomaticUpgrades: yes\n")
            .unwrap()
            .priority(),
        100
    );
}

/// The oracle on this machine's own state: its apt lists and dpkg status give exactly the
/// set `apt list --upgradable` prints (whatever it is today, empty or not).
#[test]
fn this_machine_pending_updates_equal_apt_list_upgradable() {
    if !have("apt") || !have("dpkg") {
        return;
    }
    let arch = run(Command::new("dpkg").arg("--print-architecture"));
    let lists_dir = Path::new(apt::LISTS_DIR);
    if !lists_dir.exists() {
        panic!("{} is missing on a machine with apt", lists_dir.display());
    }
    // Read apt's answer before and after ours so a concurrent `apt-get update` shows up as a
    // difference between the two readings instead of a wrong verdict.
    let apt_list = || {
        apt::parse_apt_list_upgradable(&run(Command::new("apt")
            .args(["list", "--upgradable"])
            .env("LC_ALL", "C")))
    };
    let before = apt_list();
    let lists = AptLists::read(lists_dir, arch.trim()).unwrap();
    let host = dpkg::read_status(Path::new(dpkg::STATUS_FILE)).unwrap();
    let pending = lists.pending_updates(&host).unwrap();
    let ours: Vec<AptListed> = pending
        .iter()
        .map(|u| AptListed {
            name: u.name.clone(),
            arch: u.arch.clone(),
            candidate_version: u.candidate_version.clone(),
            suites: u.suites.clone(),
        })
        .collect();
    let after = apt_list();
    assert_eq!(before, after, "apt's state changed during the test");
    assert_eq!(ours, before);
    // apt names the candidate's suites; security is a candidate from a *-security one.
    for (u, listed) in pending.iter().zip(&before) {
        assert_eq!(
            u.security,
            listed.suites.iter().any(|s| s.ends_with("-security")),
            "{u:?}"
        );
    }
    eprintln!(
        "{} pending updates on this machine, equal to apt's",
        ours.len()
    );
}
