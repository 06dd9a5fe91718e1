#!/usr/bin/env bash
# Where a create's CPU goes (issue 16): the release server on PostgreSQL with everything a
# production create does (throttle state in the database, a webhook endpoint listening
# for every event, a staff notification address, the history), under wrk's create load
# (load.lua: the public key, a random X-Forwarded-For each request); then the CPU time
# of the server, of PostgreSQL's processes and of wrk per request, from /proc, and the WAL
# PostgreSQL wrote per request.
#
#   BIN=target/release/exit3-server benches/http/cpu_split.sh
#   knobs: DURATION=10 CONNECTIONS=32 ROWS=100000 EXTRA_ENV="NAME=value …"
#          SETUP_SQL="…" (run on the database after the seed, e.g. to try an index setting)
#          MODE=subscribe (the newsletter form instead: each request a new address)
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
DURATION="${DURATION:-10}"
MODE="${MODE:-create}"
case "$MODE" in create) PATH_="leads/" ;; subscribe) PATH_="newsletter/" ;; *) echo "MODE: create or subscribe" >&2; exit 2 ;; esac
CONNECTIONS="${CONNECTIONS:-32}"
ROWS="${ROWS:-100000}"
PG="${PG_BASE:-postgres://postgres@127.0.0.1:5432}"
DB=exit3_cpu_split
PORT="${PORT:-8012}"
ADMIN=exit3-bench-key-0123456789abcdef0123456789abcdef
PUBLIC=exit3-bench-public-key-0123456789abcdef
WORK="$(mktemp -d /tmp/exit3-cpu.XXXXXX)"
BIN="${BIN:-$ROOT/target/release/exit3-server}"
psql "$PG/postgres" -Xq -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
# shellcheck disable=SC2086
env BASIC_API_KEY="$ADMIN" PUBLIC_API_KEY="$PUBLIC" TRUSTED_PROXIES=127.0.0.1 THROTTLE_ADMIN=off \
  SECRET_KEY=exit3-cpu-split-secret-key-not-for-production DATABASE_URL="$PG/$DB" \
  BIND=127.0.0.1:$PORT WORKER=off WEBHOOK_ALLOW_PRIVATE=true LEAD_NOTIFY_EMAILS=sales@exit3.example \
  ${EXTRA_ENV:-} "$BIN" serve >"$WORK/server.log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -fs -o /dev/null "http://127.0.0.1:$PORT/backend/health/" && break; sleep 0.2; done
curl -fsS -o /dev/null -X POST "http://127.0.0.1:$PORT/backend/api/v1/webhooks/" \
  -H "Authorization: Basic $ADMIN" -H 'Content-Type: application/json' \
  -d '{"url": "http://127.0.0.1:9/hook", "events": ["*"]}'
psql "$PG/$DB" -Xq -v rows="$ROWS" -f "$HERE/seed_exit3.sql" >/dev/null
[ -n "${SETUP_SQL:-}" ] && psql "$PG/$DB" -Xq -c "$SETUP_SQL"
psql "$PG/postgres" -XqAc CHECKPOINT
wrk -t2 -c"$CONNECTIONS" -d3s -s "$HERE/load.lua" "http://127.0.0.1:$PORT/backend/api/v1/$PATH_" -- "$MODE" "$PUBLIC" >/dev/null

ticks() { # utime+stime of the given pids, in clock ticks
  local sum=0 p
  for p in "$@"; do
    [ -r "/proc/$p/stat" ] || continue
    sum=$((sum + $(awk '{print $14 + $15}' "/proc/$p/stat")))
  done
  echo "$sum"
}
pg_pids() { pgrep -d' ' -f '^postgres' || true; }
# Busy ticks of all CPUs (user, nice, system, irq, softirq, steal).
total() { awk '/^cpu / {print $2+$3+$4+$7+$8+$9}' /proc/stat; }
# Per statement, when pg_stat_statements is loaded (shared_preload_libraries).
STATEMENTS=""
if psql "$PG/$DB" -XAtc "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" >/dev/null 2>&1 \
   && psql "$PG/$DB" -XAtc "SELECT pg_stat_statements_reset()" >/dev/null 2>&1; then
  STATEMENTS=1
fi
lsn0=$(psql "$PG/$DB" -XAtc "SELECT pg_current_wal_lsn()")
s0=$(ticks $PID); p0=$(ticks $(pg_pids)); t0=$(total)
wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" -s "$HERE/load.lua" "http://127.0.0.1:$PORT/backend/api/v1/$PATH_" -- "$MODE" "$PUBLIC" >"$WORK/wrk.out" &
WRK=$!
sleep 1; w0=$(ticks $WRK)
wait $WRK || true
s1=$(ticks $PID); p1=$(ticks $(pg_pids)); t1=$(total)
# WAL written while wrk ran (every database of the cluster; nothing else runs here).
wal=$(psql "$PG/$DB" -XAtc "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '$lsn0')")
w1=$(awk '{print $14 + $15}' "/proc/self/stat" 2>/dev/null || echo "$w0")
line=$(grep '^RESULT' "$WORK/wrk.out")
echo "$line"
n=$(sed 's/.*requests=\([0-9]*\).*/\1/' <<<"$line")
hz=$(getconf CLK_TCK)
awk -v w="$wal" -v s=$((s1 - s0)) -v p=$((p1 - p0)) -v t=$((t1 - t0)) -v n="$n" -v hz="$hz" -v d="$DURATION" 'BEGIN {
  ms = 1000 / hz
  printf "CPU per request: server %.3f ms, PostgreSQL %.3f ms; the machine busy %.0f%% (%.3f ms per request in all)\n",
    s * ms / n, p * ms / n, 100 * t / (d * hz * 2), t * ms / n
  printf "WAL per request: %.0f bytes\n", w / n }'
if [ -n "$STATEMENTS" ]; then
  echo "-- statements by total time (pg_stat_statements; ms per call, ms per request):"
  psql "$PG/$DB" -XAt -F' | ' <<SQL
    SELECT calls, round(mean_exec_time::numeric, 3), round((total_exec_time / $n)::numeric, 3),
           left(regexp_replace(query, '\s+', ' ', 'g'), 110)
    FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
    ORDER BY total_exec_time DESC LIMIT 8;
SQL
fi
psql "$PG/$DB" -XAtc "SELECT count(*) AS leads, (SELECT count(*) FROM outbox) AS outbox, (SELECT count(*) FROM history) AS history FROM leads"
