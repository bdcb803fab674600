//! Storage multipathing as `multipathd show paths` prints it: one row per path with its
//! device-mapper state (`active`/`failed`), the path checker's verdict (`ready`, `faulty`,
//! `shaky`, `ghost`, ...) and the device state (`running`, `offline`).
//!
//! ```text
//! hcil    dev dev_t pri dm_st  chk_st dev_st  next_check
//! 3:0:0:1 sdb 8:16  50  active ready  running XXXXXXXXXX 19/20
//! 4:0:0:1 sdc 8:32  10  failed faulty running X......... 2/20
//! ```
//!
//! Columns are padded to the widest value and left-aligned under their headers, and values
//! may contain spaces (`next_check`), so rows are cut at the header's column offsets.

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Path {
    pub hcil: String,
    pub device: String,
    pub priority: Option<i32>,
    pub dm_state: String,
    pub checker_state: String,
    pub device_state: String,
}

impl Path {
    /// Whether I/O can use this path now.
    pub fn usable(&self) -> bool {
        self.dm_state == "active"
            && matches!(self.checker_state.as_str(), "ready" | "ghost")
            && self.device_state != "offline"
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("multipathd output: {0}")]
pub struct ParseError(pub String);

/// Parse `multipathd show paths` (or `multipathd -k"show paths"`).
pub fn parse(text: &str) -> Result<Vec<Path>, ParseError> {
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header = lines
        .next()
        .ok_or_else(|| ParseError("empty output".into()))?;
    // Column start offsets, from where each header word begins.
    let mut starts = Vec::new();
    let mut names = Vec::new();
    let mut in_word = false;
    for (i, c) in header.char_indices() {
        if !c.is_whitespace() && !in_word {
            starts.push(i);
        }
        in_word = !c.is_whitespace();
    }
    for (k, start) in starts.iter().enumerate() {
        let end = starts.get(k + 1).copied().unwrap_or(header.len());
        names.push(header[*start..end].trim().to_string());
    }
    let col = |name: &str| names.iter().position(|n| n == name);
    let (Some(dev), Some(dm), Some(chk)) = (col("dev"), col("dm_st"), col("chk_st")) else {
        return Err(ParseError(format!(
            "header {header:?} lacks dev, dm_st or chk_st"
        )));
    };
    let (hcil, pri, dev_st) = (col("hcil"), col("pri"), col("dev_st"));
    let mut paths = Vec::new();
    for line in lines {
        let cell = |k: Option<usize>| -> String {
            let Some(k) = k else { return String::new() };
            let start = starts[k].min(line.len());
            let end = starts
                .get(k + 1)
                .copied()
                .unwrap_or(line.len())
                .min(line.len());
            line.get(start..end).unwrap_or("").trim().to_string()
        };
        let path = Path {
            hcil: cell(hcil),
            device: cell(Some(dev)),
            priority: cell(pri).parse().ok(),
            dm_state: cell(Some(dm)),
            checker_state: cell(Some(chk)),
            device_state: cell(dev_st),
        };
        if path.device.is_empty() || path.dm_state.is_empty() {
            return Err(ParseError(format!(
                "row {line:?} does not line up with the header"
            )));
        }
        paths.push(path);
    }
    Ok(paths)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWO_PATHS_ONE_FAILED: &str = "\
hcil    dev dev_t pri dm_st  chk_st dev_st  next_check
3:0:0:1 sdb 8:16  50  active ready  running XXXXXXXXXX 19/20
4:0:0:1 sdc 8:32  10  failed faulty running X......... 2/20
5:0:0:1 sdd 8:48  1   active ghost  running XXXX...... 8/20
6:0:0:1 sde 8:64  50  active ready  offline orphan
";

    #[test]
    fn reads_rows_by_column_and_judges_each_path() {
        let paths = parse(TWO_PATHS_ONE_FAILED).unwrap();
        let devices: Vec<_> = paths
            .iter()
            .map(|p| (p.device.as_str(), p.usable()))
            .collect();
        assert_eq!(
            devices,
            [("sdb", true), ("sdc", false), ("sdd", true), ("sde", false)]
        );
        assert_eq!(paths[1].checker_state, "faulty");
        assert_eq!(paths[0].priority, Some(50));
        assert_eq!(paths[0].hcil, "3:0:0:1");
    }

    #[test]
    fn empty_and_unexpected_output() {
        assert!(parse("").is_err());
        assert!(
            parse("hcil    dev dev_t pri dm_st  chk_st dev_st  next_check\n")
                .unwrap()
                .is_empty()
        );
        assert!(parse("name sysfs uuid\nmpatha dm-0 3600\n").is_err());
    }
}
