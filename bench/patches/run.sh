#!/usr/bin/env bash
# Patch report ingest: AGENTS simulated agents (crates/opsward/examples/patches_bench.rs)
# enroll with one server, each sends a full report of PACKAGES packages and then a delta,
# CONCURRENCY at a time. Prints ingest rate, latency percentiles and the server's peak RSS.
# Usage: bench/patches/run.sh [AGENTS] [PACKAGES] [CONCURRENCY]   (release build; SQLite by
#        default, or DATABASE_URL=postgres://... for PostgreSQL, best a fresh database)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
agents="${1:-1000}"
packages="${2:-2000}"
concurrency="${3:-16}"
bin=${OPSWARD_BIN:-target/release/opsward}
load=${OPSWARD_BENCH_LOAD:-target/release/examples/patches_bench}
{ [ -x "$bin" ] && [ -x "$load" ]; } || cargo build --release --locked -p opsward --bin opsward --example patches_bench
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
args=(--data-dir "$work/data")
[ -n "${DATABASE_URL:-}" ] && args+=(--database-url "$DATABASE_URL")

token=$("$bin" "${args[@]}" patch enrollment-token --name bench)
"$bin" "${args[@]}" serve --listen 127.0.0.1:0 --no-scheduler >"$work/serve.out" 2>"$work/serve.log" &
server=$!
pids+=($server)
for _ in $(seq 100); do grep -q listening "$work/serve.out" 2>/dev/null && break; sleep 0.1; done
url=$(sed -n 's|^opsward is listening on \(http://[^ ]*\)/$|\1|p' "$work/serve.out")

"$load" "$url" "$token" "$agents" "$packages" "$concurrency" | tee "$work/load.out"
rss_kib=$(awk '/^VmHWM/ {print $2}' "/proc/$server/status")
rows=$("$bin" "${args[@]}" patch status -o json | python3 -c 'import json,sys; h=json.load(sys.stdin); print(len(h), sum(x["packages"] for x in h), sum(x["pending"] for x in h))')
echo "server_peak_rss_mib=$((rss_kib / 1024)) hosts,packages,pending=${rows// /,} backend=${DATABASE_URL:+PostgreSQL}${DATABASE_URL:-SQLite}" | sed 's|postgres://[^ ]*||'
read -r hosts total pending <<<"$rows"
[ "$hosts" = "$agents" ] || { echo "expected $agents hosts, got $hosts" >&2; exit 1; }
[ "$total" = "$((agents * (packages - 1)))" ] || { echo "expected $((agents * (packages - 1))) packages, got $total" >&2; exit 1; }
