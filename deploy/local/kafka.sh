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
#
# --cluster (or KAFKA_CLUSTER=1): three KRaft nodes on this machine, each a combined broker+controller and the three
# one controller quorum, from the same jars; to try replication and broker crashes. Topics get 3 replicas by default
# and min.insync.replicas=2, so an acks=all write survives one crashed node and is refused with two down.
#   deploy/local/kafka.sh --cluster start | stop | status | reset
#   deploy/local/kafka.sh --cluster stop-node <n>   SIGKILL node n (1-3), its data kept: a broker crash
#   deploy/local/kafka.sh --cluster start-node <n>  start node n again and wait until it answers
# Brokers on 127.0.0.1:$KAFKA_CLUSTER_PORTS (19092,19093,19094), controllers on $KAFKA_CLUSTER_CONTROLLER_PORTS
# (19095,19096,19097), heap per node $KAFKA_CLUSTER_HEAP (-Xms128m -Xmx384m), state in $KAFKA_CLUSTER_STATE_DIR
# (.local/kafka-cluster, a node-<n> directory per node). start waits, up to KAFKA_START_TIMEOUT_S, until the three
# answer and the quorum has a leader. Point a client at it with
#   KAFKA_BROKERS=127.0.0.1:19092,127.0.0.1:19093,127.0.0.1:19094
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
here="$root/deploy/local/kafka"

sasl="${KAFKA_SASL:-0}"
cluster="${KAFKA_CLUSTER:-0}"
args=()
for arg in "$@"; do
  case "$arg" in
    --sasl) sasl=1 ;;
    --cluster) cluster=1 ;;
    *) args+=("$arg") ;;
  esac
done
set -- "${args[@]+"${args[@]}"}"
if [ "$sasl" = 1 ] && [ "$cluster" = 1 ]; then echo "--sasl and --cluster are separate brokers: choose one" >&2; exit 2; fi

libs="$root/.local/kafka/libs"
if [ "$sasl" = 1 ]; then
  state="$root/.local/kafka-sasl"
  port="${KAFKA_SASL_PORT:-9094}"
  controller_port="${KAFKA_SASL_CONTROLLER_PORT:-9095}"
  heap="${KAFKA_SASL_HEAP:--Xms128m -Xmx256m}"
  tls_port="${KAFKA_SASL_TLS_PORT:-9096}"
elif [ "$cluster" = 1 ]; then
  # The cluster's own directory; each node's state, ports and pid are chosen by select_node.
  cluster_dir="${KAFKA_CLUSTER_STATE_DIR:-$root/.local/kafka-cluster}"
  state="$cluster_dir"
  IFS=, read -r -a cluster_ports <<<"${KAFKA_CLUSTER_PORTS:-19092,19093,19094}"
  IFS=, read -r -a cluster_controller_ports <<<"${KAFKA_CLUSTER_CONTROLLER_PORTS:-19095,19096,19097}"
  heap="${KAFKA_CLUSTER_HEAP:--Xms128m -Xmx384m}"
  port="${cluster_ports[0]:-}"
  controller_port="${cluster_controller_ports[0]:-}"
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

log() {
  if [ "$sasl" = 1 ]; then printf '[kafka-sasl] %s\n' "$*" >&2
  elif [ "$cluster" = 1 ]; then printf '[kafka-cluster] %s\n' "$*" >&2
  else printf '[kafka] %s\n' "$*" >&2; fi
}

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

# The listeners of a plaintext node (broker and controller in one process): its id and the controller quorum.
plaintext_listeners() {
  cat <<EOF
process.roles=broker,controller
node.id=$1
controller.quorum.voters=$2
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$controller_port
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
EOF
}

# What every configuration shares: storage, topic defaults and the replication of topics, the internal ones included.
# Arguments: replicas, min.insync.replicas, partitions of __consumer_offsets, retention hours, segment bytes.
storage_properties() {
  cat <<EOF
log.dirs=$data
num.partitions=3
default.replication.factor=$1
min.insync.replicas=$2
unclean.leader.election.enable=false
offsets.topic.replication.factor=$1
offsets.topic.num.partitions=$3
transaction.state.log.replication.factor=$1
transaction.state.log.min.isr=$2
share.coordinator.state.topic.replication.factor=$1
share.coordinator.state.topic.min.isr=$2
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
delete.topic.enable=true
log.retention.hours=$4
log.segment.bytes=$5
EOF
}

write_config() {
  mkdir -p "$data" "$logs"
  if [ "$sasl" = 1 ]; then write_sasl_config; return; fi
  if [ "$cluster" = 1 ]; then write_cluster_config; return; fi
  {
    plaintext_listeners 1 "1@127.0.0.1:$controller_port"
    storage_properties 1 1 12 168 67108864
  } >"$state/server.properties"
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
$(storage_properties 1 1 6 24 16777216)
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

# --- The three-node cluster (--cluster) ---

cluster_nodes=(1 2 3)

# Points the single-broker globals (state, ports, pid file) at node n, so the functions above serve each node.
select_node() {
  node="$1"
  state="$cluster_dir/node-$node"
  port="${cluster_ports[$((node - 1))]}"
  controller_port="${cluster_controller_ports[$((node - 1))]}"
  data="$state/data"
  logs="$state/logs"
  pidfile="$state/kafka.pid"
}

check_cluster_settings() {
  local p
  if [ "${#cluster_ports[@]}" != 3 ] || [ "${#cluster_controller_ports[@]}" != 3 ]; then
    log "KAFKA_CLUSTER_PORTS and KAFKA_CLUSTER_CONTROLLER_PORTS need three ports each, comma-separated"; exit 2
  fi
  for p in "${cluster_ports[@]}" "${cluster_controller_ports[@]}"; do
    [[ "$p" =~ ^[0-9]+$ ]] || { log "not a port: '$p'"; exit 2; }
  done
  [ "$(printf '%s\n' "${cluster_ports[@]}" "${cluster_controller_ports[@]}" | sort -u | wc -l)" = 6 ] || {
    log "the six broker and controller ports must differ"; exit 2; }
}

node_arg() {
  case "${1:-}" in
    1 | 2 | 3) echo "$1" ;;
    *) echo "usage: $0 --cluster stop-node|start-node <1|2|3>" >&2; exit 2 ;;
  esac
}

quorum_voters() {
  local n voters=()
  for n in "${cluster_nodes[@]}"; do voters+=("$n@127.0.0.1:${cluster_controller_ports[$((n - 1))]}"); done
  (IFS=,; echo "${voters[*]}")
}

cluster_brokers() {
  local p list=()
  for p in "${cluster_ports[@]}"; do list+=("127.0.0.1:$p"); done
  (IFS=,; echo "${list[*]}")
}

write_cluster_config() {
  {
    plaintext_listeners "$node" "$(quorum_voters)"
    storage_properties 3 2 12 168 67108864
    cat <<EOC
# A crashed node is fenced, and its partitions led by the others, within 6 s (the default lease is 9 s).
broker.heartbeat.interval.ms=1000
broker.session.timeout.ms=6000
# The compaction buffer is 128 MB by default: too much for a node's small heap.
log.cleaner.dedupe.buffer.size=16777216
EOC
  } >"$state/server.properties"
}

# One id for the three nodes' storage, made at the cluster's first start.
cluster_id() {
  local file="$cluster_dir/cluster.id"
  if [ ! -s "$file" ]; then
    mkdir -p "$cluster_dir"
    java -cp "$libs/*" -Dkafka.logs.dir="$cluster_dir/tools" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n1 >"$file"
  fi
  cat "$file"
}

# The broker logged its start-up since this process began (launch_node sets the previous log aside).
node_ready() { port_open && grep -q 'Kafka Server started' "$logs/server.log" 2>/dev/null; }

# The leader this node's controller knows of (-1: none), from the quorum state KRaft keeps on disk.
node_quorum_leader() {
  local leader
  leader="$(sed -n 's/.*"leaderId":\(-\{0,1\}[0-9]*\).*/\1/p' "$data/__cluster_metadata-0/quorum-state" 2>/dev/null)"
  echo "${leader:--1}"
}

# The quorum's leader when every running node knows the same one and it runs too; fails otherwise.
quorum_leader() {
  local n leader="" known
  for n in "${cluster_nodes[@]}"; do
    select_node "$n"
    running_pid >/dev/null || continue
    known="$(node_quorum_leader)"
    [ "$known" -ge 1 ] || return 1
    [ -z "$leader" ] || [ "$known" = "$leader" ] || return 1
    leader="$known"
  done
  [ -n "$leader" ] || return 1
  select_node "$leader"
  running_pid >/dev/null || return 1
  echo "$leader"
}

# How many brokers the cluster's metadata names that answer a Kafka client (API versions), through any of them.
brokers_answering() {
  java -cp "$libs/*" -Dlog4j2.configurationFile="$here/log4j2.properties" -Dkafka.logs.dir="$cluster_dir/tools" \
    kafka.admin.BrokerApiVersionsCommand --bootstrap-server "$(cluster_brokers)" 2>/dev/null | grep -c -- '-> (' || true
}

# Starts node n's process without waiting for it (the first nodes cannot finish starting before a quorum exists).
launch_node() {
  select_node "$1"
  if pid="$(running_pid)"; then log "node $node already running (pid $pid) on 127.0.0.1:$port"; return 0; fi
  local p
  for p in "$port" "$controller_port"; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      log "127.0.0.1:$p (node $node) is already taken by another process; set KAFKA_CLUSTER_PORTS/KAFKA_CLUSTER_CONTROLLER_PORTS or stop it"
      return 1
    fi
  done
  mkdir -p "$data" "$logs"
  write_config
  if [ ! -f "$data/meta.properties" ]; then
    log "formatting node $node's KRaft storage in $data"
    java -cp "$libs/*" -Dlog4j2.configurationFile="$here/log4j2.properties" -Dkafka.logs.dir="$logs" \
      kafka.tools.StorageTool format --config "$state/server.properties" --cluster-id "$(cluster_id)" \
      --ignore-formatted >"$logs/format.log" 2>&1 || { cat "$logs/format.log" >&2; return 1; }
  fi
  # node_ready looks for this start's own log line.
  [ ! -f "$logs/server.log" ] || mv -f "$logs/server.log" "$logs/server.log.previous"
  log "starting node $node: broker on 127.0.0.1:$port, controller on $controller_port"
  # shellcheck disable=SC2086
  nohup java $heap -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$here/log4j2.properties" -Dkafka.logs.dir="$logs" \
    -cp "$libs/*" kafka.Kafka "$state/server.properties" >"$logs/stdout.log" 2>&1 &
  echo $! >"$pidfile"
}

# Waits until the given nodes answer and the quorum has a leader, printing each node as it comes up.
wait_for_nodes() {
  local waited=0 n leader="" ready=" " answering shown
  while :; do
    for n in "$@"; do
      [[ "$ready" == *" $n "* ]] && continue
      select_node "$n"
      if ! running_pid >/dev/null; then
        log "node $n exited during start-up; last lines of $logs/stdout.log:"; tail -n 30 "$logs/stdout.log" >&2; return 1
      fi
      if node_ready; then log "node $n answers on 127.0.0.1:$port (${waited}s)"; ready+="$n "; fi
    done
    if [ -z "$leader" ] && leader="$(quorum_leader)"; then log "quorum leader: node $leader (${waited}s)"; fi
    if [ -n "$leader" ] && [ "$(wc -w <<<"$ready")" = "$#" ]; then return 0; fi
    read -r -a answering <<<"$ready"
    shown="nodes answering: ${answering[*]:-none}; quorum leader: ${leader:-none}"
    if [ "$waited" -ge "$timeout_s" ]; then
      log "not ready within ${timeout_s}s ($shown); see $cluster_dir/node-*/logs"
      return 1
    fi
    if [ $((waited % 10)) = 9 ]; then log "waiting ($shown)"; fi
    sleep 1; waited=$((waited + 1))
  done
}

cluster_start() {
  fetch
  ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
  local n launches=()
  cluster_id >/dev/null
  # Formatting is a JVM start per node: the three in parallel.
  for n in "${cluster_nodes[@]}"; do launch_node "$n" & launches+=($!); done
  for n in "${launches[@]}"; do wait "$n" || { log "a node could not be started"; cluster_stop; exit 1; }; done
  wait_for_nodes "${cluster_nodes[@]}" || exit 1
  local answering
  answering="$(brokers_answering)"
  if [ "$answering" != 3 ]; then log "only $answering of 3 brokers answer a Kafka client; see $cluster_dir/node-*/logs"; exit 1; fi
  log "ready: KAFKA_BROKERS=$(cluster_brokers) (quorum leader node $(quorum_leader || echo '?'))"
}

cluster_start_node() {
  fetch
  ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
  launch_node "$1" || exit 1
  wait_for_nodes "$1" || exit 1
}

# SIGKILL, as a crash: no controlled shutdown, the data left as it was.
cluster_stop_node() {
  select_node "$1"
  local pid
  if ! pid="$(running_pid)"; then log "node $node is not running"; rm -f "$pidfile"; return 0; fi
  log "killing node $node (pid $pid) with SIGKILL; its data stays in $data"
  kill -9 "$pid"
  while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  rm -f "$pidfile"
}

# SIGTERM to all nodes at once; those still alive after 30 s are killed.
cluster_stop() {
  local n pids=() pid
  for n in "${cluster_nodes[@]}"; do
    select_node "$n"
    if pid="$(running_pid)"; then log "stopping node $n (pid $pid)"; kill "$pid"; pids+=("$pid"); fi
    rm -f "$pidfile"
  done
  [ "${#pids[@]}" -gt 0 ] || { log "not running"; return 0; }
  for _ in $(seq 1 30); do
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && break; pid=""; done
    [ -n "$pid" ] || return 0
    sleep 1
  done
  log "still alive after 30s, killing"
  for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
}

# Exit status: 0 when the three answer, 3 when none runs, 1 otherwise.
cluster_status() {
  local n pid up=0 answering=0 leader
  for n in "${cluster_nodes[@]}"; do
    select_node "$n"
    if pid="$(running_pid)"; then
      up=$((up + 1))
      if node_ready; then
        answering=$((answering + 1)); log "node $n: running (pid $pid), answering on 127.0.0.1:$port (controller $controller_port)"
      else log "node $n: process $pid is up but the broker does not answer on 127.0.0.1:$port"; fi
    else log "node $n: not running (127.0.0.1:$port)"; fi
  done
  if leader="$(quorum_leader)"; then log "quorum leader: node $leader"; elif [ "$up" -gt 0 ]; then log "quorum leader: none"; fi
  [ "$answering" = 3 ] && return 0
  [ "$up" = 0 ] && return 3
  return 1
}

cluster_reset() {
  cluster_stop
  log "deleting the nodes' data in $cluster_dir"
  rm -rf "$cluster_dir"/node-[123] "$cluster_dir/cluster.id" "$cluster_dir/tools"
}

if [ "$cluster" = 1 ]; then
  check_cluster_settings
  case "${1:-}" in
    start) cluster_start ;;
    stop) cluster_stop ;;
    status) cluster_status ;;
    reset) cluster_reset ;;
    fetch) fetch ;;
    stop-node) n="$(node_arg "${2:-}")" || exit 2; cluster_stop_node "$n" ;;
    start-node) n="$(node_arg "${2:-}")" || exit 2; cluster_start_node "$n" ;;
    *) echo "usage: $0 --cluster start|stop|status|reset|fetch, or $0 --cluster stop-node|start-node <1|2|3>" >&2; exit 2 ;;
  esac
  exit
fi

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
