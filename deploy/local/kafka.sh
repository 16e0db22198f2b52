#!/usr/bin/env bash
# Local single-node Apache Kafka (KRaft, combined broker+controller) without Docker.
# The broker jars come from Maven Central through deploy/local/kafka/pom.xml and are cached in .local/kafka/libs.
#   deploy/local/kafka.sh [--sasl] start | stop | status | reset | fetch
#   deploy/local/kafka.sh --sasl env <principal>     the KAFKA_* variables a client of the SASL broker needs
#   deploy/local/kafka.sh --sasl rotate <principal>  a new password for a user of the running SASL broker
# Environment: KAFKA_PORT (9092), KAFKA_CONTROLLER_PORT (9093), KAFKA_HEAP (-Xms256m -Xmx768m), KAFKA_START_TIMEOUT_S (90),
# KAFKA_STATE_DIR (.local/kafka: config, data, logs and pid; another directory and other ports give a private broker
# beside the shared one, which a suite may stop and restart without touching anyone else's)
#
# --sasl (or KAFKA_SASL=1): a second, separate broker with authentication and authorization, beside the plain one:
# a SASL_PLAINTEXT listener with SCRAM-SHA-512 on 127.0.0.1:$KAFKA_SASL_PORT (9094), controller on
# $KAFKA_SASL_CONTROLLER_PORT (9095), data in .local/kafka-sasl, heap $KAFKA_SASL_HEAP (-Xms128m -Xmx256m), and the same
# with TLS (SASL_SSL, a client certificate required) on $KAFKA_SASL_TLS_PORT (9096), its certificates made by a CA of
# its own in .local/kafka-sasl/tls (ca.pem, client.pem, client.key for clients). Its SCRAM
# users (admin, a super user, and one per principal of deploy/kafka/acl-plan.mjs) get random passwords, kept 0600 in
# .local/kafka-sasl/users/<name>.password; the StandardAuthorizer denies what deploy/kafka/acls.sh does not allow.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
here="$root/deploy/local/kafka"

sasl="${KAFKA_SASL:-0}"
args=()
for arg in "$@"; do if [ "$arg" = "--sasl" ]; then sasl=1; else args+=("$arg"); fi; done
set -- "${args[@]+"${args[@]}"}"

libs="$root/.local/kafka/libs"
if [ "$sasl" = 1 ]; then
  state="$root/.local/kafka-sasl"
  port="${KAFKA_SASL_PORT:-9094}"
  controller_port="${KAFKA_SASL_CONTROLLER_PORT:-9095}"
  heap="${KAFKA_SASL_HEAP:--Xms128m -Xmx256m}"
  tls_port="${KAFKA_SASL_TLS_PORT:-9096}"
else
  state="${KAFKA_STATE_DIR:-$root/.local/kafka}"
  port="${KAFKA_PORT:-9092}"
  controller_port="${KAFKA_CONTROLLER_PORT:-9093}"
  heap="${KAFKA_HEAP:--Xms256m -Xmx768m}"
fi
data="$state/data"
logs="$state/logs"
users="$state/users"
admin_config="$state/admin.properties"
tls="$state/tls"
pidfile="$state/kafka.pid"
timeout_s="${KAFKA_START_TIMEOUT_S:-90}"

log() { if [ "$sasl" = 1 ]; then printf '[kafka-sasl] %s\n' "$*" >&2; else printf '[kafka] %s\n' "$*" >&2; fi; }

fetch() {
  if [ -f "$libs/.complete" ] && [ "$libs/.complete" -nt "$here/pom.xml" ]; then return 0; fi
  command -v mvn >/dev/null || { log "mvn is not installed: install Maven (apt-get install maven) or point KAFKA_BROKERS at a running cluster"; exit 1; }
  log "fetching broker jars from Maven Central into $libs"
  rm -rf "$libs" && mkdir -p "$libs"
  mvn -B -q -f "$here/pom.xml" org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
    -DoutputDirectory="$libs" -DincludeScope=runtime
  touch "$libs/.complete"
}

running_pid() {
  [ -f "$pidfile" ] || return 1
  local pid; pid="$(cat "$pidfile")"
  kill -0 "$pid" 2>/dev/null && echo "$pid"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; }

# The broker answers when a Kafka client can list its API versions, not merely when the port is open.
broker_ready() {
  port_open || return 1
  # The command moved between Kafka versions (kafka.admin in 3.x, org.apache.kafka.tools in 4.x).
  local command
  for command in kafka.admin.BrokerApiVersionsCommand org.apache.kafka.tools.BrokerApiVersionsCommand; do
    # shellcheck disable=SC2046
    java -cp "$libs/*" -Dlog4j2.configurationFile="$here/log4j2.properties" -Dkafka.logs.dir="$logs" \
      "$command" --bootstrap-server "127.0.0.1:$port" $(admin_client_args) >/dev/null 2>&1 && return 0
  done
  # Neither is among the broker jars on every version: fall back to the port plus the log line.
  port_open && grep -q 'Kafka Server started' "$logs/server.log" 2>/dev/null
}

# The SASL broker's own tools log in as its super user.
admin_client_args() { if [ "$sasl" = 1 ] && [ -f "$admin_config" ]; then echo "--command-config $admin_config"; fi; }

write_config() {
  mkdir -p "$data" "$logs"
  if [ "$sasl" = 1 ]; then write_sasl_config; return; fi
  cat >"$state/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$controller_port
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$controller_port
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$data
num.partitions=3
default.replication.factor=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=12
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
min.insync.replicas=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
delete.topic.enable=true
log.retention.hours=168
log.segment.bytes=67108864
EOF
}

# SASL_PLAINTEXT with SCRAM-SHA-512 for clients and between brokers; the controller listener stays plaintext on the
# loopback (KRaft cannot use SCRAM there), and its principal, ANONYMOUS, is a super user so the broker can register.
write_sasl_config() {
  local admin_password; admin_password="$(cat "$users/admin.password")"
  make_certificates
  (
    umask 077
    cat >"$state/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$controller_port
listeners=SASL_PLAINTEXT://127.0.0.1:$port,SASL_SSL://127.0.0.1:$tls_port,CONTROLLER://127.0.0.1:$controller_port
advertised.listeners=SASL_PLAINTEXT://127.0.0.1:$port,SASL_SSL://127.0.0.1:$tls_port
controller.listener.names=CONTROLLER
inter.broker.listener.name=SASL_PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$admin_password";
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$admin_password";
listener.name.sasl_ssl.ssl.client.auth=required
ssl.keystore.type=PEM
ssl.keystore.location=$tls/broker.keystore.pem
ssl.truststore.type=PEM
ssl.truststore.location=$tls/ca.pem
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=User:admin;User:ANONYMOUS
allow.everyone.if.no.acl.found=false
log.dirs=$data
num.partitions=3
default.replication.factor=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=6
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
min.insync.replicas=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
delete.topic.enable=true
log.retention.hours=24
log.segment.bytes=16777216
# The compaction buffer is 128 MB by default: too much for this broker's small heap.
log.cleaner.dedupe.buffer.size=16777216
EOF
    cat >"$admin_config" <<EOF
security.protocol=SASL_PLAINTEXT
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$admin_password";
EOF
  )
}

# A CA of the broker's own signs its certificate (for 127.0.0.1) and one client certificate, which the TLS listener
# requires. Made once; reset removes them with the rest.
make_certificates() {
  [ -f "$tls/broker.keystore.pem" ] && return 0
  command -v openssl >/dev/null || { log "openssl is needed for the TLS listener"; exit 1; }
  log "making a CA and certificates in $tls"
  mkdir -p "$tls"
  (
    umask 077
    cd "$tls"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=deliberate local kafka CA" \
      -keyout ca.key -out ca.pem >/dev/null 2>&1
    for name in broker client; do
      openssl req -newkey rsa:2048 -nodes -subj "/CN=$name" -keyout "$name.key.pem" -out "$name.csr" >/dev/null 2>&1
      printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$name.ext"
      openssl x509 -req -in "$name.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 3650 \
        -extfile "$name.ext" -out "$name.pem" >/dev/null 2>&1
      openssl pkcs8 -topk8 -nocrypt -in "$name.key.pem" -out "$name.key" && rm -f "$name.key.pem" "$name.csr" "$name.ext"
    done
    # The broker reads its key and certificate chain from one PEM file.
    cat broker.key broker.pem ca.pem >broker.keystore.pem
    chmod 644 ca.pem
  ) || { log "could not make the certificates"; exit 1; }
}

# The principals of the ACL plan, and admin.
sasl_principals() {
  local principals
  principals="$("$root/deploy/kafka/acls.sh" principals)" || { log "could not list the principals of the ACL plan"; exit 1; }
  printf 'admin\n%s\n' "$principals"
}

# A random password for every principal that has none yet; prints the names that got one.
new_passwords() {
  mkdir -p "$users" && chmod 700 "$users"
  local name principals
  principals="$(sasl_principals)" || exit 1
  for name in $principals; do
    [ -f "$users/$name.password" ] && continue
    (umask 077 && od -An -N24 -tx1 /dev/urandom | tr -d ' \n' >"$users/$name.password")
    echo "$name"
  done
}

# SCRAM credentials of users added after the storage was formatted, through the running broker.
add_scram_users() {
  local name
  for name in "$@"; do
    log "adding SCRAM user $name"
    java -cp "$libs/*" -Dlog4j2.configurationFile="$here/log4j2.properties" -Dkafka.logs.dir="$logs" \
      kafka.admin.ConfigCommand --bootstrap-server "127.0.0.1:$port" --command-config "$admin_config" --alter \
      --entity-type users --entity-name "$name" \
      --add-config "SCRAM-SHA-512=[password=$(cat "$users/$name.password")]" >>"$logs/users.log" 2>&1 ||
      { tail -n 20 "$logs/users.log" >&2; exit 1; }
  done
}

# The ACLs are applied again whenever the plan (the topic catalogue) changed since they last were.
apply_acls() {
  local plan; plan="$("$root/deploy/kafka/acls.sh" print | sha256sum | cut -d' ' -f1)"
  [ "$(cat "$state/acls.applied" 2>/dev/null)" = "$plan" ] && return 0
  log "applying the ACLs of deploy/kafka/acls.sh"
  KAFKA_BOOTSTRAP="127.0.0.1:$port" KAFKA_ADMIN_CONFIG="$admin_config" KAFKA_TOPIC_PREFIX="" \
    "$root/deploy/kafka/acls.sh" apply >>"$logs/acls.log" 2>&1 || { tail -n 20 "$logs/acls.log" >&2; exit 1; }
  echo "$plan" >"$state/acls.applied"
}

start() {
  if pid="$(running_pid)"; then log "already running (pid $pid) on 127.0.0.1:$port"; return 0; fi
  fetch
  if port_open; then
    # Another checkout's broker, or one run by other means: use it, and leave stopping it to its owner.
    if broker_ready; then log "a broker not started from here already answers on 127.0.0.1:$port; using it"; return 0; fi
    log "127.0.0.1:$port is already taken by another process; set KAFKA_PORT or stop it"; exit 1
  fi
  local added=() scram=() name added_list
  if [ "$sasl" = 1 ]; then
    [ -f "$data/meta.properties" ] || rm -rf "$users"
    added_list="$(new_passwords)" || exit 1
    [ -z "$added_list" ] || mapfile -t added <<<"$added_list"
    [ -f "$users/admin.password" ] || { log "no password for admin"; exit 1; }
  fi
  write_config
  if [ ! -f "$data/meta.properties" ]; then
    log "formatting KRaft storage in $data"
    # The SASL broker's users exist from the first start: SCRAM credentials bootstrapped into the metadata.
    if [ "$sasl" = 1 ]; then
      for name in "${added[@]}"; do
        scram+=(--add-scram "SCRAM-SHA-512=[name=$name,password=$(cat "$users/$name.password")]")
      done
      added=()
    fi
    java -cp "$libs/*" -Dlog4j2.configurationFile="$here/log4j2.properties" -Dkafka.logs.dir="$logs" \
      kafka.tools.StorageTool format --config "$state/server.properties" \
      --cluster-id "$(java -cp "$libs/*" -Dkafka.logs.dir="$logs" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n1)" \
      "${scram[@]+"${scram[@]}"}" --ignore-formatted >"$logs/format.log" 2>&1 || { cat "$logs/format.log" >&2; exit 1; }
  fi
  # A broker keeps several files open per partition; take the highest open-file limit this shell may have.
  ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
  log "starting broker on 127.0.0.1:$port (controller $controller_port)"
  # shellcheck disable=SC2086
  nohup java $heap -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$here/log4j2.properties" -Dkafka.logs.dir="$logs" \
    -cp "$libs/*" kafka.Kafka "$state/server.properties" >"$logs/stdout.log" 2>&1 &
  echo $! >"$pidfile"
  local waited=0
  until broker_ready; do
    if ! running_pid >/dev/null; then log "broker exited during start-up; last lines of $logs/stdout.log:"; tail -n 30 "$logs/stdout.log" >&2; exit 1; fi
    if [ "$waited" -ge "$timeout_s" ]; then log "broker did not answer within ${timeout_s}s; see $logs"; exit 1; fi
    sleep 1; waited=$((waited + 1))
  done
  log "ready on 127.0.0.1:$port after ${waited}s"
  if [ "$sasl" = 1 ]; then
    add_scram_users "${added[@]+"${added[@]}"}"
    apply_acls
    log "SCRAM-SHA-512 users: $(sasl_principals | tr '\n' ' ')(deploy/local/kafka.sh --sasl env <user>)"
  fi
}

# A new password replaces the old one at once; connections already authenticated stay open until they reconnect.
rotate() {
  local name="${1:-}"
  [ "$sasl" = 1 ] && [ -n "$name" ] && [ -f "$users/$name.password" ] || {
    echo "usage: $0 --sasl rotate <principal>" >&2; exit 2; }
  [ "$name" != admin ] || { echo "admin's password is the broker's own (server.properties): reset the broker instead" >&2; exit 2; }
  running_pid >/dev/null || { log "not running: start it first"; exit 1; }
  rm -f "$users/$name.password"
  new_passwords >/dev/null || exit 1
  add_scram_users "$name"
  log "rotated $name: $0 --sasl env $name"
}

# What a client of the SASL broker sets to connect as one of its users.
client_env() {
  local name="${1:-}"
  [ "$sasl" = 1 ] || { echo "env is for the SASL broker: $0 --sasl env <principal>" >&2; exit 2; }
  [ -n "$name" ] && [ -f "$users/$name.password" ] || {
    echo "usage: $0 --sasl env <principal>; known: $(ls "$users" 2>/dev/null | sed 's/\.password$//' | tr '\n' ' ')" >&2; exit 2; }
  printf 'KAFKA_BROKERS=127.0.0.1:%s\nKAFKA_SASL_MECHANISM=scram-sha-512\nKAFKA_SASL_USERNAME=%s\nKAFKA_SASL_PASSWORD=%s\n' \
    "$port" "$name" "$(cat "$users/$name.password")"
  printf '# over TLS instead: KAFKA_BROKERS=127.0.0.1:%s KAFKA_TLS=true KAFKA_TLS_CA_FILE=%s KAFKA_TLS_CERT_FILE=%s KAFKA_TLS_KEY_FILE=%s\n' \
    "$tls_port" "$tls/ca.pem" "$tls/client.pem" "$tls/client.key"
}

stop() {
  local pid
  if ! pid="$(running_pid)"; then log "not running"; rm -f "$pidfile"; return 0; fi
  log "stopping (pid $pid)"
  kill "$pid"
  for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
  if kill -0 "$pid" 2>/dev/null; then log "still alive after 30s, killing"; kill -9 "$pid" || true; fi
  rm -f "$pidfile"
}

status() {
  if pid="$(running_pid)"; then
    if broker_ready; then log "running (pid $pid), answering on 127.0.0.1:$port"; return 0; fi
    log "process $pid is up but the broker does not answer on 127.0.0.1:$port"; return 1
  fi
  log "not running"; return 3
}

reset() { stop; log "deleting $data"; rm -rf "$data" "$logs" "$users" "$tls" "$state/acls.applied"; }

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  reset) reset ;;
  fetch) fetch ;;
  env) client_env "${2:-}" ;;
  rotate) rotate "${2:-}" ;;
  *) echo "usage: $0 [--sasl] start|stop|status|reset|fetch, or $0 --sasl env|rotate <principal>" >&2; exit 2 ;;
esac
