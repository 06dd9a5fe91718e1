#!/usr/bin/env bash
# The CSV export on PostgreSQL (issue 15's benchmark): GET leads/export.csv over
# ROWS seeded leads (default 1,000,000), through the release server: rows/s, MB/s,
# and the server's RSS before, during (sampled every 50 ms) and its VmHWM after.
#
#   benches/http/export.sh                     # builds the release binary first
#   ROWS=1000000 BIN=target/release/exit3-server benches/http/export.sh
#
# Needs PostgreSQL on 127.0.0.1:5432 (trust auth, user postgres), curl, psql.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
ROWS="${ROWS:-1000000}"
PG="${PG_BASE:-postgres://postgres@127.0.0.1:5432}"
DB=exit3_export_bench
PORT="${PORT:-8011}"
KEY=exit3-bench-key-0123456789abcdef0123456789abcdef
WORK="$(mktemp -d /tmp/exit3-export-bench.XXXXXX)"
if [ -z "${BIN:-}" ]; then
  (cd "$ROOT" && cargo build -q --release -p exit3-server)
  BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/exit3-server"
fi

psql "$PG/postgres" -Xq -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
export DATABASE_URL="$PG/$DB" BASIC_API_KEY="$KEY" THROTTLE_ADMIN=off LOG_LEVEL=warn \
  SECRET_KEY=exit3-export-bench-secret-key-not-for-production BIND="127.0.0.1:$PORT" \
  REQUEST_TIMEOUT=600s
"$BIN" migrate >/dev/null
echo "== seeding $ROWS leads"
psql "$DATABASE_URL" -Xq -v rows="$ROWS" -f "$HERE/seed_exit3.sql" >/dev/null

"$BIN" serve --no-migrate >"$WORK/server.log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null || true; rm -rf "$WORK"' EXIT
for _ in $(seq 1 100); do
  curl -fs -o /dev/null "http://127.0.0.1:$PORT/backend/health/" && break
  sleep 0.2
done
rss() { awk '/VmRSS/ {print $2}' "/proc/$PID/status"; }
# One small export first, so that the connections and the code are warm.
curl -fs -o /dev/null -H "Authorization: Basic $KEY" \
  "http://127.0.0.1:$PORT/backend/api/v1/leads/export.csv?status=new&created_after=2100-01-01"
before="$(rss)"

run() { # label query
  local peak=0 out
  ( while kill -0 "$PID" 2>/dev/null; do rss; sleep 0.05; done ) >"$WORK/rss" &
  local sampler=$!
  out="$(curl -fsS -o "$WORK/out.csv" -w '%{size_download} %{time_total}' \
    -H "Authorization: Basic $KEY" "http://127.0.0.1:$PORT/backend/api/v1/leads/export.csv$2")"
  kill "$sampler"; wait "$sampler" 2>/dev/null || true
  peak="$(sort -n "$WORK/rss" | tail -1)"
  local lines
  lines="$(python3 -c 'import csv,sys; print(sum(1 for _ in csv.reader(open(sys.argv[1], newline="", encoding="utf-8-sig"))) - 1)' "$WORK/out.csv")"
  read -r bytes secs <<<"$out"
  awk -v l="$1" -v n="$lines" -v b="$bytes" -v s="$secs" -v p="$peak" -v r="$before" 'BEGIN {
    printf "%-28s %9d rows  %7.1f MB  %6.2f s  %9.0f rows/s  %6.1f MB/s  RSS %.1f MiB idle, %.1f MiB peak\n",
      l, n, b / 1e6, s, n / s, b / 1e6 / s, r / 1024, p / 1024 }'
}

echo "== machine: $(nproc) cores; PostgreSQL $(psql "$PG/postgres" -XAtc 'SHOW server_version')"
run "all leads (-created_at)" ""
run "all leads (full_name)" "?ordering=full_name"
run "status=new (-created_at)" "?status=new"
awk '/VmHWM/ {printf "server VmHWM over the run: %.1f MiB\n", $2 / 1024}' "/proc/$PID/status"
