#!/usr/bin/env bash
# Certificate discovery benchmark, every tool in the same run on the same machine:
#   TLS: 1,000 HTTPS listeners on loopback (one nginx, one certificate each) scanned by
#        `opsward cert scan tls`, `sslyze --certinfo` and `nmap --script ssl-cert`;
#   files: 100,000 PEM files read by `opsward cert scan files`.
# Wall time and peak RSS come from /usr/bin/time. nginx and nmap are installed with apt,
# sslyze with pip into bench/certs/.venv (ignored by git).
# Usage: bench/certs/run.sh [ENDPOINTS] [FILES]   (release build)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
endpoints="${1:-1000}"
files="${2:-100000}"
bin=${OPSWARD_BIN:-target/release/opsward}
[ -x "$bin" ] || cargo build --release --locked -p opsward
bin=$(realpath "$bin") # the runs below happen in a work directory
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
if ! command -v nginx >/dev/null || ! command -v nmap >/dev/null; then
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq nginx-light nmap >/dev/null
fi
venv=bench/certs/.venv
if [ ! -x "$venv/bin/sslyze" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check 'sslyze==6.3.1'
fi

work=$(mktemp -d)
nginx_pid=""
cleanup() { [ -n "$nginx_pid" ] && kill "$nginx_pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
cd "$work"

# One CA, one EC key, a certificate per listener (its port as CN and SAN).
openssl req -x509 -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 -keyout ca.key -out ca.pem \
  -days 30 -subj "/CN=bench CA" 2>/dev/null
openssl ecparam -name prime256v1 -genkey -noout -out leaf.key
openssl req -new -key leaf.key -subj "/CN=bench" -out leaf.csr
mkdir certs
base=20000
for i in $(seq 0 $((endpoints - 1))); do
  port=$((base + i))
  openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -set_serial "$port" -days 90 \
    -subj "/CN=p$port.bench.test" -extfile <(printf 'subjectAltName=DNS:p%s.bench.test\n' "$port") \
    -out "certs/$port.pem" 2>/dev/null
done

{
  echo "worker_processes 2; worker_rlimit_nofile 16384; pid $work/nginx.pid; error_log $work/nginx.err;"
  echo "events { worker_connections 8192; }"
  echo "http { access_log off; ssl_protocols TLSv1.2 TLSv1.3;"
  for i in $(seq 0 $((endpoints - 1))); do
    port=$((base + i))
    echo "server { listen 127.0.0.1:$port ssl; ssl_certificate $work/certs/$port.pem; ssl_certificate_key $work/leaf.key; return 204; }"
  done
  echo "}"
} >nginx.conf
ulimit -n 65536 2>/dev/null || true
nginx -p "$work" -c "$work/nginx.conf" -g 'daemon off;' &
nginx_pid=$!
for _ in $(seq 100); do
  (exec 3<>/dev/tcp/127.0.0.1/$((base + endpoints - 1))) 2>/dev/null && break
  sleep 0.1
done
targets=$(seq -f "127.0.0.1:%g" $base $((base + endpoints - 1)))

measure() { # name, then the command; prints "name seconds peak_kib result"
  local name=$1; shift
  /usr/bin/time -f "%e %M %U %S" -o "$name.time" "$@" >"$name.out" 2>"$name.err" || true
  echo "$name $(cat "$name.time" | tail -1)"
}

echo "tool seconds peak_rss_kib user_s sys_s"
# shellcheck disable=SC2086
measure opsward "$bin" cert scan tls $targets --concurrency 256 --timeout 10 -o csv
# shellcheck disable=SC2086
measure sslyze "$OLDPWD/$venv/bin/sslyze" --certinfo --quiet --json_out sslyze.json $targets
measure nmap nmap -Pn -n -sT -p "$base-$((base + endpoints - 1))" --script ssl-cert 127.0.0.1
sslyze_done=$(python3 -c "import json; r=json.load(open('sslyze.json'))['server_scan_results']; print(sum(1 for s in r if s.get('scan_status') == 'COMPLETED'))" 2>/dev/null || echo "?")
echo "found: opsward $(grep -c 'bench.test' opsward.out) leaf rows, sslyze $sslyze_done completed scans," \
  "nmap $(grep -c 'Subject: commonName=p' nmap.out) certificates"

# Files: 100,000 PEM files (the listeners' certificates, repeated) in 100 directories.
python3 - "$files" <<'PY'
import os, sys
n = int(sys.argv[1])
pems = [open(f"certs/{f}").read() for f in sorted(os.listdir("certs"))]
for d in range(100):
    os.makedirs(f"files/{d:02}", exist_ok=True)
for i in range(n):
    with open(f"files/{i % 100:02}/{i}.pem", "w") as f:
        f.write(pems[i % len(pems)])
PY
measure files "$bin" cert scan files files -o csv
rows=$(($(wc -l <files.out) - 1))
read -r secs rss user sys < <(tail -1 files.time)
echo "files: $rows certificates in $secs s = $(python3 -c "print(round($rows / max($secs, 0.001)))") certs/s," \
  "$(python3 -c "print(round($rows / max($user + $sys, 0.001)))") per CPU second ($user s user + $sys s system), peak RSS ${rss} KiB"
