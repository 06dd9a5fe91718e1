#!/usr/bin/env bash
# Runs deploy/nginx.conf for real: Debian's nginx on loopback ports, with a self-signed
# certificate made now, in front of the real exit3-server, and checks that
#   - the client address the server records (client_info) and throttles by is the
#     visitor's: nginx appends $remote_addr to X-Forwarded-For, the server trusts nginx
#     (TRUSTED_PROXIES) and keeps the right-most untrusted address — so whatever the
#     visitor puts in X-Forwarded-For buys nothing;
#   - X-Forwarded-Proto: https from nginx counts as HTTPS (SECURE_SSL_REDIRECT=true does
#     not redirect through TLS, HSTS is sent), and plain HTTP is redirected;
#   - a body over 64 KiB gets the contract's JSON 413;
#   - a server that does not answer (stopped) gets JSON 504, one that is gone JSON 502.
# Only the listen ports, the certificate paths, the upstream address and (for the 504)
# the upstream read timeout of the shipped file are rewritten. Visitors come from 127.0.0.2 and 127.0.0.3 (curl --interface);
# nginx reaches the server from 127.0.0.1, the only trusted proxy.
#
# Usage: deploy/test-nginx.sh [path/to/exit3-server]   (builds it when not given)
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
  echo "nginx is missing: installing Debian's nginx"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nginx >/dev/null
fi
NGINX="$(command -v nginx || echo /usr/sbin/nginx)"
for tool in curl openssl; do
  command -v "$tool" >/dev/null || { echo "$tool is required" >&2; exit 1; }
done

BIN="${1:-}"
if [ -z "$BIN" ]; then
  cargo build --quiet -p exit3-server
  BIN="${CARGO_TARGET_DIR:-target}/debug/exit3-server"
fi

WORK="$(mktemp -d)"
SERVER_PID=""
cleanup() {
  [ -f "$WORK/nginx.pid" ] && kill "$(cat "$WORK/nginx.pid")" 2>/dev/null || true
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; echo "--- server log" >&2; tail -n 30 "$WORK/server.log" >&2 || true; echo "--- nginx error log" >&2; tail -n 30 "$WORK/error.log" >&2 || true; exit 1; }

ADMIN="nginx-test-admin-key-0123456789abcdef0123"
PUBLIC="nginx-test-public-key-0123456789abcdef012"

# --- the server on a random port ---------------------------------------------------------
env -i PATH="$PATH" \
  BIND=127.0.0.1:0 BASIC_API_KEY="$ADMIN" PUBLIC_API_KEY="$PUBLIC" \
  TRUSTED_PROXIES=127.0.0.1 ALLOWED_HOSTS=localhost \
  SECURE_SSL_REDIRECT=true SECURE_HSTS_SECONDS=3600 \
  THROTTLE_LEAD_CREATE=1/hour LOG_FORMAT=json \
  "$BIN" serve >"$WORK/server.out" 2>"$WORK/server.log" &
SERVER_PID=$!
APP_PORT=""
for _ in $(seq 1 100); do
  APP_PORT="$(grep -o '"addr":"127.0.0.1:[0-9]*"' "$WORK/server.log" 2>/dev/null | head -n1 | grep -o '[0-9]*"$' | tr -d '"' || true)"
  [ -n "$APP_PORT" ] && break
  kill -0 "$SERVER_PID" 2>/dev/null || fail "the server did not start"
  sleep 0.1
done
[ -n "$APP_PORT" ] || fail "the server did not say where it listens"

# --- a self-signed certificate -----------------------------------------------------------
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=localhost" \
  -addext "subjectAltName=DNS:localhost" \
  -keyout "$WORK/privkey.pem" -out "$WORK/fullchain.pem" >/dev/null 2>&1

# --- nginx with the shipped file, on free loopback ports ---------------------------------
start_nginx() {
  HTTP_PORT=$((20000 + RANDOM % 20000))
  TLS_PORT=$((HTTP_PORT + 1))
  sed -e "s|listen 80;|listen 127.0.0.1:$HTTP_PORT;|" \
      -e "s|listen \[::\]:80;||" \
      -e "s|listen 443 ssl http2;|listen 127.0.0.1:$TLS_PORT ssl http2;|" \
      -e "s|listen \[::\]:443 ssl http2;||" \
      -e "s|server server:8000;|server 127.0.0.1:$APP_PORT;|" \
      -e "s|/etc/nginx/certs/|$WORK/|g" \
      -e "s|proxy_read_timeout    30s;|proxy_read_timeout    2s;|" \
      deploy/nginx.conf >"$WORK/site.conf"
  # The shipped file must really have been rewritten (and nothing else).
  grep -q "127.0.0.1:$APP_PORT" "$WORK/site.conf" || fail "upstream not templated"
  grep -q "127.0.0.1:$TLS_PORT ssl" "$WORK/site.conf" || fail "TLS port not templated"
  grep -q "proxy_read_timeout    2s;" "$WORK/site.conf" || fail "read timeout not templated"
  # The http { } block the nginx image provides around conf.d, as a non-default prefix.
  cat >"$WORK/nginx.conf" <<CONF
worker_processes 1;
pid $WORK/nginx.pid;
error_log $WORK/error.log warn;
events { worker_connections 64; }
http {
  access_log $WORK/access.log;
  client_body_temp_path $WORK/client_body;
  proxy_temp_path $WORK/proxy;
  fastcgi_temp_path $WORK/fastcgi;
  uwsgi_temp_path $WORK/uwsgi;
  scgi_temp_path $WORK/scgi;
  include $WORK/site.conf;
}
CONF
  "$NGINX" -t -q -p "$WORK" -c "$WORK/nginx.conf" || fail "nginx -t rejected the configuration"
  "$NGINX" -p "$WORK" -c "$WORK/nginx.conf"
}
started=""
for _ in 1 2 3 4 5; do
  if start_nginx 2>>"$WORK/start.err"; then started=1; break; fi
done
[ -n "$started" ] || { cat "$WORK/start.err" >&2; fail "nginx did not start"; }
for _ in $(seq 1 50); do
  curl -sk -o /dev/null "https://localhost:$TLS_PORT/backend/health/live/" --resolve "localhost:$TLS_PORT:127.0.0.1" && break
  sleep 0.1
done

# curl as a visitor from $1 (a loopback address), through TLS.
visit() {
  local from="$1"; shift
  curl -sk --interface "$from" --resolve "localhost:$TLS_PORT:127.0.0.1" "$@"
}
LEADS="https://localhost:$TLS_PORT/backend/api/v1/leads/"
BODY='{"full_name":"Ada Lovelace","position":"CTO"}'

# 1. HTTPS through nginx: no redirect, HSTS.
headers="$(visit 127.0.0.2 -D - -o /dev/null "https://localhost:$TLS_PORT/backend/api/v1/leads/" -H "Authorization: Basic $ADMIN")"
echo "$headers" | head -n1 | grep -q " 200" || fail "HTTPS through nginx was not 200: $headers"
echo "$headers" | grep -qi '^strict-transport-security: max-age=3600; includeSubDomains' \
  || fail "no HSTS on HTTPS through nginx: $headers"
# ... and the visitor cannot fake it over plain HTTP: nginx redirects first.
code="$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' -H 'X-Forwarded-Proto: https' \
  "http://127.0.0.1:$HTTP_PORT/backend/api/v1/leads/")"
[[ "$code" == "301 https://127.0.0.1/backend/api/v1/leads/" ]] || fail "plain HTTP: $code"

# 2. The visitor's address is recorded, whatever it claims in X-Forwarded-For.
answer="$(visit 127.0.0.2 -X POST "$LEADS" -H "Authorization: Basic $PUBLIC" \
  -H 'Content-Type: application/json' -H 'X-Forwarded-For: 6.6.6.6, 198.51.100.7' -d "$BODY" \
  -w '\n%{http_code}')"
[[ "$(echo "$answer" | tail -n1)" == 201 ]] || fail "create through nginx: $answer"
echo "$answer" | head -n1 | grep -q '"ip_address":"127.0.0.2"' \
  || fail "client_info.ip_address is not the visitor's (127.0.0.2): $answer"

# 3. Throttled by the visitor's address: a new spoofed header buys no new budget ...
code="$(visit 127.0.0.2 -o /dev/null -w '%{http_code}' -X POST "$LEADS" \
  -H "Authorization: Basic $PUBLIC" -H 'Content-Type: application/json' \
  -H 'X-Forwarded-For: 198.51.100.99' -d "$BODY")"
[[ "$code" == 429 ]] || fail "a spoofed X-Forwarded-For escaped the throttle: $code"
# ... while another visitor has its own.
answer="$(visit 127.0.0.3 -X POST "$LEADS" -H "Authorization: Basic $PUBLIC" \
  -H 'Content-Type: application/json' -d "$BODY" -w '\n%{http_code}')"
[[ "$(echo "$answer" | tail -n1)" == 201 ]] || fail "second visitor: $answer"
echo "$answer" | head -n1 | grep -q '"ip_address":"127.0.0.3"' || fail "second visitor: $answer"

# 4. The body limit: JSON 413 from nginx above 64 KiB; 64 KiB exactly reaches the server.
head -c 70000 /dev/zero | tr '\0' 'a' >"$WORK/big"
answer="$(visit 127.0.0.2 -X POST "$LEADS" -H "Authorization: Basic $ADMIN" \
  -H 'Content-Type: application/json' --data-binary @"$WORK/big" -w '\n%{http_code}')"
[[ "$answer" == '{"detail":"Request body is too large."}'$'\n''413' ]] || fail "big body: $answer"

# 5. The server's request log shows the visitor, too.
grep -q '"client":"127.0.0.3"' "$WORK/server.log" || fail "the request log does not show the visitor"

# 6. The server stopped (no answer): JSON 504; the server gone: JSON 502.
kill -STOP "$SERVER_PID"
answer="$(visit 127.0.0.2 -D "$WORK/h504" "https://localhost:$TLS_PORT/backend/health/live/" -w '\n%{http_code}')"
kill -CONT "$SERVER_PID"
[[ "$answer" == '{"detail":"Service temporarily unavailable."}'$'\n''504' ]] || fail "stopped server: $answer"
grep -qi '^content-type: application/json' "$WORK/h504" || fail "504 is not JSON: $(cat "$WORK/h504")"
grep -qi '^retry-after: 5' "$WORK/h504" || fail "504 without Retry-After"
kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""
answer="$(visit 127.0.0.2 -D "$WORK/h502" "https://localhost:$TLS_PORT/backend/health/live/" -w '\n%{http_code}')"
[[ "$answer" == '{"detail":"Service temporarily unavailable."}'$'\n''502' ]] || fail "no server: $answer"
grep -qi '^content-type: application/json' "$WORK/h502" || fail "502 is not JSON: $(cat "$WORK/h502")"

echo "nginx test: OK (nginx $("$NGINX" -v 2>&1 | sed 's|.*/||'), server on :$APP_PORT, TLS on :$TLS_PORT)"
