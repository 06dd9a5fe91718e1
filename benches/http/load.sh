#!/usr/bin/env bash
# HTTP load test of exit3-server (PostgreSQL and memory stores) side by side with the
# Django peer, a bare poem handler and pgbench, in one run on this machine.
#
#   benches/http/load.sh            # everything (about 20 minutes with Django)
#   DURATION=10 WARMUP=3 CONNECTIONS=32 ROUNDS=3 NO_DJANGO=1 benches/http/load.sh
#   BASELINES="before=/tmp/old/exit3-server" benches/http/load.sh
#                                   # also earlier builds, same scenarios, same run
#
# Each scenario runs ROUNDS times (default 3) over every system, in alternating order, and
# the summary at the end is each system's median.
# Scenarios (wrk, CONNECTIONS connections, WARMUP s warm-up then DURATION s measured):
#   health  GET /backend/health/
#   list    GET leads/?status=new (page 1 of 50) on 100,000 seeded leads, 20,000 new,
#           each with client_info; admin key, THROTTLE_ADMIN=off
#   create  POST leads/ (11-field form) with the public key, X-Forwarded-For random in
#           10.0.0.0/8, TRUSTED_PROXIES=127.0.0.1, default rates (throttling fully on);
#           also on PostgreSQL with a webhook endpoint and LEAD_NOTIFY_EMAILS configured
#           (exit3-postgres+events: each create writes its event rows; WORKER=off)
#   subscribe  POST newsletter/ with the public key, each request a new address from a
#           random X-Forwarded-For (exit3: double opt-in, so each writes its confirmation
#           mail; the peer has no double opt-in)
# plus pgbench running the creates' SQL (create.pgbench) one per transaction at the same
# client count and in batches of 16 on 3 clients,
# and the bare poem handler (examples/bare_poem.rs) answering the create's JSON.
# Prints requests/s, p50/p99 latency and each server's peak RSS (the most resident
# memory sampled during the scenario, summed over gunicorn's process tree for Django;
# VmHWM at the end). Needs root for apt-get when wrk or the PostgreSQL client is missing,
# PostgreSQL on 127.0.0.1:5432 (trust auth, user postgres), python3 with venv for Django.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
DURATION="${DURATION:-10}"
WARMUP="${WARMUP:-3}"
CONNECTIONS="${CONNECTIONS:-32}"
ROUNDS="${ROUNDS:-3}"
ROWS="${ROWS:-100000}"
PG="${PG_BASE:-postgres://postgres@127.0.0.1:5432}"
DB=exit3_bench
ADMIN_KEY=exit3-bench-key-0123456789abcdef0123456789abcdef   # the peer's key too
PUBLIC_KEY=exit3-bench-public-key-0123456789abcdef
PORT_PG=8000 PORT_DJANGO=8001 PORT_BARE=8002 PORT_MEM=8003 PORT_MEM_LIST=8004 PORT_EVENTS=8005
WORK="$(mktemp -d /tmp/exit3-load.XXXXXX)"
RESULTS="$WORK/results.tsv"
PIDS=()
PEER=""

# --- tools -------------------------------------------------------------------------------
need_apt() {
  local missing=()
  for pair in "$@"; do
    command -v "${pair%%:*}" >/dev/null || missing+=("${pair#*:}")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "installing ${missing[*]} (Debian packages)"
    apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}
need_apt wrk:wrk psql:postgresql-client pgbench:postgresql-client python3:python3 curl:curl
pg_isready -h 127.0.0.1 -p 5432 -q || { echo "PostgreSQL is not up on 127.0.0.1:5432" >&2; exit 1; }

cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  if [ -n "$PEER" ] && [ -x "$PEER/stop.sh" ]; then "$PEER/stop.sh" >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT

echo "== machine"
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //') x $(nproc)"
echo "memory: $(free -m | awk '/Mem:/ {print $2}') MiB; kernel $(uname -r)"
echo "postgres: $(psql "$PG/postgres" -XAtc 'SHOW server_version')"
echo "load before: $(uptime)"

echo "== build (release)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
(cd "$ROOT" && cargo build -q --release -p exit3-server && cargo build -q --release --example bare_poem)
BIN="$CARGO_TARGET_DIR/release"

wait_http() {
  for _ in $(seq 1 120); do
    curl -fs -o /dev/null "$1" && return 0
    sleep 0.5
  done
  echo "no answer from $1" >&2; return 1
}

# Most resident memory (kB) of the process trees rooted at the given PIDs, sampled every
# 100 ms into $1 until $1.stop exists.
sample_rss() {
  local out="$1"; shift
  local peak=0
  while [ ! -e "$out.stop" ]; do
    local sum=0 pids
    pids="$* $(for p in "$@"; do pgrep -P "$p" || true; done)"
    for p in $pids; do
      local kb
      kb=$(awk '/^VmRSS:/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 0)
      sum=$((sum + ${kb:-0}))
    done
    [ "$sum" -gt "$peak" ] && peak=$sum
    echo "$peak" >"$out"
    sleep 0.1
  done
}

# Busy CPU (percent of all cores) over 2 s, from /proc/stat.
cpu_busy() {
  local a b
  a=($(head -1 /proc/stat)); sleep 2; b=($(head -1 /proc/stat))
  local idle=$(( (b[4] + b[5]) - (a[4] + a[5]) )) total=0 i
  for i in 1 2 3 4 5 6 7 8; do total=$(( total + b[i] - a[i] )); done
  echo $(( total > 0 ? 100 * (total - idle) / total : 0 ))
}

# Waits (up to QUIET_WAIT s, default 600) until other processes leave the CPUs mostly
# idle (below QUIET_BUSY %, default 20): this machine is shared with other builds.
wait_quiet() {
  local waited=0 busy
  busy=$(cpu_busy)
  while [ "$busy" -ge "${QUIET_BUSY:-20}" ] && [ "$waited" -lt "${QUIET_WAIT:-600}" ]; do
    echo "   (CPUs ${busy}% busy with other work: waiting)"
    sleep 8; waited=$((waited + 10)); busy=$(cpu_busy)
  done
  echo "   CPUs ${busy}% busy before measuring"
}

# run SCENARIO SYSTEM URL MODE KEY PID: warm-up, then the measured run with RSS sampling.
run() {
  local scenario=$1 system=$2 url=$3 mode=$4 key=$5 pid=$6
  # Every system starts with no dirty pages to write: a checkpoint falling inside one
  # system's run (and the full-page images after it) moved results by a third.
  psql "$PG/postgres" -XqAc CHECKPOINT
  wrk -t2 -c"$CONNECTIONS" -d"${WARMUP}s" -s "$HERE/load.lua" "$url" -- "$mode" "$key" >/dev/null
  local rss="$WORK/rss.$scenario.$system"
  rm -f "$rss.stop"; echo 0 >"$rss"
  sample_rss "$rss" "$pid" & local sampler=$!
  local out
  out=$(wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --timeout 5s -s "$HERE/load.lua" "$url" -- "$mode" "$key")
  touch "$rss.stop"; wait "$sampler" || true
  local line; line=$(grep '^RESULT' <<<"$out")
  local peak_kb; peak_kb=$(cat "$rss")
  printf '%s\t%s\t%s\t%s\n' "$scenario" "$system" "$line" "$peak_kb" >>"$RESULTS"
  printf '%-7s %-15s %s rss_peak_mib=%s\n' "$scenario" "$system" "${line#RESULT }" "$((peak_kb / 1024))"
}

# summarize RESULTS: per scenario and system, the median over the rounds of req/s, p50
# and p99 (each median taken on its own).
summarize() {
  python3 - "$1" <<'PY'
import re, statistics, sys
rows = {}
for line in open(sys.argv[1]):
    scenario, system, result, _ = line.rstrip("\n").split("\t")
    v = dict(re.findall(r"(\w+)=([\d.]+)", result))
    rows.setdefault((scenario, system), []).append(v)
for (scenario, system), vs in rows.items():
    med = lambda k: statistics.median(float(v[k]) for v in vs)
    print(f"{scenario:7} {system:24} rps={med('rps'):.1f} p50_ms={med('p50_ms'):.2f} "
          f"p99_ms={med('p99_ms'):.2f} rounds={len(vs)}")
PY
}

# --- Django peer --------------------------------------------------------------------------
if [ -z "${NO_DJANGO:-}" ]; then
  echo "== Django peer"
  # A copy (the peer's folder is read-only); DJANGO_PEER_COPY reuses an earlier copy
  # with its .venv.
  if [ -n "${DJANGO_PEER_COPY:-}" ] && [ -d "$DJANGO_PEER_COPY" ]; then
    PEER="$DJANGO_PEER_COPY"
  else
    PEER="$WORK/django-exit3"
    cp -r "${DJANGO_PEER:-$ROOT/../shared/peers/django-exit3}" "$PEER"
    chmod -R u+w "$PEER"
  fi
  (cd "$PEER" && THROTTLE_GENERAL=1000000/second THROTTLE_LEAD_CREATE=1000000/second \
     GUNICORN_MAX_REQUESTS=0 ./run.sh)
  psql -X -q "postgresql://exit3:exit3@127.0.0.1:5432/exit3_django" -v rows="$ROWS" -f "$PEER/seed.sql"
  DJANGO_PID=$(cat "$PEER/run/gunicorn.pid")
fi

# --- exit3 on PostgreSQL -------------------------------------------------------------------
echo "== exit3-server on PostgreSQL ($DB)"
psql "$PG/postgres" -Xq -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
common_env=(BASIC_API_KEY="$ADMIN_KEY" PUBLIC_API_KEY="$PUBLIC_KEY" TRUSTED_PROXIES=127.0.0.1
            THROTTLE_ADMIN=off DEBUG=false SECRET_KEY=exit3-load-test-secret-key-not-for-production)
env "${common_env[@]}" DATABASE_URL="$PG/$DB" BIND=127.0.0.1:$PORT_PG \
  "$BIN/exit3-server" serve >"$WORK/exit3-pg.log" 2>&1 &
PG_PID=$!; PIDS+=("$PG_PID")
wait_http "http://127.0.0.1:$PORT_PG/backend/health/"
psql "$PG/$DB" -Xq -v rows="$ROWS" -f "$HERE/seed_exit3.sql"

# --- exit3 on PostgreSQL with events ---------------------------------------------------------
# Create only: a webhook endpoint and a staff address are configured, so that every create
# also writes its `lead.created` delivery row and its notification mail (capture.md §3).
# Its own database (the endpoint is data); WORKER=off: the write path alone.
EVENTS_DB="${DB}_events"
echo "== exit3-server on PostgreSQL with a webhook endpoint and LEAD_NOTIFY_EMAILS ($EVENTS_DB)"
psql "$PG/postgres" -Xq -c "DROP DATABASE IF EXISTS $EVENTS_DB WITH (FORCE)" -c "CREATE DATABASE $EVENTS_DB"
env "${common_env[@]}" DATABASE_URL="$PG/$EVENTS_DB" BIND=127.0.0.1:$PORT_EVENTS WORKER=off \
  WEBHOOK_ALLOW_PRIVATE=true LEAD_NOTIFY_EMAILS=sales@exit3.example \
  "$BIN/exit3-server" serve >"$WORK/exit3-pg-events.log" 2>&1 &
EVENTS_PID=$!; PIDS+=("$EVENTS_PID")
wait_http "http://127.0.0.1:$PORT_EVENTS/backend/health/"
curl -fsS -o /dev/null -X POST "http://127.0.0.1:$PORT_EVENTS/backend/api/v1/webhooks/" \
  -H "Authorization: Basic $ADMIN_KEY" -H 'Content-Type: application/json' \
  -d '{"url": "http://127.0.0.1:9/hook", "events": ["lead.created"]}'
psql "$PG/$EVENTS_DB" -Xq -v rows="$ROWS" -f "$HERE/seed_exit3.sql"

# --- exit3 in memory ------------------------------------------------------------------------
# Two instances: one with the default rates for health and create, and one for the list,
# seeded over HTTP with the admin key — admin creates also count against `lead_create`
# (10/hour per key), so that instance runs with THROTTLE_LEAD_CREATE=off.
echo "== exit3-server in memory"
env "${common_env[@]}" BIND=127.0.0.1:$PORT_MEM \
  "$BIN/exit3-server" serve >"$WORK/exit3-mem.log" 2>&1 &
MEM_PID=$!; PIDS+=("$MEM_PID")
env "${common_env[@]}" THROTTLE_LEAD_CREATE=off BIND=127.0.0.1:$PORT_MEM_LIST \
  "$BIN/exit3-server" serve >"$WORK/exit3-mem-list.log" 2>&1 &
MEM_LIST_PID=$!; PIDS+=("$MEM_LIST_PID")
wait_http "http://127.0.0.1:$PORT_MEM/backend/health/"
wait_http "http://127.0.0.1:$PORT_MEM_LIST/backend/health/"
python3 "$HERE/seed_memory.py" "http://127.0.0.1:$PORT_MEM_LIST" "$ADMIN_KEY" "$ROWS"

# --- earlier builds (BASELINES="label=path ..."), each on its own database and memory -----
BASE_LABELS=()
declare -A BASE_PG_PORT BASE_PG_PID BASE_MEM_PORT BASE_MEM_PID BASE_LIST_PORT BASE_LIST_PID
port=8100
for pair in ${BASELINES:-}; do
  label=${pair%%=*} bin=${pair#*=}
  echo "== baseline $label: $bin"
  BASE_LABELS+=("$label")
  db="${DB}_${label//[^a-z0-9]/_}"
  psql "$PG/postgres" -Xq -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db"
  BASE_PG_PORT[$label]=$port BASE_MEM_PORT[$label]=$((port + 1)) BASE_LIST_PORT[$label]=$((port + 2))
  env "${common_env[@]}" DATABASE_URL="$PG/$db" BIND=127.0.0.1:$port \
    "$bin" serve >"$WORK/$label-pg.log" 2>&1 &
  BASE_PG_PID[$label]=$!; PIDS+=("$!")
  env "${common_env[@]}" BIND=127.0.0.1:$((port + 1)) "$bin" serve >"$WORK/$label-mem.log" 2>&1 &
  BASE_MEM_PID[$label]=$!; PIDS+=("$!")
  env "${common_env[@]}" THROTTLE_LEAD_CREATE=off BIND=127.0.0.1:$((port + 2)) \
    "$bin" serve >"$WORK/$label-mem-list.log" 2>&1 &
  BASE_LIST_PID[$label]=$!; PIDS+=("$!")
  wait_http "http://127.0.0.1:$port/backend/health/"
  wait_http "http://127.0.0.1:$((port + 1))/backend/health/"
  wait_http "http://127.0.0.1:$((port + 2))/backend/health/"
  psql "$PG/$db" -Xq -v rows="$ROWS" -f "$HERE/seed_exit3.sql"
  python3 "$HERE/seed_memory.py" "http://127.0.0.1:$((port + 2))" "$ADMIN_KEY" "$ROWS"
  port=$((port + 10))
done

# --- bare poem ------------------------------------------------------------------------------
"$BIN/examples/bare_poem" --serve 127.0.0.1:$PORT_BARE >"$WORK/bare.log" 2>&1 &
BARE_PID=$!; PIDS+=("$BARE_PID")
wait_http "http://127.0.0.1:$PORT_BARE/backend/api/v1/leads/"

echo "== load before measuring: $(uptime)"
LEADS=/backend/api/v1/leads/
: >"$RESULTS"
NEWSLETTER=/backend/api/v1/newsletter/
for scenario in health list create subscribe; do
  wait_quiet
  systems=(django)
  for label in "${BASE_LABELS[@]}"; do systems+=("exit3-postgres@$label"); done
  systems+=(exit3-postgres exit3-postgres+events)
  for label in "${BASE_LABELS[@]}"; do systems+=("exit3-memory@$label"); done
  systems+=(exit3-memory bare-poem)
  # Rounds alternate the order (forwards, backwards, …): whatever the machine does in
  # the background, or what a run leaves behind (dirty pages, autovacuum, WAL), falls on
  # every system alike, and the summary takes each system's median.
  for round in $(seq 1 "$ROUNDS"); do
  order=("${systems[@]}")
  if [ $((round % 2)) -eq 0 ]; then
    order=(); for ((i = ${#systems[@]} - 1; i >= 0; i--)); do order+=("${systems[$i]}"); done
  fi
  for system in "${order[@]}"; do
    list_port="" list_pid=""
    case $system in
      django) [ -n "${NO_DJANGO:-}" ] && continue; port=$PORT_DJANGO pid=${DJANGO_PID} ;;
      exit3-postgres) port=$PORT_PG pid=$PG_PID ;;
      exit3-postgres+events) [ "$scenario" = create ] || continue
        port=$PORT_EVENTS pid=$EVENTS_PID ;;
      exit3-memory) port=$PORT_MEM pid=$MEM_PID list_port=$PORT_MEM_LIST list_pid=$MEM_LIST_PID ;;
      exit3-postgres@*) l=${system#*@}; port=${BASE_PG_PORT[$l]} pid=${BASE_PG_PID[$l]} ;;
      exit3-memory@*) l=${system#*@}; port=${BASE_MEM_PORT[$l]} pid=${BASE_MEM_PID[$l]}
        list_port=${BASE_LIST_PORT[$l]} list_pid=${BASE_LIST_PID[$l]} ;;
      bare-poem) [ "$scenario" = create ] || continue; port=$PORT_BARE pid=$BARE_PID ;;
    esac
    case $scenario in
      health) run health "$system" "http://127.0.0.1:$port/backend/health/" get - "$pid" ;;
      list)
        [ -n "$list_port" ] && port=$list_port pid=$list_pid
        run list "$system" "http://127.0.0.1:$port$LEADS?status=new" get "$ADMIN_KEY" "$pid" ;;
      create)
        key=$PUBLIC_KEY; [ "$system" = django ] && key=$ADMIN_KEY   # the peer has one key
        run create "$system" "http://127.0.0.1:$port$LEADS" create "$key" "$pid" ;;
      subscribe)
        key=$PUBLIC_KEY; [ "$system" = django ] && key=$ADMIN_KEY
        run subscribe "$system" "http://127.0.0.1:$port$NEWSLETTER" subscribe "$key" "$pid" ;;
    esac
  done
  done
done

echo "== median of $ROUNDS rounds (req/s, p50 ms, p99 ms)"
summarize "$RESULTS"

echo "== pgbench: the SQL of the creates (create.pgbench, on $EVENTS_DB: events on)"
# batch=1, CONNECTIONS clients: one create per transaction, the ceiling without group
# commit; batch=16, 3 clients (the server's three writers): creates/s = tps x 16.
wait_quiet
psql "$PG/postgres" -XqAc CHECKPOINT
for shape in "1 $CONNECTIONS" "16 3"; do
  set -- $shape
  pgbench -n -M prepared -c "$2" -j 2 -T "$WARMUP" -D batch="$1" -f "$HERE/create.pgbench" \
    "$PG/$EVENTS_DB" >/dev/null
  echo "batch=$1, $2 clients:"
  pgbench -n -M prepared -c "$2" -j 2 -T "$DURATION" -D batch="$1" -f "$HERE/create.pgbench" \
    "$PG/$EVENTS_DB" | tee "$WORK/pgbench-$1.txt" | grep -E '^(tps|latency)'
done

echo "== peak RSS over the whole run (VmHWM)"
for pair in "exit3-postgres:$PG_PID" "exit3-postgres+events:$EVENTS_PID" "exit3-memory:$MEM_PID" "exit3-memory-list:$MEM_LIST_PID" \
            "bare-poem:$BARE_PID"; do
  echo "${pair%%:*}: $(awk '/^VmHWM:/ {printf "%.1f MiB", $2/1024}' "/proc/${pair#*:}/status")"
done
echo "throttle refusals (429) seen by wrk are counted as non2xx above"
echo "load after: $(uptime)"
echo "results: $RESULTS; server logs in $WORK"
