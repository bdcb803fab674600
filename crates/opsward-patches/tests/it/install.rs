use crate::{
    dummy_repo::{DummyRepo, V1, V2},
    have,
};
use chrono::{Duration, Timelike, Utc};
use opsward_patches::{install, inventory::dpkg, window::MaintenanceWindow};
use std::path::Path;

fn window(start: chrono::NaiveDateTime, minutes: i64) -> MaintenanceWindow {
    MaintenanceWindow {
        rrule: "FREQ=DAILY".into(),
        starts_local: start,
        timezone: "UTC".into(),
        minutes,
    }
}

#[test]
fn windows_open_and_close_in_their_time_zone() {
    // Tuesdays 02:00-04:00 in Berlin: 01:00-03:00 UTC in winter, 00:00-02:00 in summer.
    let w = MaintenanceWindow {
        rrule: "FREQ=WEEKLY;BYDAY=TU".into(),
        starts_local: "2026-01-06T02:00:00".parse().unwrap(),
        timezone: "Europe/Berlin".into(),
        minutes: 120,
    };
    let at = |s: &str| s.parse::<chrono::DateTime<Utc>>().unwrap();
    assert_eq!(w.open_until(at("2026-01-13T00:59:59Z")).unwrap(), None);
    assert_eq!(
        w.open_until(at("2026-01-13T01:00:00Z")).unwrap(),
        Some(at("2026-01-13T03:00:00Z"))
    );
    assert_eq!(
        w.open_until(at("2026-01-13T02:59:59Z")).unwrap(),
        Some(at("2026-01-13T03:00:00Z"))
    );
    assert_eq!(w.open_until(at("2026-01-13T03:00:00Z")).unwrap(), None);
    assert_eq!(
        w.open_until(at("2026-07-07T00:30:00Z")).unwrap(),
        Some(at("2026-07-07T02:00:00Z"))
    );
    assert_eq!(
        w.open_until(at("2026-07-08T00:30:00Z")).unwrap(),
        None,
        "a Wednesday"
    );
    assert_eq!(
        w.next_start(at("2026-01-13T03:00:00Z")).unwrap(),
        Some(at("2026-01-20T01:00:00Z"))
    );
    let bad = MaintenanceWindow {
        timezone: "Mars/Olympus".into(),
        ..w.clone()
    };
    assert!(bad.validate().is_err());
    assert!(MaintenanceWindow { minutes: 0, ..w }.validate().is_err());
}

/// The real installation: with v1 of the dummy package installed and v2 pending from the
/// security suite, nothing runs outside the window; inside it apt-get upgrades to v2, and
/// the run records the command, exit code and the version change.
#[test]
fn security_update_is_installed_only_inside_the_window() {
    if !["dpkg-deb", "dpkg", "apt-get", "apt-ftparchive"]
        .iter()
        .all(|t| have(t))
    {
        return;
    }
    let repo = DummyRepo::build("install");
    repo.apt("apt-get", &["update", "-qq"]);
    repo.install(V1);
    let status = Path::new(dpkg::STATUS_FILE);
    let packages = vec![repo.package.clone()];
    let now = Utc::now();
    let today = now.date_naive().and_hms_opt(0, 0, 0).unwrap();

    // The window opens two hours from now (or has just closed): nothing runs.
    let later = today + Duration::hours(i64::from((now.hour() + 2) % 24));
    let closed = window(later, 30);
    let run = install::upgrade_in_window(
        &closed,
        now,
        &packages,
        &repo.apt_settings(),
        status,
        Path::new("/"),
    )
    .unwrap();
    assert!(run.is_none());
    assert_eq!(repo.installed_version().as_deref(), Some(V1));

    // A window open now (all day, every day): apt-get upgrades the package.
    let open = window(today, 24 * 60);
    let run = install::upgrade_in_window(
        &open,
        now,
        &packages,
        &repo.apt_settings(),
        status,
        Path::new("/"),
    )
    .unwrap()
    .expect("the window is open");
    assert!(run.succeeded(), "{}", run.output);
    assert!(run.command.iter().any(|a| a == "--only-upgrade"));
    assert_eq!(repo.installed_version().as_deref(), Some(V2));
    assert_eq!(
        run.upgraded,
        vec![install::Upgraded {
            name: repo.package.clone(),
            arch: "all".into(),
            from_version: V1.into(),
            to_version: V2.into(),
        }]
    );
    let file = std::fs::read_to_string(format!("/usr/share/{}/version", repo.package)).unwrap();
    assert_eq!(file.trim(), V2);
    // --only-upgrade never installs something new.
    let run = install::apt_upgrade(
        &["opsward-not-installed-anywhere".into()],
        &repo.apt_settings(),
        status,
        Path::new("/"),
        std::time::Duration::from_secs(120),
    )
    .unwrap();
    assert!(run.upgraded.is_empty());
}
