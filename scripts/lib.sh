# Shared helpers of Convene's scripts (sourced, not run).
# Every function is idempotent: it checks first and only installs or starts what is missing.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

log() { printf '\033[1m[convene]\033[0m %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
APT_UPDATED=0
apt_install() {
  local missing=() p
  for p in "$@"; do
    [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)" = "install ok installed" ] || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$APT_UPDATED" = 0 ]; then log "apt-get update"; $SUDO apt-get update -qq; APT_UPDATED=1; fi
  log "apt-get install ${missing[*]}"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

wait_port() { # host port seconds what
  local i
  for i in $(seq $(( $3 * 10 ))); do port_open "$1" "$2" && return 0; sleep 0.1; done
  die "$4 did not open $1:$2 within $3 s"
}

# Rust (+ wasm32), cargo-leptos, wasm-bindgen, Chromium, npm tools.
ensure_toolchain() {
  # librdkafka is built with TLS against the system OpenSSL.
  apt_install libssl-dev pkg-config
  command -v node >/dev/null && command -v npm >/dev/null || apt_install nodejs npm
  command -v rustup >/dev/null || die "rustup is required (https://rustup.rs)"
  bash "$ROOT/scripts/setup-toolchain.sh" "$ROOT"
  vendor_assets
}

# Browser libraries from npm that pages load from /vendor/ (hls.js for HLS
# stages): copied into public/vendor/, which cargo-leptos publishes with the site.
vendor_assets() {
  mkdir -p "$ROOT/public/vendor"
  local src="$ROOT/node_modules/hls.js/dist/hls.min.js"
  [ -f "$src" ] || die "hls.js missing: run npm ci in $ROOT"
  cmp -s "$src" "$ROOT/public/vendor/hls.min.js" || cp "$src" "$ROOT/public/vendor/hls.min.js"
}

# PostgreSQL on 127.0.0.1:5432; installed from apt and started when absent.
ensure_postgres() {
  if port_open 127.0.0.1 5432; then log "PostgreSQL answers on 127.0.0.1:5432"; return 0; fi
  if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
    apt_install postgresql
    local fresh=1
  fi
  local ver; ver="$(ls /etc/postgresql | sort -V | tail -1)"
  log "starting PostgreSQL $ver"
  $SUDO pg_ctlcluster --skip-systemctl-redirect "$ver" main start || true
  wait_port 127.0.0.1 5432 30 PostgreSQL
  if [ "${fresh:-0}" = 1 ]; then
    # Our default URL is postgres://postgres:postgres@127.0.0.1; give the fresh server that password.
    $SUDO -u postgres psql -qc "ALTER USER postgres PASSWORD 'postgres'" >/dev/null \
      || su postgres -c "psql -qc \"ALTER USER postgres PASSWORD 'postgres'\"" >/dev/null
  fi
}

# Redis on 127.0.0.1:6379; installed from apt and started when absent.
ensure_redis() {
  if port_open 127.0.0.1 6379; then log "Redis answers on 127.0.0.1:6379"; return 0; fi
  command -v redis-server >/dev/null || apt_install redis-server
  log "starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --logfile /tmp/convene-redis.log >/dev/null
  wait_port 127.0.0.1 6379 10 Redis
}

# Tansu (Kafka-protocol broker) 0.6.0 with in-memory storage on 127.0.0.1:$1.
TANSU_VERSION=0.6.0
ensure_kafka() {
  local port="$1" features=dynostore
  local have=""
  if tansu --version 2>/dev/null | grep -qx "tansu $TANSU_VERSION" \
     && tansu --help 2>/dev/null | grep '^Storage engines:' | grep -qw "$features"; then have=1; fi
  if [ -z "$have" ]; then
    log "cargo install tansu $TANSU_VERSION --features $features (slow: ~27 min on 2 cores)"
    CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}" nice cargo install --force tansu --version "$TANSU_VERSION" \
      --locked --features "$features"
  fi
  if port_open 127.0.0.1 "$port"; then log "Kafka-protocol broker answers on 127.0.0.1:$port"; return 0; fi
  local url="tcp://127.0.0.1:$port"
  log "starting Tansu on $url (memory storage)"
  RUST_LOG=warn setsid nohup tansu broker --listener-url "$url" --advertised-listener-url "$url" \
    --storage-engine memory://tansu/ >"/tmp/convene-tansu-$port.log" 2>&1 </dev/null &
  echo $! >"/tmp/convene-tansu-$port.pid"
  wait_port 127.0.0.1 "$port" 15 Tansu
}

# The built-in test payment provider (test cards, a fake bank page) for the
# demo and the end-to-end tests, with a webhook secret made once per machine.
# Production configurations leave it off: then no card payments are taken.
use_test_payments() {
  local f="$HOME/.cache/convene/test-payments-secret"
  if [ ! -s "$f" ]; then
    mkdir -p "$(dirname "$f")"
    (umask 077; head -c 48 /dev/urandom | base64 | tr -d '/+=\n' > "$f")
  fi
  export CONVENE_PAYMENTS__PROVIDER=test CONVENE_PAYMENTS__TEST_WEBHOOK_SECRET="$(cat "$f")"
}

# MailDev (npm, in end2end/): a real SMTP sink with an API to read messages back.
ensure_smtp_sink() {
  if port_open 127.0.0.1 1025 && port_open 127.0.0.1 1080; then log "SMTP sink answers on 127.0.0.1:1025"; return 0; fi
  log "starting MailDev (SMTP 127.0.0.1:1025, API 127.0.0.1:1080)"
  (cd "$ROOT/end2end" && setsid nohup node_modules/.bin/maildev --smtp 1025 --ip 127.0.0.1 \
     --web 1080 --web-ip 127.0.0.1 >/tmp/convene-maildev.log 2>&1 </dev/null &)
  wait_port 127.0.0.1 1080 30 MailDev
  wait_port 127.0.0.1 1025 10 MailDev
}

# A second MailDev for the tests of SMTP over TLS with AUTH: implicit TLS on
# localhost:1465 with a self-signed certificate (made once), API on :1081.
# Exports CONVENE_TEST_SMTP_TLS_* for the integration tests.
ensure_smtp_tls_sink() {
  local dir="$HOME/.cache/convene/smtp-tls"
  export CONVENE_TEST_SMTP_TLS="localhost:1465" CONVENE_TEST_SMTP_TLS_API="http://127.0.0.1:1081"
  export CONVENE_TEST_SMTP_TLS_CERT="$dir/ca.pem" CONVENE_TEST_SMTP_TLS_USER="convene"
  if [ ! -s "$dir/ca.pem" ] || [ ! -s "$dir/cert.pem" ] || [ ! -s "$dir/key.pem" ] || [ ! -s "$dir/pass" ]; then
    command -v openssl >/dev/null || apt_install openssl
    mkdir -p "$dir"
    # A test CA and a localhost certificate it signs (rustls wants a real chain).
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=Convene test CA" \
      -keyout "$dir/ca.key" -out "$dir/ca.pem" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout "$dir/key.pem" -out "$dir/leaf.csr" 2>/dev/null
    printf 'subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' > "$dir/leaf.ext"
    openssl x509 -req -in "$dir/leaf.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial \
      -days 3650 -extfile "$dir/leaf.ext" -out "$dir/cert.pem" 2>/dev/null
    head -c 18 /dev/urandom | base64 | tr -d '/+=' > "$dir/pass"
    # A sink started with older files must restart.
    pkill -f "maildev --smtp 1465" 2>/dev/null || true
    sleep 0.5
  fi
  export CONVENE_TEST_SMTP_TLS_PASS="$(cat "$dir/pass")"
  if port_open 127.0.0.1 1465 && port_open 127.0.0.1 1081; then log "TLS SMTP sink answers on localhost:1465"; return 0; fi
  log "starting MailDev with TLS and AUTH (SMTP localhost:1465, API 127.0.0.1:1081)"
  (cd "$ROOT/end2end" && setsid nohup node_modules/.bin/maildev --smtp 1465 --ip 127.0.0.1 \
     --web 1081 --web-ip 127.0.0.1 --incoming-secure --incoming-cert "$dir/cert.pem" \
     --incoming-key "$dir/key.pem" --incoming-user convene --incoming-pass "$CONVENE_TEST_SMTP_TLS_PASS" \
     >/tmp/convene-maildev-tls.log 2>&1 </dev/null &)
  wait_port 127.0.0.1 1081 30 "MailDev (TLS)"
  wait_port 127.0.0.1 1465 10 "MailDev (TLS)"
}

# The target directory cargo uses (CARGO_TARGET_DIR or ./target).
# TURN (coturn) on 127.0.0.1:$1 (default 3478), with the TURN REST scheme's
# shared secret (made once under ~/.cache/convene/turn): Convene hands each
# browser short-lived credentials of its own. Loopback peers are allowed so a
# single machine can relay to its own media node. Exports the settings.
ensure_turn() {
  local port="${1:-3478}" dir="$HOME/.cache/convene/turn"
  apt_install coturn
  mkdir -p "$dir"
  [ -s "$dir/secret" ] || head -c 24 /dev/urandom | base64 | tr -d '/+=' >"$dir/secret"
  if ! port_open 127.0.0.1 "$port"; then
    log "starting coturn (TURN) on 127.0.0.1:$port"
    nohup turnserver --listening-ip=127.0.0.1 --relay-ip=127.0.0.1 --listening-port="$port" \
      --min-port=49160 --max-port=49660 --use-auth-secret --static-auth-secret="$(cat "$dir/secret")" \
      --realm=convene --no-tls --no-dtls --no-cli --allow-loopback-peers --fingerprint \
      --pidfile="$dir/turnserver.pid" --log-file=stdout --simple-log >"$dir/turnserver.log" 2>&1 &
    wait_port 127.0.0.1 "$port" 20 "coturn"
  else
    log "TURN answers on 127.0.0.1:$port (its secret must be the one in $dir/secret)"
  fi
  export CONVENE_MEDIA__TURN__URLS="turn:127.0.0.1:$port?transport=udp"
  CONVENE_MEDIA__TURN__SECRET="$(cat "$dir/secret")"
  export CONVENE_MEDIA__TURN__SECRET
}

# ffmpeg and ffprobe: media assets are probed and transformed with them.
ensure_ffmpeg() {
  command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null || apt_install ffmpeg
}

target_dir() { echo "${CARGO_TARGET_DIR:-$ROOT/target}"; }

# An S3-compatible store on 127.0.0.1:$1 (default 19000) for the tests of the
# assets' S3 path: moto's server (PyPI) in a virtualenv under ~/.cache/convene/moto.
ensure_s3() {
  local port="${1:-19000}" dir="$HOME/.cache/convene/moto"
  if ! port_open 127.0.0.1 "$port"; then
    if [ ! -x "$dir/bin/moto_server" ]; then
      command -v python3 >/dev/null || apt_install python3
      python3 -m venv "$dir" 2>/dev/null || { apt_install python3-venv; python3 -m venv "$dir"; }
      log "pip install moto[server] (an S3-compatible test server)"
      "$dir/bin/pip" install --quiet "moto[server]"
    fi
    log "starting moto (S3) on 127.0.0.1:$port"
    nohup "$dir/bin/moto_server" -H 127.0.0.1 -p "$port" >"$dir/moto.log" 2>&1 &
    wait_port 127.0.0.1 "$port" 30 "moto"
  fi
  export CONVENE_TEST_S3="http://127.0.0.1:$port"
}
