#!/usr/bin/env bash
# The one test command (npm test): type-check, lint, then unit and integration tests on the real local
# Kafka broker and Postgres. Starts the local broker if none answers, and stops it again if it started it.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
export KAFKA_BROKERS="${KAFKA_BROKERS:-127.0.0.1:9092}"
export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/deliberate}"

started_kafka=0
serial_pid=""
cleanup() {
  if [ -n "$serial_pid" ]; then kill "$serial_pid" 2>/dev/null || true; fi
  if [ "$started_kafka" = 1 ]; then deploy/local/kafka.sh stop || true; fi
}
trap cleanup EXIT

step() { printf '\n== %s\n' "$*"; }
# Runs a command as root: directly when this is root, else through sudo.
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
# Installs Debian packages (what the tests run but npm does not bring).
apt_install() {
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"
}

if [ "$KAFKA_BROKERS" = "127.0.0.1:9092" ] && ! deploy/local/kafka.sh status >/dev/null 2>&1; then
  step "starting the local Kafka broker"
  deploy/local/kafka.sh start
  started_kafka=1
fi
psql "${DATABASE_URL%/*}/postgres" -qtAc 'SELECT 1' >/dev/null 2>&1 || {
  echo "Postgres does not answer at ${DATABASE_URL%/*}/postgres (set DATABASE_URL or start it)" >&2; exit 1; }

step "type-check (tsc, every source and test file)"
tsc -p tsconfig.json
step "build (tsc -b, and the console with vite)"
tsc -b tsconfig.build.json
vite build --config apps/console/vite.config.mts --logLevel warn
step "lint (eslint, typed rules, module boundaries)"
# The module-boundary rule reads the cached Nx project graph; this computes it.
NX_DAEMON=false nx show projects >/dev/null
eslint --max-warnings=0 .
if ! command -v promtool >/dev/null 2>&1; then
  # The alert-rules test runs promtool, from Debian's prometheus package. The package may start a Prometheus
  # server: any the install started is stopped again, the tests need only the binary.
  step "installing promtool (apt-get install prometheus)"
  # pgrep fails when none runs, which under pipefail would end the script.
  before=" $(pgrep -x prometheus | tr '\n' ' ' || true) "
  apt_install prometheus
  if [ -d /run/systemd/system ]; then as_root systemctl disable --now prometheus >/dev/null 2>&1 || true; fi
  for pid in $(pgrep -x prometheus || true); do
    case "$before" in *" $pid "*) ;; *) as_root kill "$pid" ;; esac
  done
fi
if [ ! -x /usr/bin/chromium ]; then
  # The console's browser tests drive Debian's chromium through playwright-core.
  step "installing chromium (apt-get install chromium)"
  apt_install chromium
fi
# NestJS 12 ships as ES modules only; Jest loads them into CommonJS test code through vm modules.
export NODE_OPTIONS="${NODE_OPTIONS:-} --experimental-vm-modules --no-warnings=ExperimentalWarning"
mkdir -p .local
rm -f .local/jest-results*.json
status=0
if [ "$#" -gt 0 ]; then
  step "tests (jest $*)"
  jest --ci --forceExit --maxWorkers=1 --json --outputFile=.local/jest-results.json "$@" || status=$?
else
  # Two suites at a time: one runner takes the suites that load the machine or time faults (project `serial`,
  # listed in jest.config.js), one after another, as two of them side by side on 2 cores starve each other's Kafka
  # heartbeats; the other takes the unit and the remaining integration suites, which mostly wait on services, brokers
  # and model calls. The serial runner's report is printed whole when it ends, after the other's.
  step "tests: unit and integration suites, beside the load and fault suites (printed after)"
  serial_log=.local/jest-serial.log
  jest --ci --forceExit --maxWorkers=1 --selectProjects serial \
    --json --outputFile=.local/jest-results-serial.json >"$serial_log" 2>&1 &
  serial_pid=$!
  jest --ci --forceExit --maxWorkers=1 --selectProjects unit integration \
    --json --outputFile=.local/jest-results-rest.json || status=$?
  serial_status=0
  wait "$serial_pid" || serial_status=$?
  serial_pid=""
  step "load and fault suites (jest --selectProjects serial)"
  cat "$serial_log"
  [ "$serial_status" = 0 ] || status=$serial_status
fi
# One plain closing line with the counts of every run, whatever reporter the runner used.
node -e '
const fs = require("fs");
const files = fs.readdirSync(".local").filter((f) => /^jest-results.*\.json$/.test(f));
const sum = (k) => files.reduce((n, f) => n + JSON.parse(fs.readFileSync(".local/" + f, "utf8"))[k], 0);
console.log(`tests: ${sum("numPassedTests")} passed, ${sum("numFailedTests")} failed, ${sum("numPendingTests")} skipped`);
' || true
exit $status
