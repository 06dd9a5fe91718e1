#!/usr/bin/env bash
# Durability under a database crash (issue 16): creates go on from 16 client threads
# while PostgreSQL is killed (SIGKILL to the postmaster and every backend: no shutdown,
# no flush) and restarted; then every lead the server acknowledged with a 201 must be in
# the table. Group commit answers a create only after its batch's commit returned, and
# a commit returns after its WAL reached the disk (synchronous_commit stays on for
# leads), so the count of missing leads must be 0.
#
#   benches/http/kill.sh           # about 40 s; KILLS THE MACHINE'S POSTGRESQL once
#   knobs: BEFORE=8 (s of load before the kill) DOWN=3 (s down) AFTER=6 THREADS=16
# Needs root (pg_ctlcluster), PostgreSQL 15 on 127.0.0.1:5432 (trust auth, user postgres),
# python3, and the release build of exit3-server (built here).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
BEFORE="${BEFORE:-8}" DOWN="${DOWN:-3}" AFTER="${AFTER:-6}" THREADS="${THREADS:-16}"
PG=postgres://postgres@127.0.0.1:5432
DB=exit3_kill
PORT="${PORT:-8013}"
PUBLIC=exit3-kill-public-key-0123456789abcdef
WORK="$(mktemp -d /tmp/exit3-kill.XXXXXX)"
CLUSTER="$(ls /etc/postgresql)"
(cd "$ROOT" && cargo build -q --release -p exit3-server)
psql "$PG/postgres" -Xq -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
env PUBLIC_API_KEY="$PUBLIC" BASIC_API_KEY=exit3-kill-admin-key-0123456789abcdef \
  TRUSTED_PROXIES=127.0.0.1 SECRET_KEY=exit3-kill-secret-key-not-for-production \
  DATABASE_URL="$PG/$DB" BIND=127.0.0.1:$PORT WORKER=off \
  "$ROOT/target/release/exit3-server" serve >"$WORK/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true; touch "$WORK/stop"; pg_ctlcluster --skip-systemctl-redirect "$CLUSTER" main start 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -fs -o /dev/null "http://127.0.0.1:$PORT/backend/health/" && break; sleep 0.2; done
python3 "$HERE/kill_client.py" "http://127.0.0.1:$PORT/backend/api/v1/leads/" "$PUBLIC" \
  "$THREADS" "$WORK/stop" >"$WORK/acked" 2>"$WORK/client.err" &
CLIENT=$!
sleep "$BEFORE"
postmaster=$(head -1 "/var/lib/postgresql/$CLUSTER/main/postmaster.pid")
before_kill=$(wc -l <"$WORK/acked")
echo "killing PostgreSQL (postmaster $postmaster and its backends) after $before_kill acknowledged creates"
pkill -9 -P "$postmaster" || true
kill -9 "$postmaster"
sleep "$DOWN"
pg_ctlcluster --skip-systemctl-redirect "$CLUSTER" main start
for _ in $(seq 1 100); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 0.2; done
echo "PostgreSQL is up again"
sleep "$AFTER"
touch "$WORK/stop"
wait $CLIENT
cat "$WORK/client.err"
sort -n "$WORK/acked" >"$WORK/acked.sorted"
acked=$(wc -l <"$WORK/acked.sorted")
psql "$PG/$DB" -XAtc "SELECT id FROM leads ORDER BY id" >"$WORK/stored"
stored=$(wc -l <"$WORK/stored")
missing=$(comm -23 <(sort "$WORK/acked.sorted") <(sort "$WORK/stored") | wc -l)
echo "acknowledged (201): $acked; rows after the restart: $stored; acknowledged but missing: $missing"
echo "files: $WORK"
[ "$missing" -eq 0 ]
