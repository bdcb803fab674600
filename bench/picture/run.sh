#!/usr/bin/env bash
# One picture of operational risk at a large organisation's scale (issue 18 item 7): seed,
# through the practices' stores (crates/opsward/examples/picture_seed.rs), 10,000 assets,
# 5,000 certificates, 1,000 hosts with 1,500 packages each, 100,000 findings, 10,000
# activities, 100,000 backlog items and 500 suppliers into a fresh SQLite file and a fresh
# PostgreSQL database; start the release server on each; wait for its first picture; then
# time RUNS sequential requests (curl, signed in with an API token) of the dashboard, the
# asset page of an asset that has a certificate, a host, findings, backlog items and
# activities, GET /api/v1/conditions and a /metrics scrape: p50, p99 and max. The server's
# background refreshes of the picture (every 20 s, logged with took_ms) keep running while
# it is measured; their durations are reported too, since they bound the age of what is shown.
#
#   bash bench/picture/run.sh
#
# Environment: OPSWARD_BIN and OPSWARD_SEED (built when not given), BACKENDS ("sqlite postgres"), RUNS (200), PG_ADMIN_URL
# (postgres://postgres@127.0.0.1:5432, trust auth), PG_DATABASE (opsward_bench: created
# fresh, dropped at the end), and the counts the seeder reads (ASSETS, CERTIFICATES, HOSTS,
# PACKAGES, FINDINGS, ACTIVITIES, BACKLOG_ITEMS, SUPPLIERS; defaults as above).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
BACKENDS=${BACKENDS:-"sqlite postgres"}
RUNS=${RUNS:-200}
PG_ADMIN_URL=${PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432}
PG_DATABASE=${PG_DATABASE:-opsward_bench}
target=${CARGO_TARGET_DIR:-target}
BIN=${OPSWARD_BIN:-$target/release/opsward}
SEED=${OPSWARD_SEED:-}
for v in $(env | grep -o '^OPSWARD_[A-Z_]*'); do unset "$v"; done
command -v curl >/dev/null || { echo "curl is needed" >&2; exit 2; }
# The server is the release build that is measured. The seeder is built unoptimised: a release
# build of it links the whole workspace with LTO again (as long as the server's own link), and
# how fast it seeds is not what is measured.
[[ -x $BIN ]] || cargo build --release --locked -q -p opsward --bin opsward
if [[ -z $SEED ]]; then
  cargo build --workspace --locked -q --example picture_seed
  SEED=$target/debug/examples/picture_seed
fi

WORK=$(mktemp -d)
SERVER_PID=
PG_CREATED=
stop_server() {
  if [[ -n $SERVER_PID ]]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  SERVER_PID=
}
cleanup() {
  stop_server
  [[ -z $PG_CREATED ]] || psql -q "$PG_ADMIN_URL/postgres" -c "DROP DATABASE IF EXISTS $PG_DATABASE" >/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

# Nearest-rank percentiles of one column of seconds, printed in milliseconds.
percentiles() {
  sort -g | awk '{t[NR] = $1 * 1000} END {
    p50 = t[int(NR * 0.50 + 0.999999)]; p99 = t[int(NR * 0.99 + 0.999999)]
    printf "%.1f %.1f %.1f\n", p50, p99, t[NR] }'
}

echo "commit $(git rev-parse --short HEAD), $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ), load $(cut -d' ' -f1-3 /proc/loadavg)"
for backend in $BACKENDS; do
  case $backend in
    sqlite) url="sqlite:$WORK/$backend/opsward.db"; mkdir -p "$WORK/$backend" ;;
    postgres)
      psql -q "$PG_ADMIN_URL/postgres" -c "DROP DATABASE IF EXISTS $PG_DATABASE" -c "CREATE DATABASE $PG_DATABASE" >/dev/null
      PG_CREATED=1
      url="$PG_ADMIN_URL/$PG_DATABASE"
      mkdir -p "$WORK/$backend" ;;
    *) echo "unknown backend $backend" >&2; exit 2 ;;
  esac
  opsward() { "$BIN" --data-dir "$WORK/$backend" --database-url "$url" "$@"; }
  echo
  echo "## $backend"
  featured=$("$SEED" "$url" 2> >(sed 's/^/  /' >&2) | sed -n 's/^featured_asset=//p')
  # PostgreSQL: planner statistics and visibility maps for the bulk load, as autovacuum
  # gathers them on a server that has it on (it is off on some test machines; without
  # statistics PostgreSQL plans for empty tables, and a GIN index scans its whole pending
  # list). SQLite is measured as opsward leaves it.
  [[ $backend != postgres ]] || psql -q "$url" -c 'VACUUM ANALYZE'
  echo "correct horse battery 1234" | opsward user add --admin --username bench --password-stdin >/dev/null 2>&1
  TOKEN=$(opsward token create --username bench --name bench 2>/dev/null)
  AUTH="Authorization: Bearer $TOKEN"

  # Not through the function: $! must be the server itself (to stop it and read its RSS).
  RUST_LOG=info,opsward_server::picture=debug "$BIN" --data-dir "$WORK/$backend" --database-url "$url" serve --listen 127.0.0.1:0 \
    >"$WORK/$backend/serve.out" 2>"$WORK/$backend/serve.log" &
  SERVER_PID=$!
  BASE=
  for _ in $(seq 1 600); do
    BASE=$(sed -n 's|^opsward is listening on \(http://[^/]*\)/.*|\1|p' "$WORK/$backend/serve.out")
    [[ -n $BASE ]] && break
    sleep 0.1
  done
  [[ -n $BASE ]] || { echo "the server did not start:" >&2; cat "$WORK/$backend/serve.log" >&2; exit 2; }
  started=$(date +%s.%N)
  until grep -q 'picture of operational risk computed' "$WORK/$backend/serve.log"; do
    kill -0 "$SERVER_PID" 2>/dev/null || { echo "the server stopped:" >&2; cat "$WORK/$backend/serve.log" >&2; exit 2; }
    sleep 0.2
  done
  printf 'first picture %.1f s after the server listened\n' "$(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN {print b - a}')"

  NAMES=("dashboard (/)" "asset page (/assets/$featured)" "GET /api/v1/conditions" "GET /metrics")
  URLS=("$BASE/" "$BASE/assets/$featured" "$BASE/api/v1/conditions" "$BASE/metrics")
  printf '| %-30s | %8s | %8s | %8s | %9s |\n' request "p50 ms" "p99 ms" "max ms" "size KiB"
  printf '|%s|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..32})" ---------- ---------- ---------- -----------
  for i in "${!URLS[@]}"; do
    url_i=${URLS[$i]}
    size=$(curl -sf -H "$AUTH" -o /dev/null -w '%{size_download}' "$url_i") || { echo "${NAMES[$i]} failed" >&2; exit 1; }
    for _ in $(seq 1 "$RUNS"); do
      curl -sf -o /dev/null -H "$AUTH" -w '%{time_total}\n' "$url_i"
    done >"$WORK/times"
    [[ $(wc -l <"$WORK/times") -eq $RUNS ]] || { echo "${NAMES[$i]}: some requests failed" >&2; exit 1; }
    read -r p50 p99 max < <(percentiles <"$WORK/times")
    printf '| %-30s | %8s | %8s | %8s | %9.0f |\n' "${NAMES[$i]}" "$p50" "$p99" "$max" "$(awk -v s="$size" 'BEGIN {print s / 1024}')"
  done
  conditions=$(curl -sf -H "$AUTH" "$BASE/api/v1/conditions" | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])')
  refreshes=$(grep -o 'took_ms=[0-9]*' "$WORK/$backend/serve.log" | cut -d= -f2 | sort -n)
  printf 'picture: %s conditions; %d refreshes while measured took %s ms (min / median / max)\n' \
    "$conditions" "$(wc -l <<<"$refreshes")" \
    "$(awk '{t[NR] = $1} END {printf "%d / %d / %d", t[1], t[int((NR + 1) / 2)], t[NR]}' <<<"$refreshes")"
  printf 'server peak RSS %d MiB\n' "$(($(awk '/^VmHWM/ {print $2}' "/proc/$SERVER_PID/status") / 1024))"
  stop_server
  if [[ $backend == postgres ]]; then
    psql -q "$PG_ADMIN_URL/postgres" -c "DROP DATABASE IF EXISTS $PG_DATABASE" >/dev/null
    PG_CREATED=
  fi
done
echo
echo "(counts: ASSETS=${ASSETS:-10000} CERTIFICATES=${CERTIFICATES:-5000} HOSTS=${HOSTS:-1000} PACKAGES=${PACKAGES:-1500} FINDINGS=${FINDINGS:-100000} ACTIVITIES=${ACTIVITIES:-10000} BACKLOG_ITEMS=${BACKLOG_ITEMS:-100000} SUPPLIERS=${SUPPLIERS:-500}; $RUNS sequential requests each)"
