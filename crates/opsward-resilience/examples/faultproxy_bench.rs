//! Load generator for `bench/faultproxy/run.sh`: added latency (p50/p99 of small round
//! trips) and throughput through a running fault proxy with no toxics, each side by side with
//! the same measurement on a direct TCP connection, then the fault proxy's memory with 1,000
//! proxies, idle and with one open connection each.
//!
//! Usage: faultproxy_bench <api host:port> <fault proxy pid>

use std::{
    io::{Read, Write},
    net::{Shutdown, TcpListener, TcpStream},
    thread,
    time::{Duration, Instant},
};

const ROUND_TRIPS: usize = 20_000;
const WARM_UP: usize = 2_000;
const MESSAGE: usize = 64;
const BULK: u64 = 2 << 30; // 2 GiB
const PROXIES: usize = 1_000;

fn echo_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            thread::spawn(move || {
                let mut s = stream;
                let _ = s.set_nodelay(true);
                let mut buf = [0u8; 64 * 1024];
                while let Ok(n) = s.read(&mut buf) {
                    if n == 0 || s.write_all(&buf[..n]).is_err() {
                        return;
                    }
                }
            });
        }
    });
    addr
}

/// Reads everything until EOF, then answers with one byte.
fn sink_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            thread::spawn(move || {
                let mut s = stream;
                let mut buf = vec![0u8; 256 * 1024];
                while let Ok(n) = s.read(&mut buf) {
                    if n == 0 {
                        let _ = s.write_all(b"!");
                        return;
                    }
                }
            });
        }
    });
    addr
}

/// One HTTP/1.1 request to the API; returns the body.
fn api(addr: &str, method: &str, path: &str, body: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let (head, body) = out.split_once("\r\n\r\n").unwrap_or((&out, ""));
    assert!(
        head.starts_with("HTTP/1.1 2"),
        "{method} {path}: {head}\n{body}"
    );
    body.to_string()
}

fn create_proxy(api_addr: &str, name: &str, upstream: &str) -> String {
    let body = api(
        api_addr,
        "POST",
        "/proxies",
        &format!(r#"{{"name":"{name}","upstream":"{upstream}"}}"#),
    );
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    v["listen"].as_str().unwrap().to_string()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// (p50, p99, mean) of small round trips to `addr`.
fn round_trips(addr: &str) -> (Duration, Duration, Duration) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_nodelay(true).unwrap();
    let message = [7u8; MESSAGE];
    let mut back = [0u8; MESSAGE];
    let mut times = Vec::with_capacity(ROUND_TRIPS);
    for i in 0..WARM_UP + ROUND_TRIPS {
        let start = Instant::now();
        s.write_all(&message).unwrap();
        s.read_exact(&mut back).unwrap();
        if i >= WARM_UP {
            times.push(start.elapsed());
        }
    }
    let mean = times.iter().sum::<Duration>() / times.len() as u32;
    times.sort();
    (percentile(&times, 0.5), percentile(&times, 0.99), mean)
}

/// Bytes per second pushing `BULK` bytes to a sink at `addr` (until it confirms).
fn throughput(addr: &str) -> f64 {
    let mut s = TcpStream::connect(addr).unwrap();
    let chunk = vec![1u8; 256 * 1024];
    let start = Instant::now();
    let mut sent = 0u64;
    while sent < BULK {
        s.write_all(&chunk).unwrap();
        sent += chunk.len() as u64;
    }
    s.shutdown(Shutdown::Write).unwrap();
    let mut done = [0u8; 1];
    s.read_exact(&mut done).unwrap();
    sent as f64 / start.elapsed().as_secs_f64()
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn us(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1e6)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (api_addr, pid) = (args[1].clone(), args[2].parse::<u32>().unwrap());
    let echo = echo_server();
    let sink = sink_server();
    let rss_start = rss_kib(pid);
    let echo_proxy = create_proxy(&api_addr, "bench-echo", &echo);
    let sink_proxy = create_proxy(&api_addr, "bench-sink", &sink);

    let (d50, d99, dmean) = round_trips(&echo);
    let (p50, p99, pmean) = round_trips(&echo_proxy);
    println!("| round trip, {MESSAGE} bytes ({ROUND_TRIPS} after {WARM_UP} warm-up) | p50 µs | p99 µs | mean µs |");
    println!("|---|---|---|---|");
    println!("| direct TCP | {} | {} | {} |", us(d50), us(d99), us(dmean));
    println!(
        "| through the fault proxy, no toxics | {} | {} | {} |",
        us(p50),
        us(p99),
        us(pmean)
    );
    println!(
        "| added by the proxy | {} | {} | {} |",
        us(p50.saturating_sub(d50)),
        us(p99.saturating_sub(d99)),
        us(pmean.saturating_sub(dmean))
    );
    println!();
    let direct = throughput(&sink);
    let proxied = throughput(&sink_proxy);
    println!(
        "| throughput, {} GiB in 256 KiB writes | GB/s |",
        BULK >> 30
    );
    println!("|---|---|");
    println!("| direct TCP | {:.2} |", direct / 1e9);
    println!(
        "| through the fault proxy, no toxics | {:.2} |",
        proxied / 1e9
    );
    println!();

    let started = Instant::now();
    let mut listens = Vec::with_capacity(PROXIES);
    for i in 0..PROXIES {
        listens.push(create_proxy(&api_addr, &format!("many-{i}"), &echo));
    }
    let created = started.elapsed();
    thread::sleep(Duration::from_millis(500));
    let rss_idle = rss_kib(pid);
    let mut open = Vec::with_capacity(PROXIES);
    for listen in &listens {
        let mut s = TcpStream::connect(listen).unwrap();
        s.write_all(b"hi").unwrap();
        let mut back = [0u8; 2];
        s.read_exact(&mut back).unwrap();
        open.push(s);
    }
    thread::sleep(Duration::from_millis(500));
    let rss_busy = rss_kib(pid);
    println!("| fault proxy process | RSS MiB |");
    println!("|---|---|");
    println!(
        "| 2 proxies, after the runs above | {:.1} |",
        rss_start as f64 / 1024.0
    );
    println!(
        "| {PROXIES} more proxies, idle (created in {:.2} s through the API) | {:.1} |",
        created.as_secs_f64(),
        rss_idle as f64 / 1024.0
    );
    println!(
        "| {PROXIES} proxies with one open connection each | {:.1} |",
        rss_busy as f64 / 1024.0
    );
}
