#!/usr/bin/env bash
# Outbox throughput: N overdue activities, one webhook rule, and `opsward notify run`
# delivering every message to a local HTTP receiver (Python's ThreadingHTTPServer).
# Usage: bench/outbox/run.sh [N]   (release build; SQLite by default, or
#        DATABASE_URL=postgres://... for PostgreSQL)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
n="${1:-2000}"
bin=${OPSWARD_BIN:-target/release/opsward}
[ -x "$bin" ] || cargo build --release --locked -p opsward
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
args=(--data-dir "$work/data")
[ -n "${DATABASE_URL:-}" ] && args+=(--database-url "$DATABASE_URL")

# The receiver counts requests and answers 200 at once.
python3 - "$work/receiver.port" >"$work/receiver.log" 2>&1 <<'PY' &
import sys, http.server, threading
count = 0
lock = threading.Lock()
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        global count
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with lock:
            count += 1
        self.send_response(200); self.send_header("Content-Length", "0"); self.end_headers()
    def log_message(self, *a): pass
class Server(http.server.ThreadingHTTPServer):
    request_queue_size = 1024
    daemon_threads = True
s = Server(("127.0.0.1", 0), H)
open(sys.argv[1], "w").write(str(s.server_address[1]))
s.serve_forever()
PY
pids+=($!)
for _ in $(seq 50); do [ -s "$work/receiver.port" ] && break; sleep 0.1; done
port=$(cat "$work/receiver.port")

printf 'bench password 123\n' | "$bin" "${args[@]}" user add --admin --username bench --password-stdin >/dev/null 2>&1
token=$("$bin" "${args[@]}" token create --username bench --name bench 2>/dev/null)
"$bin" "${args[@]}" notify channel-add --name sink --settings "{\"type\":\"webhook\",\"url\":\"http://127.0.0.1:$port/hook\",\"secret\":\"bench\"}" >/dev/null
"$bin" "${args[@]}" notify rule-add --name all --channel 1 >/dev/null

# Activities through the API of a request-only server (no scheduler: nothing is sent early).
"$bin" "${args[@]}" serve --listen 127.0.0.1:0 --no-scheduler >"$work/serve.out" 2>"$work/serve.log" &
pids+=($!)
for _ in $(seq 100); do grep -q listening "$work/serve.out" 2>/dev/null && break; sleep 0.1; done
url=$(sed -n 's|^opsward is listening on \(http://[^ ]*\)/$|\1|p' "$work/serve.out")
python3 - "$url" "$token" "$n" <<'PY'
import sys, json, urllib.request, datetime
url, token, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
start = (datetime.datetime.utcnow() - datetime.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%S")
for i in range(n):
    body = json.dumps({"title": f"bench activity {i}", "practice": "general", "starts_local": start}).encode()
    req = urllib.request.Request(url + "/api/v1/activities", data=body, method="POST",
        headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
    urllib.request.urlopen(req).read()
PY

timer() { if [ -x /usr/bin/time ]; then /usr/bin/time -f '%e %M' "$@"; else local s=$SECONDS; "$@"; echo "$((SECONDS - s)) -" >&2; fi; }
timer "$bin" "${args[@]}" notify run 2>"$work/run.err" >/dev/null || true
read -r seconds rss_kib < <(tail -1 "$work/run.err")
sent=$(grep -o 'queued [0-9]*; delivered [0-9]*' "$work/run.err" | awk '{print $4}')
backend=${DATABASE_URL:+PostgreSQL}
printf '\n%-12s %10s %10s %12s %14s\n' backend messages seconds 'messages/s' 'peak RSS MiB'
printf '%-12s %10s %10s %12s %14s\n' "${backend:-SQLite}" "$sent" "$seconds" \
  "$(python3 -c "print(round($sent / max($seconds, 0.001)))")" \
  "$( [ "$rss_kib" = - ] && echo - || python3 -c "print(round($rss_kib / 1024))")"
[ "$sent" = "$n" ] || { echo "expected $n deliveries, got $sent" >&2; exit 1; }
