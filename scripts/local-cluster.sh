#!/usr/bin/env bash
# The docker-compose topology without Docker: 3 nats-servers with routes (R3 streams) and 2
# coordinators, 2 schedulers, 3 executors as separate processes, on loopback. Prints one JSON line
# with the server URLs when ready; Ctrl-C stops everything. Extra arguments go to `jetsched cluster`
# (default jobs module: the demo's word count).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-tools.sh
pnpm install --frozen-lockfile --reporter=silent
pnpm build
if [[ " $* " != *" --handlers "* ]]; then set -- --handlers packages/cli/dist/demo/wordcount-jobs.js "$@"; fi
exec node packages/cli/dist/bin.js cluster "$@"
