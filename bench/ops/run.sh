#!/usr/bin/env bash
# Calendar and dashboard under load: 10,000 activities on the embedded SQLite database, then
# the month and week views, the 30-day calendar API, an iCal feed, the dashboard summary and a
# /metrics scrape, timed with hyperfine (installed with apt when missing and running as root)
# or a curl loop, each with its response size.
#
#   cargo build --release -p opsward && bash bench/ops/run.sh
#
# Environment: OPSWARD_BIN (default target/release/opsward), ACTIVITIES (default 10000),
# RUNS (default 20), PICTURE_WAIT (seconds before timing, default 5). Outbox (notification)
# throughput is measured separately.
set -euo pipefail

BIN=${OPSWARD_BIN:-target/release/opsward}
ACTIVITIES=${ACTIVITIES:-10000}
RUNS=${RUNS:-20}
[[ -x $BIN ]] || { echo "no $BIN: run 'cargo build --release -p opsward' first" >&2; exit 2; }
command -v curl >/dev/null || { echo "curl is needed" >&2; exit 2; }

WORK=$(mktemp -d)
SERVER_PID=
cleanup() {
  if [[ -n $SERVER_PID ]]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

opsward() { env -u OPSWARD_DATABASE_URL "$BIN" --data-dir "$WORK/data" "$@"; }

echo "calendar load test 1234" | opsward user add --admin --username bench --password-stdin >/dev/null 2>&1
TOKEN=$(opsward token create --username bench --name bench 2>/dev/null)

opsward serve --listen 127.0.0.1:0 >"$WORK/serve.out" 2>"$WORK/serve.log" &
SERVER_PID=$!
for _ in $(seq 1 300); do
  BASE=$(sed -n 's|^opsward is listening on \(http://[^/]*\)/.*|\1|p' "$WORK/serve.out")
  [[ -n $BASE ]] && break
  sleep 0.1
done
[[ -n ${BASE:-} ]] || { echo "the server did not start:" >&2; cat "$WORK/serve.log" >&2; exit 2; }
AUTH="Authorization: Bearer $TOKEN"

# A realistic mix: 10% daily, 50% weekly, 40% monthly, over all practices and three time zones.
PRACTICES=(certificates resilience patches vulnerabilities backlog customers suppliers general)
ZONES=(UTC Europe/Berlin America/New_York)
DAYS=(MO TU WE TH FR)
echo "creating $ACTIVITIES activities..."
{
  for ((i = 0; i < ACTIVITIES; i++)); do
    case $((i % 10)) in
      0) rule="FREQ=DAILY" ;;
      1|2|3|4|5) rule="FREQ=WEEKLY;BYDAY=${DAYS[i % 5]}" ;;
      *) rule="FREQ=MONTHLY;BYMONTHDAY=$((i % 28 + 1))" ;;
    esac
    ((i == 0)) || echo next
    printf 'url = "%s/api/v1/activities"\nheader = "%s"\nheader = "Content-Type: application/json"\noutput = "/dev/null"\n' "$BASE" "$AUTH"
    printf 'data = "{\\"title\\": \\"activity %d\\", \\"practice\\": \\"%s\\", \\"rrule\\": \\"%s\\", \\"starts_local\\": \\"2026-01-%02dT%02d:00:00\\", \\"timezone\\": \\"%s\\"}"\n' \
      "$i" "${PRACTICES[i % 8]}" "$rule" $((i % 28 + 1)) $((i % 24)) "${ZONES[i % 3]}"
    printf 'write-out = "%%{http_code}\\n"\n'
  done
} >"$WORK/create.curl"
started=$(date +%s.%N)
curl --silent --show-error --no-progress-meter --parallel --parallel-max 4 --config "$WORK/create.curl" >"$WORK/create.codes"
elapsed=$(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN {print b - a}')
created=$(grep -c '^201$' "$WORK/create.codes" || true)
[[ $created -eq $ACTIVITIES ]] || { echo "only $created of $ACTIVITIES activities were created" >&2; sort "$WORK/create.codes" | uniq -c >&2; exit 1; }
printf 'created %d activities in %.1f s (%.0f/s, 4 parallel requests)\n' "$created" "$elapsed" "$(awk -v n="$created" -v t="$elapsed" 'BEGIN {print n / t}')"

FEED=$(curl -sf -H "$AUTH" -H 'Content-Type: application/json' -d '{"name": "bench"}' "$BASE/api/v1/ical-feeds" | sed -n 's/.*"path":"\([^"]*\)".*/\1/p')
[[ -n $FEED ]] || { echo "could not create an iCal feed" >&2; exit 1; }

# The summary and /metrics read the kept picture of operational risk; give its first
# background refresh (every practice's conditions and the calendar's 120 days) time to run.
sleep "${PICTURE_WAIT:-5}"

NAMES=("calendar month view (HTML)" "calendar week view (HTML)" "GET /api/v1/calendar (30 days)" "iCal feed" "GET /api/v1/summary" "GET /metrics")
URLS=("$BASE/calendar?view=month" "$BASE/calendar?view=week" "$BASE/api/v1/calendar" "$BASE$FEED" "$BASE/api/v1/summary" "$BASE/metrics")

if ! command -v hyperfine >/dev/null && [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
  apt-get install -y hyperfine >/dev/null 2>&1 || { apt-get update >/dev/null 2>&1 && apt-get install -y hyperfine >/dev/null 2>&1; } || true
fi

echo
printf '| %-32s | %10s | %10s | %10s | %10s |\n' request "mean ms" "min ms" "max ms" "size KiB"
printf '|%s|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..34})" ------------ ------------ ------------ ------------
for i in "${!URLS[@]}"; do
  url=${URLS[$i]}
  size=$(curl -sf -H "$AUTH" -o "$WORK/body" -w '%{size_download}' "$url") || { echo "${NAMES[$i]} failed" >&2; exit 1; }
  if command -v hyperfine >/dev/null; then
    hyperfine --style none --warmup 2 --runs "$RUNS" --export-csv "$WORK/h.csv" \
      "curl -sf -o /dev/null -H '$AUTH' '$url'" >/dev/null
    # CSV columns: command,mean,stddev,median,user,system,min,max (seconds)
    read -r mean min max < <(awk -F, 'NR == 2 {printf "%.1f %.1f %.1f\n", $2 * 1000, $7 * 1000, $8 * 1000}' "$WORK/h.csv")
  else
    times=()
    for _ in $(seq 1 "$RUNS"); do times+=("$(curl -sf -o /dev/null -H "$AUTH" -w '%{time_total}' "$url")"); done
    read -r mean min max < <(printf '%s\n' "${times[@]}" | awk '{s+=$1; if(min==""||$1<min)min=$1; if($1>max)max=$1} END {printf "%.1f %.1f %.1f\n", s/NR*1000, min*1000, max*1000}')
  fi
  printf '| %-32s | %10s | %10s | %10s | %10.0f |\n' "${NAMES[$i]}" "$mean" "$min" "$max" "$(awk -v s="$size" 'BEGIN {print s / 1024}')"
done
echo
echo "($ACTIVITIES activities, SQLite, $RUNS runs each, $(nproc) cores, $(git rev-parse --short HEAD 2>/dev/null || echo unknown commit), $(date -u +%Y-%m-%d))"
