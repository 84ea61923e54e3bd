#!/usr/bin/env bash
# Sets up whatever is missing on this machine, then runs the whole platform
# (`convene all`: web, outbox relay, analytics, jobs, media with coturn for
# TURN; the bus is a durable log
# in PostgreSQL; emails to a local MailDev unless CONVENE_SMTP__HOST is set) on
# http://127.0.0.1:3000 with the demo event at /e/demo. Idempotent.
#   CONVENE_KAFKA__BROKERS=127.0.0.1:9092 scripts/run.sh   uses a Kafka broker instead
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
ensure_toolchain
ensure_postgres
ensure_redis
ensure_turn
ensure_ffmpeg
use_test_payments
# Emails (order confirmations, sign-in links) go to a local MailDev, readable in
# the browser, unless an SMTP relay is configured.
if [ -z "${CONVENE_SMTP__HOST:-}" ]; then
  ensure_smtp_sink
  export CONVENE_SMTP__HOST=127.0.0.1 CONVENE_SMTP__PORT=1025
  log "emails: read them at http://127.0.0.1:1080 (MailDev)"
fi
export CONVENE_DEMO=true LEPTOS_ENV="${LEPTOS_ENV:-PROD}"
log "building and starting Convene (release) on http://127.0.0.1:3000"
log "demo: http://127.0.0.1:3000/e/demo; organiser demo@convene.test / demo-password-2026"
log "payments: the test provider (card 4242 4242 4242 4242 pays; nothing is charged)"
exec cargo leptos serve --release --precompress
