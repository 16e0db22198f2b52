#!/usr/bin/env bash
# The Kafka ACLs of every principal, derived from the topic catalogue (deploy/kafka/acl-plan.mjs), applied with the
# broker's own AclCommand. Adding is idempotent: run it again after the catalogue changes.
#   deploy/kafka/acls.sh apply        add the ACLs on the cluster
#   deploy/kafka/acls.sh print        the AclCommand arguments, one call per line
#   deploy/kafka/acls.sh markdown     the ACL table
#   deploy/kafka/acls.sh principals   the SCRAM users the plan grants to
# Environment:
#   KAFKA_BOOTSTRAP (127.0.0.1:9094)  a listener of the cluster
#   KAFKA_ADMIN_CONFIG                client properties of a principal allowed to alter ACLs (security.protocol,
#                                     sasl.mechanism, sasl.jaas.config, ssl.*); default: the local SASL broker's admin
#   KAFKA_TOPIC_PREFIX ('')           the stack's topic and group prefix, as the services are configured
#   KAFKA_ACLS_COMMAND                a Kafka distribution's kafka-acls.sh; default: AclCommand from the jars that
#                                     deploy/local/kafka.sh fetched
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
libs="$root/.local/kafka/libs"
bootstrap="${KAFKA_BOOTSTRAP:-127.0.0.1:9094}"
admin_config="${KAFKA_ADMIN_CONFIG:-$root/.local/kafka-sasl/admin.properties}"

# The plan is read from the built libraries; build them when a source is newer than the build.
plan() {
  local built="$root/libs/kafka/dist/kafka-acl-plan.js"
  if [ ! -f "$built" ]; then
    (cd "$root" && npx tsc -b --force libs/kafka >&2) || true
  elif [ -n "$(find "$root/libs/kafka/src" "$root/libs/contracts/src" -name '*.ts' -newer "$built" -print -quit)" ]; then
    (cd "$root" && npx tsc -b libs/kafka >&2) || true
  fi
  # A type error elsewhere in the libraries does not stop the build from writing the plan.
  [ -f "$built" ] || { echo "could not build libs/kafka (npx tsc -b libs/kafka)" >&2; exit 1; }
  node "$root/deploy/kafka/acl-plan.mjs" --topic-prefix="${KAFKA_TOPIC_PREFIX:-}" "$@"
}

acl_command() {
  if [ -n "${KAFKA_ACLS_COMMAND:-}" ]; then "$KAFKA_ACLS_COMMAND" "$@"; return; fi
  [ -f "$libs/.complete" ] || "$root/deploy/local/kafka.sh" fetch
  # The command moved between Kafka versions (kafka.admin in 3.x, org.apache.kafka.tools in 4.x).
  local class=org.apache.kafka.tools.AclCommand
  if compgen -G "$libs/kafka_2.13-3.*.jar" >/dev/null; then class=kafka.admin.AclCommand; fi
  # The log configuration names its folder through kafka.logs.dir; unset, log4j makes a folder of that literal name.
  mkdir -p "$root/.local/kafka-acls"
  java -cp "$libs/*" -Dlog4j2.configurationFile="$root/deploy/local/kafka/log4j2.properties" \
    -Dkafka.logs.dir="$root/.local/kafka-acls" "$class" "$@"
}

# One AclCommand per line of the plan, KAFKA_ACLS_PARALLEL (2) at a time: each is a JVM start of a few seconds.
apply() {
  [ -f "$admin_config" ] || { echo "no admin client properties at $admin_config (set KAFKA_ADMIN_CONFIG)" >&2; exit 1; }
  local lines line pid failed=0 pids=()
  mapfile -t lines < <(plan --format=args)
  [ "${#lines[@]}" -gt 0 ] || { echo "the ACL plan is empty" >&2; exit 1; }
  for line in "${lines[@]}"; do
    while [ "$(jobs -rp | wc -l)" -ge "${KAFKA_ACLS_PARALLEL:-2}" ]; do sleep 0.2; done
    echo "+ AclCommand --add $line" >&2
    # shellcheck disable=SC2086 # the plan's names are letters, digits, dot, dash and underscore only
    acl_command --bootstrap-server "$bootstrap" --command-config "$admin_config" --add $line >/dev/null &
    pids+=("$!")
  done
  for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
  [ "$failed" = 0 ] || { echo "some ACLs were not added; see above" >&2; exit 1; }
  echo "added the ACLs of ${#lines[@]} AclCommand calls" >&2
}

case "${1:-}" in
  apply) apply ;;
  print) plan --format=args ;;
  markdown) plan --format=markdown ;;
  principals) plan --format=principals ;;
  *) echo "usage: $0 apply|print|markdown|principals" >&2; exit 2 ;;
esac
