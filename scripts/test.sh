#!/usr/bin/env bash
# Sets up whatever is missing on this machine, then runs every test:
# formatting and clippy, unit + integration tests (real PostgreSQL, Redis and a
# Kafka-protocol broker), and the Playwright end-to-end tests in Chromium.
# Idempotent. CARGO_TARGET_DIR may point at a persistent build cache.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
KAFKA_PORT="${CONVENE_TEST_KAFKA_PORT:-19092}"
E2E_PORT="${CONVENE_E2E_PORT:-3100}"
PG_URL="postgres://postgres:postgres@127.0.0.1:5432"

ensure_toolchain
ensure_postgres
ensure_redis
ensure_kafka "$KAFKA_PORT"
ensure_smtp_sink
ensure_smtp_tls_sink
ensure_turn
ensure_ffmpeg
ensure_s3

command -v psql >/dev/null || apt_install postgresql-client
command -v python3 >/dev/null || apt_install python3
command -v curl >/dev/null || apt_install curl
log "dropping databases left by earlier test runs"
for db in $(psql "$PG_URL/postgres" -Atc "SELECT datname FROM pg_database WHERE datname LIKE 'convene\_test\_%' OR datname = 'convene_e2e'"); do
  psql "$PG_URL/postgres" -qc "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null
done

log "rustfmt"
cargo fmt --all -- --check
log "architecture (crate rules, no import cycles, table owners)"
python3 scripts/check-architecture.py
log "clippy (server crates, all targets)"
cargo clippy -p protocol -p bus -p analytics -p services -p app -p media -p convene -p convene-bench --all-targets -- -D warnings
log "clippy (browser crates, wasm32)"
cargo clippy -p convene-frontend --target wasm32-unknown-unknown -- -D warnings

log "unit and integration tests"
export CONVENE_TEST_DATABASE_URL="$PG_URL" CONVENE_TEST_REDIS_URL="redis://127.0.0.1:6379"
export CONVENE_TEST_KAFKA="127.0.0.1:$KAFKA_PORT"
export CONVENE_TEST_SMTP="127.0.0.1:1025" CONVENE_TEST_SMTP_API="http://127.0.0.1:1080"
cargo test -p protocol -p bus -p analytics -p services -p app -p media -p convene 2>&1 | tee /tmp/convene-cargo-test.log
cargo_passed=$(awk '/^test result:/{s+=$4} END{print s+0}' /tmp/convene-cargo-test.log)

log "building the site (cargo leptos build)"
cargo leptos build

log "end-to-end tests (Playwright + Chromium) against convene all on 127.0.0.1:$E2E_PORT"
E2E_DB="convene_e2e"
use_test_payments
export CONVENE_DATABASE_URL="$PG_URL/$E2E_DB" CONVENE_KAFKA__BROKERS="127.0.0.1:$KAFKA_PORT"
run_id="e2e-$(date +%s)-"
export CONVENE_DEMO=true CONVENE_KAFKA__TOPIC_PREFIX="$run_id" CONVENE_REDIS_NAMESPACE="$run_id" CONVENE_PUBLIC_URL="http://127.0.0.1:$E2E_PORT"
export LEPTOS_SITE_ADDR="127.0.0.1:$E2E_PORT" CONVENE_SMTP__HOST=127.0.0.1 CONVENE_SMTP__PORT=1025
# One stage viewer over WebRTC per media node: the broadcast test's second
# viewer watches the live mix over HLS.
export CONVENE_MEDIA__MAX_WEBRTC_VIEWERS=1
# The webhooks test's receiver listens on loopback (allowed only on a
# loopback public URL).
export CONVENE_WEBHOOKS__ALLOW_PRIVATE_TARGETS=true
bin="$(target_dir)/debug/convene"
# The paths Leptos generated for the server functions the tests call.
"$bin" server-fns > end2end/server-fns.json
server_log=/tmp/convene-e2e-server.log
"$bin" all >"$server_log" 2>&1 &
server_pid=$!
trap 'kill $server_pid 2>/dev/null || true' EXIT
for _ in $(seq 300); do
  curl -fsS "http://127.0.0.1:$E2E_PORT/readyz" >/dev/null 2>&1 && break
  kill -0 $server_pid 2>/dev/null || { cat "$server_log"; die "server exited"; }
  sleep 0.2
done
curl -fsS "http://127.0.0.1:$E2E_PORT/readyz" >/dev/null || { cat "$server_log"; die "server not ready"; }
# A second web process on the next port, sharing PostgreSQL and Redis: the live
# tests put attendees on both.
E2E_PORT_2=$((E2E_PORT + 1))
LEPTOS_SITE_ADDR="127.0.0.1:$E2E_PORT_2" CONVENE_DEMO=false "$bin" serve >"$server_log.2" 2>&1 &
server2_pid=$!
trap 'kill $server_pid $server2_pid 2>/dev/null || true' EXIT
for _ in $(seq 300); do
  curl -fsS "http://127.0.0.1:$E2E_PORT_2/readyz" >/dev/null 2>&1 && break
  kill -0 $server2_pid 2>/dev/null || { cat "$server_log.2"; die "second server exited"; }
  sleep 0.2
done
set +e
(cd end2end && BASE_URL="http://127.0.0.1:$E2E_PORT" BASE_URL_2="http://127.0.0.1:$E2E_PORT_2" \
   npx playwright test --reporter=list) 2>&1 | tee /tmp/convene-e2e.log
e2e_status=${PIPESTATUS[0]}
set -e
kill $server_pid $server2_pid 2>/dev/null || true
if [ "$e2e_status" != 0 ]; then
  log "server log (tail):"; tail -50 "$server_log"
  die "end-to-end tests failed"
fi
# A panic on the server fails the run even when the page that met it recovered.
if grep -a -n "panicked" "$server_log" "$server_log.2"; then
  die "the server panicked during the end-to-end tests (above)"
fi
e2e_passed=$(grep -Eo '^ *[0-9]+ passed' /tmp/convene-e2e.log | tail -1 | grep -Eo '[0-9]+' || echo 0)
echo "tests: $((cargo_passed + e2e_passed)) passed, 0 failed"
