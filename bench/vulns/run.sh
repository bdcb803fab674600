#!/usr/bin/env bash
# Vulnerability matching at scale, side by side with cargo-audit:
#  1. `opsward vuln import osv` of all of ../shared/data/osv (crates.io JSON, Go JSON, PyPI
#     YAML) into a fresh SQLite database, then the same import again (nothing changed);
#  2. a generated inventory of 10,000 packages across crates.io (Cargo.lock), PyPI
#     (requirements.txt) and Go (go.mod), names and versions drawn from the advisories so
#     that many match, scanned with `opsward vuln scan <dir> --db <osv>` (stateless) and
#     from the imported database;
#  3. the generated Cargo.lock alone, opsward against cargo-audit 0.22 on the same file
#     (`--no-fetch --no-yanked`, the native advisory database copied to a temporary folder).
# Wall time and peak RSS by /usr/bin/time; opsward also prints its load and match times.
#
#   cargo build --release -p opsward && bash bench/vulns/run.sh
#
# Environment: OPSWARD_BIN (default target/release/opsward), CARGO_AUDIT (default
# .tools/bin/cargo-audit, installed by .ci/run), RUNS (default 5).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
BIN=${OPSWARD_BIN:-target/release/opsward}
AUDIT=${CARGO_AUDIT:-.tools/bin/cargo-audit}
RUNS=${RUNS:-5}
DATA=$(cd ../shared/data && pwd)
[[ -x $BIN ]] || { echo "no $BIN: run 'cargo build --release -p opsward' first" >&2; exit 2; }
[[ -x $AUDIT ]] || { echo "no $AUDIT: cargo install cargo-audit --version '^0.22' --locked --root .tools" >&2; exit 2; }
for v in $(env | grep -o '^OPSWARD_[A-Z_]*'); do unset "$v"; done

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cp -r "$DATA/rustsec-advisory-db" "$WORK/advisory-db"

# One measured run: "<seconds> <peak MiB>" of the command; its output kept in $WORK/last.*.
measure() {
  /usr/bin/time -f '%e %M' -o "$WORK/time" "$@" >"$WORK/last.out" 2>"$WORK/last.err" || true
  # A failing exit status adds a line before the numbers.
  tail -1 "$WORK/time" | awk '{printf "%s %d\n", $1, $2 / 1024}'
}
# Best of $RUNS runs (wall seconds) and the peak RSS of that run.
best() {
  local best_s='' best_mb='' s mb
  for _ in $(seq "$RUNS"); do
    read -r s mb < <(measure "$@")
    if [[ -z $best_s ]] || awk "BEGIN{exit !($s < $best_s)}"; then best_s=$s; best_mb=$mb; fi
  done
  echo "$best_s $best_mb"
}

python3 - "$DATA/osv" "$WORK/inventory" <<'PY'
import json, os, re, sys, random
osv, out = sys.argv[1], sys.argv[2]
random.seed(6)
os.makedirs(out, exist_ok=True)
def events(eco):
    seen = {}
    d = os.path.join(osv, eco)
    for f in sorted(os.listdir(d)):
        text = open(os.path.join(d, f)).read()
        if f.endswith('.json'):
            rec = json.loads(text)
            for a in rec.get('affected', []):
                name = a.get('package', {}).get('name')
                for r in a.get('ranges', []):
                    for e in r.get('events', []):
                        for v in e.values():
                            if v not in ('0', '0.0.0-0'):
                                seen.setdefault(name, set()).add(v)
        else:  # PyPI YAML: versions listed as "- x.y"
            name = None
            for line in text.splitlines():
                s = line.strip()
                if s.startswith('name:') and name is None:
                    name = s.split(':', 1)[1].strip()
                elif s.startswith(('- introduced:', '- fixed:')) and name:
                    v = s.split(':', 1)[1].strip().strip('"\'')
                    # Commit hashes of GIT ranges are not versions: PEP 440 releases only.
                    if v != '0' and re.fullmatch(r'\d+(\.\d+)*((a|b|rc)\d+)?(\.post\d+)?(\.dev\d+)?', v):
                        seen.setdefault(name, set()).add(v)
    return seen
def pick(seen, n, bump):
    pairs = []
    for name, vs in seen.items():
        for v in vs:
            # The event version itself, and the versions just above it: both sides of a bound.
            pairs.append((name, v))
            b = bump(v)
            for _ in range(3):
                if b is None: break
                pairs.append((name, b))
                b = bump(b)
    random.shuffle(pairs)
    out, have = [], set()
    for p in pairs:
        if p not in have and p[1]:
            have.add(p); out.append(p)
        if len(out) == n: break
    return out
def semver_bump(v):
    core = v.lstrip('v').split('-')[0].split('+')[0].split('.')
    if len(core) != 3 or not all(c.isdigit() for c in core): return None
    return f"{core[0]}.{core[1]}.{int(core[2]) + 1}"
def pep_bump(v):
    parts = v.split('.')
    return '.'.join(parts[:-1] + [str(int(parts[-1]) + 1)]) if parts[-1].isdigit() else None
crates = pick(events('crates.io'), 3400, semver_bump)
pypi = pick(events('PyPI'), 3300, pep_bump)
go = pick(events('Go'), 3300, semver_bump)
with open(os.path.join(out, 'Cargo.lock'), 'w') as f:
    f.write('version = 3\n\n')
    for n, v in crates:
        f.write(f'[[package]]\nname = "{n}"\nversion = "{v}"\nsource = "registry+https://github.com/rust-lang/crates.io-index"\n\n')
os.makedirs(os.path.join(out, 'py'), exist_ok=True)
with open(os.path.join(out, 'py/requirements.txt'), 'w') as f:
    for n, v in pypi: f.write(f'{n}=={v}\n')
os.makedirs(os.path.join(out, 'go'), exist_ok=True)
with open(os.path.join(out, 'go/go.mod'), 'w') as f:
    f.write('module example.com/bench\n\ngo 1.22\n\nrequire (\n')
    for n, v in go: f.write(f'\t{n} v{v.lstrip("v")}\n')
    f.write(')\n')
print(f"inventory: {len(crates)} crates, {len(pypi)} PyPI, {len(go)} Go = {len(crates) + len(pypi) + len(go)} packages", file=sys.stderr)
PY

echo "opsward: $($BIN --version), cargo-audit: $($AUDIT audit --version), $(nproc) cores, $(date -u +%F)"
echo
echo "| step | wall (s) | peak RSS (MiB) | notes |"
echo "|---|---|---|---|"
read -r s mb < <(measure "$BIN" --data-dir "$WORK/data" vuln import osv "$DATA/osv")
echo "| import all OSV (8,158 files) into SQLite | $s | $mb | $(grep -o '"created": [0-9]*' "$WORK/last.out" || grep -E '^created' "$WORK/last.out" | tr -s ' ') |"
read -r s mb < <(measure "$BIN" --data-dir "$WORK/data" vuln import osv "$DATA/osv")
echo "| the same import again (nothing changed) | $s | $mb | $(grep -E '^unchanged' "$WORK/last.out" | tr -s ' ') |"
read -r s mb < <(best "$BIN" vuln scan "$WORK/inventory" --db "$DATA/osv" --output json)
echo "| scan 10,000 packages, stateless (--db osv dir) | $s | $mb | $(tail -1 "$WORK/last.err") |"
read -r s mb < <(best "$BIN" --data-dir "$WORK/data" vuln scan "$WORK/inventory" --output json)
echo "| scan 10,000 packages, advisories from the database | $s | $mb | $(tail -1 "$WORK/last.err") |"
read -r s mb < <(best "$BIN" vuln scan "$WORK/inventory/Cargo.lock" --db "$DATA/osv/crates.io" --output json)
echo "| opsward: the 3,400-crate Cargo.lock (--db crates.io) | $s | $mb | $(tail -1 "$WORK/last.err") |"
cp "$WORK/last.out" "$WORK/ours.json"
read -r as amb < <(best "$AUDIT" audit --db "$WORK/advisory-db" --no-fetch --no-yanked --json -f "$WORK/inventory/Cargo.lock")
cp "$WORK/last.out" "$WORK/theirs.json"
# The same hits? (advisory id, crate, version) from both, vulnerabilities and warnings alike.
verdict=$(python3 - "$WORK/ours.json" "$WORK/theirs.json" <<'PY'
import json, sys
ours = json.load(open(sys.argv[1]))
theirs = json.load(open(sys.argv[2]))
a = {(adv["id"], f["package"]["name"], f["package"]["version"])
     for f in ours["findings"] + ours["warnings"] for adv in f["advisories"]}
b = {(v["advisory"]["id"], v["package"]["name"], v["package"]["version"])
     for v in theirs["vulnerabilities"]["list"]}
b |= {(w["advisory"]["id"], w["package"]["name"], w["package"]["version"])
      for ws in theirs["warnings"].values() for w in ws if w.get("advisory")}
same = "the same" if a == b else f"DIFFERENT ({len(a - b)} only opsward, {len(b - a)} only cargo-audit)"
print(f"{len(b)} advisory hits; opsward {len(a)}: {same}")
PY
)
echo "| cargo-audit: the same Cargo.lock | $as | $amb | $verdict |"
echo
echo "Cargo.lock side by side: opsward ${mb} MiB peak RSS, cargo-audit ${amb} MiB; results: ${verdict#*: }"
