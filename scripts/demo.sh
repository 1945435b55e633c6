#!/usr/bin/env bash
# Quick start, command one: installs what a fresh machine lacks, builds, and runs the demo on a local
# cluster (its own nats-server unless NATS_URL is set). Extra arguments go to `jetsched demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-tools.sh
pnpm install --frozen-lockfile --reporter=silent
pnpm build
exec node packages/cli/dist/bin.js demo "$@"
