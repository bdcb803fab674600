//! Linux software RAID as `/proc/mdstat` shows it: each array's level, members (failed and
//! spare ones marked), how many members it should have and has, and any resync, recovery,
//! reshape or check in progress.
//!
//! The format (drivers/md/md.c, `md_seq_show`):
//!
//! ```text
//! Personalities : [raid1] [raid6] [raid5] [raid4]
//! md1 : active raid5 sdd1[3] sdc1[2](F) sdb1[1] sda1[0]
//!       2929893888 blocks super 1.2 level 5, 512k chunk, algorithm 2 [3/2] [UU_]
//!       [>....................]  recovery =  1.5% (22341120/1464946944) finish=123.4min speed=194823K/sec
//!       bitmap: 2/11 pages [8KB], 65536KB chunk
//!
//! unused devices: <none>
//! ```

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Member {
    pub device: String,
    /// Role number in the array (`sda1[0]`).
    pub role: u32,
    /// Marked `(F)`: failed.
    pub failed: bool,
    /// Marked `(S)`: a spare.
    pub spare: bool,
    /// Marked `(W)`: write-mostly.
    pub write_mostly: bool,
}

/// A resync, recovery, reshape or check in progress (or waiting: `resync=DELAYED`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SyncProgress {
    /// `resync`, `recovery`, `reshape` or `check`.
    pub action: String,
    pub percent: Option<f64>,
    /// Minutes the kernel estimates are left.
    pub finish_minutes: Option<f64>,
    /// `DELAYED` or `PENDING` when it waits for another array.
    pub waiting: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Array {
    pub name: String,
    /// `active` or `inactive`.
    pub state: String,
    /// `(read-only)`, `(auto-read-only)` when shown.
    pub read_only: bool,
    /// `raid1`, `raid5`, ...; absent for inactive arrays.
    pub level: Option<String>,
    pub members: Vec<Member>,
    pub blocks: Option<u64>,
    /// `[n/m]`: members the array should have and members working.
    pub expected: Option<u32>,
    pub working: Option<u32>,
    /// `[UU_]`: per role, up (`U`) or down (`_`).
    pub status: Option<String>,
    pub sync: Option<SyncProgress>,
}

/// What an array's state means for whoever owns it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Health {
    Ok,
    /// Resyncing or checking with all members working: fine, but not yet proven.
    Syncing,
    /// Fewer working members than it should have (running without redundancy or with less).
    Degraded,
    /// Not running.
    Inactive,
}

impl Array {
    pub fn health(&self) -> Health {
        if self.state != "active" {
            return Health::Inactive;
        }
        let missing = match (self.expected, self.working) {
            (Some(e), Some(w)) => w < e,
            _ => false,
        };
        let down = self.status.as_deref().is_some_and(|s| s.contains('_'));
        let failed = self.members.iter().any(|m| m.failed);
        if missing || down || failed {
            Health::Degraded
        } else if self.sync.is_some() {
            Health::Syncing
        } else {
            Health::Ok
        }
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("/proc/mdstat line {line}: {problem}")]
pub struct ParseError {
    pub line: usize,
    pub problem: String,
}

fn member(token: &str) -> Option<Member> {
    let open = token.find('[')?;
    let close = token[open..].find(']')? + open;
    let flags = &token[close + 1..];
    Some(Member {
        device: token[..open].to_string(),
        role: token[open + 1..close].parse().ok()?,
        failed: flags.contains("(F)"),
        spare: flags.contains("(S)"),
        write_mostly: flags.contains("(W)"),
    })
}

/// `[3/2]` -> (3, 2).
fn counts(token: &str) -> Option<(u32, u32)> {
    let inner = token.strip_prefix('[')?.strip_suffix(']')?;
    let (e, w) = inner.split_once('/')?;
    Some((e.parse().ok()?, w.parse().ok()?))
}

fn sync_line(line: &str) -> Option<SyncProgress> {
    // "[==>....]  recovery = 12.6% (...) finish=..min speed=..K/sec" or "resync=DELAYED"
    for action in ["recovery", "resync", "reshape", "check", "repair"] {
        let Some(at) = line.find(action) else {
            continue;
        };
        let rest = line[at + action.len()..].trim_start();
        if let Some(waiting) = rest.strip_prefix('=') {
            let waiting = waiting.trim();
            if waiting.chars().all(|c| c.is_ascii_uppercase()) && !waiting.is_empty() {
                return Some(SyncProgress {
                    action: action.into(),
                    percent: None,
                    finish_minutes: None,
                    waiting: Some(waiting.into()),
                });
            }
            let percent = waiting
                .split('%')
                .next()
                .and_then(|p| p.trim().parse().ok());
            let finish_minutes = line
                .split_whitespace()
                .find_map(|w| w.strip_prefix("finish="))
                .and_then(|f| f.trim_end_matches("min").parse().ok());
            return Some(SyncProgress {
                action: action.into(),
                percent,
                finish_minutes,
                waiting: None,
            });
        }
    }
    None
}

/// Parse the text of `/proc/mdstat`.
pub fn parse(text: &str) -> Result<Vec<Array>, ParseError> {
    let mut arrays: Vec<Array> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim_end();
        let err = |problem: &str| ParseError {
            line: i + 1,
            problem: problem.into(),
        };
        if line.is_empty()
            || line.starts_with("Personalities")
            || line.starts_with("unused devices")
        {
            continue;
        }
        if !raw.starts_with(char::is_whitespace) {
            // "md0 : active raid1 sdb1[1] sda1[0]"
            let (name, rest) = line
                .split_once(" : ")
                .ok_or_else(|| err("expected `<name> : <state> ...`"))?;
            let mut words = rest.split_whitespace().peekable();
            let state = words
                .next()
                .ok_or_else(|| err("array without a state"))?
                .to_string();
            if state != "active" && state != "inactive" {
                return Err(err(&format!("unknown array state {state:?}")));
            }
            let mut read_only = false;
            while let Some(w) = words.peek() {
                if w.starts_with('(') {
                    read_only |= w.contains("read-only");
                    words.next();
                } else {
                    break;
                }
            }
            let level = match words.peek() {
                Some(w) if !w.contains('[') => words.next().map(str::to_string),
                _ => None,
            };
            let members = words
                .map(|w| member(w).ok_or_else(|| err(&format!("unreadable member {w:?}"))))
                .collect::<Result<Vec<_>, _>>()?;
            arrays.push(Array {
                name: name.trim().to_string(),
                state,
                read_only,
                level,
                members,
                blocks: None,
                expected: None,
                working: None,
                status: None,
                sync: None,
            });
            continue;
        }
        let Some(array) = arrays.last_mut() else {
            return Err(err("indented line before any array"));
        };
        let trimmed = line.trim();
        if trimmed.starts_with("bitmap:") {
            continue;
        }
        if let Some(progress) = sync_line(trimmed) {
            array.sync = Some(progress);
            continue;
        }
        if trimmed.contains(" blocks") {
            array.blocks = trimmed
                .split_whitespace()
                .next()
                .and_then(|b| b.parse().ok());
            for w in trimmed.split_whitespace() {
                if let Some((e, wk)) = counts(w) {
                    array.expected = Some(e);
                    array.working = Some(wk);
                } else if let Some(s) = w.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
                    if !s.is_empty() && s.chars().all(|c| c == 'U' || c == '_') {
                        array.status = Some(s.to_string());
                    }
                }
            }
        }
        // Other detail lines (e.g. "      [raid0 chunk]") carry nothing we judge by.
    }
    Ok(arrays)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A healthy mirror, a RAID 5 rebuilding after a failure, a RAID 1 waiting to resync, an
    /// inactive array of spares, and a RAID 0 (no redundancy, no counts), as the kernel prints
    /// them.
    const MIXED: &str = "Personalities : [raid1] [raid6] [raid5] [raid4] [raid0]
md0 : active raid1 sdb1[1] sda1[0]
      1046528 blocks super 1.2 [2/2] [UU]
      bitmap: 0/1 pages [0KB], 65536KB chunk

md1 : active raid5 sdd1[3] sdc1[2](F) sdb2[1] sda2[0]
      2929893888 blocks super 1.2 level 5, 512k chunk, algorithm 2 [3/2] [UU_]
      [>....................]  recovery =  1.5% (22341120/1464946944) finish=123.4min speed=194823K/sec
      bitmap: 2/11 pages [8KB], 65536KB chunk

md2 : active (auto-read-only) raid1 sdf1[1] sde1[0]
      976630336 blocks super 1.2 [2/2] [UU]
      \tresync=PENDING

md127 : inactive sdg[0](S)
      5860390536 blocks super 1.2

md3 : active raid0 sdi1[1] sdh1[0]
      209582080 blocks super 1.2 512k chunks

unused devices: <none>
";

    #[test]
    fn reads_every_array_and_judges_it() {
        let arrays = parse(MIXED).unwrap();
        let names: Vec<_> = arrays.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["md0", "md1", "md2", "md127", "md3"]);
        let health: Vec<_> = arrays.iter().map(Array::health).collect();
        assert_eq!(
            health,
            [
                Health::Ok,
                Health::Degraded,
                Health::Syncing,
                Health::Inactive,
                Health::Ok
            ]
        );

        let md1 = &arrays[1];
        assert_eq!(md1.level.as_deref(), Some("raid5"));
        assert_eq!(
            (md1.expected, md1.working, md1.status.as_deref()),
            (Some(3), Some(2), Some("UU_"))
        );
        assert!(md1.members.iter().any(|m| m.device == "sdc1" && m.failed));
        let sync = md1.sync.as_ref().unwrap();
        assert_eq!(
            (sync.action.as_str(), sync.percent, sync.finish_minutes),
            ("recovery", Some(1.5), Some(123.4))
        );
        assert_eq!(md1.blocks, Some(2_929_893_888));

        let md2 = &arrays[2];
        assert!(md2.read_only);
        assert_eq!(
            md2.sync.as_ref().unwrap().waiting.as_deref(),
            Some("PENDING")
        );
        assert!(arrays[3].members[0].spare);
        assert_eq!(arrays[3].level, None);
    }

    #[test]
    fn a_checking_array_with_all_members_is_syncing_not_degraded() {
        let text = "Personalities : [raid1]
md0 : active raid1 sdb1[1] sda1[0]
      1046528 blocks super 1.2 [2/2] [UU]
      [=======>.............]  check = 36.2% (379136/1046528) finish=0.1min speed=94784K/sec

unused devices: <none>
";
        let arrays = parse(text).unwrap();
        assert_eq!(arrays[0].health(), Health::Syncing);
        assert_eq!(arrays[0].sync.as_ref().unwrap().action, "check");
    }

    #[test]
    fn no_arrays_and_garbage() {
        assert!(parse("Personalities : \nunused devices: <none>\n")
            .unwrap()
            .is_empty());
        let e = parse("Personalities : [raid1]\nmd0 - active raid1 sda1[0]\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(parse("      1046528 blocks [2/2] [UU]\n").is_err());
        assert!(parse("md0 : active raid1 sda1[zero]\n").is_err());
        assert!(parse("md0 : exploding raid1 sda1[0]\n").is_err());
    }
}
