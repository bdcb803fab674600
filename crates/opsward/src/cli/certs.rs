//! `opsward cert list` and the `--server` options of `opsward cert scan`.

use clap::Args;

/// Where scan results go: nowhere (printed only) or an opsward server.
#[derive(Debug, Clone, Args)]
pub struct CertServer {
    /// Also store the results on this opsward server (it checks them again and keeps every
    /// certificate with where it was seen).
    #[arg(long, env = "OPSWARD_SERVER", value_name = "URL", requires = "token")]
    pub server: Option<String>,
    /// API token for --server (an operator's).
    #[arg(
        long,
        env = "OPSWARD_TOKEN",
        hide_env_values = true,
        requires = "server"
    )]
    pub token: Option<String>,
}

/// `443,8443` as ports.
pub fn parse_port_list(text: &str) -> Result<Vec<u16>, String> {
    opsward_certs::targets::parse_ports(text).map_err(|e| e.to_string())
}

/// `443,8443`, checked as ports.
pub fn check_port_list(text: &str) -> Result<String, String> {
    parse_port_list(text).map(|_| text.to_owned())
}

/// `60,30,7`, checked as days.
pub fn check_day_list(text: &str) -> Result<String, String> {
    parse_day_list(text).map(|_| text.to_owned())
}

/// `60,30,7` as days.
pub fn parse_day_list(text: &str) -> Result<Vec<i64>, String> {
    text.split(',')
        .map(|d| {
            d.trim()
                .parse::<i64>()
                .map_err(|_| format!("{text:?}: thresholds are days separated by commas"))
        })
        .collect()
}

#[derive(Debug, clap::Subcommand)]
pub enum CertAssetCommand {
    /// Every asset with its TLS host name, address, ports and thresholds.
    List {
        #[command(flatten)]
        remote: CertServer,
    },
    /// Set an asset's TLS endpoints and thresholds (options not given are cleared).
    Set {
        /// The asset's name.
        name: String,
        /// The name clients use: sent as SNI and checked against the certificate.
        #[arg(long)]
        hostname: Option<String>,
        /// Where to connect when it is not the host name: addresses or names separated by
        /// commas, e.g. `192.0.2.10,192.0.2.11` (each address is its own place).
        #[arg(long)]
        address: Option<String>,
        /// TLS ports (default 443, 8443, 465, 636, 993, 995).
        #[arg(long, value_parser = check_port_list)]
        ports: Option<String>,
        /// Days before expiry to warn at, e.g. `60,30,7` (instead of the practice's).
        #[arg(long, value_parser = check_day_list)]
        thresholds: Option<String>,
        #[command(flatten)]
        remote: CertServer,
    },
}

#[derive(Debug, Args)]
pub struct CertTagArgs {
    pub tag: String,
    /// Days before expiry, e.g. `60,30,7`; without it the tag's thresholds are cleared.
    #[arg(long, value_parser = check_day_list)]
    pub thresholds: Option<String>,
    #[command(flatten)]
    pub remote: CertServer,
}

/// Which stored certificates to list.
#[derive(Debug, Args)]
pub struct CertListArgs {
    /// Only certificates expiring within this long (`30d`, `2w`, `12h`; expired included).
    #[arg(long, value_name = "DURATION", value_parser = parse_days)]
    pub expiring_within: Option<i64>,
    /// Only certificates with this problem where they are served (e.g. `expired`,
    /// `hostname-mismatch`, `untrusted-chain`, `not-rotated`).
    #[arg(long)]
    pub problem: Option<String>,
    /// Only certificates owned by this team (by name; set on the certificate or its asset).
    #[arg(long, value_name = "TEAM")]
    pub owner: Option<String>,
    /// Part of the issuer's name.
    #[arg(long)]
    pub issuer: Option<String>,
    /// Also certificates no place serves any more.
    #[arg(long)]
    pub include_retired: bool,
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u32).range(1..=5000))]
    pub limit: u32,
    /// Read from this opsward server instead of the local database.
    #[command(flatten)]
    pub remote: CertServer,
}

/// `30d`, `2w`, `12h` or a bare number of days, as whole days (hours round up).
pub fn parse_days(text: &str) -> Result<i64, String> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => text.split_at(i),
        None => (text, "d"),
    };
    let n: i64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration like 30d, 2w or 12h"))?;
    let days = match unit {
        "d" => n,
        "w" => n * 7,
        "h" => (n + 23) / 24,
        _ => return Err(format!("{text:?}: the unit must be d, w or h")),
    };
    if !(0..=36_500).contains(&days) {
        return Err(format!("{text:?} is more than 100 years"));
    }
    Ok(days)
}

#[cfg(test)]
mod tests {
    #[test]
    fn durations_are_whole_days() {
        use super::parse_days;
        assert_eq!(parse_days("30d"), Ok(30));
        assert_eq!(parse_days("2w"), Ok(14));
        assert_eq!(parse_days("25h"), Ok(2));
        assert_eq!(parse_days("7"), Ok(7));
        assert!(parse_days("3m").is_err());
        assert!(parse_days("d").is_err());
        assert!(parse_days("999999d").is_err());
    }
}
