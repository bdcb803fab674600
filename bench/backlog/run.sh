#!/usr/bin/env bash
# The backlog at 1,000,000 items on SQLite and on PostgreSQL: seed fast (multi-row INSERTs in
# batched transactions, FTS5 triggers and the generated tsvector doing their usual work), then
# time through the real BacklogStore what the list page (filters, first and next page), the
# search box, duplicate suggestions and the aging report run: 200 queries each, p50/p99/max.
#
#   bash bench/backlog/run.sh [ITEMS] [POSTGRES_URL]
#
# PostgreSQL gets a schema of its own (dropped at the end); SQLite a temporary file.
# ITEMS defaults to 1000000, POSTGRES_URL to postgres://postgres@127.0.0.1:5432/test;
# BACKENDS=sqlite or BACKENDS=postgres runs one. To seed once and re-run only the queries
# (while changing them), keep the data: KEEP_SQLITE=/path/bench.db and/or
# KEEP_PG_SCHEMA=name; a later run with the same values skips seeding. Delete the file and
# DROP SCHEMA name CASCADE by hand when done. Each row prints as soon as it is measured,
# with the 1-minute load average.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
ITEMS=${1:-1000000}
PG=${2:-postgres://postgres@127.0.0.1:5432/test}
BACKENDS=${BACKENDS:-"sqlite postgres"}
for v in $(env | grep -o '^OPSWARD_[A-Z_]*'); do unset "$v"; done
cargo build --release -q -p opsward-backlog --example bench_backlog
bench="${CARGO_TARGET_DIR:-target}/release/examples/bench_backlog"
echo "commit $(git rev-parse --short HEAD), $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ), load $(cut -d' ' -f1-3 /proc/loadavg)"
for backend in $BACKENDS; do
  case $backend in
    sqlite) "$bench" sqlite "$ITEMS" ${KEEP_SQLITE:+--keep "$KEEP_SQLITE"} ;;
    postgres) "$bench" "$PG" "$ITEMS" ${KEEP_PG_SCHEMA:+--keep "$KEEP_PG_SCHEMA"} ;;
    *) echo "unknown backend $backend" >&2; exit 2 ;;
  esac
done
