#!/usr/bin/env bash
# Instructions per request of exit3-server builds under callgrind: a deterministic count
# where wall-clock runs on a shared 2-core machine differ by more than the change being
# measured (see BENCHMARKS.md).
#
#   benches/http/callgrind.sh                         # this checkout's release build
#   benches/http/callgrind.sh before=/tmp/old/exit3-server now=target/release/exit3-server
#   SCENARIOS="create" N=2000 benches/http/callgrind.sh ...
#
# Scenarios, on the memory store (no database: the server's own work only), each over one
# keep-alive connection (one curl process), the same requests as benches/http/load.sh:
#   health  GET /backend/health/
#   list    GET leads/?status=new (page 1 of 50) on SEED (2,000) leads, 400 new; admin key
#   create  POST leads/ (the 11-field form), public key, a distinct X-Forwarded-For each,
#           default rates (throttling on)
# For each build and scenario the server runs under valgrind: start-up, seeding and 20
# warm-up requests, then the counters are zeroed (callgrind_control -z) and N (2,000)
# requests sent; instructions per request = the count at exit / N. Background tasks are
# off (WORKER=off, maintenance hourly) so that time spent under valgrind adds nothing.
# Two runs of one build agree within about 2 %. Needs valgrind and curl.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
N="${N:-2000}"
SEED="${SEED:-2000}"
SCENARIOS="${SCENARIOS:-health list create}"
PORT="${PORT:-18090}"
ADMIN_KEY=exit3-bench-key-0123456789abcdef0123456789abcdef
PUBLIC_KEY=exit3-bench-public-key-0123456789abcdef
WORK="$(mktemp -d /tmp/exit3-callgrind.XXXXXX)"
BODY='{"full_name":"Ada Lovelace","position":"CTO","company_name":"Analytical Engines","email":"ada@example.com","phone":"+44 20 7946 0958","message":"We would like to talk about a new project.","source":"website","category":"consulting","utm_source":"google","utm_medium":"cpc","utm_campaign":"spring"}'

command -v valgrind >/dev/null || { echo "valgrind is needed (apt-get install valgrind)" >&2; exit 1; }

BUILDS=("$@")
if [ ${#BUILDS[@]} -eq 0 ]; then
  (cd "$ROOT" && cargo build -q --release -p exit3-server)
  BUILDS=("now=${CARGO_TARGET_DIR:-$ROOT/target}/release/exit3-server")
fi

# A curl config of COUNT requests of SCENARIO (curl reuses one connection for them all).
requests() {
  local scenario=$1 count=$2 base="http://127.0.0.1:$PORT" i
  for i in $(seq 1 "$count"); do
    case $scenario in
      health) printf 'url = "%s/backend/health/"\n' "$base" ;;
      list)
        printf 'url = "%s/backend/api/v1/leads/?status=new"\nheader = "Authorization: Basic %s"\n' \
          "$base" "$ADMIN_KEY" ;;
      create)
        printf 'url = "%s/backend/api/v1/leads/"\nheader = "Authorization: Basic %s"\n' \
          "$base" "$PUBLIC_KEY"
        printf 'header = "Content-Type: application/json"\nheader = "X-Forwarded-For: 10.%d.%d.%d"\n' \
          $((i / 65536 % 256)) $((i / 256 % 256)) $((i % 256))
        printf 'header = "User-Agent: Mozilla/5.0 (X11; Linux x86_64) curl"\nheader = "Referer: https://exit3.example/contact"\n'
        printf "data = \"%s\"\n" "${BODY//\"/\\\"}" ;;
    esac
    printf 'output = "/dev/null"\n'
    [ "$i" -lt "$count" ] && printf 'next\n'
  done
  return 0
}

# SEED leads, one in five `new`, through the admin key (not throttled).
seed() {
  local base="http://127.0.0.1:$PORT" i statuses=(new contacted qualified converted lost)
  for i in $(seq 1 "$SEED"); do
    printf 'url = "%s/backend/api/v1/leads/"\nheader = "Authorization: Basic %s"\n' "$base" "$ADMIN_KEY"
    printf 'header = "Content-Type: application/json"\n'
    printf 'data = "{\\"full_name\\":\\"Lead %d\\",\\"position\\":\\"CTO\\",\\"email\\":\\"lead%d@example.com\\",\\"status\\":\\"%s\\"}"\n' \
      "$i" "$i" "${statuses[$((i % 5))]}"
    printf 'output = "/dev/null"\n'
    [ "$i" -lt "$SEED" ] && printf 'next\n'
  done
  return 0
}

# measure BINARY SCENARIO COUNT: the program's total instructions.
measure() {
  local bin=$1 scenario=$2 count=$3 out="$WORK/callgrind.out"
  rm -f "$out"
  env -i PATH="$PATH" BASIC_API_KEY="$ADMIN_KEY" PUBLIC_API_KEY="$PUBLIC_KEY" \
    TRUSTED_PROXIES=127.0.0.1 THROTTLE_ADMIN=off WORKER=off MAINTENANCE_INTERVAL=1h \
    LOG_LEVEL=warn SECRET_KEY=exit3-callgrind-secret-key-not-for-production-0123456789 \
    BIND="127.0.0.1:$PORT" \
    valgrind --tool=callgrind --callgrind-out-file="$out" "$bin" serve \
    >"$WORK/server.log" 2>&1 &
  local pid=$!
  for _ in $(seq 1 240); do
    curl -fs -o /dev/null "http://127.0.0.1:$PORT/backend/health/" && break
    sleep 0.5
  done
  [ "$scenario" = list ] && seed | curl -s -K -
  requests "$scenario" 20 | curl -s -K -
  callgrind_control -z "$pid" >/dev/null 2>&1
  requests "$scenario" "$count" | curl -s -K -
  kill -TERM "$pid"; wait "$pid" || true
  awk '/^(summary|totals):/ {print $2; exit}' "$out"
}

printf '%-10s %-8s %14s\n' build scenario instr/request
for pair in "${BUILDS[@]}"; do
  label=${pair%%=*} bin=${pair#*=}
  for scenario in $SCENARIOS; do
    total=$(measure "$bin" "$scenario" "$N")
    printf '%-10s %-8s %14d\n' "$label" "$scenario" $(( total / N ))
  done
done
rm -rf "$WORK"
