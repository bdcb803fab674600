use crate::{
    debian_tools,
    dummy_repo::{DummyRepo, V1, V2},
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
    if !debian_tools() {
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
    // Only this name is asked about: the other dummy-package tests may change the shared
    // status file meanwhile.
    assert!(run
        .upgraded
        .iter()
        .all(|u| u.name != "opsward-not-installed-anywhere"));
}

/// A configured command for other package managers: each approved name is one argument of
/// its own (printf prints one line per argument), output and exit code are captured, and a
/// name that could be an option or shell syntax stops the run before anything starts.
#[test]
fn command_template_passes_each_package_as_its_own_argument() {
    let template = install::CommandTemplate::from_words(vec![
        "printf".into(),
        "<%s>\\n".into(),
        "{packages}".into(),
    ])
    .unwrap();
    // A copy of the host's status file: the dummy-package tests running beside this one
    // install into the real one, and their version changes would show up as this run's.
    let status = tempfile::tempdir().unwrap();
    let status_copy = status.path().join("status");
    std::fs::copy(dpkg::STATUS_FILE, &status_copy).unwrap();
    let versions = install::VersionSource::Dpkg(status_copy);
    let packages = vec!["libfoo1:amd64".to_string(), "bar+baz=1.2-3~b1".to_string()];
    let run = install::command_upgrade(
        &template,
        &packages,
        &versions,
        Path::new("/"),
        std::time::Duration::from_secs(60),
    )
    .unwrap();
    assert!(run.succeeded());
    assert_eq!(run.output, "<libfoo1:amd64>\n<bar+baz=1.2-3~b1>\n");
    assert_eq!(
        run.command,
        ["printf", "<%s>\\n", "libfoo1:amd64", "bar+baz=1.2-3~b1"]
    );
    assert!(run.upgraded.is_empty());

    let marker = tempfile::tempdir().unwrap();
    let injected = format!("x;touch {}/owned", marker.path().display());
    for bad in [
        injected.as_str(),
        "--allowerasing",
        "$(id)",
        "a b",
        "a|b",
        "",
    ] {
        let err = install::command_upgrade(
            &template,
            &["ok".into(), bad.into()],
            &versions,
            Path::new("/"),
            std::time::Duration::from_secs(60),
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("not a package name"),
            "{bad:?}: {err}"
        );
    }
    assert!(!marker.path().join("owned").exists());
    // A failing command is reported with its exit code and output, not as an error.
    let failing =
        install::CommandTemplate::parse("ls /nonexistent-opsward-dir {packages}").unwrap();
    let run = install::command_upgrade(
        &failing,
        &["pkg".into()],
        &versions,
        Path::new("/"),
        std::time::Duration::from_secs(60),
    )
    .unwrap();
    assert!(!run.succeeded());
    assert_eq!(run.exit_code, Some(2));
    assert!(
        run.output.contains("/nonexistent-opsward-dir"),
        "{}",
        run.output
    );
}

#[test]
fn command_templates_are_checked() {
    for bad in [
        "dnf upgrade -y",
        "{packages}",
        "dnf upgrade {packages} {packages}",
        "dnf upgrade --pkgs={packages}",
        "",
    ] {
        assert!(install::CommandTemplate::parse(bad).is_err(), "{bad:?}");
    }
    let t = install::CommandTemplate::parse("apk upgrade {packages}").unwrap();
    assert_eq!(
        t.expand(&["musl".into(), "busybox".into()]).unwrap(),
        ["apk", "upgrade", "musl", "busybox"]
    );
    assert!(t.expand(&[]).is_err());
}

/// A command past its limit is killed; the run says so (no exit code) instead of hanging.
#[test]
fn command_template_is_killed_at_its_limit() {
    let template = install::CommandTemplate::parse("sleep {packages}").unwrap();
    let run = install::command_upgrade(
        &template,
        &["30".into()],
        &install::VersionSource::Dpkg(Path::new(dpkg::STATUS_FILE).into()),
        Path::new("/"),
        std::time::Duration::from_millis(300),
    )
    .unwrap();
    assert_eq!(run.exit_code, None);
    assert!(!run.succeeded());
}

/// The template path with a real package manager: apt-get given as a configured command
/// upgrades the dummy package, and the version change is read from dpkg before and after.
#[test]
fn command_template_upgrades_a_real_package() {
    if !debian_tools() {
        return;
    }
    let repo = DummyRepo::build("template");
    repo.apt("apt-get", &["update", "-qq"]);
    repo.install(V1);
    let mut words = vec!["apt-get".to_string()];
    words.extend(repo.apt_options());
    words.extend(["-y", "-q", "install", "--only-upgrade", "{packages}"].map(String::from));
    let template = install::CommandTemplate::from_words(words).unwrap();
    let run = install::command_upgrade(
        &template,
        std::slice::from_ref(&repo.package),
        &install::VersionSource::detect(Path::new(dpkg::STATUS_FILE), Path::new("/nonexistent")),
        Path::new("/"),
        std::time::Duration::from_secs(300),
    )
    .unwrap();
    assert!(run.succeeded(), "{}", run.output);
    assert_eq!(repo.installed_version().as_deref(), Some(V2));
    // Other tests upgrade their own dummy packages in the same dpkg database meanwhile.
    let ours: Vec<_> = run
        .upgraded
        .iter()
        .filter(|u| u.name == repo.package)
        .collect();
    assert_eq!(
        ours,
        [&install::Upgraded {
            name: repo.package.clone(),
            arch: "all".into(),
            from_version: V1.into(),
            to_version: V2.into(),
        }]
    );
    assert!(run.output.contains(&repo.package), "{}", run.output);
}
