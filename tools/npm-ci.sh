#!/usr/bin/env bash
# `npm ci` run by npm on the Node the lockfile pins (the `node` package), not on the machine's Node: the engine
# checks then judge each package against the Node that will run it. On an older machine Node, plain `npm ci` warns
# (EBADENGINE) for every package that needs a newer one, which is all of OpenTelemetry; npm 11 has no setting to
# check against another version, and silencing the warnings would hide a real mismatch too. Arguments go to npm ci.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
version=$(node -p "require('./package-lock.json').packages['node_modules/node'].version")
exec npm exec --yes --package="node@${version}" -- npm ci "$@"
