use crate::control;

/// What a `Release` file says about a source: its names and its default pin priority.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Release {
    pub origin: String,
    pub label: String,
    pub suite: String,
    pub codename: String,
    pub not_automatic: bool,
    pub but_automatic_upgrades: bool,
}

impl Release {
    /// Parse `Release` or clear-signed `InRelease` text (only the first paragraph matters).
    pub fn parse(text: &str) -> Result<Release, String> {
        let body = control::clearsigned_body(text);
        let first = control::paragraphs(body)?
            .into_iter()
            .next()
            .unwrap_or_default();
        let get = |name: &str| first.get(name).unwrap_or("").to_string();
        let yes = |name: &str| {
            first
                .get(name)
                .is_some_and(|v| v.eq_ignore_ascii_case("yes"))
        };
        Ok(Release {
            origin: get("Origin"),
            label: get("Label"),
            suite: get("Suite"),
            codename: get("Codename"),
            not_automatic: yes("NotAutomatic"),
            but_automatic_upgrades: yes("ButAutomaticUpgrades"),
        })
    }

    /// apt's default pin priority for versions from this release.
    pub fn priority(&self) -> i32 {
        match (self.not_automatic, self.but_automatic_upgrades) {
            (true, true) => 100,
            (true, false) => 1,
            _ => 500,
        }
    }

    /// The name apt shows (`apt list` prints the suite, else the codename).
    pub fn name(&self) -> &str {
        if self.suite.is_empty() {
            &self.codename
        } else {
            &self.suite
        }
    }

    /// Published in a security suite: Debian's `bookworm-security` (suite
    /// `stable-security`), Ubuntu's `jammy-security`.
    pub fn is_security(&self) -> bool {
        self.suite.ends_with("-security") || self.codename.ends_with("-security")
    }
}
