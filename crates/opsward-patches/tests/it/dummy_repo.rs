//! A throwaway apt repository on the local disk with two versions of a dummy package: 1.0-1
//! in an ordinary suite, 2.0-1 in a `*-security` suite. apt runs against it with a config of
//! its own (sources, lists, cache, preferences), so the machine's apt state is never touched;
//! only the dummy package enters the real dpkg database, and `Drop` purges it again.

use crate::run;
use std::{
    path::PathBuf,
    process::{Command, Output},
    time::{Duration, Instant},
};

pub const SUITE: &str = "opsward-stable";
pub const SECURITY_SUITE: &str = "opsward-stable-security";
pub const V1: &str = "1.0-1";
pub const V2: &str = "2.0-1";

pub struct DummyRepo {
    pub dir: tempfile::TempDir,
    pub package: String,
    pub arch: String,
    /// v2's postinst sets Debian's reboot flag, as kernel and libc packages do.
    sets_reboot_flag: bool,
    /// The reboot flag files that did not exist before this repository set them, removed
    /// again by `Drop`.
    flag_files_to_remove: Vec<PathBuf>,
}

/// Debian's reboot flag and its package list.
pub const REBOOT_FLAG: &str = "/var/run/reboot-required";
const REBOOT_PACKAGES: &str = "/var/run/reboot-required.pkgs";

impl DummyRepo {
    /// Build both versions with dpkg-deb and publish them with apt-ftparchive. `tag` makes the
    /// package name unique per test so tests can run side by side.
    pub fn build(tag: &str) -> DummyRepo {
        Self::build_with(tag, false)
    }

    /// Like [`Self::build`], but installing v2 sets the machine's real reboot flag
    /// (`/var/run/reboot-required`); `Drop` removes the flag files it created.
    #[allow(dead_code)] // Used by the agent's tests only.
    pub fn build_rebooting(tag: &str) -> DummyRepo {
        Self::build_with(tag, true)
    }

    fn build_with(tag: &str, sets_reboot_flag: bool) -> DummyRepo {
        let dir = tempfile::tempdir().unwrap();
        let package = format!("opsward-dummy-{tag}");
        let arch = run(Command::new("dpkg").arg("--print-architecture"))
            .trim()
            .to_string();
        if sets_reboot_flag {
            // A flag that only a dummy package of an earlier, killed run asked for goes.
            let ours = std::fs::read_to_string(REBOOT_PACKAGES).is_ok_and(|t| {
                t.lines()
                    .all(|l| l.trim().is_empty() || l.starts_with("opsward-dummy-"))
            });
            if ours {
                let _ = std::fs::remove_file(REBOOT_FLAG);
                let _ = std::fs::remove_file(REBOOT_PACKAGES);
            }
        }
        let flag_files_to_remove = [REBOOT_FLAG, REBOOT_PACKAGES]
            .iter()
            .map(PathBuf::from)
            .filter(|p| sets_reboot_flag && !p.exists())
            .collect();
        let repo = DummyRepo {
            dir,
            package,
            arch,
            sets_reboot_flag,
            flag_files_to_remove,
        };
        // Purge leftovers of an earlier run killed before its Drop.
        repo.purge();
        for (version, suite) in [(V1, SUITE), (V2, SECURITY_SUITE)] {
            let deb = repo.build_deb(version);
            let pool = repo.repo().join("pool").join(suite);
            std::fs::create_dir_all(&pool).unwrap();
            std::fs::rename(&deb, pool.join(deb.file_name().unwrap())).unwrap();
            let index = repo
                .repo()
                .join(format!("dists/{suite}/main/binary-{}", repo.arch));
            std::fs::create_dir_all(&index).unwrap();
            let packages = run(Command::new("apt-ftparchive")
                .args(["packages", &format!("pool/{suite}")])
                .current_dir(repo.repo()));
            assert!(packages.contains(&repo.package), "{packages}");
            std::fs::write(index.join("Packages"), packages).unwrap();
            let release = run(Command::new("apt-ftparchive")
                .args([
                    "-o",
                    &format!("APT::FTPArchive::Release::Suite={suite}"),
                    "-o",
                    &format!("APT::FTPArchive::Release::Codename={suite}"),
                    "-o",
                    &format!("APT::FTPArchive::Release::Architectures={}", repo.arch),
                    "-o",
                    "APT::FTPArchive::Release::Components=main",
                    "-o",
                    "APT::FTPArchive::Release::Origin=opsward-test",
                    "release",
                    &format!("dists/{suite}"),
                ])
                .current_dir(repo.repo()));
            std::fs::write(repo.repo().join(format!("dists/{suite}/Release")), release).unwrap();
        }
        let root = repo.dir.path();
        std::fs::write(
            root.join("sources.list"),
            format!(
                "deb [trusted=yes] file:{repo} {SUITE} main\ndeb [trusted=yes] file:{repo} {SECURITY_SUITE} main\n",
                repo = repo.repo().display()
            ),
        )
        .unwrap();
        for d in [
            "sources.list.d",
            "preferences.d",
            "lists/partial",
            "cache/archives/partial",
        ] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        repo
    }

    fn repo(&self) -> PathBuf {
        self.dir.path().join("repo")
    }

    pub fn lists(&self) -> PathBuf {
        self.dir.path().join("lists")
    }

    pub fn deb(&self, version: &str) -> PathBuf {
        let suite = if version == V1 { SUITE } else { SECURITY_SUITE };
        self.repo()
            .join(format!("pool/{suite}/{}_{version}_all.deb", self.package))
    }

    fn build_deb(&self, version: &str) -> PathBuf {
        let tree = self.dir.path().join(format!("build-{version}"));
        std::fs::create_dir_all(tree.join("DEBIAN")).unwrap();
        let share = tree.join(format!("usr/share/{}", self.package));
        std::fs::create_dir_all(&share).unwrap();
        std::fs::write(share.join("version"), format!("{version}\n")).unwrap();
        std::fs::write(
            tree.join("DEBIAN/control"),
            format!(
                "Package: {}\nVersion: {version}\nSource: opsward-dummy-src ({version})\nArchitecture: all\nMaintainer: opsward tests <tests@example.invalid>\nDescription: dummy package for opsward's patch tests\n",
                self.package
            ),
        )
        .unwrap();
        if self.sets_reboot_flag && version == V2 {
            let postinst = tree.join("DEBIAN/postinst");
            std::fs::write(
                &postinst,
                format!(
                    "#!/bin/sh\nset -e\nif [ \"$1\" = configure ]; then\n  touch {REBOOT_FLAG}\n  echo {} >> {REBOOT_PACKAGES}\nfi\n",
                    self.package
                ),
            )
            .unwrap();
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&postinst, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let deb = self
            .dir
            .path()
            .join(format!("{}_{version}_all.deb", self.package));
        run(Command::new("dpkg-deb")
            .args(["--root-owner-group", "--build"])
            .arg(&tree)
            .arg(&deb));
        deb
    }

    /// apt's options for this repository alone: its own sources, lists, cache and (empty)
    /// preferences; `root` fetches because apt's `_apt` user cannot read a private temp dir.
    pub fn apt_options(&self) -> Vec<String> {
        self.apt_settings()
            .into_iter()
            .flat_map(|o| ["-o".to_string(), o])
            .collect()
    }

    /// The settings behind [`Self::apt_options`], without the `-o` flags.
    pub fn apt_settings(&self) -> Vec<String> {
        let root = self.dir.path().display();
        vec![
            format!("Dir::Etc::SourceList={root}/sources.list"),
            format!("Dir::Etc::SourceParts={root}/sources.list.d"),
            format!("Dir::Etc::Preferences={root}/preferences"),
            format!("Dir::Etc::PreferencesParts={root}/preferences.d"),
            format!("Dir::State::Lists={root}/lists"),
            format!("Dir::Cache={root}/cache"),
            "APT::Sandbox::User=root".into(),
            "DPkg::Lock::Timeout=120".into(),
        ]
    }

    /// `program` (apt or apt-get) with this repository's options and `args`.
    pub fn apt(&self, program: &str, args: &[&str]) -> String {
        run(Command::new(program)
            .args(self.apt_options())
            .args(args)
            .env("LC_ALL", "C")
            .env("DEBIAN_FRONTEND", "noninteractive"))
    }

    /// `dpkg -i` of one version, waiting for dpkg's lock if another test holds it.
    pub fn install(&self, version: &str) {
        let deb = self.deb(version);
        let out = dpkg_waiting(Command::new("dpkg").arg("-i").arg(&deb));
        assert!(
            out.status.success(),
            "dpkg -i {}: {}",
            deb.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// The version dpkg has installed, if any.
    pub fn installed_version(&self) -> Option<String> {
        let out = Command::new("dpkg-query")
            .args(["-W", "-f", "${db:Status-Status} ${Version}", &self.package])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        let (state, version) = text.split_once(' ')?;
        (out.status.success() && state == "installed").then(|| version.to_string())
    }

    /// Remove the reboot flag files this repository created (as after a reboot).
    #[allow(dead_code)] // Used by the agent's tests only.
    pub fn clear_reboot_flag(&self) {
        for f in &self.flag_files_to_remove {
            let _ = std::fs::remove_file(f);
        }
    }

    fn purge(&self) {
        let out = dpkg_waiting(Command::new("dpkg").args(["--purge", &self.package]));
        if !out.status.success() {
            eprintln!(
                "dpkg --purge {}: {}",
                self.package,
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

impl Drop for DummyRepo {
    fn drop(&mut self) {
        self.purge();
        for f in &self.flag_files_to_remove {
            let _ = std::fs::remove_file(f);
        }
    }
}

/// Run a dpkg command, retrying for up to two minutes while another process holds its lock.
fn dpkg_waiting(cmd: &mut Command) -> Output {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let out = cmd.output().expect("dpkg runs");
        let locked = String::from_utf8_lossy(&out.stderr).contains("lock");
        if out.status.success() || !locked || Instant::now() > deadline {
            return out;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}
