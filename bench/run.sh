#!/usr/bin/env bash
# The standard benchmark set of docs/BENCHMARKS.md against a release build:
# flash sales at four sizes on one server, then WebSocket chat at three sizes,
# each on a fresh server process (its memory per connection is only meaningful
# on a fresh process). Single-machine mode: `convene all`, no broker, no SMTP.
# The server trusts 127.0.0.1 as a proxy and the tools send each simulated
# person's own address in X-Forwarded-For, so the per-address rate limits
# apply to each of them as they would behind a load balancer.
#
#   cargo leptos build --release && cargo build --release -p convene-bench
#   bench/run.sh [CONVENE_BINARY] [SITE_ROOT]
#
# BENCH_TOOLS names the folder of the flash-sale and ws-load binaries
# (default: the release target folder); BENCH_PORT the server's port (3300);
# BENCH_ONLY=flash-sale, webhook-load, analytics-ingest or ws-load runs one
# part; analytics-ingest needs the Kafka-protocol broker on BENCH_KAFKA
# (127.0.0.1:19092, as the test command starts it) and no server.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
target="${CARGO_TARGET_DIR:-target}"
bin="${1:-$target/release/convene}"
site="${2:-target/site}"
tools="${BENCH_TOOLS:-$target/release}"
port="${BENCH_PORT:-3300}"
pg="postgres://postgres:postgres@127.0.0.1:5432"
base="http://127.0.0.1:$port"
server_pid=""

start_server() {
  psql "$pg/postgres" -qc "DROP DATABASE IF EXISTS convene_bench WITH (FORCE)" >/dev/null
  CONVENE_DATABASE_URL="$pg/convene_bench" CONVENE_REDIS_NAMESPACE="bench-$$-$RANDOM:" \
  CONVENE_PUBLIC_URL="$base" CONVENE_WEBHOOKS__ALLOW_PRIVATE_TARGETS=true CONVENE_DEMO=false CONVENE_KAFKA__BROKERS="" CONVENE_HTTP__TRUSTED_PROXIES=127.0.0.1 \
  CONVENE_PAYMENTS__PROVIDER=test CONVENE_PAYMENTS__TEST_WEBHOOK_SECRET="bench-$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')" \
  LEPTOS_OUTPUT_NAME=convene LEPTOS_SITE_ROOT="$site" LEPTOS_SITE_PKG_DIR=pkg \
  LEPTOS_SITE_ADDR="127.0.0.1:$port" RUST_LOG=warn \
    "$bin" all >/tmp/convene-bench-server.log 2>&1 &
  server_pid=$!
  for _ in $(seq 300); do
    curl -fsS "$base/readyz" >/dev/null 2>&1 && return 0
    kill -0 "$server_pid" 2>/dev/null || { cat /tmp/convene-bench-server.log; exit 1; }
    sleep 0.2
  done
  echo "server not ready" >&2; exit 1
}
stop_server() { kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; }
trap stop_server EXIT

only="${BENCH_ONLY:-}"
wants() { [ -z "$only" ] || [ "$only" = "$1" ]; }
if wants flash-sale; then
echo "## flash-sale ($(git rev-parse --short HEAD 2>/dev/null || echo '?'), $(date -u +%F))"
start_server
for cfg in "1000 100 16" "2000 500 64" "5000 1000 128" "1000 500 1000"; do
  set -- $cfg
  echo "### buyers $1, quota $2, in flight $3"
  "$tools/flash-sale" --base-url "$base" --buyers "$1" --quota "$2" --concurrency "$3"
done
stop_server
fi

if wants webhook-load; then
echo "## webhook-load"
start_server
for cfg in "1000 1" "1000 4"; do
  set -- $cfg
  echo "### registrations $1, endpoints $2"
  "$tools/webhook-load" --base-url "$base" --messages "$1" --endpoints "$2"
done
stop_server
fi
if wants analytics-ingest; then
echo "## analytics-ingest"
for n in 20000 100000; do
  echo "### messages $n"
  "$tools/analytics-ingest" --brokers "${BENCH_KAFKA:-127.0.0.1:19092}" --database-url "$pg" --messages "$n"
done
fi
wants ws-load || exit 0
for cfg in "200 20" "500 20" "1000 20"; do
  set -- $cfg
  echo "## ws-load: clients $1, messages/s $2 (fresh server)"
  start_server
  "$tools/ws-load" --base-url "$base" --clients "$1" --rate "$2" --seconds 15 --server-pid "$server_pid"
  stop_server
done
