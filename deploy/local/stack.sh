#!/usr/bin/env bash
# Starts the whole stack locally on defaults, without Docker: Kafka (KRaft, from Maven Central), the project's
# database on the Postgres at DATABASE_URL, the model simulator (unless real providers are configured),
# the ledger, the webhooks dispatcher, the audit store, the gateway, the triage and the reasoning executor. Logs and
# pids live in .local/stack/.
#   deploy/local/stack.sh up | down | status | logs [service]
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
state="$root/.local/stack"
node="$root/node_modules/.bin/node"
mkdir -p "$state"
# Keys and logs live here: readable by this user only.
chmod 700 "$state"

# The local stack: services accept the well-known local keys below (libs/config/src/well-known-secrets.ts);
# anywhere else they refuse to start with them. Every service works as the Postgres superuser here, for simplicity:
# docker-compose.yml gives each its own role (deploy/postgres/roles.sql).
export DELIBERATE_ENV="${DELIBERATE_ENV:-local}"
# KAFKA_SASL=1: the local broker that authenticates and authorizes (deploy/local/kafka.sh --sasl), each service as
# its own SCRAM user under the ACLs of deploy/kafka/acls.sh.
if [ "${KAFKA_SASL:-0}" = 1 ]; then export KAFKA_BROKERS="${KAFKA_BROKERS:-127.0.0.1:9094}"; fi
export KAFKA_BROKERS="${KAFKA_BROKERS:-127.0.0.1:9092}"
export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/deliberate}"
export GATEWAY_PORT="${GATEWAY_PORT:-3000}"
export TRIAGE_HEALTH_PORT="${TRIAGE_HEALTH_PORT:-3001}"
export SIM_PORT="${SIM_PORT:-4010}"
export LEDGER_PORT="${LEDGER_PORT:-3002}"
export REASONER_HEALTH_PORT="${REASONER_HEALTH_PORT:-3003}"
export WEBHOOKS_PORT="${WEBHOOKS_PORT:-3004}"
export AUDIT_PORT="${AUDIT_PORT:-3005}"
export GATEWAY_AUDIT_URL="${GATEWAY_AUDIT_URL:-http://127.0.0.1:$AUDIT_PORT}"
# Shared by the gateway and the audit service, as the ledger token is.
export AUDIT_INTERNAL_TOKEN="${AUDIT_INTERNAL_TOKEN:-local-audit-internal-token}"
# Local defaults only: reads every tenant's audit trail.
export GATEWAY_PLATFORM_AUDITOR_API_KEY="${GATEWAY_PLATFORM_AUDITOR_API_KEY:-local-platform-auditor-key}"
export GATEWAY_LEDGER_URL="${GATEWAY_LEDGER_URL:-http://127.0.0.1:$LEDGER_PORT}"
# Shared by the gateway and the ledger: the gateway forwards /v1/ledger/* with the caller's identity and this token.
export LEDGER_INTERNAL_TOKEN="${LEDGER_INTERNAL_TOKEN:-local-ledger-internal-token}"
export GATEWAY_WEBHOOKS_URL="${GATEWAY_WEBHOOKS_URL:-http://127.0.0.1:$WEBHOOKS_PORT}"
# The same for /v1/webhooks/*.
export WEBHOOKS_INTERNAL_TOKEN="${WEBHOOKS_INTERNAL_TOKEN:-local-webhooks-internal-token}"
# Local receivers run on this machine: let webhooks reach loopback here (never in production).
export WEBHOOKS_ALLOWED_NETWORKS="${WEBHOOKS_ALLOWED_NETWORKS:-127.0.0.0/8,::1/128}"
# Local defaults only: a real deployment sets its own admin key.
export GATEWAY_ADMIN_API_KEY="${GATEWAY_ADMIN_API_KEY:-local-platform-admin-key}"
# The simulator thinks at 1/10 of real time locally, so a reasoning task takes seconds, not minutes.
export SIM_TIME_SCALE="${SIM_TIME_SCALE:-0.1}"

services=(model-simulator ledger webhooks audit gateway triage reasoner)
declare -A health=(
  [model-simulator]="http://127.0.0.1:$SIM_PORT/health"
  [ledger]="http://127.0.0.1:$LEDGER_PORT/health"
  [webhooks]="http://127.0.0.1:$WEBHOOKS_PORT/health"
  [audit]="http://127.0.0.1:$AUDIT_PORT/health"
  [gateway]="http://127.0.0.1:$GATEWAY_PORT/health"
  [triage]="http://127.0.0.1:$TRIAGE_HEALTH_PORT/health"
  [reasoner]="http://127.0.0.1:$REASONER_HEALTH_PORT/health"
)

log() { printf '[stack] %s\n' "$*" >&2; }

uses_simulator() {
  # The simulator runs unless every tier points at a real provider.
  [ -z "${LLM_FAST_BASE_URL:-}" ] || [ -z "${LLM_REASONING_BASE_URL:-}" ] || [ -z "${LLM_STANDARD_BASE_URL:-}" ]
}

pid_of() { local f="$state/$1.pid"; [ -f "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null && cat "$f"; }

wait_healthy() {
  local name=$1 url=$2
  for _ in $(seq 1 60); do
    if curl -fsS "$url" >/dev/null 2>&1; then log "$name is up ($url)"; return 0; fi
    if ! pid_of "$name" >/dev/null; then log "$name exited; last lines of $state/$name.log:"; tail -n 20 "$state/$name.log" >&2; return 1; fi
    sleep 0.5
  done
  log "$name did not answer $url within 30s; see $state/$name.log"; return 1
}

start_service() {
  local name=$1
  if pid_of "$name" >/dev/null; then log "$name already running"; return 0; fi
  local kafka_env=()
  if [ "${KAFKA_SASL:-0}" = 1 ] && [ "$name" != model-simulator ]; then
    mapfile -t kafka_env < <("$root/deploy/local/kafka.sh" --sasl env "$name" | grep -v '^#')
  fi
  nohup env "${kafka_env[@]+"${kafka_env[@]}"}" "$node" --enable-source-maps "$root/apps/$name/dist/main.js" >>"$state/$name.log" 2>&1 &
  echo $! >"$state/$name.pid"
  wait_healthy "$name" "${health[$name]}"
}

ensure_postgres() {
  local admin_url="${DATABASE_URL%/*}/postgres"
  if ! command -v psql >/dev/null; then log "psql not found; assuming Postgres answers at $DATABASE_URL"; return 0; fi
  for _ in $(seq 1 20); do
    psql "$admin_url" -qtAc 'SELECT 1' >/dev/null 2>&1 && { log "Postgres answers"; return 0; }
    sleep 0.5
  done
  log "Postgres does not answer at $admin_url. Start it (e.g. pg_ctlcluster \$(ls /etc/postgresql) main start) or set DATABASE_URL."
  return 1
}

audit_signing_key() {
  # The checkpoint signing key: generated once into the state directory unless AUDIT_SIGNING_KEY is set.
  local keyfile="$state/audit-signing-key.pem"
  if [ -z "${AUDIT_SIGNING_KEY:-}" ]; then
    if [ ! -s "$keyfile" ]; then
      (umask 077 && "$node" -e 'process.stdout.write(require("node:crypto").generateKeyPairSync("ed25519").privateKey.export({type:"pkcs8",format:"pem"}))' >"$keyfile")
      log "generated an Ed25519 checkpoint signing key in $keyfile"
    fi
    AUDIT_SIGNING_KEY="$(cat "$keyfile")"
    export AUDIT_SIGNING_KEY
  fi
}

webhooks_encryption_key() {
  # Encrypts webhook signing secrets at rest: generated once into the state directory unless set.
  local keyfile="$state/webhooks-secret-encryption-key"
  if [ -z "${WEBHOOKS_SECRET_ENCRYPTION_KEY:-}" ]; then
    if [ ! -s "$keyfile" ]; then
      (umask 077 && "$node" -e 'process.stdout.write(require("node:crypto").randomBytes(32).toString("hex"))' >"$keyfile")
      log "generated the webhook secret encryption key in $keyfile"
    fi
    WEBHOOKS_SECRET_ENCRYPTION_KEY="$(cat "$keyfile")"
    export WEBHOOKS_SECRET_ENCRYPTION_KEY
  fi
}

demo_key() {
  # A demo tenant with a submitter key, so the README's curl lines work straight away.
  local keyfile="$state/demo-api-key" api="http://127.0.0.1:$GATEWAY_PORT"
  # The key files below are readable by this user only.
  umask 077
  if [ -s "$keyfile" ] && [ "$(curl -s -o /dev/null -w '%{http_code}' -H "authorization: Bearer $(cat "$keyfile")" "$api/v1/tasks/00000000-0000-7000-8000-000000000000")" = 404 ]; then return 0; fi
  curl -fsS -o /dev/null -X POST "$api/v1/admin/tenants" -H "authorization: Bearer $GATEWAY_ADMIN_API_KEY" \
    -H 'content-type: application/json' -d '{"id":"demo","name":"Demo tenant"}' 2>/dev/null || true
  curl -fsS -X POST "$api/v1/admin/tenants/demo/api-keys" -H "authorization: Bearer $GATEWAY_ADMIN_API_KEY" \
    -H 'content-type: application/json' -d '{"role":"submitter","name":"local demo"}' |
    "$node" -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>process.stdout.write(JSON.parse(s).key))' >"$keyfile"
  # And an auditor key of the same tenant, for the README's audit trail examples.
  curl -fsS -X POST "$api/v1/admin/tenants/demo/api-keys" -H "authorization: Bearer $GATEWAY_ADMIN_API_KEY" \
    -H 'content-type: application/json' -d '{"role":"auditor","name":"local demo auditor"}' |
    "$node" -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>process.stdout.write(JSON.parse(s).key))' >"$state/demo-auditor-key"
}

up() {
  [ -x "$node" ] || { log "dependencies are not installed: run npm ci first"; exit 1; }
  log "building"
  (cd "$root" && "$node" node_modules/typescript/bin/tsc -b tsconfig.build.json)
  # The console the gateway serves at /console (CONSOLE_DIR, default apps/console/dist).
  (cd "$root" && "$node" node_modules/vite/bin/vite.js build --config apps/console/vite.config.mts --logLevel warn)
  if [ "$KAFKA_BROKERS" = "127.0.0.1:9092" ] || { [ "${KAFKA_SASL:-0}" = 1 ] && [ "$KAFKA_BROKERS" = "127.0.0.1:9094" ]; }; then
    "$root/deploy/local/kafka.sh" start
  else log "using Kafka at $KAFKA_BROKERS"; fi
  ensure_postgres
  if uses_simulator; then
    start_service model-simulator
    # Tiers without a provider of their own talk to the simulator, wherever SIM_PORT put it.
    for tier in FAST REASONING STANDARD; do
      var="LLM_${tier}_BASE_URL"
      [ -n "${!var:-}" ] || export "$var=http://127.0.0.1:$SIM_PORT/v1"
    done
  else
    log "all model tiers configured; not starting the simulator"
  fi
  start_service ledger
  webhooks_encryption_key
  start_service webhooks
  audit_signing_key
  start_service audit
  start_service gateway
  start_service triage
  start_service reasoner
  demo_key
  cat >&2 <<MSG
[stack] ready
  gateway   http://127.0.0.1:$GATEWAY_PORT   (API docs: http://127.0.0.1:$GATEWAY_PORT/docs)
  ledger    http://127.0.0.1:$LEDGER_PORT   (reached through the gateway at /v1/ledger)
  webhooks  http://127.0.0.1:$WEBHOOKS_PORT   (reached through the gateway at /v1/webhooks)
  audit     http://127.0.0.1:$AUDIT_PORT   (reached through the gateway at /v1/audit)
  simulator http://127.0.0.1:$SIM_PORT/v1
  kafka     $KAFKA_BROKERS
  logs      $state/<service>.log
  demo key  $(cat "$state/demo-api-key")   (tenant 'demo', role submitter; also in $state/demo-api-key)
  auditor   $(cat "$state/demo-auditor-key" 2>/dev/null)   (tenant 'demo', role auditor; platform auditor: \$GATEWAY_PLATFORM_AUDITOR_API_KEY)
MSG
}

down() {
  for ((i = ${#services[@]} - 1; i >= 0; i--)); do
    local name=${services[$i]} pid
    if pid="$(pid_of "$name")"; then
      log "stopping $name ($pid)"; kill "$pid"
      for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
      kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$state/$name.pid"
  done
  if [ "$KAFKA_BROKERS" = "127.0.0.1:9092" ] || [ "${KAFKA_SASL:-0}" = 1 ]; then "$root/deploy/local/kafka.sh" stop; fi
  return 0
}

status() {
  "$root/deploy/local/kafka.sh" status || true
  for name in "${services[@]}"; do
    if pid="$(pid_of "$name")"; then log "$name running (pid $pid)"; else log "$name stopped"; fi
  done
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  logs) tail -n 100 -f "$state/${2:-gateway}.log" ;;
  *) echo "usage: $0 up|down|status|logs [service]" >&2; exit 2 ;;
esac
