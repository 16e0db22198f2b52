#!/usr/bin/env bash
# Local single-node Apache Kafka (KRaft, combined broker+controller) without Docker.
# The broker jars come from Maven Central through deploy/local/kafka/pom.xml and are cached in .local/kafka/libs.
#   deploy/local/kafka.sh start | stop | status | reset | fetch
# Environment: KAFKA_PORT (9092), KAFKA_CONTROLLER_PORT (9093), KAFKA_HEAP (-Xms256m -Xmx768m), KAFKA_START_TIMEOUT_S (90)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
here="$root/deploy/local/kafka"
state="$root/.local/kafka"
libs="$state/libs"
data="$state/data"
logs="$state/logs"
pidfile="$state/kafka.pid"
port="${KAFKA_PORT:-9092}"
controller_port="${KAFKA_CONTROLLER_PORT:-9093}"
heap="${KAFKA_HEAP:--Xms256m -Xmx768m}"
timeout_s="${KAFKA_START_TIMEOUT_S:-90}"

log() { printf '[kafka] %s\n' "$*" >&2; }

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
    java -cp "$libs/*" -Dlog4j2.configurationFile="$here/log4j2.properties" -Dkafka.logs.dir="$logs" \
      "$command" --bootstrap-server "127.0.0.1:$port" >/dev/null 2>&1 && return 0
  done
  # Neither is among the broker jars on every version: fall back to the port plus the log line.
  port_open && grep -q 'Kafka Server started' "$logs/server.log" 2>/dev/null
}

write_config() {
  mkdir -p "$data" "$logs"
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

start() {
  if pid="$(running_pid)"; then log "already running (pid $pid) on 127.0.0.1:$port"; return 0; fi
  fetch
  if port_open; then
    # Another checkout's broker, or one run by other means: use it, and leave stopping it to its owner.
    if broker_ready; then log "a broker not started from here already answers on 127.0.0.1:$port; using it"; return 0; fi
    log "127.0.0.1:$port is already taken by another process; set KAFKA_PORT or stop it"; exit 1
  fi
  write_config
  if [ ! -f "$data/meta.properties" ]; then
    log "formatting KRaft storage in $data"
    java -cp "$libs/*" -Dlog4j2.configurationFile="$here/log4j2.properties" -Dkafka.logs.dir="$logs" \
      kafka.tools.StorageTool format --config "$state/server.properties" \
      --cluster-id "$(java -cp "$libs/*" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n1)" \
      --ignore-formatted >"$logs/format.log" 2>&1 || { cat "$logs/format.log" >&2; exit 1; }
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

reset() { stop; log "deleting $data"; rm -rf "$data" "$logs"; }

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  reset) reset ;;
  fetch) fetch ;;
  *) echo "usage: $0 start|stop|status|reset|fetch" >&2; exit 2 ;;
esac
