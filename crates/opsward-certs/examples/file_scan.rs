//! File-scan throughput, built with only this crate:
//!
//! - `file_scan gen DIR N` writes N PEM files (1,000 distinct P-256 leaves from one rcgen CA,
//!   repeated) into 100 directories under DIR;
//! - `file_scan scan DIR [THREADS]` walks DIR with the streaming scan on THREADS threads
//!   (default: one per core), checks every certificate, writes one CSV line per certificate
//!   (the `opsward cert scan files -o csv` columns) to standard output, and prints the count,
//!   wall seconds and certificates per second to standard error.
//!
//! Run it under `/usr/bin/time -f '%e s %U user %S sys %M KiB'` for CPU time and peak RSS.

use opsward_certs::{assess_file, files::scan_paths_each, CheckContext};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use std::{
    io::Write,
    path::{Path, PathBuf},
    time::Instant,
};

fn generate(dir: &Path, n: usize) {
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name.push(DnType::CommonName, "bench CA");
    let issuer = Issuer::new(ca, KeyPair::generate().unwrap());
    let key = KeyPair::generate().unwrap();
    let pems: Vec<String> = (0..1000.min(n))
        .map(|i| {
            let name = format!("p{i}.bench.test");
            let mut p = CertificateParams::new(vec![name.clone()]).unwrap();
            p.distinguished_name.push(DnType::CommonName, name);
            p.signed_by(&key, &issuer).unwrap().pem()
        })
        .collect();
    for d in 0..100 {
        std::fs::create_dir_all(dir.join(format!("{d:02}"))).unwrap();
    }
    for i in 0..n {
        let path = dir.join(format!("{:02}/{i}.pem", i % 100));
        std::fs::write(path, &pems[i % pems.len()]).unwrap();
    }
}

fn csv_field(out: &mut impl Write, text: &str) -> std::io::Result<()> {
    if text.contains([',', '"', '\n', '\r']) {
        out.write_all(b"\"")?;
        out.write_all(text.replace('"', "\"\"").as_bytes())?;
        out.write_all(b"\"")
    } else {
        out.write_all(text.as_bytes())
    }
}

fn scan(dir: PathBuf, threads: usize) {
    let started = Instant::now();
    let now = chrono::Utc::now();
    let ctx = CheckContext::at(now);
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout.lock());
    writeln!(out, "source,subject,not_after,days_left,issuer,problems").unwrap();
    let (mut certs, mut errors) = (0usize, 0usize);
    scan_paths_each(&[dir], &[], threads, |report| {
        for f in assess_file(&report, &ctx) {
            let c = &f.certificate;
            let source = f.sighting.source.to_string();
            csv_field(&mut out, &source).unwrap();
            out.write_all(b",").unwrap();
            csv_field(&mut out, c.subject_cn.as_deref().unwrap_or(&c.subject)).unwrap();
            write!(out, ",{},{},", c.not_after.to_rfc3339(), c.days_left(now)).unwrap();
            csv_field(&mut out, c.issuer_cn.as_deref().unwrap_or(&c.issuer)).unwrap();
            out.write_all(b",").unwrap();
            let problems: Vec<String> = f.problems.iter().map(|p| p.to_string()).collect();
            csv_field(&mut out, &problems.join(";")).unwrap();
            out.write_all(b"\n").unwrap();
            certs += 1;
        }
        errors += usize::from(report.error.is_some());
    });
    out.flush().unwrap();
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "{certs} certificates ({errors} file errors) in {secs:.2} s on {threads} thread(s): {:.0} certs/s",
        certs as f64 / secs
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("gen") if args.len() == 4 => generate(Path::new(&args[2]), args[3].parse().unwrap()),
        Some("scan") if args.len() >= 3 => scan(
            PathBuf::from(&args[2]),
            args.get(3)
                .map(|t| t.parse().unwrap())
                .unwrap_or_else(opsward_certs::files::default_threads),
        ),
        _ => {
            eprintln!("usage: file_scan gen DIR N | file_scan scan DIR [THREADS]");
            std::process::exit(2);
        }
    }
}
