#!/usr/bin/env bash
# The staff site on PostgreSQL with 100,000 seeded leads (issue 14's targets): the lead
# list page (100 a page) and the dashboard, signed in, with wrk; and the server's peak RSS
# serving them against serving the API's list alone.
#
#   benches/http/admin.sh                     # builds the release binary first
#   DURATION=10 CONNECTIONS=8 BIN=target/release/exit3-server benches/http/admin.sh
#
# Needs PostgreSQL on 127.0.0.1:5432 (trust auth, user postgres), wrk, curl, psql.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
DURATION="${DURATION:-10}"
CONNECTIONS="${CONNECTIONS:-8}"
ROWS="${ROWS:-100000}"
PG="${PG_BASE:-postgres://postgres@127.0.0.1:5432}"
DB=exit3_admin_bench
PORT="${PORT:-8010}"
KEY=exit3-bench-key-0123456789abcdef0123456789abcdef
PASSWORD="a long password for the staff site"
WORK="$(mktemp -d /tmp/exit3-admin-bench.XXXXXX)"
if [ -z "${BIN:-}" ]; then
  (cd "$ROOT" && cargo build -q --release -p exit3-server)
  BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/exit3-server"
fi

psql "$PG/postgres" -Xq -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
export DATABASE_URL="$PG/$DB" BASIC_API_KEY="$KEY" THROTTLE_ADMIN=off LOG_LEVEL=warn \
  SECRET_KEY=exit3-admin-bench-secret-key-not-for-production BIND="127.0.0.1:$PORT"
"$BIN" migrate >/dev/null
psql "$DATABASE_URL" -Xq -v rows="$ROWS" -f "$HERE/seed_exit3.sql"
echo "$PASSWORD" | "$BIN" createsuperuser --username bench --email bench@example.com \
  --password-stdin

run_server() {
  "$BIN" serve --no-migrate >"$WORK/server.log" 2>&1 &
  PID=$!
  for _ in $(seq 1 100); do
    curl -fs -o /dev/null "http://127.0.0.1:$PORT/backend/health/" && return 0
    sleep 0.2
  done
  echo "the server did not start" >&2; exit 1
}
stop_server() { kill "$PID"; wait "$PID" 2>/dev/null || true; }
peak() { awk '/VmHWM/ {printf "%.1f MiB", $2 / 1024}' "/proc/$PID/status"; }

bench() { # name url [header]
  local out
  wrk -t2 -c"$CONNECTIONS" -d3s ${3:+-H "$3"} "$2" >/dev/null
  out="$(wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency ${3:+-H "$3"} "$2")"
  printf '%-24s %10s req/s   p50 %8s   p99 %8s   peak RSS %s\n' "$1" \
    "$(awk '/Requests\/sec/ {print $2}' <<<"$out")" \
    "$(awk '$1 == "50%" {print $2}' <<<"$out")" \
    "$(awk '$1 == "99%" {print $2}' <<<"$out")" "$(peak)"
}

echo "== machine: $(nproc) cores; PostgreSQL $(psql "$PG/postgres" -XAtc 'SHOW server_version'); $ROWS leads"
# The API alone first (its peak RSS is the baseline), in a fresh process.
run_server
bench "API leads/?page_size=100" "http://127.0.0.1:$PORT/backend/api/v1/leads/?page_size=100" \
  "Authorization: Basic $KEY"
stop_server

# The staff site in another fresh process: sign in as a browser would, then the pages.
run_server
jar="$WORK/cookies"
form="$(curl -fs -c "$jar" "http://127.0.0.1:$PORT/backend/admin/login/")"
csrf="$(grep -o 'name="csrfmiddlewaretoken" value="[^"]*"' <<<"$form" | head -1 | sed 's/.*value="//; s/"$//')"
curl -fs -o /dev/null -b "$jar" -c "$jar" -X POST "http://127.0.0.1:$PORT/backend/admin/login/" \
  --data-urlencode "csrfmiddlewaretoken=$csrf" --data-urlencode "username=bench" \
  --data-urlencode "password=$PASSWORD"
session="$(awk '$6 == "exit3_admin" {print $7}' "$jar")"
[ -n "$session" ] || { echo "sign-in failed" >&2; exit 1; }
cookie="Cookie: exit3_admin=$session"
bench "site leads/ (page 1)" "http://127.0.0.1:$PORT/backend/admin/leads/" "$cookie"
bench "site leads/?status=new" "http://127.0.0.1:$PORT/backend/admin/leads/?status=new" "$cookie"
bench "site leads/?search=smith" "http://127.0.0.1:$PORT/backend/admin/leads/?search=smith" "$cookie"
bench "site dashboard" "http://127.0.0.1:$PORT/backend/admin/" "$cookie"
stop_server
rm -rf "$WORK"
