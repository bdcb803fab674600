use crate::{
    debian_tools,
    dummy_repo::{DummyRepo, SECURITY_SUITE, V1, V2},
};
use opsward_patches::{
    apt::{self, AptListed, AptLists},
    inventory::dpkg,
    PendingUpdate,
};
use std::path::Path;

fn pending(repo: &DummyRepo) -> Vec<PendingUpdate> {
    let lists = AptLists::read(&repo.lists(), &repo.arch).unwrap();
    let host = dpkg::read_status(Path::new(dpkg::STATUS_FILE)).unwrap();
    lists.pending_updates(&host).unwrap()
}

fn listed(p: &[PendingUpdate]) -> Vec<AptListed> {
    p.iter()
        .map(|u| AptListed {
            name: u.name.clone(),
            arch: u.arch.clone(),
            candidate_version: u.candidate_version.clone(),
            suites: u.suites.clone(),
        })
        .collect()
}

/// Two real versions of a real package in a real (local) apt repository: with 1.0-1 installed
/// the 2.0-1 from the security suite is pending and a security update, exactly as
/// `apt list --upgradable` says with the same configuration.
#[test]
fn security_update_from_a_local_repository_equals_apt() {
    if !debian_tools() {
        return;
    }
    let repo = DummyRepo::build("pending");
    repo.apt("apt-get", &["update", "-qq"]);
    let lists = AptLists::read(&repo.lists(), &repo.arch).unwrap();
    assert_eq!(lists.releases.len(), 2, "{:?}", lists.releases);

    // Not installed: nothing is pending, for us and for apt.
    assert_eq!(pending(&repo), vec![]);
    assert_eq!(
        apt::parse_apt_list_upgradable(&repo.apt("apt", &["list", "--upgradable"])),
        vec![]
    );

    repo.install(V1);
    assert_eq!(repo.installed_version().as_deref(), Some(V1));
    let ours = pending(&repo);
    assert_eq!(
        ours,
        vec![PendingUpdate {
            name: repo.package.clone(),
            arch: "all".into(),
            installed_version: V1.into(),
            candidate_version: V2.into(),
            source: "opsward-dummy-src".into(),
            suites: vec![SECURITY_SUITE.into()],
            security: true,
        }]
    );
    let apt_says = apt::parse_apt_list_upgradable(&repo.apt("apt", &["list", "--upgradable"]));
    assert_eq!(listed(&ours), apt_says);

    // Once v2 is installed nothing is pending any more, for either.
    repo.install(V2);
    assert_eq!(pending(&repo), vec![]);
    assert_eq!(
        apt::parse_apt_list_upgradable(&repo.apt("apt", &["list", "--upgradable"])),
        vec![]
    );
}
