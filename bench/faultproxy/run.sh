#!/usr/bin/env bash
# Fault proxy overhead: latency added to small round trips (p50/p99) and throughput through
# `opsward faultproxy` with no toxics, side by side with a direct TCP connection on loopback,
# then the process's memory with 1,000 proxies. Toxiproxy's own claims are the targets:
# < 100 us added latency and >= 1 GB/s (Toxiproxy's README and benchmarks).
# Usage: bench/faultproxy/run.sh   (release build)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
bin=${OPSWARD_BIN:-target/release/opsward}
[ -x "$bin" ] || cargo build --release --locked -p opsward
cargo build --release --locked -q -p opsward-resilience --example faultproxy_bench
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# Many proxies and connections: raise the descriptor limit for both processes.
ulimit -n 8192 2>/dev/null || true
"$bin" faultproxy --listen "127.0.0.1:$port" 2>/dev/null &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/version" >/dev/null && break; sleep 0.05; done
target/release/examples/faultproxy_bench "127.0.0.1:$port" "$pid"
